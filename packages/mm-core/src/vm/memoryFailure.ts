/**
 * Memory failure: a page went bad (machine check, scrub, madvise(MADV_HWPOISON)). Mark it
 * PG_hwpoison, find every process that maps it, unmap it, signal whoever must know, and
 * drop or isolate the page — or hand a ZONE_DEVICE page to its owner.
 *
 * @see mm/memory-failure.c memory_failure(), hwpoison_user_mappings(), collect_procs(),
 *      collect_procs_anon(), collect_procs_file(), collect_procs_fsdax(), __add_to_kill(),
 *      kill_proc(), kill_procs(), task_early_kill(), find_early_kill_thread(),
 *      memory_failure_dev_pagemap(), mf_generic_kill_procs(), unmap_and_kill(),
 *      kill_accessing_process(), identify_page_state(), me_pagecache_clean(),
 *      me_pagecache_dirty(), truncate_error_folio(), action_result(),
 *      dev_pagemap_mapping_shift()
 *
 * Log lines are printed as Linux 6.12 prints them (pr_fmt "Memory failure: ", pfn with
 * %#lx). Simplified: no hugetlb, no THP splitting, no swap cache, no soft-offline or
 * unpoison, no hwpoison filter; a page that is neither free, LRU nor reserved is
 * "unknown". The DAX parts (dax_lock_folio, mf_dax_kill_procs) belong to the dax layer,
 * which reaches in through `ctx.mfDaxHooks` and the exported helpers.
 */
import { ERRNO } from "../errno.js";
import {
  PG_dirty, PG_hwpoison, PG_lru, PG_mlocked, PG_reserved, PG_swapcache, PG_unevictable, PG_writeback,
} from "../page/flags.js";
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_PRIVATE, type DevPagemap } from "../page/memremap.js";
import { current } from "../sched/current.js";
import type { Sleepable } from "../sched/sleepable.js";
import { BUS_MCEERR_AO, BUS_MCEERR_AR, SIGBUS, SIGKILL } from "../task/signal.js";
import { KERN_ERR, KERN_INFO } from "../task/dmesg.js";
import type { Task } from "../task/task.js";
import type { Pfn } from "../types.js";
import { PAGE_SHIFT, PAGE_SIZE, PMD_SHIFT, PUD_NR, PUD_SHIFT } from "../types.js";
import { type AddressSpace, mappingSetError } from "./addressSpace.js";
import type { VmContext } from "./context.js";
import { mappingEvictFolio } from "./filemap.js";
import { MF_ACTION_REQUIRED, MF_COUNT_INCREASED, MF_MUST_KILL } from "./flags.js";
import type { MmStruct } from "./mm.js";
import { lockPage, unlockPage } from "../page/pagelock.js";
import {
  isHwpoisonEntry, pmdDevmap, pmdLeaf, ptePfn, ptePresent, pteDevmap, pudDevmap, pudLeaf, swpOffset,
} from "./pgtable.js";
import { TTU_HWPOISON, TTU_IGNORE_MLOCK, TTU_SYNC, folioAnonVma, folioMkclean, pageMappedInVma, tryToUnmap } from "./rmap.js";
import type { VmAreaStruct } from "./vma.js";
import { unmapMappingRange } from "./zap.js";

/** `enum mf_result`. */
export const MF_IGNORED = 0;
export const MF_FAILED = 1;
export const MF_DELAYED = 2;
export const MF_RECOVERED = 3;
const ACTION_NAME = ["Ignored", "Failed", "Delayed", "Recovered"] as const;

/** `enum mf_action_page_type` with `action_page_types[]`. */
export const MF_MSG = {
  KERNEL: "reserved kernel page",
  KERNEL_HIGH_ORDER: "high-order kernel page",
  DIFFERENT_COMPOUND: "different compound page after locking",
  HUGE: "huge page",
  FREE_HUGE: "free huge page",
  GET_HWPOISON: "get hwpoison page",
  UNMAP_FAILED: "unmapping failed page",
  DIRTY_SWAPCACHE: "dirty swapcache page",
  CLEAN_SWAPCACHE: "clean swapcache page",
  DIRTY_MLOCKED_LRU: "dirty mlocked LRU page",
  CLEAN_MLOCKED_LRU: "clean mlocked LRU page",
  DIRTY_UNEVICTABLE_LRU: "dirty unevictable LRU page",
  CLEAN_UNEVICTABLE_LRU: "clean unevictable LRU page",
  DIRTY_LRU: "dirty LRU page",
  CLEAN_LRU: "clean LRU page",
  TRUNCATED_LRU: "already truncated LRU page",
  BUDDY: "free buddy page",
  DAX: "dax page",
  UNSPLIT_THP: "unsplit thp",
  ALREADY_POISONED: "already poisoned",
  UNKNOWN: "unknown page",
} as const;
export type MfMsg = (typeof MF_MSG)[keyof typeof MF_MSG];

