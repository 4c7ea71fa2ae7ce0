/**
 * The page-fault handler: anonymous memory, file mappings through `vm_operations`,
 * copy-on-write, write-notify of shared mappings, PUD- and PMD-level faults with fallback
 * to the level below, and the non-present entries (hwpoison, device-private, migration).
 *
 * @see mm/memory.c handle_mm_fault(), __handle_mm_fault(), handle_pte_fault(),
 *      do_anonymous_page(), do_fault(), do_read_fault(), do_cow_fault(),
 *      do_shared_fault(), __do_fault(), finish_fault(), set_pte_range(),
 *      do_page_mkwrite(), fault_dirty_shared_page(), do_wp_page(), wp_page_reuse(),
 *      wp_page_copy(), wp_pfn_shared(), wp_page_shared(), wp_can_reuse_anon_folio(),
 *      finish_mkwrite_fault(), create_huge_pmd(), wp_huge_pmd(), create_huge_pud(),
 *      wp_huge_pud(), do_swap_page(); mm/huge_memory.c thp_vma_allowable_order(),
 *      thp_vma_suitable_order(), huge_pud_set_accessed(), __split_huge_pud()
 *
 * The caller holds mmap_lock for reading. Between two switch points everything runs
 * atomically, so the page-table lock is implicit; entries are re-checked after every
 * point where the fault may have slept (vm_ops callbacks, page locks), as the kernel
 * re-checks under the PTL. Simplified: no fault-around, no anonymous THP, no swap, no
 * userfaultfd, no NUMA hinting faults; VM_FAULT_RETRY is never produced here.
 */
import { KernelBug } from "../errno.js";
import { PG_anon_exclusive, PG_hwpoison, PG_locked, PG_lru, PG_swapbacked, PG_uptodate } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import type { Pfn, VirtAddr } from "../types.js";
import { PAGE_SIZE, PMD_NR, PMD_ORDER, PMD_SIZE, PUD_NR, PUD_ORDER, PUD_SIZE } from "../types.js";
import type { AddressSpace } from "./addressSpace.js";
import { anonVmaPrepare } from "./anonVma.js";
import type { VmContext } from "./context.js";
import { folioMarkDirty } from "./dirty.js";
import { mappingEvictFolio } from "./filemap.js";
import {
  FAULT_FLAG_MKWRITE, FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, VM_FAULT_DONE_COW, VM_FAULT_ERROR,
  VM_FAULT_FALLBACK, VM_FAULT_HWPOISON, VM_FAULT_LOCKED, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_RETRY,
  VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_MAYSHARE, VM_MAYWRITE, VM_MIXEDMAP, VM_NOHUGEPAGE, VM_HUGEPAGE, VM_PFNMAP,
  VM_SHARED, VM_WRITE,
} from "./flags.js";
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_CLEAR, mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./mmuNotifier.js";
import { lockPage, trylockPage, unlockPage, waitOnPageLocked } from "../page/pagelock.js";
import {
  SWP_DEVICE_READ, SWP_DEVICE_WRITE, SWP_MIGRATION_READ, SWP_MIGRATION_WRITE, isHwpoisonEntry, isSwapPte, pfnPte, pmdLeaf, pmdMkdirty, pmdMkyoung,
  pmdWrite, ptePfn, ptePresent, pteMkdirty, pteMkspecial, pteMkwrite, pteMkyoung, pteNone, pteWrite,
  swpOffset, swpType, type PteVal, _PAGE_RW, pudLeaf, pudMkdirty, pudMkyoung, pudNone, pudWrite,
} from "./pgtable.js";
import { folioAddFileRmapPte, folioAddNewAnonRmap, folioMoveAnonRmap, folioRemoveRmapPte, vmNormalPage } from "./rmap.js";
import { flushTlbPage } from "./tlb.js";
import { type VmAreaStruct, type VmFault, isCowMapping, vmaIsAnonymous } from "./vma.js";
import { unmapMappingFolio, zapPageRangeSingle } from "./zap.js";

function ctxOf(vmf: VmFault): VmContext {
  return vmf.vma.vmMm.ctx;
}

/** `maybe_mkwrite()`. */
function maybeMkwrite(pte: PteVal, vma: VmAreaStruct): PteVal {
  return vma.vmFlags & VM_WRITE ? pteMkwrite(pte) : pte;
}

