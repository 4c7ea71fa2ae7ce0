/**
 * What the file layers need from the space-management layer inside one transaction: the
 * geometry, block allocation and freeing, and the per-AG refcount and rmap btrees. Also
 * the fs-block-level intents that split a range by AG and run the per-AG logic.
 *
 * @see fs/xfs/libxfs/xfs_format.h XFS_FSB_TO_AGNO(), XFS_FSB_TO_AGBNO(), XFS_AGB_TO_FSB();
 *      fs/xfs/libxfs/xfs_alloc.c xfs_alloc_vextent_near_bno(), xfs_free_extent_later();
 *      fs/xfs/libxfs/xfs_refcount.c xfs_refcount_increase_extent(),
 *      xfs_refcount_decrease_extent(), xfs_refcount_alloc_cow_extent(),
 *      xfs_refcount_free_cow_extent(); fs/xfs/libxfs/xfs_rmap.c xfs_rmap_map_extent(),
 *      xfs_rmap_unmap_extent(), xfs_rmap_convert_extent(), xfs_rmap_alloc_extent(),
 *      xfs_rmap_free_extent()
 *
 * Simplified: the intents run at once instead of being logged and deferred (the whole
 * operation commits or cancels as one transaction); allocations never span AGs.
 */
import { XFS_COW_FORK, XFS_EXT_UNWRITTEN, type XfsBmbtIrec, type XfsFsblock, type XfsWhichfork } from "../iext/types.js";
import type { XfsRefcountBtree } from "../refcount/refcount-btree.js";
import {
  xfsRefcountAdjust,
  xfsRefcountAllocCow,
  xfsRefcountFreeCow,
  xfsRefcountFindShared,
  type XfsRefcountCtx,
} from "../refcount/refcount.js";
import type { XfsAgblock, XfsAgnumber } from "../refcount/types.js";
import type { XfsRmapBtree } from "../rmap/rmap-btree.js";
import { xfsRmapConvert, xfsRmapMap, xfsRmapUnmap } from "../rmap/rmap.js";
import { XFS_RMAP_OWN_COW, XFS_RMAP_UNWRITTEN, type XfsOwnerInfo } from "../rmap/types.js";

export interface XfsGeometry {
  /** `sb_blocksize` in bytes. */
  readonly blockSize: number;
  /** `sb_agblklog`: bits of AG block number inside an fs block number. */
  readonly agblklog: number;
  readonly agcount: number;
  /** `sb_agblocks`. */
  readonly agblocks: number;
  /** `m_dalign`: stripe unit in blocks that large data allocations align to (0/absent: none). */
  readonly dalign?: number;
}

export function xfsFsbToAgno(geo: XfsGeometry, fsb: XfsFsblock): XfsAgnumber {
  return Math.floor(fsb / 2 ** geo.agblklog);
}
export function xfsFsbToAgbno(geo: XfsGeometry, fsb: XfsFsblock): XfsAgblock {
  return fsb % 2 ** geo.agblklog;
}
export function xfsAgbToFsb(geo: XfsGeometry, agno: XfsAgnumber, agbno: XfsAgblock): XfsFsblock {
  return agno * 2 ** geo.agblklog + agbno;
}

export interface XfsAllocAttempt {
  exact?: boolean;
  alignment?: number;
}

/** The space services of one transaction. */
export interface XfsSpace {
  readonly geo: XfsGeometry;
  readonly hasReflink: boolean;
  readonly hasRmapbt: boolean;
  /**
   * `xfs_alloc_vextent_near_bno()`: between minlen and maxlen free blocks, near `hint`,
   * contiguous and inside one AG; throws ENOSPC. No rmap is added (the caller maps them).
   */
  allocExtent(hint: XfsFsblock, minlen: number, maxlen: number): { fsb: XfsFsblock; len: number };
  /**
   * One attempt of `xfs_bmap_btalloc_at_eof()`: `exact` at `hint` (`xfs_alloc_vextent_exact_bno()`),
   * or near `hint` starting on a multiple of `alignment` AG blocks; undefined when nothing fits.
   */
  tryAllocExtent(hint: XfsFsblock, minlen: number, maxlen: number, opts: XfsAllocAttempt): { fsb: XfsFsblock; len: number } | undefined;
  /** `xfs_free_extent_later()` without an rmap update (the caller unmapped them). */
  freeExtent(fsb: XfsFsblock, len: number): void;
  /** Free blocks left (`sb_fdblocks`). */
  freeBlocks(): number;
  /** The free extents of one AG in block order (a bnobt walk; for the checker). */
  freeExtents(agno: XfsAgnumber): { bno: XfsAgblock; len: number }[];
  refcountbt(agno: XfsAgnumber): XfsRefcountBtree;
  rmapbt(agno: XfsAgnumber): XfsRmapBtree;
}

/** Run `fn` on each per-AG piece of [fsb, fsb + len). */
export function forEachAgPiece(
  geo: XfsGeometry,
  fsb: XfsFsblock,
  len: number,
  fn: (agno: XfsAgnumber, agbno: XfsAgblock, len: number, fsb: XfsFsblock) => void,
): void {
  let pos = fsb;
  const stop = fsb + len;
  while (pos < stop) {
    const agno = xfsFsbToAgno(geo, pos);
    const agbno = xfsFsbToAgbno(geo, pos);
    const n = Math.min(stop - pos, 2 ** geo.agblklog - agbno);
    fn(agno, agbno, n, pos);
    pos += n;
  }
}

