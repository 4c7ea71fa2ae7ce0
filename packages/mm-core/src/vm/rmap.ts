/**
 * The reverse map: from a page to every PTE that maps it. Anonymous pages are found
 * through their anon_vma, file pages through `mapping->i_mmap`; `_mapcount` counts the
 * mappings. On top: try_to_unmap, folio_mkclean and folio_referenced.
 *
 * @see mm/rmap.c folio_add_new_anon_rmap(), folio_add_anon_rmap_ptes(),
 *      folio_add_file_rmap_ptes(), folio_remove_rmap_ptes(), folio_move_anon_rmap(),
 *      rmap_walk_anon(), rmap_walk_file(), try_to_unmap_one(), page_mkclean_one(),
 *      folio_referenced_one(); include/linux/rmap.h folio_try_dup_anon_rmap_pte();
 *      mm/page_vma_mapped.c; mm/memory.c vm_normal_page()
 *
 * Simplified: small pages only (PMD and PUD leaves in this model are devmap/special and
 * carry no rmap, so the rmap users below leave them alone); no swap, so an anonymous page can be unmapped only for hwpoison; no
 * migration entries; no batched TLB flushing across mms.
 */
import { PAGE_MAPPING_ANON } from "../page/flags.js";
import { PG_anon_exclusive, PG_hwpoison, PG_referenced, PG_swapbacked } from "../page/flags.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE, PMD_NR, PUD_NR } from "../types.js";
import type { AddressSpace } from "./addressSpace.js";
import { AnonVma } from "./anonVma.js";
import type { VmContext } from "./context.js";
import { folioMarkDirty } from "./dirty.js";
import { VM_PFNMAP, VM_SHARED, VM_MIXEDMAP } from "./flags.js";
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_PAGE,
  mmuNotifierClearFlushYoung,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./mmuNotifier.js";
import {
  makeHwpoisonEntry,
  pmdLeaf,
  pmdPfn,
  pudLeaf,
  pudPfn,
  ptePfn,
  ptePresent,
  pteDirty,
  pteMkclean,
  pteMkold,
  pteSpecial,
  pteWrite,
  pteWrprotect,
  pteYoung,
  type PteVal,
} from "./pgtable.js";
import { flushTlbPage } from "./tlb.js";
import type { VmAreaStruct } from "./vma.js";

export const TTU_SPLIT_HUGE_PMD = 0x4;
export const TTU_IGNORE_MLOCK = 0x8;
export const TTU_SYNC = 0x10;
export const TTU_HWPOISON = 0x20;
export const TTU_BATCH_FLUSH = 0x40;
export const TTU_RMAP_LOCKED = 0x80;

/**
 * `vm_normal_page()`: the page behind a present PTE, or null for special mappings
 * (raw PFNs, the zero page, devmap) that have no rmap or refcount of their own.
 */
export function vmNormalPage(vma: VmAreaStruct, pte: PteVal): Pfn | null {
  if (pteSpecial(pte)) return null;
  const pfn = ptePfn(pte);
  if (vma.vmFlags & VM_PFNMAP) return null;
  if (vma.vmMm.ctx.isZeroPfn(pfn)) return null;
  if (vma.vmFlags & VM_MIXEDMAP && !vma.vmMm.ctx.memmap.pfnValid(pfn)) return null;
  return pfn;
}

/** `folio_add_new_anon_rmap()`: a page just allocated for `vma`, mapped once, exclusive. */
export function folioAddNewAnonRmap(ctx: VmContext, pfn: Pfn, vma: VmAreaStruct, address: number): void {
  const memmap = ctx.memmap;
  memmap.setPageMapping(pfn, vma.anonVma!, PAGE_MAPPING_ANON);
  memmap.setPageIndex(pfn, vma.linearPageIndex(address));
  memmap.setRawMapcount(pfn, 0);
  memmap.setPageFlag(pfn, PG_swapbacked);
  memmap.setPageFlag(pfn, PG_anon_exclusive);
}

/** `folio_add_anon_rmap_pte()` for an existing anon page. */
export function folioAddAnonRmapPte(ctx: VmContext, pfn: Pfn, exclusive: boolean): void {
  ctx.memmap.pageMapcountInc(pfn);
  if (exclusive) ctx.memmap.setPageFlag(pfn, PG_anon_exclusive);
}

/**
 * `folio_try_dup_anon_rmap_pte()` (fork): share the page with the child. A page that may
 * be DMA-pinned while the parent has pinned pages cannot be shared: returns false and
 * the caller copies it (`copy_present_page()`).
 */
