/**
 * Layout breaking: before a filesystem frees or moves blocks of a mapped DAX file
 * (truncate, punch, reflink, dedupe) it unmaps the range and waits until no page in it is
 * referenced beyond its idle count — a pinned page is still under DMA.
 *
 * @see fs/dax.c dax_layout_busy_page_range(), dax_layout_busy_page(), dax_busy_page()
 *      (6.12: busy while page_ref_count > 1); fs/xfs/xfs_file.c xfs_break_dax_layouts(),
 *      xfs_wait_dax_page(); include/linux/wait_bit.h ___wait_var_event();
 *      mm/gup.c GUP_PIN_COUNTING_BIAS (the pin helper)
 *
 * The waiter sleeps on the page's idle wake-up (mm-core calls `onPageIdle` when an FS_DAX
 * page's count drops back to 1); while asleep it drops the filesystem's lock through the
 * callbacks, as xfs_wait_dax_page() drops MMAPLOCK. The pin helper is the minimum a test
 * or a driver model needs (`pin_user_pages` lives in the gup package).
 */
import { type AddressSpace, GUP_PIN_COUNTING_BIAS, type Pfn, type Sleepable, XA_MAX_INDEX } from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { type DaxEntry, daxIsLocked, isDaxEntry } from "../entry/entry.js";
import { WAKE_NEXT, daxUnmapMappingPages, putUnlockedEntry, waitEntryUnlockedExclusive } from "../entry/lock.js";
import { forEachMappedPfn } from "../mechanism/pageFields.js";

/** `dax_busy_page()`: the first page of the entry held beyond its idle reference. */
function daxBusyPage(dax: DaxContext, entry: DaxEntry): Pfn | null {
  let busy: Pfn | null = null;
  forEachMappedPfn(entry, (pfn) => {
    if (busy === null && dax.vm.memmap.pageRefCount(pfn) > 1) busy = pfn;
  });
  return busy;
}

/**
 * `dax_layout_busy_page_range()`: unmap pages [first, last] of the file, then return the
 * first page in the range that is still referenced (pinned), or null. Returns null at once
 * if nothing maps the file.
 */
export function* daxLayoutBusyPageRange(dax: DaxContext, mapping: AddressSpace, first: number, last = XA_MAX_INDEX): Sleepable<Pfn | null> {
  if (!mapping.isDax || !mapping.mapped) return null;
  daxUnmapMappingPages(dax, mapping, first, last === XA_MAX_INDEX ? 0 : last - first + 1);
  const indices: number[] = [];
  for (const [i] of mapping.iPages.entries(first, last)) indices.push(Math.max(i, first));
  for (const i of indices) {
    let entry: DaxEntry | undefined = mapping.iPages.load(i);
    if (entry === undefined || dax.vm.dmesg.warnOnOnce(!isDaxEntry(entry), "fs/dax.c:dax_layout_busy_page_range")) continue;
    if (daxIsLocked(entry)) entry = yield* waitEntryUnlockedExclusive(dax, mapping, i, entry);
    const page = entry !== undefined ? daxBusyPage(dax, entry) : null;
    putUnlockedEntry(mapping, i, entry, WAKE_NEXT);
    if (page !== null) return page;
  }
  return null;
}

/** `dax_layout_busy_page()`: the whole file. */
export function daxLayoutBusyPage(dax: DaxContext, mapping: AddressSpace): Sleepable<Pfn | null> {
  return daxLayoutBusyPageRange(dax, mapping, 0);
}

/** `dax_page_is_idle()` for 6.12 (FS_DAX pages idle at refcount 1). */
export function daxPageIsIdle(dax: DaxContext, pfn: number): boolean {
  return dax.vm.memmap.pageRefCount(pfn) === 1;
}

/** How a layout break drops and retakes the filesystem's lock around a sleep. */
export interface BreakLayoutLocks {
  /** Before sleeping (xfs_iunlock(MMAPLOCK_EXCL)). */
  unlock(): void;
  /** After waking (xfs_ilock(MMAPLOCK_EXCL)). */
  relock(): Sleepable;
}

/**
 * `xfs_break_dax_layouts()` in a loop: while a page in [first, last] is busy, sleep (locks
 * dropped) until it goes idle, then look again. Returns how many times it slept.
 */
export function* daxBreakLayouts(
  dax: DaxContext,
  mapping: AddressSpace,
  first: number,
  last: number,
  locks?: BreakLayoutLocks,
): Sleepable<number> {
  let sleeps = 0;
  for (;;) {
    const page = yield* daxLayoutBusyPageRange(dax, mapping, first, last);
    if (page === null) return sleeps;
    const { wq, key } = dax.idleQueue(page);
    while (!daxPageIsIdle(dax, page)) {
      sleeps++;
      dax.costs.lockWaits++;
      locks?.unlock();
      yield wq.sleepOp(false, key);
      if (locks) yield* locks.relock();
    }
  }
}

/** Pin a DAX page as `pin_user_pages()` would: GUP_PIN_COUNTING_BIAS references. */
export function daxPinPage(dax: DaxContext, pfn: Pfn): void {
  dax.vm.memmap.pageRefAdd(pfn, GUP_PIN_COUNTING_BIAS);
}

/** `unpin_user_page()`: drop the pin; the page may go idle and wake a layout breaker. */
export function daxUnpinPage(dax: DaxContext, pfn: Pfn): void {
  dax.vm.memmap.putPageRefs(pfn, GUP_PIN_COUNTING_BIAS);
}