/** `mm_counter_file()` / `mm_counter()`: which rss counter a page is charged to. */
export function rssCounter(ctx: VmContext, pfn: Pfn): "anon" | "file" | "shmem" {
  if (ctx.memmap.folioTestAnon(pfn)) return "anon";
  return ctx.memmap.testPageFlag(pfn, PG_swapbacked) ? "shmem" : "file";
}

/** A fresh `struct vm_fault` for `address` in `vma`. */
export function newVmFault(vma: VmAreaStruct, address: number, flags: number): VmFault {
  const page = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
  return {
    vma,
    address: page as VirtAddr,
    realAddress: address as VirtAddr,
    flags,
    pgoff: vma.linearPageIndex(page),
    pud: -1,
    pmd: -1,
    pte: -1,
    origPte: 0,
    origPmd: 0,
    origPud: 0,
    cowPage: null,
    page: null,
  };
}

/** `is_machine_check` duck-typing of the pmem backing's error. */
export function isMachineCheck(e: unknown): e is Error & { physAddr?: number } {
  return typeof e === "object" && e !== null && (e as { name?: unknown }).name === "MachineCheckError";
}

/**
 * `handle_mm_fault()`: resolve a fault at `address` in `vma` (the caller holds
 * `mmap_lock` for reading). Returns a `VM_FAULT_*` mask; 0 means "retry the access".
 */
export function* handleMmFault(vma: VmAreaStruct, address: number, flags: number): Sleepable<number> {
  const mm = vma.vmMm;
  mm.counters.faults++;
  mm.ctx.stats.faults++;
  // sanitize_fault_flags(): FOLL_FORCE writes CoW in private mappings without VM_WRITE
  if (flags & FAULT_FLAG_UNSHARE) {
    if (flags & FAULT_FLAG_WRITE) return VM_FAULT_SIGSEGV;
    if (!isCowMapping(vma.vmFlags)) flags &= ~FAULT_FLAG_UNSHARE;
  } else if (flags & FAULT_FLAG_WRITE) {
    if (!(vma.vmFlags & VM_MAYWRITE)) return VM_FAULT_SIGSEGV;
    if (!(vma.vmFlags & VM_WRITE) && !isCowMapping(vma.vmFlags)) return VM_FAULT_SIGSEGV;
  }
  const vmf = newVmFault(vma, address, flags);
  return yield* handleMmFaultVmf(vmf);
}

/** `__handle_mm_fault()` for a prepared vm_fault. */
export function* handleMmFaultVmf(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  const pt = vma.vmMm.pgtables;
  vmf.pud = pt.pudOffset(vmf.address);
  const pud = pt.pudGet(vmf.pud);
  if (pudNone(pud) && thpVmaAllowable(vma, vmf.address, PUD_ORDER)) {
    const ret = yield* createHugePud(vmf);
    if (!(ret & VM_FAULT_FALLBACK)) return ret;
  } else if (pudLeaf(pud)) {
    vmf.origPud = pud;
    if (vmf.flags & FAULT_FLAG_WRITE && !pudWrite(pud)) {
      const ret = yield* wpHugePud(vmf);
      if (!(ret & VM_FAULT_FALLBACK)) return ret;
    } else {
      // huge_pud_set_accessed()
      let v = pudMkyoung(pud);
      if (vmf.flags & FAULT_FLAG_WRITE) v = pudMkdirty(v);
      if (pt.pudGet(vmf.pud) === pud) pt.pudSet(vmf.pud, v);
      return 0;
    }
  }
  vmf.pmd = pt.pmdOffset(vmf.address, true);
  // A PUD leaf installed while the PUD fault slept: the access is resolved.
  if (vmf.pmd < 0) return 0;
  const pmd = pt.pmdGet(vmf.pmd);
  if (pteNone(pmd) && thpVmaAllowable(vma, vmf.address, PMD_ORDER)) {
    const ret = yield* createHugePmd(vmf);
    if (!(ret & VM_FAULT_FALLBACK)) return ret;
  } else if (pmdLeaf(pmd)) {
    vmf.origPmd = pmd;
    if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) && !pmdWrite(pmd)) {
      const ret = yield* wpHugePmd(vmf);
      if (!(ret & VM_FAULT_FALLBACK)) return ret;
    } else {
      let v = pmdMkyoung(pmd);
      if (vmf.flags & FAULT_FLAG_WRITE) v = pmdMkdirty(v);
      if (pt.pmdGet(vmf.pmd) === pmd) pt.pmdSet(vmf.pmd, v);
      return 0;
    }
  }
  return yield* handlePteFault(vmf);
}

