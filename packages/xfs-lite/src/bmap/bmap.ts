/**
 * Block mapping of an inode's forks: allocate into holes, remove ranges, convert unwritten
 * extents, and the remap primitives reflink uses — each keeping the rmap, the refcounts and
 * the inode's block counts in step with the fork.
 *
 * @see fs/xfs/libxfs/xfs_bmap.c xfs_bmapi_write(), xfs_bmap_extsize_align(),
 *      xfs_bmap_btalloc(), xfs_bmap_btalloc_at_eof(), xfs_bmap_isaeof(), xfs_bunmapi(),
 *      xfs_bmap_del_extent_real(), xfs_bmap_del_extent_cow(), xfs_bmapi_remap(),
 *      xfs_bmap_map_extent(), xfs_bmap_unmap_extent(), xfs_bmapi_convert_unwritten()
 *
 * Simplified: no delayed allocation (blocks are allocated at once, as direct I/O and DAX
 * do); the extent size hint rounds the allocated range but not its length inside one
 * allocation (no `prod`/`mod`), and stripe alignment applies only to allocations at EOF
 * (`xfs_bmap_btalloc_at_eof()`), with no swalloc (width) alignment.
 */
import {
  XFS_COW_FORK,
  XFS_DATA_FORK,
  XFS_EXT_NORM,
  XFS_EXT_UNWRITTEN,
  HOLESTARTBLOCK,
  isHole,
  type XfsBmbtIrec,
  type XfsExntst,
  type XfsFileoff,
  type XfsFilblks,
  type XfsWhichfork,
} from "../iext/types.js";
import type { XfsInode } from "../inode/inode.js";
import { XfsIfork, xfsBmapiRead, xfsForkLookup, xfsForkMapRange, xfsForkNextMapped, xfsForkUnmapRange, type SameAg } from "./fork.js";
import {
  xfsFsbToAgno,
  xfsRefcountAllocCowExtent,
  xfsRefcountDecreaseExtent,
  xfsRefcountFreeCowExtent,
  xfsRmapConvertExtent,
  xfsRmapMapExtent,
  xfsRmapUnmapExtent,
  type XfsSpace,
} from "./space.js";

export function sameAgOf(sp: XfsSpace): SameAg {
  return (a, b) => xfsFsbToAgno(sp.geo, a) === xfsFsbToAgno(sp.geo, b);
}

export function xfsIfork(ip: XfsInode, whichfork: XfsWhichfork): XfsIfork {
  if (whichfork === XFS_DATA_FORK) return ip.dataFork;
  if (ip.cowFork === null) ip.cowFork = new XfsIfork();
  return ip.cowFork;
}

/** `xfs_bmapi_remap()` / `xfs_bmap_map_extent()`: put real blocks into a data-fork hole. */
export function xfsBmapMapExtent(sp: XfsSpace, ip: XfsInode, irec: XfsBmbtIrec): void {
  xfsForkMapRange(ip.dataFork, irec, sameAgOf(sp));
  xfsRmapMapExtent(sp, ip.ino, XFS_DATA_FORK, irec);
  ip.nblocks += irec.brBlockcount;
}

/**
 * `xfs_bmap_unmap_extent()` (a REMAP bunmapi): take [off, off + len) out of the data fork
 * with its rmaps, but leave the blocks and their refcounts to the caller. Returns the
 * pieces removed.
 */
export function xfsBmapUnmapExtent(sp: XfsSpace, ip: XfsInode, off: XfsFileoff, len: XfsFilblks): XfsBmbtIrec[] {
  const removed = xfsForkUnmapRange(ip.dataFork, off, len);
  for (const piece of removed) {
    xfsRmapUnmapExtent(sp, ip.ino, XFS_DATA_FORK, piece);
    ip.nblocks -= piece.brBlockcount;
  }
  return removed;
}

/** Release blocks a data fork stopped mapping: drop an owner if reflinked, else free them. */
export function xfsBmapReleaseBlocks(sp: XfsSpace, ip: XfsInode, piece: XfsBmbtIrec): void {
  if (ip.isReflink() && sp.hasReflink) xfsRefcountDecreaseExtent(sp, piece.brStartblock, piece.brBlockcount);
  else sp.freeExtent(piece.brStartblock, piece.brBlockcount);
}

/**
 * `xfs_bunmapi()`: remove [off, off + len) from a fork and release its blocks — data-fork
 * blocks lose an owner (freed when none is left), CoW staging blocks are freed.
 */
