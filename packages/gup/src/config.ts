/**
 * Per-machine GUP state: the historic-bug switches a machine is booted with, and the
 * pin counters the kernel keeps in vmstat.
 *
 * @see include/linux/mmzone.h NR_FOLL_PIN_ACQUIRED, NR_FOLL_PIN_RELEASED (vmstat
 *      nr_foll_pin_acquired / nr_foll_pin_released)
 *
 * The switches restore behaviour Linux has since fixed, for teaching and for showing what
 * each fix prevents. All default to off (6.12 behaviour). State hangs off the VmContext,
 * so every mm of one machine sees the same switches.
 */
import type { VmContext } from "@pagelab/mm-core";

/** Historic bugs GUP can bring back; every switch defaults to off. */
export interface GupBugSwitches {
  /**
   * CVE-2020-29374 ("COW can break either way", fixed in 5.8/5.9/5.19): a read-only GUP
   * does not unshare a CoW-shared anonymous page, and do_wp_page() reuses a page whose
   * mapcount is 1 even when GUP holds references, so a child's pinned page keeps seeing
   * what the parent writes later.
   */
  readonly cowLeakAfterFork: boolean;
  /**
   * CVE-2016-5195 "Dirty COW" (fixed in 4.9): after the CoW fault of a FOLL_FORCE write to a
   * private read-only mapping, GUP drops FOLL_WRITE and retries as a read; a racing
   * MADV_DONTNEED zaps the private copy and the retry returns the page-cache page, so the
   * write lands in the file.
   */
  readonly dirtyCow: boolean;
  /**
   * DAX truncate/hole punch without the dax_layout_busy_page() wait (before 4.17): the
   * filesystem frees a block that a device is still DMAing into. GUP only carries the
   * switch; the layout-break code of the dax/kernel layers consults it.
   */
  readonly daxTruncateWithoutBusyWait: boolean;
}

export const NO_GUP_BUGS: GupBugSwitches = Object.freeze({
  cowLeakAfterFork: false,
  dirtyCow: false,
  daxTruncateWithoutBusyWait: false,
});

/** Counters (`nr_foll_pin_*` and model extras). */
export interface GupStats {
  /** `NR_FOLL_PIN_ACQUIRED`: pins taken (the zero page is not counted, as in the kernel). */
  pinsAcquired: number;
  /** `NR_FOLL_PIN_RELEASED`. */
  pinsReleased: number;
  /** FOLL_GET references taken by GUP. */
  refsTaken: number;
  /** Pages handed out by GUP-fast without the mmap_lock. */
  fastPages: number;
  /** GUP-fast calls that fell back to the slow path for part of the range. */
  fastFallbacks: number;
  /** Faults GUP triggered (faultin_page). */
  faults: number;
  /** Of those, FAULT_FLAG_UNSHARE faults (R/O pins of possibly shared anonymous pages). */
  unshareFaults: number;
}

export interface GupState {
  bugs: GupBugSwitches;
  readonly stats: GupStats;
}

/** The slot mm-core offers for do_wp_page's pre-5.9 reuse rule, when it has one. */
interface HistoricBugsSlot {
  historicBugs?: { cowReuseByMapcount: boolean };
}

const states = new WeakMap<VmContext, GupState>();

function newStats(): GupStats {
  return { pinsAcquired: 0, pinsReleased: 0, refsTaken: 0, fastPages: 0, fastFallbacks: 0, faults: 0, unshareFaults: 0 };
}

/** The GUP state of a machine (created with every switch off on first use). */
export function gupState(ctx: VmContext): GupState {
  let s = states.get(ctx);
  if (!s) {
    s = { bugs: NO_GUP_BUGS, stats: newStats() };
    states.set(ctx, s);
  }
  return s;
}

/**
 * Boot-time configuration: set the historic-bug switches of a machine. The
 * CVE-2020-29374 switch also flips mm-core's do_wp_page reuse rule.
 */
export function gupSetup(ctx: VmContext, bugs: Partial<GupBugSwitches> = {}): GupState {
  const s = gupState(ctx);
  s.bugs = Object.freeze({ ...NO_GUP_BUGS, ...bugs });
  const slot = ctx as VmContext & HistoricBugsSlot;
  if (slot.historicBugs) slot.historicBugs.cowReuseByMapcount = s.bugs.cowLeakAfterFork;
  else if (s.bugs.cowLeakAfterFork)
    throw new Error("gupSetup: this mm-core has no historicBugs.cowReuseByMapcount switch for do_wp_page");
  return s;
}
