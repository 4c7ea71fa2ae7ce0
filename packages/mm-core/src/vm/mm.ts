/**
 * `struct mm_struct`: an address space — its VMAs, page tables, mmap_lock, counters and
 * mmu notifier subscriptions.
 *
 * @see include/linux/mm_types.h struct mm_struct, include/linux/mm.h (rss counters),
 *      kernel/fork.c mm_alloc(), mmput(), include/linux/mmap_lock.h
 *
 * Simplified: no per-VMA locks, no hiwater marks, no cpumask (TLB flushes are counted,
 * not sent to CPUs).
 */
import { RwSemaphore } from "../sched/rwsem.js";
import type { TaskMm } from "../task/task.js";
import { type VmContext, TASK_SIZE } from "./context.js";
import { MmuNotifierSubscriptions } from "./mmuNotifier.js";
import { PageTables } from "./pgtable.js";
import type { VmAreaStruct } from "./vma.js";
import { VmaTree } from "./vmaTree.js";

/** `MM_FILEPAGES`, `MM_ANONPAGES`, `MM_SWAPENTS`, `MM_SHMEMPAGES`. */
export interface MmRss {
  file: number;
  anon: number;
  swapents: number;
  shmem: number;
}

/** Per-mm work counters (TLB flushes and unmaps are what the sharing mechanisms cost). */
export interface MmCountersVm {
  /** TLB flush operations (one per mmu_gather that cleared something, one per ptep_clear_flush). */
  tlbFlushes: number;
  /** Pages covered by those flushes. */
  tlbFlushedPages: number;
  /** Present PTEs cleared by zaps and unmaps. */
  ptesUnmapped: number;
  /** PMD leaves cleared. */
  pmdsUnmapped: number;
  /** PUD leaves cleared. */
  pudsUnmapped: number;
  faults: number;
}

/** `MMF_HAS_PINNED`: some page of this mm was pinned with FOLL_PIN. */
export const MMF_HAS_PINNED = 27;

let nextMmId = 1;

export class MmStruct implements TaskMm {
  readonly id = nextMmId++;
  readonly mmapLock: RwSemaphore;
  readonly vmas = new VmaTree();
  readonly pgtables = new PageTables();
  readonly notifiers = new MmuNotifierSubscriptions(this);
  readonly rss: MmRss = { file: 0, anon: 0, swapents: 0, shmem: 0 };
  readonly counters: MmCountersVm = { tlbFlushes: 0, tlbFlushedPages: 0, ptesUnmapped: 0, pmdsUnmapped: 0, pudsUnmapped: 0, faults: 0 };
  /** `mm_users`: tasks using it. */
  users = 1;
  /** `mm->flags` (MMF_* bits). */
  flags = 0;
  /** `mm->write_protect_seq` (fork vs GUP-fast). */
  writeProtectSeq = 0;
  mmapBase: number;
  readonly taskSize = TASK_SIZE;
  /** Set once exit_mmap() ran. */
  dead = false;

  constructor(readonly ctx: VmContext, opts: { mmapBase?: number; name?: string } = {}) {
    this.mmapBase = opts.mmapBase ?? ctx.mmapBase;
    this.mmapLock = new RwSemaphore(`${opts.name ?? `mm#${this.id}`}.mmap_lock`);
  }

  /** `map_count`. */
  get mapCount(): number {
    return this.vmas.size;
  }

  /** `find_vma()`. */
  findVma(addr: number): VmAreaStruct | undefined {
    return this.vmas.findVma(addr);
  }

  /** `vma_lookup()`. */
  vmaLookup(addr: number): VmAreaStruct | undefined {
    return this.vmas.lookup(addr);
  }

  /** Count a TLB flush of `pages` pages (`flush_tlb_mm_range()`). */
  flushTlbRange(pages: number): void {
    this.counters.tlbFlushes++;
    this.counters.tlbFlushedPages += pages;
    this.ctx.stats.tlbFlushes++;
  }

  testFlag(bit: number): boolean {
    return (this.flags & (1 << bit)) !== 0;
  }
  setFlag(bit: number): void {
    this.flags |= 1 << bit;
  }

  toString(): string {
    return `mm#${this.id}`;
  }
}