const EFAULT_ADDR = -ERRNO.EFAULT;

function hex(pfn: number): string {
  return `0x${pfn.toString(16)}`;
}

function mfLog(ctx: VmContext, level: number, text: string): void {
  ctx.dmesg.printk(level, `Memory failure: ${text}`);
}

/** `action_result()`: log the outcome; 0 if recovered or delayed, else -EBUSY. */
export function actionResult(ctx: VmContext, pfn: number, type: MfMsg, result: number): number {
  ctx.numPoisonedPages++;
  mfLog(ctx, KERN_ERR, `${hex(pfn)}: recovery action for ${type}: ${ACTION_NAME[result]}`);
  return result === MF_RECOVERED || result === MF_DELAYED ? 0 : -ERRNO.EBUSY;
}

/** `struct to_kill`. */
export interface ToKill {
  readonly task: Task;
  /** User address of the page in that task, or -EFAULT. */
  readonly addr: number;
  /** log2 of the mapping size (12 for a PTE, 21 for a PMD, 30 for a PUD); 0 = not mapped. */
  readonly sizeShift: number;
}

/** `task_early_kill()`: the task to signal for a page it maps, or null. */
export function taskEarlyKill(ctx: VmContext, tsk: Task, forceEarly: boolean): Task | null {
  if (!tsk.mm) return null;
  const cur = current();
  if (forceEarly && tsk.mm === cur.mm) return cur;
  return tsk.mceEarlyKill(ctx.sysctl.memoryFailureEarlyKill) ? tsk : null;
}

/** `dev_pagemap_mapping_shift()`: how the device page is mapped at `addr` (0 = not). */
export function devPagemapMappingShift(vma: VmAreaStruct, addr: number): number {
  const pt = vma.vmMm.pgtables;
  const pud = pt.pudAt(addr);
  if (pudLeaf(pud)) return pudDevmap(pud) ? PUD_SHIFT : 0;
  const pmd = pt.pmdAt(addr);
  if (!ptePresent(pmd)) return 0;
  if (pmdLeaf(pmd)) return pmdDevmap(pmd) ? PMD_SHIFT : 0;
  const pte = pt.pteAt(addr);
  return ptePresent(pte) && pteDevmap(pte) ? PAGE_SHIFT : 0;
}

/** `__add_to_kill()`. */
export function addToKill(ctx: VmContext, tsk: Task, pfn: Pfn, vma: VmAreaStruct, list: ToKill[], addr: number): void {
  const sizeShift = ctx.memmap.isZoneDevicePage(pfn) ? devPagemapMappingShift(vma, addr) : PAGE_SHIFT;
  if (addr === EFAULT_ADDR) {
    ctx.dmesg.printk(KERN_INFO, `Memory failure: Unable to find user space address ${pfn.toString(16)} in ${tsk.comm}`);
  } else if (sizeShift === 0) return;
  list.push({ task: tsk, addr, sizeShift });
}

/** `collect_procs_anon()`. */
function collectProcsAnon(ctx: VmContext, pfn: Pfn, list: ToKill[], forceEarly: boolean): void {
  const av = folioAnonVma(ctx, pfn);
  if (!av) return;
  const pgoff = ctx.memmap.pageIndex(pfn);
  for (const tsk of ctx.tasks) {
    const t = taskEarlyKill(ctx, tsk, forceEarly);
    if (!t) continue;
    for (const vma of av.rbRoot.overlapping(pgoff, pgoff)) {
      if (vma.vmMm !== t.mm) continue;
      const addr = pageMappedInVma(ctx, pfn, vma);
      if (addr < 0) continue;
      addToKill(ctx, t, pfn, vma, list, addr);
    }
  }
}