export function folioTryDupAnonRmapPte(ctx: VmContext, pfn: Pfn, srcMmHasPinned: boolean): boolean {
  const memmap = ctx.memmap;
  const exclusive = memmap.testPageFlag(pfn, PG_anon_exclusive);
  if (exclusive && srcMmHasPinned && folioMaybeDmaPinned(ctx, pfn)) return false;
  memmap.pageMapcountInc(pfn);
  memmap.clearPageFlag(pfn, PG_anon_exclusive);
  return true;
}

/** `GUP_PIN_COUNTING_BIAS`. */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** `folio_maybe_dma_pinned()` for a small folio: the fuzzy refcount test. */
export function folioMaybeDmaPinned(ctx: VmContext, pfn: Pfn): boolean {
  return ctx.memmap.pageRefCount(pfn) >= GUP_PIN_COUNTING_BIAS;
}

/** `folio_add_file_rmap_pte()` / `folio_dup_file_rmap_pte()`. */
export function folioAddFileRmapPte(ctx: VmContext, pfn: Pfn): void {
  ctx.memmap.pageMapcountInc(pfn);
}

/** `folio_remove_rmap_pte()`. */
export function folioRemoveRmapPte(ctx: VmContext, pfn: Pfn): void {
  ctx.memmap.pageMapcountDec(pfn);
}

/** `folio_move_anon_rmap()`: an exclusive page reused by `vma` now belongs to its anon_vma. */
export function folioMoveAnonRmap(ctx: VmContext, pfn: Pfn, vma: VmAreaStruct): void {
  ctx.memmap.setPageMapping(pfn, vma.anonVma!, PAGE_MAPPING_ANON);
}

/** The anon_vma of an anonymous page (`folio_anon_vma()`), if it is one. */
export function folioAnonVma(ctx: VmContext, pfn: Pfn): AnonVma | null {
  if (!ctx.memmap.folioTestAnon(pfn)) return null;
  const obj = ctx.memmap.pageMappingObject(pfn);
  return obj instanceof AnonVma ? obj : null;
}

/** Where a page sits in one VMA: its user address, and the entry that maps it there. */
export interface RmapHit {
  readonly vma: VmAreaStruct;
  readonly address: number;
}

/**
 * `rmap_walk()`: call `rmapOne` for every VMA that may map the page at its index
 * (anon: the anon_vma's VMAs; file: i_mmap). `rmapOne` returns false to stop.
 * `mapping`/`index` override the page's own fields (a page may be named by its owner).
 */
export function rmapWalk(
  ctx: VmContext,
  pfn: Pfn,
  rmapOne: (vma: VmAreaStruct, address: number) => boolean,
  opts: { mapping?: AddressSpace; index?: number } = {},
): void {
  const memmap = ctx.memmap;
  const index = opts.index ?? memmap.pageIndex(pfn);
  let vmas: VmAreaStruct[];
  if (opts.mapping) vmas = opts.mapping.vmasCovering(index, index);
  else {
    const av = folioAnonVma(ctx, pfn);
    if (av) vmas = av.rbRoot.overlapping(index, index);
    else {
      const mapping = memmap.folioMapping(pfn) as AddressSpace | null;
      if (!mapping || !("iMmap" in mapping)) return;
      vmas = mapping.vmasCovering(index, index);
    }
  }
  for (const vma of vmas) {
    const address = vma.addressOf(index);
    if (address < 0) continue;
    if (!rmapOne(vma, address)) return;
  }
}

/** Where `pageVmaMapped` found the page: the level of the entry and its handle. */
export interface PvmwHit {
  readonly level: "pte" | "pmd" | "pud";
  readonly h: number;
}

/**
 * `page_vma_mapped_walk()` for one address: the PTE, PMD leaf or PUD leaf handle there if
 * it maps `pfn`, else null.
 */
export function pageVmaMapped(vma: VmAreaStruct, address: number, pfn: Pfn): PvmwHit | null {
  const pt = vma.vmMm.pgtables;
  const uh = pt.pudOffset(address);
  const pud = pt.pudGet(uh);
  if (pudLeaf(pud)) {
    const base = pudPfn(pud);
    return pfn >= base && pfn < base + PUD_NR ? { level: "pud", h: uh } : null;
  }
  const ph = pt.pmdOffset(address);
  if (ph < 0) return null;
  const pmd = pt.pmdGet(ph);
  if (pmdLeaf(pmd)) {
    const base = pmdPfn(pmd);
    return pfn >= base && pfn < base + PMD_NR ? { level: "pmd", h: ph } : null;
  }
  const h = pt.pteOffset(address);
  if (h < 0) return null;
  const pte = pt.pteGet(h);
  return ptePresent(pte) && ptePfn(pte) === pfn ? { level: "pte", h } : null;
}