/**
 * `thp_vma_allowable_order()` + `thp_vma_suitable_order()` for a fault of `order`. PUD
 * order is only for `vma_is_special_huge()` mappings (DAX, or a file mapped PFNMAP or
 * MIXEDMAP); there are no anonymous or page-cache PUDs.
 */
function thpVmaAllowable(vma: VmAreaStruct, address: number, order: number): boolean {
  if (!vma.vmOps?.hugeFault || vma.vmFlags & VM_NOHUGEPAGE) return false;
  if (order === PUD_ORDER) {
    if (!(vma.mapping?.isDax || (vma.mapping && vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)))) return false;
  } else if (!(vma.mapping?.isDax || vma.vmFlags & VM_HUGEPAGE)) return false;
  const size = order === PUD_ORDER ? PUD_SIZE : PMD_SIZE;
  const nr = order === PUD_ORDER ? PUD_NR : PMD_NR;
  const haddr = Math.floor(address / size) * size;
  if ((vma.vmStart / PAGE_SIZE - vma.vmPgoff) % nr !== 0) return false;
  return haddr >= vma.vmStart && haddr + size <= vma.vmEnd;
}

/** `create_huge_pud()`: no anonymous PUDs; the mapping's owner decides. */
function* createHugePud(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  if (vmaIsAnonymous(vma) || !vma.vmOps?.hugeFault) return VM_FAULT_FALLBACK;
  vma.vmMm.ctx.stats.hugeFaults++;
  return yield* vma.vmOps.hugeFault(vmf, PUD_ORDER);
}

/**
 * `wp_huge_pud()`: a shared mapping asks its owner; otherwise `__split_huge_pud()`, which
 * for a devmap or special PUD just clears it (with a flush), and the fault goes on at the
 * PMD level.
 */
function* wpHugePud(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  if (!vmaIsAnonymous(vma) && vma.vmFlags & (VM_SHARED | VM_MAYSHARE) && vma.vmOps?.hugeFault) {
    vma.vmMm.ctx.stats.hugeFaults++;
    const ret = yield* vma.vmOps.hugeFault(vmf, PUD_ORDER);
    if (!(ret & VM_FAULT_FALLBACK)) return ret;
  }
  splitHugePud(vma, vmf.address);
  return VM_FAULT_FALLBACK;
}

/** `__split_huge_pud()`: a PUD leaf covering `address` is zapped whole. */
export function splitHugePud(vma: VmAreaStruct, address: number): void {
  const haddr = Math.floor(address / PUD_SIZE) * PUD_SIZE;
  if (pudLeaf(vma.vmMm.pgtables.pudAt(haddr))) zapPageRangeSingle(vma, haddr, PUD_SIZE);
}

/** `create_huge_pmd()`. */
function* createHugePmd(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  if (vmaIsAnonymous(vma) || !vma.vmOps?.hugeFault) return VM_FAULT_FALLBACK;
  vma.vmMm.ctx.stats.hugeFaults++;
  return yield* vma.vmOps.hugeFault(vmf, PMD_ORDER);
}

/** `wp_huge_pmd()`: a shared mapping asks its owner; anything else splits to PTEs. */
function* wpHugePmd(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  if (vma.vmFlags & (VM_SHARED | VM_MAYSHARE) && vma.vmOps?.hugeFault) {
    vma.vmMm.ctx.stats.hugeFaults++;
    const ret = yield* vma.vmOps.hugeFault(vmf, PMD_ORDER);
    if (!(ret & VM_FAULT_FALLBACK)) return ret;
  }
  // __split_huge_pmd() of a file/special PMD just clears it; PTE faults refill it.
  const haddr = Math.floor(vmf.address / PMD_SIZE) * PMD_SIZE;
  if (pmdLeaf(vma.vmMm.pgtables.pmdGet(vmf.pmd))) zapPageRangeSingle(vma, haddr, PMD_SIZE);
  return VM_FAULT_FALLBACK;
}

