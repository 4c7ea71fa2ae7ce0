/**
 * fork() at the mm level: a new mm with a copy of every VMA, anonymous pages shared
 * copy-on-write (PageAnonExclusive cleared, PTEs write-protected in both processes), and
 * the process bookkeeping around it (process list, mm_users, exit).
 *
 * @see kernel/fork.c dup_mmap(), copy_process(), mmput(), exit_mm();
 *      mm/memory.c copy_page_range(), vma_needs_copy(), copy_present_pte(),
 *      copy_present_page(), copy_nonpresent_pte(); mm/huge_memory.c copy_huge_pmd(),
 *      copy_huge_pud()
 *
 * Following the kernel, VMAs without an anon_vma that are not PFNMAP/MIXEDMAP are not
 * copied at all (the child refaults them), file PMD leaves are skipped, and PUD leaves
 * (device-dax) are copied, write-protected first in a CoW mapping. A possibly
 * DMA-pinned exclusive anonymous page (refcount ≥ GUP_PIN_COUNTING_BIAS while the parent
 * mm has MMF_HAS_PINNED) is copied for the child at once, as 5.19+ does. Simplified: one
 * thread per process.
 */
import { PG_lru, PG_uptodate } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import { Task } from "../task/task.js";
import { PF_MCE_EARLY, PF_MCE_PROCESS } from "../task/task.js";
import type { Pfn } from "../types.js";
import { anonVmaFork } from "./anonVma.js";
import type { VmContext } from "./context.js";
import { rssCounter } from "./fault.js";
import { VM_DONTCOPY, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_WIPEONFORK, VM_WRITE } from "./flags.js";
import { exitMmap } from "./mmap.js";
import { MMF_HAS_PINNED, MmStruct } from "./mm.js";
import {
  MMU_NOTIFY_PROTECTION_PAGE, mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart, mmuNotifierRangeInit,
} from "./mmuNotifier.js";
import {
  SWP_DEVICE_READ, SWP_DEVICE_WRITE, isSwapPte, mkSwapEntry, pfnPte, ptePresent, pteMkclean, pteMkdirty,
  pteMkold, pteMkwrite, pteWrite, pteWrprotect, swpOffset, swpType, pudMkold, pudWrite, pudWrprotect,
} from "./pgtable.js";
import { folioAddFileRmapPte, folioAddNewAnonRmap, folioTryDupAnonRmapPte, vmNormalPage } from "./rmap.js";
import { flushTlbMm } from "./tlb.js";
import { type VmAreaStruct, isCowMapping } from "./vma.js";

/** `vma_needs_copy()`. */
function vmaNeedsCopy(src: VmAreaStruct): boolean {
  return (src.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)) !== 0 || src.anonVma !== null;
}

/** `copy_page_range()`: copy the page tables of `src` into `dst` (same range, new mm). */
export function copyPageRange(dst: VmAreaStruct, src: VmAreaStruct): void {
  if (!vmaNeedsCopy(src)) return;
  const srcMm = src.vmMm;
  const dstMm = dst.vmMm;
  const ctx = srcMm.ctx;
  const memmap = ctx.memmap;
  const cow = isCowMapping(src.vmFlags);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_PROTECTION_PAGE, 0, srcMm, src.vmStart, src.vmEnd, src);
  if (cow) {
    mmuNotifierInvalidateRangeStart(range);
    srcMm.writeProtectSeq++;
  }
  const spt = srcMm.pgtables;
  const dpt = dstMm.pgtables;
  const hasPinned = srcMm.testFlag(MMF_HAS_PINNED);
  spt.walk(src.vmStart, src.vmEnd, {
    // copy_huge_pud(): no anonymous PUDs exist, so the leaf is shared as it is.
    pud(h, addr, v) {
      let pud = v;
      if (cow && pudWrite(pud)) {
        pud = pudWrprotect(pud);
        spt.pudSet(h, pud);
      }
      dpt.pudSet(dpt.pudOffset(addr), pudMkold(pud));
    },
    // copy_huge_pmd(): file and special PMD leaves are refilled by faults in the child.
    pmd() {},
    pte(h, addr, v) {
      if (!ptePresent(v)) {
        if (!isSwapPte(v)) return;
        let entry = v;
        const type = swpType(v);
        if (type === SWP_DEVICE_READ || type === SWP_DEVICE_WRITE) {
          const page = swpOffset(v) as Pfn;
          memmap.pageRefInc(page);
          folioTryDupAnonRmapPte(ctx, page, false);
          dstMm.rss.anon++;
          if (type === SWP_DEVICE_WRITE && cow) {
            entry = mkSwapEntry(SWP_DEVICE_READ, page);
            spt.pteSet(h, entry);
          }
        }
        dpt.pteSet(dpt.pteAlloc(addr), entry);
        return;
      }
      const page = vmNormalPage(src, v);
      let pte = v;
      if (page !== null && memmap.folioTestAnon(page)) {
        memmap.pageRefInc(page);
        if (!folioTryDupAnonRmapPte(ctx, page, hasPinned)) {
          memmap.putPage(page);
          copyPresentPage(dst, addr, page);
          return;
        }
        dstMm.rss.anon++;
      } else if (page !== null) {
        memmap.pageRefInc(page);
        folioAddFileRmapPte(ctx, page);
        dstMm.rss[rssCounter(ctx, page)]++;
      }
      if (cow && pteWrite(pte)) {
        spt.pteSet(h, pteWrprotect(pte));
        pte = pteWrprotect(pte);
      }
      if (src.vmFlags & VM_SHARED) pte = pteMkclean(pte);
      pte = pteMkold(pte);
      dpt.pteSet(dpt.pteAlloc(addr), pte);
    },
  });
  if (cow) {
    srcMm.writeProtectSeq++;
    mmuNotifierInvalidateRangeEnd(range);
  }
}