/** `page_mapped_in_vma()`: the address where `vma` maps the page with a PTE, or -1. */
export function pageMappedInVma(ctx: VmContext, pfn: Pfn, vma: VmAreaStruct): number {
  const address = vma.addressOf(ctx.memmap.pageIndex(pfn));
  if (address < 0) return -1;
  return pageVmaMapped(vma, address, pfn) ? address : -1;
}

/**
 * `try_to_unmap()`: remove every PTE mapping the page. With TTU_HWPOISON on a hwpoisoned
 * page each PTE becomes a hwpoison entry (later accesses get SIGBUS). Returns whether
 * the page ended up unmapped.
 */
export function tryToUnmap(ctx: VmContext, pfn: Pfn, flags: number): boolean {
  const memmap = ctx.memmap;
  const anon = memmap.folioTestAnon(pfn);
  const poison = (flags & TTU_HWPOISON) !== 0 && memmap.testPageFlag(pfn, PG_hwpoison);
  rmapWalk(ctx, pfn, (vma, address) => {
    const hit = pageVmaMapped(vma, address, pfn);
    if (!hit || hit.level !== "pte") return true;
    if (anon && !poison) return false; // no swap to move it to
    const mm = vma.vmMm;
    const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, address, address + PAGE_SIZE, vma);
    mmuNotifierInvalidateRangeStart(range);
    const old = mm.pgtables.pteClear(hit.h);
    flushTlbPage(mm, address);
    mm.counters.ptesUnmapped++;
    if (pteDirty(old)) folioMarkDirty(ctx, pfn);
    if (anon) mm.rss.anon--;
    else mm.rss.file--;
    if (poison) mm.pgtables.pteSet(hit.h, makeHwpoisonEntry(pfn));
    folioRemoveRmapPte(ctx, pfn);
    memmap.putPage(pfn);
    mmuNotifierInvalidateRangeEnd(range);
    return true;
  });
  return !memmap.pageMapped(pfn);
}

/**
 * `folio_mkclean()`: write-protect and clean every shared mapping of a page-cache page,
 * so the next write faults and dirties it again. Returns how many PTEs were cleaned.
 */
export function folioMkclean(ctx: VmContext, pfn: Pfn): number {
  if (!ctx.memmap.folioMapping(pfn)) return 0;
  let cleaned = 0;
  rmapWalk(ctx, pfn, (vma, address) => {
    if (!(vma.vmFlags & VM_SHARED)) return true;
    const hit = pageVmaMapped(vma, address, pfn);
    if (!hit || hit.level !== "pte") return true;
    const mm = vma.vmMm;
    const pte = mm.pgtables.pteGet(hit.h);
    if (!pteDirty(pte) && !pteWrite(pte)) return true;
    const range = mmuNotifierRangeInit(MMU_NOTIFY_PROTECTION_PAGE, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, address, address + PAGE_SIZE, vma);
    mmuNotifierInvalidateRangeStart(range);
    mm.pgtables.pteSet(hit.h, pteMkclean(pteWrprotect(pte)));
    flushTlbPage(mm, address);
    mmuNotifierInvalidateRangeEnd(range);
    cleaned++;
    return true;
  });
  return cleaned;
}

/**
 * `folio_referenced()`: how many mappings accessed the page since the last check; the
 * accessed bits are cleared (with a flush), as `ptep_clear_flush_young()` does.
 */
export function folioReferenced(ctx: VmContext, pfn: Pfn): number {
  let referenced = 0;
  rmapWalk(ctx, pfn, (vma, address) => {
    const hit = pageVmaMapped(vma, address, pfn);
    if (!hit || hit.level !== "pte") return true;
    const mm = vma.vmMm;
    const pte = mm.pgtables.pteGet(hit.h);
    let young = false;
    if (pteYoung(pte)) {
      mm.pgtables.pteSet(hit.h, pteMkold(pte));
      flushTlbPage(mm, address);
      young = true;
    }
    if (mmuNotifierClearFlushYoung(mm, address, address + PAGE_SIZE)) young = true;
    if (young) referenced++;
    return true;
  });
  if (ctx.memmap.testAndClearPageFlag(pfn, PG_referenced)) referenced++;
  return referenced;
}

/** Every (vma, address) where the page is mapped right now (tests, memory failure). */
export function rmapMappings(ctx: VmContext, pfn: Pfn, opts: { mapping?: AddressSpace; index?: number } = {}): RmapHit[] {
  const out: RmapHit[] = [];
  rmapWalk(
    ctx,
    pfn,
    (vma, address) => {
      if (pageVmaMapped(vma, address, pfn)) out.push({ vma, address });
      return true;
    },
    opts,
  );
  return out;
}