/** `handle_pte_fault()`. */
function* handlePteFault(vmf: VmFault): Sleepable<number> {
  const pt = vmf.vma.vmMm.pgtables;
  vmf.pte = pt.pteOffset(vmf.address);
  vmf.origPte = vmf.pte < 0 ? 0 : pt.pteGet(vmf.pte);
  if (pteNone(vmf.origPte)) return vmaIsAnonymous(vmf.vma) ? yield* doAnonymousPage(vmf) : yield* doFault(vmf);
  if (!ptePresent(vmf.origPte)) return yield* doSwapPage(vmf);
  if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
    if (!pteWrite(vmf.origPte)) return yield* doWpPage(vmf);
  }
  let entry = pteMkyoung(vmf.origPte);
  if (vmf.flags & FAULT_FLAG_WRITE) entry = pteMkdirty(entry);
  if (entry !== vmf.origPte) pt.pteSet(vmf.pte, entry);
  return 0;
}

/** `do_anonymous_page()`: the zero page for a read, a fresh zeroed page for a write. */
function* doAnonymousPage(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const pt = mm.pgtables;
  if (vma.vmFlags & VM_SHARED) return VM_FAULT_SIGBUS;
  ctx.stats.anonFaults++;
  if (!(vmf.flags & FAULT_FLAG_WRITE)) {
    const h = pt.pteAlloc(vmf.address);
    if (h < 0 || !pteNone(pt.pteGet(h))) return 0;
    pt.pteSet(h, pteMkspecial(pfnPte(ctx.zeroPfn, vma.vmPageProt & ~_PAGE_RW)));
    return 0;
  }
  anonVmaPrepare(vma);
  let pfn: Pfn;
  try {
    pfn = ctx.allocUserPage(true);
  } catch {
    return VM_FAULT_OOM;
  }
  ctx.memmap.setPageFlag(pfn, PG_uptodate);
  const entry = maybeMkwrite(pteMkdirty(pfnPte(pfn, vma.vmPageProt)), vma);
  const h = pt.pteAlloc(vmf.address);
  if (h < 0 || !pteNone(pt.pteGet(h))) {
    ctx.memmap.putPage(pfn);
    return 0;
  }
  mm.rss.anon++;
  folioAddNewAnonRmap(ctx, pfn, vma, vmf.address);
  ctx.memmap.setPageFlag(pfn, PG_lru);
  pt.pteSet(h, entry);
  return 0;
}

/** `do_fault()`: a missing PTE in a file (or driver) mapping. */
function* doFault(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  vma.vmMm.ctx.stats.fileFaults++;
  if (!vma.vmOps?.fault) return VM_FAULT_SIGBUS;
  if (!(vmf.flags & FAULT_FLAG_WRITE)) return yield* doReadFault(vmf);
  if (!(vma.vmFlags & VM_SHARED)) return yield* doCowFault(vmf);
  return yield* doSharedFault(vmf);
}

const FAULT_STOP = VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY;

/** `__do_fault()`: call ->fault and return the page locked, refusing poisoned pages. */
function* doFaultCall(vmf: VmFault): Sleepable<number> {
  const ctx = ctxOf(vmf);
  const ret = yield* vmf.vma.vmOps!.fault!(vmf);
  if (ret & (FAULT_STOP | VM_FAULT_DONE_COW)) return ret;
  if (vmf.page === null) throw new KernelBug(`${vmf.vma.vmOps?.name ?? "->fault"} returned 0x${ret.toString(16)} without a page`);
  const pfn = vmf.page;
  if (ctx.memmap.testPageFlag(pfn, PG_hwpoison)) {
    let poisonret = VM_FAULT_HWPOISON;
    if (ret & VM_FAULT_LOCKED) {
      const mapping = ctx.memmap.folioMapping(pfn) as AddressSpace | null;
      if (mapping) {
        if (ctx.memmap.pageMapped(pfn)) unmapMappingFolio(mapping, ctx.memmap.pageIndex(pfn));
        if (mappingEvictFolio(ctx, mapping, pfn)) poisonret = VM_FAULT_NOPAGE;
      }
      unlockPage(ctx.memmap, pfn);
    }
    ctx.memmap.putPage(pfn);
    vmf.page = null;
    return poisonret;
  }
  if (!(ret & VM_FAULT_LOCKED)) yield* lockPage(ctx.memmap, pfn);
  return ret;
}

