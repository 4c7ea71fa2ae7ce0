/**
 * The slow path's page-table lookup: find the page mapped at an address and grab it, or
 * say why not (nothing mapped → fault it in; R/O pin of a shared anonymous page →
 * unshare first; no struct page → EEXIST).
 *
 * @see mm/gup.c follow_page_mask(), follow_pud_mask(), follow_huge_pud(), follow_pmd_mask(),
 *      follow_page_pte(),
 *      can_follow_write_common(), can_follow_write_pte(), follow_pfn_pte(), no_page_table();
 *      mm/huge_memory.c follow_devmap_pmd(); mm/internal.h gup_must_unshare();
 *      mm/memremap.c get_dev_pagemap()
 *
 * Runs with mmap_lock held and never sleeps, so the page-table lock is implicit. A PMD or
 * PUD leaf that is not devmap is a raw PFN mapping in this model (mm-core has no anonymous
 * THP) and answers EEXIST like a special PTE. No NUMA hinting, soft-dirty or uffd-wp.
 */
import {
  ERRNO, PG_anon_exclusive, PG_dirty, PG_referenced, _PAGE_PRESENT, _PAGE_PROTNONE, folioMarkDirty, getDevPagemap,
  isCowMapping, pmdDevmap, pmdLeaf, pmdMkdirty, pmdMkyoung, pmdNone, pmdPfn, pmdPresent, pmdWrite, pteBits, pteDevmap,
  pteDirty, pteMkdirty, pteMkyoung, pteNone, ptePfn, ptePresent, pteWrite, putDevPagemap, vmNormalPage, vmaIsAnonymous,
  VM_ACCESS_FLAGS, VM_MAYSHARE, VM_MAYWRITE, VM_SHARED, VM_WRITE, PAGE_SIZE, PMD_SIZE, PUD_SIZE, pudDevmap, pudLeaf,
  pudMkdirty, pudMkyoung, pudPfn, pudWrite,
  type DevPagemap, type Pfn, type PteVal, type VmAreaStruct, type VmContext,
} from "@pagelab/mm-core";
import { gupState } from "./config.js";
import { FOLL_DUMP, FOLL_FORCE, FOLL_GET, FOLL_HONOR_NUMA_FAULT, FOLL_LONGTERM, FOLL_PIN, FOLL_TOUCH, FOLL_WRITE } from "./foll.js";
import { tryGrabFolio } from "./grab.js";

/** What `follow_page_mask()` returns, as a value instead of a tagged pointer. */
export type FollowResult =
  /** The page, grabbed according to FOLL_GET / FOLL_PIN. */
  | { readonly kind: "page"; readonly pfn: Pfn }
  /** NULL: nothing usable is mapped; fault it in. */
  | { readonly kind: "none" }
  /** -EMLINK: a R/O pin of a possibly shared page; fault with FAULT_FLAG_UNSHARE. */
  | { readonly kind: "unshare" }
  /** ERR_PTR(-errno): -EEXIST (no struct page), -EFAULT, -ENOMEM. */
  | { readonly kind: "error"; readonly errno: number };

const NONE: FollowResult = { kind: "none" };
const UNSHARE: FollowResult = { kind: "unshare" };

/** `struct follow_page_context`: the dev_pagemap reference kept across pages. */
export interface FollowPageContext {
  pgmap: DevPagemap | null;
}

/** `get_dev_pagemap(pfn, cached)`: reuse the cached pgmap when it covers `pfn`. */
function getDevPagemapCached(ctx: VmContext, pfn: Pfn, fctx: FollowPageContext): DevPagemap | null {
  if (fctx.pgmap?.live && fctx.pgmap.pfnValid(pfn)) return fctx.pgmap;
  if (fctx.pgmap) putDevPagemap(fctx.pgmap);
  fctx.pgmap = getDevPagemap(ctx.memmap, pfn) ?? null;
  return fctx.pgmap;
}

/** Release the pgmap reference at the end of a walk. */
export function followPageContextDone(fctx: FollowPageContext): void {
  if (fctx.pgmap) putDevPagemap(fctx.pgmap);
  fctx.pgmap = null;
}

/**
 * `gup_must_unshare()`: a R/O pin (FOLL_PIN without FOLL_WRITE) of an anonymous page that
 * is not PageAnonExclusive must unshare it first, or the pin could later observe another
 * process's writes (CVE-2020-29374). Non-anonymous pages only for R/O long-term pins in
 * CoW mappings. `vma` is null in GUP-fast.
 */