/** `collect_procs_file()`: every VMA of the file covering the page, mapped or not. */
function collectProcsFile(ctx: VmContext, pfn: Pfn, mapping: AddressSpace, pgoff: number, list: ToKill[], forceEarly: boolean): void {
  for (const tsk of ctx.tasks) {
    const t = taskEarlyKill(ctx, tsk, forceEarly);
    if (!t) continue;
    for (const vma of mapping.vmasCovering(pgoff, pgoff)) {
      if (vma.vmMm !== t.mm) continue;
      const addr = vma.addressOf(pgoff);
      if (addr < 0) continue;
      addToKill(ctx, t, pfn, vma, list, addr);
    }
  }
}

/** `collect_procs()`: who maps the page (anon: anon_vma; file: i_mmap). */
export function collectProcs(ctx: VmContext, pfn: Pfn, list: ToKill[], forceEarly: boolean): void {
  const memmap = ctx.memmap;
  if (memmap.pageMapping(pfn) === 0) return;
  if (memmap.folioTestAnon(pfn)) collectProcsAnon(ctx, pfn, list, forceEarly);
  else {
    const mapping = memmap.folioMapping(pfn) as AddressSpace | null;
    if (mapping) collectProcsFile(ctx, pfn, mapping, memmap.pageIndex(pfn), list, forceEarly);
  }
}

/**
 * `collect_procs_fsdax()`: the tasks whose VMAs of `mapping` cover `pgoff` — the current
 * task and early-kill tasks, or everyone for MF_MEM_PRE_REMOVE.
 */
export function collectProcsFsdax(ctx: VmContext, pfn: Pfn, mapping: AddressSpace, pgoff: number, list: ToKill[], preRemove: boolean): void {
  for (const tsk of ctx.tasks) {
    const t = preRemove ? (tsk.mm ? tsk : null) : taskEarlyKill(ctx, tsk, true);
    if (!t) continue;
    for (const vma of mapping.vmasCovering(pgoff, pgoff)) {
      if (vma.vmMm !== t.mm) continue;
      addToKill(ctx, t, pfn, vma, list, vma.addressOf(pgoff));
    }
  }
}

/** `kill_proc()`: SIGBUS with BUS_MCEERR_AR for the current task on MF_ACTION_REQUIRED, AO otherwise. */
export function killProc(ctx: VmContext, tk: ToKill, pfn: number, flags: number): void {
  const t = tk.task;
  mfLog(ctx, KERN_ERR, `${hex(pfn)}: Sending SIGBUS to ${t.comm}:${t.pid} due to hardware memory corruption`);
  if (flags & MF_ACTION_REQUIRED && t === current()) {
    t.forceSignal({ signo: SIGBUS, code: BUS_MCEERR_AR, addr: tk.addr, addrLsb: tk.sizeShift });
  } else {
    t.sendSignal({ signo: SIGBUS, code: BUS_MCEERR_AO, addr: tk.addr, addrLsb: tk.sizeShift });
  }
}

/**
 * `kill_procs()`: signal the collected tasks when `forcekill`; SIGKILL those that could
 * not be unmapped (`fail`) or whose address is unknown.
 */
export function killProcs(ctx: VmContext, list: readonly ToKill[], forcekill: boolean, fail: boolean, pfn: number, flags: number): void {
  if (!forcekill) return;
  for (const tk of list) {
    if (fail || tk.addr === EFAULT_ADDR) {
      mfLog(ctx, KERN_ERR, `${hex(pfn)}: forcibly killing ${tk.task.comm}:${tk.task.pid} because of failure to unmap corrupted page`);
      tk.task.sendSignal({ signo: SIGKILL, code: 0x80, addr: 0 });
    } else killProc(ctx, tk, pfn, flags);
  }
}

/**
 * `unmap_and_kill()`: unmap the largest mapping size seen from the whole file (so a
 * device-dax PMD is not split), then kill with MF_MUST_KILL semantics.
 */
export function unmapAndKill(ctx: VmContext, list: readonly ToKill[], pfn: number, mapping: AddressSpace, index: number, flags: number): void {
  let size = 0;
  for (const tk of list) if (tk.sizeShift) size = Math.max(size, 2 ** tk.sizeShift);
  if (size) {
    const start = Math.floor((index * PAGE_SIZE) / size) * size;
    unmapMappingRange(mapping, start, size, false);
  }
  killProcs(ctx, list, (flags & MF_MUST_KILL) !== 0, false, pfn, flags);
}