/**
 * `finish_fault()`: map the page ->fault produced (or the CoW copy) unless something
 * else got there first. The reference from ->fault becomes the mapping's.
 */
export function finishFault(vmf: VmFault): number {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const pt = mm.pgtables;
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  const cow = write && !(vma.vmFlags & VM_SHARED);
  const pfn = cow ? vmf.cowPage! : vmf.page!;
  const h = pt.pteAlloc(vmf.address);
  if (h < 0 || !pteNone(pt.pteGet(h))) return VM_FAULT_NOPAGE;
  let entry = pfnPte(pfn, vma.vmPageProt);
  if (write) entry = maybeMkwrite(pteMkdirty(entry), vma);
  if (cow) {
    folioAddNewAnonRmap(ctx, pfn, vma, vmf.address);
    ctx.memmap.setPageFlag(pfn, PG_lru);
    mm.rss.anon++;
  } else {
    folioAddFileRmapPte(ctx, pfn);
    mm.rss[rssCounter(ctx, pfn)]++;
  }
  pt.pteSet(h, entry);
  vmf.pte = h;
  return 0;
}

/** `do_read_fault()`. */
function* doReadFault(vmf: VmFault): Sleepable<number> {
  const ctx = ctxOf(vmf);
  let ret = yield* doFaultCall(vmf);
  if (ret & FAULT_STOP) return ret;
  ret |= finishFault(vmf);
  unlockPage(ctx.memmap, vmf.page!);
  if (ret & FAULT_STOP) ctx.memmap.putPage(vmf.page!);
  return ret;
}

/** `do_cow_fault()`: a private write fault copies the file page into a new anon page. */
function* doCowFault(vmf: VmFault): Sleepable<number> {
  const ctx = ctxOf(vmf);
  ctx.stats.cowFaults++;
  anonVmaPrepare(vmf.vma);
  try {
    vmf.cowPage = ctx.allocUserPage(false);
  } catch {
    return VM_FAULT_OOM;
  }
  const cow = vmf.cowPage;
  let ret = yield* doFaultCall(vmf);
  if (ret & FAULT_STOP) {
    ctx.memmap.putPage(cow);
    return ret;
  }
  if (ret & VM_FAULT_DONE_COW) return ret;
  const src = vmf.page!;
  try {
    ctx.physMem.copyPage(cow, src);
  } catch (e) {
    if (!isMachineCheck(e)) throw e;
    unlockPage(ctx.memmap, src);
    ctx.memmap.putPage(src);
    ctx.memmap.putPage(cow);
    return VM_FAULT_HWPOISON;
  }
  ctx.memmap.setPageFlag(cow, PG_uptodate);
  ret |= finishFault(vmf);
  unlockPage(ctx.memmap, src);
  ctx.memmap.putPage(src);
  if (ret & FAULT_STOP) ctx.memmap.putPage(cow);
  return ret;
}

/** `do_page_mkwrite()`: ->page_mkwrite, returning the page locked. */
function* doPageMkwrite(vmf: VmFault, pfn: Pfn): Sleepable<number> {
  const ctx = ctxOf(vmf);
  const old = vmf.flags;
  vmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;
  let ret = yield* vmf.vma.vmOps!.pageMkwrite!(vmf);
  vmf.flags = old;
  if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return ret;
  if (!(ret & VM_FAULT_LOCKED)) {
    yield* lockPage(ctx.memmap, pfn);
    if (ctx.memmap.pageMapping(pfn) === 0) {
      unlockPage(ctx.memmap, pfn);
      return VM_FAULT_NOPAGE;
    }
    ret |= VM_FAULT_LOCKED;
  }
  return ret;
}

/** `fault_dirty_shared_page()`: dirty the page and unlock it. */
function faultDirtySharedPage(vmf: VmFault, pfn: Pfn): number {
  const ctx = ctxOf(vmf);
  folioMarkDirty(ctx, pfn);
  unlockPage(ctx.memmap, pfn);
  return 0;
}