/** `copy_present_page()`: the child gets its own copy of a page the parent may have pinned. */
function copyPresentPage(dst: VmAreaStruct, addr: number, src: Pfn): void {
  const ctx = dst.vmMm.ctx;
  const np = ctx.allocUserPage(false);
  ctx.physMem.copyPage(np, src);
  ctx.memmap.setPageFlag(np, PG_uptodate);
  folioAddNewAnonRmap(ctx, np, dst, addr);
  ctx.memmap.setPageFlag(np, PG_lru);
  dst.vmMm.rss.anon++;
  let pte = pteMkdirty(pfnPte(np, dst.vmPageProt));
  if (dst.vmFlags & VM_WRITE) pte = pteMkwrite(pte);
  const pt = dst.vmMm.pgtables;
  pt.pteSet(pt.pteAlloc(addr), pte);
}

/** `dup_mmap()`: a child mm with a copy of every VMA of `oldmm`. */
export function* dupMmap(oldmm: MmStruct): Sleepable<MmStruct> {
  const mm = new MmStruct(oldmm.ctx, { mmapBase: oldmm.mmapBase });
  mm.flags = oldmm.flags & ~(1 << MMF_HAS_PINNED);
  yield* oldmm.mmapLock.downWrite();
  try {
    for (const mpnt of oldmm.vmas) {
      if (mpnt.vmFlags & VM_DONTCOPY) continue;
      const tmp = mpnt.dup(mm);
      if (tmp.vmFlags & VM_WIPEONFORK) tmp.anonVma = null;
      else anonVmaFork(tmp, mpnt);
      mm.vmas.insert(tmp);
      tmp.mapping?.iMmapInsert(tmp);
      tmp.vmOps?.open?.(tmp);
      if (!(tmp.vmFlags & VM_WIPEONFORK)) copyPageRange(tmp, mpnt);
    }
    flushTlbMm(oldmm);
  } finally {
    oldmm.mmapLock.upWrite();
  }
  return mm;
}

/** `mmput()`: drop a user; the last one tears the address space down. */
export function mmput(mm: MmStruct): void {
  mm.users--;
  if (mm.users === 0) exitMmap(mm);
}

/** Attach `mm` to `task` and register the task in the process list (exit drops both). */
function attach(ctx: VmContext, task: Task, mm: MmStruct): Task {
  task.mm = mm;
  ctx.addTask(task);
  task.onExit(() => {
    ctx.removeTask(task);
    const m = task.mm as MmStruct | null;
    task.mm = null;
    if (m) mmput(m);
  });
  return task;
}

/** A new process with an empty address space (what exec leaves, minus the binary). */
export function createProcess(ctx: VmContext, comm: string, opts: { mmapBase?: number } = {}): Task {
  return attach(ctx, new Task({ comm }), new MmStruct(ctx, { ...opts, name: comm }));
}

/** `copy_process()` for fork(): the child shares every page copy-on-write. */
export function* forkProcess(ctx: VmContext, parent: Task, comm = parent.comm): Sleepable<Task> {
  const parentMm = parent.mm as MmStruct | null;
  if (!parentMm) throw new Error(`fork: ${parent.comm} has no mm`);
  const mm = yield* dupMmap(parentMm);
  const child = new Task({ comm });
  child.flags = parent.flags & (PF_MCE_PROCESS | PF_MCE_EARLY);
  return attach(ctx, child, mm);
}

/** The mm of a task, which must have one. */
export function taskMm(task: Task): MmStruct {
  const mm = task.mm;
  if (!(mm instanceof MmStruct)) throw new Error(`${task.comm}[${task.pid}] has no mm`);
  return mm;
}
