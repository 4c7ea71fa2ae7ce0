/**
 * Dirty and writeback state of page-cache pages: PG_dirty / PG_writeback on the page and
 * the DIRTY / WRITEBACK / TOWRITE marks in the mapping's XArray.
 *
 * @see mm/page-writeback.c folio_mark_dirty(), filemap_dirty_folio(),
 *      folio_clear_dirty_for_io(), __folio_start_writeback(), __folio_end_writeback(),
 *      tag_pages_for_writeback()
 *
 * Simplified: no dirty throttling, no bdi accounting, no cgroup writeback.
 */
import { PG_dirty } from "../page/flags.js";
import { endPageWriteback, setPageWriteback } from "../page/pagelock.js";
import type { Pfn } from "../types.js";
import { PAGECACHE_TAG_DIRTY, PAGECACHE_TAG_TOWRITE, PAGECACHE_TAG_WRITEBACK } from "../xarray/index.js";
import type { AddressSpace } from "./addressSpace.js";
import type { VmContext } from "./context.js";
import { folioMkclean } from "./rmap.js";

function pageCacheMapping(ctx: VmContext, pfn: Pfn): AddressSpace | null {
  return (ctx.memmap.folioMapping(pfn) as AddressSpace | null) ?? null;
}

/** `filemap_dirty_folio()`: set PG_dirty and tag the entry dirty; true if newly dirty. */
export function filemapDirtyFolio(ctx: VmContext, mapping: AddressSpace, pfn: Pfn): boolean {
  if (ctx.memmap.testAndSetPageFlag(pfn, PG_dirty)) return false;
  const index = ctx.memmap.pageIndex(pfn);
  if (ctx.memmap.folioMapping(pfn) === mapping) mapping.iPages.setMark(index, PAGECACHE_TAG_DIRTY);
  return true;
}

/** `folio_mark_dirty()`: through `->dirty_folio` for page-cache pages. */
export function folioMarkDirty(ctx: VmContext, pfn: Pfn): boolean {
  const mapping = pageCacheMapping(ctx, pfn);
  if (mapping) {
    if (mapping.aOps.dirtyFolio) return mapping.aOps.dirtyFolio(mapping, pfn);
    return filemapDirtyFolio(ctx, mapping, pfn);
  }
  return !ctx.memmap.testAndSetPageFlag(pfn, PG_dirty);
}

/**
 * `folio_clear_dirty_for_io()`: before writing a page out, write-protect its shared
 * mappings (so a later store dirties it again) and move the dirty bit off the page.
 */
export function folioClearDirtyForIo(ctx: VmContext, pfn: Pfn): boolean {
  const mapping = pageCacheMapping(ctx, pfn);
  if (mapping && mapping.canWriteback) {
    if (folioMkclean(ctx, pfn)) folioMarkDirty(ctx, pfn);
    if (ctx.memmap.testAndClearPageFlag(pfn, PG_dirty)) {
      mapping.iPages.clearMark(ctx.memmap.pageIndex(pfn), PAGECACHE_TAG_DIRTY);
      return true;
    }
    return false;
  }
  return ctx.memmap.testAndClearPageFlag(pfn, PG_dirty);
}

/** `folio_start_writeback()`: the page is locked. */
export function folioStartWriteback(ctx: VmContext, pfn: Pfn): void {
  setPageWriteback(ctx.memmap, pfn);
  const mapping = pageCacheMapping(ctx, pfn);
  if (mapping) {
    const index = ctx.memmap.pageIndex(pfn);
    mapping.iPages.setMark(index, PAGECACHE_TAG_WRITEBACK);
    mapping.iPages.clearMark(index, PAGECACHE_TAG_TOWRITE);
  }
}

/** `folio_end_writeback()`: clears PG_writeback and wakes its waiters. */
export function folioEndWriteback(ctx: VmContext, pfn: Pfn): void {
  endPageWriteback(ctx.memmap, pfn);
  const mapping = pageCacheMapping(ctx, pfn);
  if (mapping) mapping.iPages.clearMark(ctx.memmap.pageIndex(pfn), PAGECACHE_TAG_WRITEBACK);
}

/** `tag_pages_for_writeback()`: mark every dirty entry in [start, end] TOWRITE. */
export function tagPagesForWriteback(mapping: AddressSpace, start: number, end: number): void {
  for (const [index] of mapping.iPages.marked(start, end, PAGECACHE_TAG_DIRTY)) {
    mapping.iPages.setMark(index, PAGECACHE_TAG_TOWRITE);
  }
}