export function xfsBunmapi(sp: XfsSpace, ip: XfsInode, whichfork: XfsWhichfork, off: XfsFileoff, len: XfsFilblks): number {
  if (len <= 0) return 0;
  if (whichfork === XFS_COW_FORK) {
    if (ip.cowFork === null) return 0;
    let n = 0;
    for (const piece of xfsForkUnmapRange(ip.cowFork, off, len)) {
      xfsBmapDelExtentCowBlocks(sp, ip, piece);
      n += piece.brBlockcount;
    }
    return n;
  }
  let n = 0;
  for (const piece of xfsBmapUnmapExtent(sp, ip, off, len)) {
    xfsBmapReleaseBlocks(sp, ip, piece);
    n += piece.brBlockcount;
  }
  return n;
}

/** Free CoW staging blocks taken out of the CoW fork. */
function xfsBmapDelExtentCowBlocks(sp: XfsSpace, ip: XfsInode, piece: XfsBmbtIrec): void {
  xfsRefcountFreeCowExtent(sp, piece.brStartblock, piece.brBlockcount);
  sp.freeExtent(piece.brStartblock, piece.brBlockcount);
  ip.delayedBlks -= piece.brBlockcount;
}

/**
 * `xfs_bmap_extsize_align()`: the blocks a data-fork allocation for [off, off + len) covers
 * under an extent size hint — the range rounded out to the hint, each hole it touches
 * filled to the rounded edges but never over a neighbouring mapping. Without a hint (or
 * for the CoW fork, which reflink rounds itself) the holes of the range as they are.
 */
export function xfsBmapAllocRanges(ip: XfsInode, whichfork: XfsWhichfork, off: XfsFileoff, len: XfsFilblks): XfsBmbtIrec[] {
  const ifp = whichfork === XFS_COW_FORK ? ip.cowFork : ip.dataFork;
  const ext = whichfork === XFS_DATA_FORK ? ip.extszHint() : 0;
  if (ifp === null) return [{ brStartoff: off, brStartblock: HOLESTARTBLOCK, brBlockcount: len, brState: XFS_EXT_NORM }];
  if (ext <= 1) return xfsBmapiRead(ifp, off, len).filter(isHole);
  const aStart = Math.floor(off / ext) * ext;
  const aEnd = Math.ceil((off + len) / ext) * ext;
  return xfsBmapiRead(ifp, aStart, aEnd - aStart).filter(
    (h) => isHole(h) && h.brStartoff < off + len && h.brStartoff + h.brBlockcount > off,
  );
}

/** Blocks `xfsBmapiWrite` would allocate for [off, off + len) of a fork (extent size hint included). */
export function xfsBmapHoleBlocks(ip: XfsInode, whichfork: XfsWhichfork, off: XfsFileoff, len: XfsFilblks): number {
  return xfsBmapAllocRanges(ip, whichfork, off, len).reduce((n, r) => n + r.brBlockcount, 0);
}

/**
 * `xfs_bmapi_write()`: allocate blocks for every hole in [off, off + len) of a fork, in
 * state `state` (XFS_EXT_UNWRITTEN = XFS_BMAPI_PREALLOC). CoW-fork blocks become CoW
 * staging extents. An extent size hint widens the allocation to whole hint-aligned
 * extents (`xfsBmapAllocRanges`); the mappings returned are trimmed to the request, as
 * `xfs_bmapi_trim_map()` does, and `zero` (XFS_BMAPI_ZERO) sees every block allocated.
 * The caller has checked that enough blocks are free (`xfsBmapHoleBlocks`), so allocation
 * cannot fail half way.
 */
export function xfsBmapiWrite(
  sp: XfsSpace,
  ip: XfsInode,
  whichfork: XfsWhichfork,
  off: XfsFileoff,
  len: XfsFilblks,
  state: XfsExntst,
  zero?: (fsb: number, len: number) => void,
): XfsBmbtIrec[] {
  const ifp = xfsIfork(ip, whichfork);
  const made: XfsBmbtIrec[] = [];
  for (const hole of xfsBmapAllocRanges(ip, whichfork, off, len)) {
    let pos = hole.brStartoff;
    const stop = hole.brStartoff + hole.brBlockcount;
    while (pos < stop) {
      const want = Math.min(stop, off + len) - Math.max(pos, off);
      const got = xfsBmapBtalloc(sp, ip, ifp, whichfork, pos, stop - pos, want);
      const irec: XfsBmbtIrec = { brStartoff: pos, brStartblock: got.fsb, brBlockcount: got.len, brState: state };
      if (whichfork === XFS_COW_FORK) {
        xfsRefcountAllocCowExtent(sp, got.fsb, got.len);
        xfsForkMapRange(ifp, irec, sameAgOf(sp));
        ip.delayedBlks += got.len;
      } else {
        xfsBmapMapExtent(sp, ip, irec);
      }
      zero?.(got.fsb, got.len);
      const lo = Math.max(pos, off);
      const hi = Math.min(pos + got.len, off + len);
      if (hi > lo) made.push({ ...irec, brStartoff: lo, brStartblock: got.fsb + (lo - pos), brBlockcount: hi - lo });
      pos += got.len;
    }
  }
  return made;
}