/** `hwpoison_user_mappings()`: collect, unmap, and kill if the data is lost. */
function hwpoisonUserMappings(ctx: VmContext, pfn: Pfn, flags: number): boolean {
  const memmap = ctx.memmap;
  let ttu = TTU_IGNORE_MLOCK | TTU_SYNC | TTU_HWPOISON;
  if (memmap.testPageFlag(pfn, PG_reserved)) return true;
  if (!memmap.testPageFlag(pfn, PG_lru)) return true;
  if (!memmap.pageMapped(pfn)) return true;
  const mapping = memmap.folioMapping(pfn) as AddressSpace | null;
  if (!(flags & MF_MUST_KILL) && !memmap.testPageFlag(pfn, PG_dirty) && mapping && mapping.canWriteback) {
    if (folioMkclean(ctx, pfn)) memmap.setPageFlag(pfn, PG_dirty);
    else {
      ttu &= ~TTU_HWPOISON;
      ctx.dmesg.printk(KERN_INFO, `Memory failure: ${hex(pfn)}: corrupted page was clean: dropped without side effects`);
    }
  }
  const tokill: ToKill[] = [];
  collectProcs(ctx, pfn, tokill, (flags & MF_ACTION_REQUIRED) !== 0);
  tryToUnmap(ctx, pfn, ttu);
  const unmapSuccess = !memmap.pageMapped(pfn);
  if (!unmapSuccess)
    mfLog(ctx, KERN_ERR, `${hex(pfn)}: failed to unmap page (folio mapcount=${memmap.pageMapcount(pfn)})`);
  const forcekill = memmap.testPageFlag(pfn, PG_dirty) || (flags & MF_MUST_KILL) !== 0 || !unmapSuccess;
  killProcs(ctx, tokill, forcekill, !unmapSuccess, pfn, flags);
  return unmapSuccess;
}

/** `truncate_error_folio()`. */
function truncateErrorFolio(ctx: VmContext, pfn: Pfn, mapping: AddressSpace): number {
  if (mapping.aOps.errorRemoveFolio) {
    const err = mapping.aOps.errorRemoveFolio(mapping, pfn);
    if (err !== 0) {
      ctx.dmesg.printk(KERN_INFO, `Memory failure: ${hex(pfn)}: Failed to punch page: ${err}`);
      return MF_FAILED;
    }
    return MF_RECOVERED;
  }
  if (mappingEvictFolio(ctx, mapping, pfn)) return MF_RECOVERED;
  ctx.dmesg.printk(KERN_INFO, `Memory failure: ${hex(pfn)}: Failed to invalidate`);
  return MF_FAILED;
}

/** `has_extra_refcount()`: someone besides memory_failure still holds the page. */
function hasExtraRefcount(ctx: VmContext, pfn: Pfn, type: MfMsg): boolean {
  const count = ctx.memmap.pageRefCount(pfn) - 1;
  if (count > 0) {
    mfLog(ctx, KERN_ERR, `${hex(pfn)}: ${type} still referenced by ${count} users`);
    return true;
  }
  return false;
}

/** `me_pagecache_clean()` (and `me_pagecache_dirty()` when `dirty`); unlocks the page. */
function mePagecache(ctx: VmContext, pfn: Pfn, type: MfMsg, dirty: boolean): number {
  const memmap = ctx.memmap;
  let ret: number;
  const mapping = memmap.folioMapping(pfn) as AddressSpace | null;
  if (dirty && mapping) mappingSetError(mapping, -ERRNO.EIO);
  memmap.clearPageFlag(pfn, PG_lru);
  if (memmap.folioTestAnon(pfn)) ret = MF_RECOVERED;
  else if (!mapping) ret = MF_FAILED;
  else {
    ret = truncateErrorFolio(ctx, pfn, mapping);
    if (hasExtraRefcount(ctx, pfn, type)) ret = MF_FAILED;
  }
  unlockPage(memmap, pfn);
  return ret;
}