export function gupMustUnshare(ctx: VmContext, vma: VmAreaStruct | null, flags: number, pfn: Pfn): boolean {
  if ((flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  if (gupState(ctx).bugs.cowLeakAfterFork) return false;
  const memmap = ctx.memmap;
  if (ctx.isZeroPfn(pfn) || !memmap.folioTestAnon(pfn)) {
    if (!(flags & FOLL_LONGTERM)) return false;
    if (!vma) return true;
    return isCowMapping(vma.vmFlags);
  }
  return !memmap.testPageFlag(pfn, PG_anon_exclusive);
}

/** `can_follow_write_common()`: FOLL_FORCE may write a R/O PTE only after CoW gave us the page. */
function canFollowWriteCommon(ctx: VmContext, pfn: Pfn | null, vma: VmAreaStruct, flags: number): boolean {
  if (!(flags & FOLL_FORCE)) return false;
  if (vma.vmFlags & (VM_MAYSHARE | VM_SHARED)) return false;
  if (!(vma.vmFlags & VM_MAYWRITE)) return false;
  if (vma.vmFlags & VM_WRITE) return false;
  return pfn !== null && ctx.memmap.folioTestAnon(pfn) && ctx.memmap.testPageFlag(pfn, PG_anon_exclusive);
}

/** `can_follow_write_pte()`; with the Dirty COW switch, the pre-4.9 rule (`pte_write()` only). */
function canFollowWritePte(ctx: VmContext, pte: PteVal, pfn: Pfn | null, vma: VmAreaStruct, flags: number): boolean {
  if (pteWrite(pte)) return true;
  if (gupState(ctx).bugs.dirtyCow) return false;
  return canFollowWriteCommon(ctx, pfn, vma, flags);
}

/** `no_page_table()`: NULL (fault it in), except holes that a core dump skips. */
function noPageTable(vma: VmAreaStruct, flags: number): FollowResult {
  if (!(flags & FOLL_DUMP)) return NONE;
  if (vmaIsAnonymous(vma) || !vma.vmOps?.fault) return { kind: "error", errno: -ERRNO.EFAULT };
  return NONE;
}

function pteProtnone(pte: PteVal): boolean {
  const bits = pteBits(pte);
  return (bits & _PAGE_PROTNONE) !== 0 && (bits & _PAGE_PRESENT) === 0;
}

/** `gup_can_follow_protnone()`: only NUMA-hinting callers care; PROT_NONE VMAs passed check_vma_flags. */
function gupCanFollowProtnone(vma: VmAreaStruct, flags: number): boolean {
  if (!(flags & FOLL_HONOR_NUMA_FAULT)) return true;
  return (vma.vmFlags & VM_ACCESS_FLAGS) !== 0;
}

/** `folio_mark_accessed()`, reduced to the referenced bit. */
function markAccessed(ctx: VmContext, pfn: Pfn): void {
  ctx.memmap.setPageFlag(pfn, PG_referenced);
}

/** `follow_page_pte()`. */
function followPagePte(vma: VmAreaStruct, address: number, flags: number, fctx: FollowPageContext): FollowResult {
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const pt = mm.pgtables;
  const h = pt.pteOffset(address);
  if (h < 0) return noPageTable(vma, flags);
  const pte = pt.pteGet(h);
  if (!ptePresent(pte)) return pteNone(pte) ? noPageTable(vma, flags) : NONE;
  if (pteProtnone(pte) && !gupCanFollowProtnone(vma, flags)) return NONE;

  let page = vmNormalPage(vma, pte);
  if (flags & FOLL_WRITE && !canFollowWritePte(ctx, pte, page, vma, flags)) return NONE;

  if (page === null && pteDevmap(pte) && flags & (FOLL_GET | FOLL_PIN)) {
    if (!getDevPagemapCached(ctx, ptePfn(pte), fctx)) return NONE;
    page = ptePfn(pte);
  } else if (page === null) {
    if (flags & FOLL_DUMP) return { kind: "error", errno: -ERRNO.EFAULT };
    if (ctx.isZeroPfn(ptePfn(pte))) page = ptePfn(pte);
    else return followPfnPte(vma, h, flags);
  }

  if (!pteWrite(pte) && gupMustUnshare(ctx, vma, flags, page)) return UNSHARE;
  if (flags & FOLL_PIN && ctx.memmap.folioTestAnon(page) && !ctx.memmap.testPageFlag(page, PG_anon_exclusive))
    if (!gupState(ctx).bugs.cowLeakAfterFork) ctx.memmap.bug(page, "VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(page) && !PageAnonExclusive(page))");

  const ret = tryGrabFolio(ctx, page, 1, flags);
  if (ret) return { kind: "error", errno: ret };
  if (flags & FOLL_TOUCH) {
    if (flags & FOLL_WRITE && !pteDirty(pte) && !ctx.memmap.testPageFlag(page, PG_dirty)) folioMarkDirty(ctx, page);
    markAccessed(ctx, page);
  }
  return { kind: "page", pfn: page };
}

/** `follow_pfn_pte()`: a mapping without a struct page; touch it and answer EEXIST. */
function followPfnPte(vma: VmAreaStruct, h: number, flags: number): FollowResult {
  if (flags & FOLL_TOUCH) {
    const pt = vma.vmMm.pgtables;
    const orig = pt.pteGet(h);
    let entry = orig;
    if (flags & FOLL_WRITE) entry = pteMkdirty(entry);
    entry = pteMkyoung(entry);
    if (entry !== orig) pt.pteSet(h, entry);
  }
  return { kind: "error", errno: -ERRNO.EEXIST };
}

/** `follow_devmap_pmd()`: one page of a devmap PMD (fsdax, device-dax), grabbed. */
function followDevmapPmd(vma: VmAreaStruct, address: number, ph: number, flags: number, fctx: FollowPageContext): FollowResult {
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const pt = mm.pgtables;
  const pmd = pt.pmdGet(ph);
  if (flags & FOLL_WRITE && !pmdWrite(pmd)) return NONE;
  if (flags & FOLL_TOUCH) {
    let v = pmdMkyoung(pmd);
    if (flags & FOLL_WRITE) v = pmdMkdirty(v);
    if (v !== pmd) pt.pmdSet(ph, v);
  }
  if (!(flags & (FOLL_GET | FOLL_PIN))) return { kind: "error", errno: -ERRNO.EEXIST };
  const pfn = (pmdPfn(pmd) + Math.floor((address % PMD_SIZE) / PAGE_SIZE)) as Pfn;
  if (!getDevPagemapCached(ctx, pfn, fctx)) return { kind: "error", errno: -ERRNO.EFAULT };
  const ret = tryGrabFolio(ctx, pfn, 1, flags);
  return ret ? { kind: "error", errno: ret } : { kind: "page", pfn };
}

/**
 * `follow_huge_pud()`: the subpage of a 1 GiB leaf at `address`, grabbed. Only devmap
 * leaves (device-dax) have struct pages here; NONE sends the caller to fault.
 */
function followHugePud(vma: VmAreaStruct, address: number, uh: number, flags: number, fctx: FollowPageContext): FollowResult {
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const pt = mm.pgtables;
  const pud = pt.pudGet(uh);
  if (flags & FOLL_WRITE && !pudWrite(pud)) return NONE;
  if (pteProtnone(pud) && !gupCanFollowProtnone(vma, flags)) return NONE;
  if (!pudDevmap(pud)) return { kind: "error", errno: -ERRNO.EEXIST };
  if (!(flags & (FOLL_GET | FOLL_PIN))) return { kind: "error", errno: -ERRNO.EEXIST };
  if (flags & FOLL_TOUCH) {
    // touch_pud()
    let v = pudMkyoung(pud);
    if (flags & FOLL_WRITE) v = pudMkdirty(v);
    if (v !== pud) pt.pudSet(uh, v);
  }
  const pfn = (pudPfn(pud) + Math.floor((address % PUD_SIZE) / PAGE_SIZE)) as Pfn;
  if (!getDevPagemapCached(ctx, pfn, fctx)) return { kind: "error", errno: -ERRNO.EFAULT };
  const ret = tryGrabFolio(ctx, pfn, 1, flags);
  return ret ? { kind: "error", errno: ret } : { kind: "page", pfn };
}

/**
 * `follow_page_mask()`: look up the page at `address` in `vma`, grabbing it per `flags`.
 * The kernel's page_mask is always 0 here: every page is looked up on its own.
 */
export function followPageMask(vma: VmAreaStruct, address: number, flags: number, fctx: FollowPageContext): FollowResult {
  const pt = vma.vmMm.pgtables;
  // follow_pud_mask()
  const uh = pt.pudOffset(address);
  if (pudLeaf(pt.pudGet(uh))) {
    const r = followHugePud(vma, address, uh, flags, fctx);
    return r.kind === "none" ? noPageTable(vma, flags) : r;
  }
  const ph = pt.pmdOffset(address);
  if (ph < 0) return noPageTable(vma, flags);
  const pmd = pt.pmdGet(ph);
  if (pmdNone(pmd) || !pmdPresent(pmd)) return noPageTable(vma, flags);
  if (pmdLeaf(pmd) && pmdDevmap(pmd)) {
    const r = followDevmapPmd(vma, address, ph, flags, fctx);
    return r.kind === "none" ? noPageTable(vma, flags) : r;
  }
  if (!pmdLeaf(pmd)) return followPagePte(vma, address, flags, fctx);
  if (pteProtnone(pmd) && !gupCanFollowProtnone(vma, flags)) return noPageTable(vma, flags);
  if (flags & FOLL_WRITE && !pmdWrite(pmd)) return NONE;
  return { kind: "error", errno: -ERRNO.EEXIST };
}