function refcountCtx(sp: XfsSpace, agno: XfsAgnumber): XfsRefcountCtx {
  return { agno, bt: sp.refcountbt(agno), freeExtent: (agbno, len) => sp.freeExtent(xfsAgbToFsb(sp.geo, agno, agbno), len) };
}

export function xfsRefcountIncreaseExtent(sp: XfsSpace, fsb: XfsFsblock, len: number): void {
  forEachAgPiece(sp.geo, fsb, len, (agno, agbno, n) => xfsRefcountAdjust(refcountCtx(sp, agno), agbno, n, 1));
}

/** Drop one owner; blocks left with none are freed. */
export function xfsRefcountDecreaseExtent(sp: XfsSpace, fsb: XfsFsblock, len: number): void {
  forEachAgPiece(sp.geo, fsb, len, (agno, agbno, n) => xfsRefcountAdjust(refcountCtx(sp, agno), agbno, n, -1));
}

/** Record CoW staging blocks: refcount CoW-domain record plus an OWN_COW rmap. */
export function xfsRefcountAllocCowExtent(sp: XfsSpace, fsb: XfsFsblock, len: number): void {
  forEachAgPiece(sp.geo, fsb, len, (agno, agbno, n) => {
    if (sp.hasReflink) xfsRefcountAllocCow(refcountCtx(sp, agno), agbno, n);
    if (sp.hasRmapbt) xfsRmapMap({ agno, bt: sp.rmapbt(agno) }, agbno, n, cowOwner);
  });
}

/** Forget CoW staging blocks (they were remapped into the data fork or are being freed). */
export function xfsRefcountFreeCowExtent(sp: XfsSpace, fsb: XfsFsblock, len: number): void {
  forEachAgPiece(sp.geo, fsb, len, (agno, agbno, n) => {
    if (sp.hasReflink) xfsRefcountFreeCow(refcountCtx(sp, agno), agbno, n);
    if (sp.hasRmapbt) xfsRmapUnmap({ agno, bt: sp.rmapbt(agno) }, agbno, n, cowOwner);
  });
}

const cowOwner: XfsOwnerInfo = { oiOwner: XFS_RMAP_OWN_COW, oiOffset: 0, oiFlags: 0 };

function dataOwner(ino: number, irec: XfsBmbtIrec, startFsb: XfsFsblock, pieceFsb: XfsFsblock): XfsOwnerInfo {
  return {
    oiOwner: ino,
    oiOffset: irec.brStartoff + (pieceFsb - startFsb),
    oiFlags: irec.brState === XFS_EXT_UNWRITTEN ? XFS_RMAP_UNWRITTEN : 0,
  };
}

/** `xfs_rmap_map_extent()`: the data-fork mapping `irec` of inode `ino` gains its rmap. */
export function xfsRmapMapExtent(sp: XfsSpace, ino: number, whichfork: XfsWhichfork, irec: XfsBmbtIrec): void {
  if (!sp.hasRmapbt || whichfork === XFS_COW_FORK) return;
  forEachAgPiece(sp.geo, irec.brStartblock, irec.brBlockcount, (agno, agbno, n, pfsb) =>
    xfsRmapMap({ agno, bt: sp.rmapbt(agno) }, agbno, n, dataOwner(ino, irec, irec.brStartblock, pfsb)),
  );
}

/** `xfs_rmap_unmap_extent()`. */
export function xfsRmapUnmapExtent(sp: XfsSpace, ino: number, whichfork: XfsWhichfork, irec: XfsBmbtIrec): void {
  if (!sp.hasRmapbt || whichfork === XFS_COW_FORK) return;
  forEachAgPiece(sp.geo, irec.brStartblock, irec.brBlockcount, (agno, agbno, n, pfsb) =>
    xfsRmapUnmap({ agno, bt: sp.rmapbt(agno) }, agbno, n, dataOwner(ino, irec, irec.brStartblock, pfsb)),
  );
}

/** `xfs_rmap_convert_extent()`: `irec` (in its old state) changes state to `toState`. */
export function xfsRmapConvertExtent(sp: XfsSpace, ino: number, irec: XfsBmbtIrec, toUnwritten: boolean): void {
  if (!sp.hasRmapbt) return;
  forEachAgPiece(sp.geo, irec.brStartblock, irec.brBlockcount, (agno, agbno, n, pfsb) =>
    xfsRmapConvert({ agno, bt: sp.rmapbt(agno) }, agbno, n, dataOwner(ino, irec, irec.brStartblock, pfsb), toUnwritten ? XFS_RMAP_UNWRITTEN : 0),
  );
}

/**
 * `xfs_reflink_find_shared()` on fs blocks: the first shared block of [fsb, fsb + len)
 * and the length of the shared run there (`flen` 0: none shared).
 */
export function xfsFindSharedExtent(
  sp: XfsSpace,
  fsb: XfsFsblock,
  len: number,
  findEndOfShared: boolean,
): { fbno: XfsFsblock; flen: number } {
  if (!sp.hasReflink) return { fbno: fsb + len, flen: 0 };
  let result = { fbno: fsb + len, flen: 0 };
  let done = false;
  forEachAgPiece(sp.geo, fsb, len, (agno, agbno, n) => {
    if (done) return;
    const r = xfsRefcountFindShared(sp.refcountbt(agno), agbno, n, findEndOfShared);
    if (r.flen > 0) {
      result = { fbno: xfsAgbToFsb(sp.geo, agno, r.fbno), flen: r.flen };
      done = true;
    }
  });
  return result;
}