/** `identify_page_state()` + `page_action()` with the 6.12 `error_states[]` table. */
function identifyPageState(ctx: VmContext, pfn: Pfn, pageFlags: number): number {
  const bit = (b: number): number => 1 << b;
  const flags = ctx.memmap.pageFlags(pfn);
  const lookup = (f: number): { type: MfMsg; action: "kernel" | "dirty" | "clean" | "unknown" } | null => {
    const has = (b: number): boolean => (f & bit(b)) !== 0;
    if (has(PG_reserved)) return { type: MF_MSG.KERNEL, action: "kernel" };
    const d = has(PG_dirty);
    if (has(PG_swapcache) && ctx.memmap.folioTestAnon(pfn)) return d ? { type: MF_MSG.DIRTY_SWAPCACHE, action: "dirty" } : { type: MF_MSG.CLEAN_SWAPCACHE, action: "clean" };
    if (has(PG_mlocked)) return d ? { type: MF_MSG.DIRTY_MLOCKED_LRU, action: "dirty" } : { type: MF_MSG.CLEAN_MLOCKED_LRU, action: "clean" };
    if (has(PG_unevictable)) return d ? { type: MF_MSG.DIRTY_UNEVICTABLE_LRU, action: "dirty" } : { type: MF_MSG.CLEAN_UNEVICTABLE_LRU, action: "clean" };
    if (has(PG_lru)) return d ? { type: MF_MSG.DIRTY_LRU, action: "dirty" } : { type: MF_MSG.CLEAN_LRU, action: "clean" };
    return null;
  };
  const ps = lookup(flags) ?? lookup(pageFlags | (flags & bit(PG_dirty))) ?? { type: MF_MSG.UNKNOWN, action: "unknown" as const };
  let result: number;
  switch (ps.action) {
    case "kernel":
      unlockPage(ctx.memmap, pfn);
      result = MF_IGNORED;
      break;
    case "unknown":
      mfLog(ctx, KERN_ERR, `${hex(pfn)}: Unknown page state`);
      unlockPage(ctx.memmap, pfn);
      result = MF_IGNORED;
      break;
    default:
      result = mePagecache(ctx, pfn, ps.type, ps.action === "dirty");
  }
  return actionResult(ctx, pfn, ps.type, result);
}

/**
 * `kill_accessing_process()`: the page was already poisoned and the current task touched
 * it: find where it maps the page (or its hwpoison entry) and send BUS_MCEERR_AR there.
 */
function killAccessingProcess(ctx: VmContext, task: Task, pfn: Pfn, flags: number): number {
  const mm = task.mm as MmStruct | null;
  if (!mm) return -ERRNO.EFAULT;
  let found = -1;
  let shift = PAGE_SHIFT;
  for (const vma of mm.vmas.all()) {
    mm.pgtables.walk(vma.vmStart, vma.vmEnd, {
      pud(_h, addr, v) {
        if (found < 0 && pfn >= ptePfn(v) && pfn < ptePfn(v) + PUD_NR) {
          found = addr + (pfn - ptePfn(v)) * PAGE_SIZE;
          shift = PUD_SHIFT;
        }
      },
      pmd(_h, addr, v) {
        if (found < 0 && pmdLeaf(v) && pfn >= ptePfn(v) && pfn < ptePfn(v) + 512) {
          found = addr + (pfn - ptePfn(v)) * PAGE_SIZE;
          shift = PMD_SHIFT;
        }
      },
      pte(_h, addr, v) {
        if (found >= 0) return;
        if ((ptePresent(v) && ptePfn(v) === pfn) || (isHwpoisonEntry(v) && swpOffset(v) === pfn)) found = addr;
      },
    });
    if (found >= 0) break;
  }
  if (found < 0) return -ERRNO.EFAULT;
  killProc(ctx, { task, addr: found, sizeShift: shift }, pfn, flags);
  return -ERRNO.EHWPOISON;
}

/**
 * `mf_generic_kill_procs()`: a ZONE_DEVICE page whose owner did not handle the failure:
 * trust `page->mapping`/`index`, kill every task that maps it and unmap it.
 */
export function mfGenericKillProcs(ctx: VmContext, pfn: Pfn, flags: number, pgmap: DevPagemap): number {
  const memmap = ctx.memmap;
  const hooks = ctx.mfDaxHooks;
  const cookie = hooks ? hooks.daxLockFolio(pfn) : memmap.folioMapping(pfn);
  if (cookie === null || cookie === undefined) return -ERRNO.EBUSY;
  let rc = 0;
  try {
    if (pgmap.type === MEMORY_DEVICE_PRIVATE || pgmap.type === MEMORY_DEVICE_COHERENT) {
      rc = -ERRNO.ENXIO;
      return rc;
    }
    memmap.setPageFlag(pfn, PG_hwpoison);
    flags |= MF_ACTION_REQUIRED | MF_MUST_KILL;
    const list: ToKill[] = [];
    collectProcs(ctx, pfn, list, true);
    const mapping = memmap.folioMapping(pfn) as AddressSpace | null;
    if (mapping) unmapAndKill(ctx, list, pfn, mapping, memmap.pageIndex(pfn), flags);
    else killProcs(ctx, list, true, false, pfn, flags);
  } finally {
    hooks?.daxUnlockFolio(pfn, cookie);
  }
  return rc;
}