/** `do_shared_fault()`. */
function* doSharedFault(vmf: VmFault): Sleepable<number> {
  const ctx = ctxOf(vmf);
  let ret = yield* doFaultCall(vmf);
  if (ret & FAULT_STOP) return ret;
  const pfn = vmf.page!;
  if (vmf.vma.vmOps?.pageMkwrite) {
    unlockPage(ctx.memmap, pfn);
    const tmp = yield* doPageMkwrite(vmf, pfn);
    if (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
      ctx.memmap.putPage(pfn);
      return tmp;
    }
  }
  ret |= finishFault(vmf);
  if (ret & FAULT_STOP) {
    unlockPage(ctx.memmap, pfn);
    ctx.memmap.putPage(pfn);
    return ret;
  }
  return ret | faultDirtySharedPage(vmf, pfn);
}

/** Re-read the PTE after sleeping: has it changed since the fault began? */
function pteChanged(vmf: VmFault): boolean {
  const pt = vmf.vma.vmMm.pgtables;
  const h = pt.pteOffset(vmf.address);
  return h < 0 || pt.pteGet(h) !== vmf.origPte;
}

/** `wp_page_reuse()`: make the existing PTE writable in place. */
function wpPageReuse(vmf: VmFault): void {
  const pt = vmf.vma.vmMm.pgtables;
  const entry = maybeMkwrite(pteMkdirty(pteMkyoung(vmf.origPte)), vmf.vma);
  pt.pteSet(vmf.pte, entry);
  vmf.vma.vmMm.ctx.stats.wpReuses++;
}

/** `finish_mkwrite_fault()`. */
function finishMkwriteFault(vmf: VmFault): number {
  if (pteChanged(vmf)) return VM_FAULT_NOPAGE;
  wpPageReuse(vmf);
  return 0;
}

/** `wp_pfn_shared()`: a write to a raw-PFN shared mapping (DAX). */
function* wpPfnShared(vmf: VmFault): Sleepable<number> {
  const ops = vmf.vma.vmOps;
  if (ops?.pfnMkwrite) {
    vmf.flags |= FAULT_FLAG_MKWRITE;
    const ret = yield* ops.pfnMkwrite(vmf);
    if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return ret;
    return finishMkwriteFault(vmf);
  }
  wpPageReuse(vmf);
  return 0;
}

/** `wp_page_shared()`: first write to a page of a shared file mapping. */
function* wpPageShared(vmf: VmFault, pfn: Pfn): Sleepable<number> {
  const ctx = ctxOf(vmf);
  ctx.memmap.pageRefInc(pfn);
  let ret = 0;
  if (vmf.vma.vmOps?.pageMkwrite) {
    vmf.page = pfn;
    const tmp = yield* doPageMkwrite(vmf, pfn);
    if (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
      ctx.memmap.putPage(pfn);
      return tmp;
    }
    const fin = finishMkwriteFault(vmf);
    if (fin & VM_FAULT_NOPAGE) {
      unlockPage(ctx.memmap, pfn);
      ctx.memmap.putPage(pfn);
      return fin;
    }
    ret |= tmp;
  } else {
    wpPageReuse(vmf);
    yield* lockPage(ctx.memmap, pfn);
  }
  ret |= faultDirtySharedPage(vmf, pfn);
  ctx.memmap.putPage(pfn);
  return ret & ~VM_FAULT_LOCKED;
}

/**
 * `wp_can_reuse_anon_folio()`: a page that lost PageAnonExclusive (after fork) may be
 * reused once no one else holds it: then it moves to this VMA's anon_vma.
 */
function wpCanReuseAnonFolio(ctx: VmContext, pfn: Pfn, vma: VmAreaStruct): boolean {
  const memmap = ctx.memmap;
  if (ctx.historicBugs.cowReuseByMapcount) {
    // pre-5.9 reuse_swap_page(): only the mapcount counts, GUP references are ignored
    if (memmap.folioTestKsm(pfn) || memmap.pageMapcount(pfn) !== 1) return false;
    folioMoveAnonRmap(ctx, pfn, vma);
    return true;
  }
  if (memmap.folioTestKsm(pfn) || memmap.pageRefCount(pfn) !== 1) return false;
  if (memmap.testPageFlag(pfn, PG_locked)) return false; // folio_trylock() would fail
  folioMoveAnonRmap(ctx, pfn, vma);
  return true;
}

