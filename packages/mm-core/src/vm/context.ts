/**
 * The machine-wide state mm code reaches through globals in the kernel: the memmap,
 * physical memory, the page allocator, the zero page, the process list, the kernel log,
 * the memory-failure sysctls and counters.
 *
 * @see mm/memory.c (zero_pfn), kernel/fork.c (the task list behind for_each_process),
 *      mm/memory-failure.c (sysctl_memory_failure_early_kill, num_poisoned_pages,
 *      mf_mutex), mm/mmap.c (mmap_min_addr), arch/x86/mm/mmap.c (mmap_base)
 *
 * One context per simulated machine; every MmStruct points at its context.
 */
import { PG_reserved } from "../page/flags.js";
import type { Memmap } from "../page/memmap.js";
import type { PhysMem } from "../page/physmem.js";
import { Mutex } from "../sched/mutex.js";
import type { Dmesg } from "../task/dmesg.js";
import { TraceBuffer } from "../trace/trace.js";
import type { Task } from "../task/task.js";
import type { Pfn } from "../types.js";

/** What mm needs from the page allocator (helper "page"'s BuddyAllocator provides it). */
export interface VmPageAllocator {
  /** `alloc_pages(gfp, order)`: the first pfn; throws KernelError("ENOMEM") when exhausted. */
  allocPages(gfp: number, order: number): Pfn;
  /** `is_free_buddy_page()`. */
  isFreeBuddyPage(pfn: Pfn): boolean;
  /** `take_page_off_buddy()`: remove a free page from the allocator for good. */
  takePageOffBuddy(pfn: Pfn): boolean;
}

/**
 * Hooks the DAX layer installs so memory failure can lock a device page's mapping entry
 * (`dax_lock_folio()` / `dax_unlock_folio()`); without them the generic path trusts
 * `page->mapping` as it stands.
 */
export interface MfDaxHooks {
  /** Lock the DAX entry of the page; null when the page has no owner (`!cookie`). */
  daxLockFolio(pfn: Pfn): unknown | null;
  daxUnlockFolio(pfn: Pfn, cookie: unknown): void;
}

export interface VmSysctl {
  /** `vm.memory_failure_early_kill`. */
  memoryFailureEarlyKill: boolean;
  /** `vm.memory_failure_recovery` (0 panics on a memory failure). */
  memoryFailureRecovery: boolean;
}

/** Event counts over the whole machine (per-mm counts live on each MmStruct). */
export interface VmStats {
  faults: number;
  anonFaults: number;
  fileFaults: number;
  cowFaults: number;
  wpReuses: number;
  wpCopies: number;
  majorFaults: number;
  hugeFaults: number;
  tlbFlushes: number;
  ptesZapped: number;
  pmdsZapped: number;
  pudsZapped: number;
}

export interface VmContextInit {
  memmap: Memmap;
  physMem: PhysMem;
  allocator: VmPageAllocator;
  dmesg: Dmesg;
  /** Top of the mmap area, where top-down placement starts (`mm->mmap_base`). */
  mmapBase?: number;
  /** GFP mask for user pages (`GFP_HIGHUSER_MOVABLE`). */
  gfpUser?: number;
  /** `__GFP_ZERO`. */
  gfpZero?: number;
}

/** `mmap_base` with ASLR off on x86-64 and an 8 MiB stack limit. */
export const DEFAULT_MMAP_BASE = 0x7ffff7fff000;
/** `TASK_SIZE` for 4-level paging. */
export const TASK_SIZE = 0x7ffffffff000;
/** `mmap_min_addr`. */
export const MMAP_MIN_ADDR = 0x10000;

export class VmContext {
  readonly memmap: Memmap;
  readonly physMem: PhysMem;
  readonly allocator: VmPageAllocator;
  readonly dmesg: Dmesg;
  /** The machine's tracepoints and trace buffer. */
  readonly trace = new TraceBuffer();
  readonly mmapBase: number;
  readonly gfpUser: number;
  readonly gfpZero: number;
  /** The process list in creation order (`for_each_process`). */
  readonly tasks: Task[] = [];
  readonly sysctl: VmSysctl = { memoryFailureEarlyKill: false, memoryFailureRecovery: true };
  /** `mf_mutex`. */
  readonly mfMutex = new Mutex("mf_mutex");
  numPoisonedPages = 0;
  mfDaxHooks: MfDaxHooks | null = null;
  /** Historic-bug switches for behaviour Linux has since fixed (all off). */
  readonly historicBugs = { cowReuseByMapcount: false };
  readonly stats: VmStats = {
    faults: 0, anonFaults: 0, fileFaults: 0, cowFaults: 0, wpReuses: 0, wpCopies: 0,
    majorFaults: 0, hugeFaults: 0, tlbFlushes: 0, ptesZapped: 0, pmdsZapped: 0, pudsZapped: 0,
  };
  private zeroPfnValue: Pfn | null = null;

  constructor(init: VmContextInit) {
    this.memmap = init.memmap;
    this.physMem = init.physMem;
    this.allocator = init.allocator;
    this.dmesg = init.dmesg;
    this.mmapBase = init.mmapBase ?? DEFAULT_MMAP_BASE;
    this.gfpUser = init.gfpUser ?? 0;
    this.gfpZero = init.gfpZero ?? 0;
  }

  /** `my_zero_pfn()`: the shared zero page, allocated on first use and reserved forever. */
  get zeroPfn(): Pfn {
    if (this.zeroPfnValue === null) {
      const pfn = this.allocUserPage(true);
      this.memmap.setPageFlag(pfn, PG_reserved);
      this.zeroPfnValue = pfn;
    }
    return this.zeroPfnValue;
  }

  isZeroPfn(pfn: number): boolean {
    return this.zeroPfnValue !== null && pfn === this.zeroPfnValue;
  }

  /** A page for user memory, zeroed if asked (`vma_alloc_zeroed_movable_folio`). */
  allocUserPage(zero: boolean): Pfn {
    const pfn = this.allocator.allocPages(this.gfpUser | (zero ? this.gfpZero : 0), 0);
    if (zero && !this.gfpZero) this.physMem.zeroPage(pfn);
    return pfn;
  }

  addTask(task: Task): void {
    this.tasks.push(task);
  }

  removeTask(task: Task): void {
    const i = this.tasks.indexOf(task);
    if (i >= 0) this.tasks.splice(i, 1);
  }
}