/**
 * `xfs_bmap_btalloc()` for one file-data extent of up to `maxlen` blocks at file offset
 * `off`. With a stripe unit (`m_dalign`), a data-fork allocation at the end of the file
 * whose requested part (`want`) is at least a stripe unit long goes through
 * `xfs_bmap_btalloc_at_eof()`: right after the previous extent if that block is free, else
 * on a stripe-unit boundary, else anywhere near the target. The CoW fork never aligns.
 */
function xfsBmapBtalloc(
  sp: XfsSpace,
  ip: XfsInode,
  ifp: XfsIfork,
  whichfork: XfsWhichfork,
  off: XfsFileoff,
  maxlen: number,
  want: number,
): { fsb: number; len: number } {
  const hint = allocHint(sp, ip, ifp, off);
  const dalign = sp.geo.dalign ?? 0;
  const aeof = xfsForkNextMapped(ifp, off) === undefined;
  if (whichfork === XFS_DATA_FORK && dalign > 1 && want >= dalign && aeof) {
    if (off > 0 && xfsForkLookup(ifp, off - 1) !== undefined) {
      const exact = sp.tryAllocExtent(hint, 1, maxlen, { exact: true });
      if (exact !== undefined) return exact;
    }
    const aligned = sp.tryAllocExtent(hint, 1, maxlen, { alignment: dalign });
    if (aligned !== undefined) return aligned;
  }
  return sp.allocExtent(hint, 1, maxlen);
}

/** `xfs_bmap_adjacent()`: prefer the block after the previous extent's end. */
function allocHint(sp: XfsSpace, ip: XfsInode, ifp: XfsIfork, off: XfsFileoff): number {
  if (off > 0) {
    const prev = xfsForkLookup(ifp, off - 1);
    if (prev !== undefined) return prev.brStartblock + (off - prev.brStartoff);
  }
  // no neighbour: near the inode itself (XFS_INO_TO_FSB), as xfs_bmap_btalloc() starts
  const perAg = 2 ** (sp.geo.agblklog + 3);
  const agno = Math.min(Math.floor(ip.ino / perAg), sp.geo.agcount - 1);
  return agno * 2 ** sp.geo.agblklog + Math.floor((ip.ino % perAg) / 8);
}

/**
 * `xfs_bmapi_convert_unwritten()` / `xfs_iomap_write_unwritten()`: set the state of every
 * mapped block in [off, off + len) of a fork to `state`, merging with neighbours.
 */
export function xfsBmapConvert(
  sp: XfsSpace,
  ip: XfsInode,
  whichfork: XfsWhichfork,
  off: XfsFileoff,
  len: XfsFilblks,
  state: XfsExntst,
): void {
  const ifp = whichfork === XFS_COW_FORK ? ip.cowFork : ip.dataFork;
  if (ifp === null) return;
  const sameAg = sameAgOf(sp);
  for (const piece of xfsForkUnmapRange(ifp, off, len)) {
    if (piece.brState !== state && whichfork === XFS_DATA_FORK) {
      xfsRmapConvertExtent(sp, ip.ino, piece, state === XFS_EXT_UNWRITTEN);
    }
    xfsForkMapRange(ifp, { ...piece, brState: state }, sameAg);
  }
}

/** `xfs_bmap_del_extent_cow()` without freeing: the blocks moved to the data fork. */
export function xfsBmapDelExtentCow(ip: XfsInode, off: XfsFileoff, len: XfsFilblks): XfsBmbtIrec[] {
  if (ip.cowFork === null) return [];
  const removed = xfsForkUnmapRange(ip.cowFork, off, len);
  for (const p of removed) ip.delayedBlks -= p.brBlockcount;
  return removed;
}
