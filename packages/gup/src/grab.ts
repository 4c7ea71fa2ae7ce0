/**
 * Taking and dropping GUP references: a FOLL_GET reference adds 1 to `_refcount`, a
 * FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) so that `folio_maybe_dma_pinned()` can tell
 * a DMA pin from ordinary references; unpinning takes the bias off again and may free
 * the page.
 *
 * @see mm/gup.c try_grab_folio(), gup_put_folio(), unpin_user_page(), unpin_user_pages(),
 *      unpin_user_pages_dirty_lock(), unpin_user_page_range_dirty_lock(), folio_add_pin(),
 *      sanity_check_pinned_pages(); include/linux/mm.h GUP_PIN_COUNTING_BIAS,
 *      folio_maybe_dma_pinned(), put_page(); mm/page-writeback.c set_page_dirty_lock()
 *
 * mm-core has no large folios, so every pin uses the bias (the kernel's exact
 * `_pincount` of large folios never arises). GUP_PIN_COUNTING_BIAS and
 * folioMaybeDmaPinned are mm-core's (vm/rmap.ts); puts go through mm-core's
 * `put_devmap_managed_folio_refs()` rule, so an FS_DAX page returns to its idle
 * refcount of 1 and wakes layout-break waiters. P2PDMA pages are not modelled.
 */
import {
  ERRNO, GUP_PIN_COUNTING_BIAS, KernelBug, PG_anon_exclusive, PG_dirty, folioMarkDirty, handleToPfn, isTaggedHandle,
  lockPage, pfnToHandle, unlockPage, type PageHandle, type Pfn, type Sleepable, type VmContext,
} from "@pagelab/mm-core";
import { gupState } from "./config.js";
import { FOLL_GET, FOLL_PIN } from "./foll.js";

/** The pfn behind a real page handle; a proxy handle here is a caller bug. */
export function gupPagePfn(page: PageHandle): Pfn {
  if (isTaggedHandle(page))
    throw new KernelBug(`GUP: proxy handle ${page} passed where a struct page is expected (use putUserPage)`);
  return handleToPfn(page);
}

/**
 * `try_grab_folio()`: FOLL_GET adds `refs`, FOLL_PIN adds `refs * GUP_PIN_COUNTING_BIAS`
 * (nothing on the zero page). Returns 0 or -ENOMEM for a page that is already free.
 */
export function tryGrabFolio(ctx: VmContext, pfn: Pfn, refs: number, flags: number): number {
  const memmap = ctx.memmap;
  if (memmap.pageRefCount(pfn) <= 0) {
    ctx.dmesg.warnOnOnce(true, "mm/gup.c try_grab_folio");
    return -ERRNO.ENOMEM;
  }
  const stats = gupState(ctx).stats;
  if (flags & FOLL_GET) {
    memmap.pageRefAdd(pfn, refs);
    stats.refsTaken += refs;
  } else if (flags & FOLL_PIN) {
    if (ctx.isZeroPfn(pfn)) return 0;
    memmap.pageRefAdd(pfn, refs * GUP_PIN_COUNTING_BIAS);
    stats.pinsAcquired += refs;
  }
  return 0;
}

/** `gup_put_folio()`: drop what `tryGrabFolio` took with the same flags. */
export function gupPutFolio(ctx: VmContext, pfn: Pfn, refs: number, flags: number): void {
  if (flags & FOLL_PIN) {
    if (ctx.isZeroPfn(pfn)) return;
    gupState(ctx).stats.pinsReleased += refs;
    refs *= GUP_PIN_COUNTING_BIAS;
  }
  ctx.memmap.putPageRefs(pfn, refs);
}

/**
 * `sanity_check_pinned_pages()` (CONFIG_DEBUG_VM): a pinned anonymous page must still be
 * PageAnonExclusive — pins are only taken on exclusive pages and fork never shares them.
 */
function sanityCheckPinnedPage(ctx: VmContext, pfn: Pfn): void {
  const memmap = ctx.memmap;
  if (ctx.isZeroPfn(pfn) || !memmap.folioTestAnon(pfn)) return;
  if (gupState(ctx).bugs.cowLeakAfterFork) return; // the pre-5.19 kernel had no such rule
  if (!memmap.testPageFlag(pfn, PG_anon_exclusive)) memmap.bug(pfn, "VM_BUG_ON_PAGE(!PageAnonExclusive(&folio->page))");
}

/** `unpin_user_page()`. */
export function unpinUserPage(ctx: VmContext, page: PageHandle): void {
  const pfn = gupPagePfn(page);
  sanityCheckPinnedPage(ctx, pfn);
  gupPutFolio(ctx, pfn, 1, FOLL_PIN);
}

/** `unpin_user_pages()`: every handle of a pin_user_pages*() result. */
export function unpinUserPages(ctx: VmContext, pages: readonly PageHandle[]): void {
  for (const page of pages) unpinUserPage(ctx, page);
}

/** `put_page()` of a FOLL_GET result. */
export function putUserPageRef(ctx: VmContext, page: PageHandle): void {
  ctx.memmap.putPage(gupPagePfn(page));
}

/**
 * `set_page_dirty_lock()`: dirty the page under its page lock (so it cannot be truncated
 * meanwhile), through `->dirty_folio` for page-cache pages.
 */
export function* setPageDirtyLock(ctx: VmContext, pfn: Pfn): Sleepable<boolean> {
  yield* lockPage(ctx.memmap, pfn);
  const dirtied = folioMarkDirty(ctx, pfn);
  unlockPage(ctx.memmap, pfn);
  return dirtied;
}

/**
 * `unpin_user_pages_dirty_lock()`: mark each page dirty (if asked and not already) under
 * its page lock, then unpin it — what a driver does after a device wrote into the pages.
 */
export function* unpinUserPagesDirtyLock(ctx: VmContext, pages: readonly PageHandle[], makeDirty: boolean): Sleepable {
  if (!makeDirty) {
    unpinUserPages(ctx, pages);
    return;
  }
  for (const page of pages) {
    const pfn = gupPagePfn(page);
    sanityCheckPinnedPage(ctx, pfn);
    if (!ctx.isZeroPfn(pfn) && !ctx.memmap.testPageFlag(pfn, PG_dirty)) yield* setPageDirtyLock(ctx, pfn);
    gupPutFolio(ctx, pfn, 1, FOLL_PIN);
  }
}

/** `unpin_user_page_range_dirty_lock()`: `npages` consecutive pages from `page`. */
export function* unpinUserPageRangeDirtyLock(ctx: VmContext, page: PageHandle, npages: number, makeDirty: boolean): Sleepable {
  const first = gupPagePfn(page);
  const pages: PageHandle[] = [];
  for (let i = 0; i < npages; i++) pages.push(pfnToHandle((first + i) as Pfn));
  yield* unpinUserPagesDirtyLock(ctx, pages, makeDirty);
}

/** `folio_add_pin()`: one more pin on a page the caller already pinned. */
export function folioAddPin(ctx: VmContext, page: PageHandle): void {
  const pfn = gupPagePfn(page);
  if (ctx.isZeroPfn(pfn)) return;
  ctx.dmesg.warnOnOnce(ctx.memmap.pageRefCount(pfn) < GUP_PIN_COUNTING_BIAS, "mm/gup.c folio_add_pin");
  ctx.memmap.pageRefAdd(pfn, GUP_PIN_COUNTING_BIAS);
  gupState(ctx).stats.pinsAcquired++;
}