/** `memory_failure_dev_pagemap()`: let the owner handle it, else the generic path. */
export function memoryFailureDevPagemap(ctx: VmContext, pfn: Pfn, flags: number, pgmap: DevPagemap): number {
  let rc = -ERRNO.ENXIO;
  if (pgmap.pfnValid(pfn)) {
    rc = -ERRNO.EOPNOTSUPP;
    if (pgmap.ops?.memoryFailure) rc = pgmap.ops.memoryFailure(pfn, 1, flags);
    if (rc === -ERRNO.EOPNOTSUPP) rc = mfGenericKillProcs(ctx, pfn, flags, pgmap);
  }
  if (rc !== -ERRNO.EOPNOTSUPP) actionResult(ctx, pfn, MF_MSG.DAX, rc ? MF_FAILED : MF_RECOVERED);
  return rc;
}

/**
 * `memory_failure(pfn, flags)`: handle a hardware memory error on `pfn`. Returns 0 when
 * recovered, -EHWPOISON when the page was already poisoned (or the accessing task was
 * killed), or another -errno. `flags` are MF_* (MF_ACTION_REQUIRED when the current task
 * consumed the poison).
 */
export function* memoryFailure(ctx: VmContext, pfn: Pfn, flags: number): Sleepable<number> {
  const memmap = ctx.memmap;
  if (!ctx.sysctl.memoryFailureRecovery) {
    ctx.dmesg.printk(0, `Kernel panic - not syncing: Memory failure on page ${pfn.toString(16)}`);
    throw new Error(`panic: Memory failure on page ${pfn.toString(16)}`);
  }
  yield* ctx.mfMutex.lock();
  try {
    if (!memmap.pfnValid(pfn)) {
      mfLog(ctx, KERN_ERR, `${hex(pfn)}: memory outside kernel control`);
      return -ERRNO.ENXIO;
    }
    if (memmap.isZoneDevicePage(pfn)) {
      const pgmap = memmap.pagePgmap(pfn);
      if (pgmap) return memoryFailureDevPagemap(ctx, pfn, flags, pgmap);
      mfLog(ctx, KERN_ERR, `${hex(pfn)}: memory outside kernel control`);
      return -ERRNO.ENXIO;
    }
    if (memmap.testAndSetPageFlag(pfn, PG_hwpoison)) {
      mfLog(ctx, KERN_ERR, `${hex(pfn)}: already hardware poisoned`);
      let res = -ERRNO.EHWPOISON;
      if (flags & MF_ACTION_REQUIRED) res = killAccessingProcess(ctx, current(), pfn, flags);
      if (flags & MF_COUNT_INCREASED) memmap.putPage(pfn);
      return res;
    }
    if (!(flags & MF_COUNT_INCREASED)) {
      if (memmap.pageRefCount(pfn) === 0) {
        const alloc = ctx.allocator;
        if (alloc.isFreeBuddyPage(pfn)) {
          const taken = alloc.takePageOffBuddy(pfn);
          if (taken) memmap.setPageCount(pfn, 1);
          return actionResult(ctx, pfn, MF_MSG.BUDDY, taken ? MF_RECOVERED : MF_FAILED);
        }
        return actionResult(ctx, pfn, MF_MSG.KERNEL_HIGH_ORDER, MF_IGNORED);
      }
      if (memmap.testPageFlag(pfn, PG_reserved) || memmap.pageHasType(pfn)) {
        return actionResult(ctx, pfn, MF_MSG.GET_HWPOISON, MF_IGNORED);
      }
      memmap.pageRefInc(pfn);
    }
    yield* lockPage(memmap, pfn);
    const pageFlags = memmap.pageFlags(pfn);
    if (memmap.testPageFlag(pfn, PG_lru) || memmap.testPageFlag(pfn, PG_writeback)) {
      if (!hwpoisonUserMappings(ctx, pfn, flags)) {
        unlockPage(memmap, pfn);
        return actionResult(ctx, pfn, MF_MSG.UNMAP_FAILED, MF_FAILED);
      }
      if (memmap.testPageFlag(pfn, PG_lru) && memmap.pageMapping(pfn) === 0) {
        unlockPage(memmap, pfn);
        return actionResult(ctx, pfn, MF_MSG.TRUNCATED_LRU, MF_IGNORED);
      }
    }
    return identifyPageState(ctx, pfn, pageFlags);
  } finally {
    ctx.mfMutex.unlock();
  }
}