/** `do_wp_page()`: a write (or unshare) fault on a present, write-protected PTE. */
function* doWpPage(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  const ctx = vma.vmMm.ctx;
  const memmap = ctx.memmap;
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  const page = vmNormalPage(vma, vmf.origPte);
  vmf.page = page;
  if (vma.vmFlags & (VM_SHARED | VM_MAYSHARE)) {
    if (page === null) return yield* wpPfnShared(vmf);
    return yield* wpPageShared(vmf, page);
  }
  if (page !== null && memmap.folioTestAnon(page)) {
    if (memmap.testPageFlag(page, PG_anon_exclusive) || wpCanReuseAnonFolio(ctx, page, vma)) {
      memmap.setPageFlag(page, PG_anon_exclusive);
      if (unshare) return 0;
      wpPageReuse(vmf);
      return 0;
    }
  }
  return wpPageCopy(vmf);
}

/** `wp_page_copy()`: break CoW by copying into a new exclusive anonymous page. */
function wpPageCopy(vmf: VmFault): number {
  const vma = vmf.vma;
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const memmap = ctx.memmap;
  const old = vmf.page;
  const unshare = (vmf.flags & FAULT_FLAG_UNSHARE) !== 0;
  anonVmaPrepare(vma);
  const srcPfn = ptePfn(vmf.origPte);
  let np: Pfn;
  try {
    np = ctx.allocUserPage(ctx.isZeroPfn(srcPfn));
  } catch {
    return VM_FAULT_OOM;
  }
  if (!ctx.isZeroPfn(srcPfn)) {
    try {
      ctx.physMem.copyPage(np, srcPfn);
    } catch (e) {
      if (!isMachineCheck(e)) throw e;
      memmap.putPage(np);
      return VM_FAULT_HWPOISON;
    }
  }
  memmap.setPageFlag(np, PG_uptodate);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, vmf.address, vmf.address + PAGE_SIZE, vma);
  mmuNotifierInvalidateRangeStart(range);
  if (pteChanged(vmf)) {
    memmap.putPage(np);
    mmuNotifierInvalidateRangeEnd(range);
    return 0;
  }
  if (old !== null) {
    const c = rssCounter(ctx, old);
    if (c !== "anon") {
      mm.rss[c]--;
      mm.rss.anon++;
    }
  } else mm.rss.anon++;
  let entry = pteMkyoung(pfnPte(np, vma.vmPageProt));
  if (!unshare) entry = maybeMkwrite(pteMkdirty(entry), vma);
  const pt = mm.pgtables;
  pt.pteClear(vmf.pte);
  flushTlbPage(mm, vmf.address);
  folioAddNewAnonRmap(ctx, np, vma, vmf.address);
  memmap.setPageFlag(np, PG_lru);
  pt.pteSet(vmf.pte, entry);
  if (old !== null) {
    folioRemoveRmapPte(ctx, old);
    memmap.putPage(old);
  }
  mmuNotifierInvalidateRangeEnd(range);
  ctx.stats.wpCopies++;
  ctx.stats.cowFaults++;
  return 0;
}

/** `do_swap_page()` for the swap-format entries this model has. */
function* doSwapPage(vmf: VmFault): Sleepable<number> {
  const v = vmf.origPte;
  if (!isSwapPte(v)) return VM_FAULT_SIGBUS;
  if (isHwpoisonEntry(v)) return VM_FAULT_HWPOISON;
  const type = swpType(v);
  const memmap = ctxOf(vmf).memmap;
  if (type === SWP_MIGRATION_READ || type === SWP_MIGRATION_WRITE) {
    // migration_entry_wait(): the migration holds the page lock until the entry is gone.
    yield* waitOnPageLocked(memmap, swpOffset(v));
    return 0;
  }
  if (type === SWP_DEVICE_READ || type === SWP_DEVICE_WRITE) {
    const pfn = swpOffset(v) as Pfn;
    if (pteChanged(vmf)) return 0;
    const pgmap = memmap.pagePgmap(pfn);
    if (!pgmap?.ops?.migrateToRam) return VM_FAULT_SIGBUS;
    // Since 6.1 the page is locked across ->migrate_to_ram(), so two faults cannot both migrate it.
    if (!trylockPage(memmap, pfn)) {
      yield* waitOnPageLocked(memmap, pfn);
      return 0;
    }
    vmf.page = pfn;
    memmap.pageRefInc(pfn);
    try {
      return pgmap.ops.migrateToRam(vmf);
    } finally {
      unlockPage(memmap, pfn);
      memmap.putPage(pfn);
    }
  }
  return 0;
}
