/**
 * Reflink: sharing blocks between files and copy-on-write through the CoW fork.
 *
 * @see fs/xfs/xfs_reflink.c xfs_reflink_trim_around_shared(), xfs_find_trim_cow_extent(),
 *      xfs_reflink_allocate_cow(), xfs_reflink_convert_cow_locked(),
 *      xfs_reflink_end_cow(), xfs_reflink_end_cow_extent(),
 *      xfs_reflink_cancel_cow_range(), xfs_reflink_remap_extent(),
 *      xfs_reflink_remap_blocks(), xfs_reflink_set_inode_flag(),
 *      xfs_reflink_try_clear_inode_flag(), xfs_reflink_inode_has_shared_extents()
 *
 * A write to a shared block allocates CoW staging blocks (rounded out to the cowextsize
 * hint, XFS_DEFAULT_COWEXTSZ_HINT = 32 blocks, as unwritten preallocation), converts the
 * range being written, and after the data is written remaps them into the data fork: the
 * old blocks lose an owner (freed when none is left), the new ones leave the CoW domain.
 * Simplified: no delalloc reservations in the CoW fork; each step runs in the caller's
 * transaction instead of a chain of deferred intents.
 */
import { KernelError } from "@pagelab/mm-core";
import { xfsBmapiRead, xfsForkLookup, xfsForkNextMapped } from "../bmap/fork.js";
import {
  xfsBmapConvert,
  xfsBmapDelExtentCow,
  xfsBmapHoleBlocks,
  xfsBmapiWrite,
  xfsBmapMapExtent,
  xfsBmapUnmapExtent,
  xfsBunmapi,
  xfsIfork,
} from "../bmap/bmap.js";
import { xfsFindSharedExtent, xfsRefcountDecreaseExtent, xfsRefcountFreeCowExtent, xfsRefcountIncreaseExtent, type XfsSpace } from "../bmap/space.js";
import {
  XFS_COW_FORK,
  XFS_EXT_NORM,
  XFS_EXT_UNWRITTEN,
  isHole,
  type XfsBmbtIrec,
  type XfsFileoff,
  type XfsFilblks,
} from "../iext/types.js";
import { XFS_DIFLAG2_REFLINK, type XfsInode } from "../inode/inode.js";

/**
 * `xfs_reflink_trim_around_shared()`: for a real data-fork mapping, whether its first block
 * is shared and how far that answer holds.
 */
export function xfsReflinkTrimAroundShared(sp: XfsSpace, ip: XfsInode, irec: XfsBmbtIrec): { shared: boolean; len: XfsFilblks } {
  if (!ip.isReflink() || isHole(irec)) return { shared: false, len: irec.brBlockcount };
  const { fbno, flen } = xfsFindSharedExtent(sp, irec.brStartblock, irec.brBlockcount, true);
  if (flen === 0) return { shared: false, len: irec.brBlockcount };
  if (fbno === irec.brStartblock) return { shared: true, len: flen };
  return { shared: false, len: fbno - irec.brStartblock };
}

/** Blocks `xfsReflinkAllocateCow` may allocate for [off, off + len) (cowextsize rounding). */
export function xfsReflinkCowReservation(ip: XfsInode, off: XfsFileoff, len: XfsFilblks): number {
  const ext = ip.cowextszHint();
  const start = Math.floor(off / ext) * ext;
  const end = Math.ceil((off + len) / ext) * ext;
  return end - start;
}

/**
 * `xfs_reflink_allocate_cow()` with convert_now: make sure [off, off + len) — the blocks
 * of one data-fork mapping starting at `off` — has CoW staging blocks when its first block
 * is shared or already has them, and convert the CoW blocks of the written range to real.
 * Returns the CoW mapping at `off` (trimmed to the request), or undefined when the write
 * goes straight to the data fork; `len` then says how far that holds.
 */
export function xfsReflinkAllocateCow(
  sp: XfsSpace,
  ip: XfsInode,
  off: XfsFileoff,
  len: XfsFilblks,
  cowextsz = ip.cowextszHint(),
): { cow: XfsBmbtIrec | undefined; len: XfsFilblks } {
  const cowFork = xfsIfork(ip, XFS_COW_FORK);
  let cmap = xfsForkLookup(cowFork, off);
  if (cmap === undefined) {
    const next = xfsForkNextMapped(cowFork, off);
    const upto = next !== undefined ? Math.min(len, next.brStartoff - off) : len;
    const data = xfsBmapiRead(ip.dataFork, off, upto)[0]!;
    const { shared, len: n } = xfsReflinkTrimAroundShared(sp, ip, data);
    if (!shared) return { cow: undefined, len: Math.min(n, data.brBlockcount) };
    const ext = cowextsz;
    const aStart = Math.floor(off / ext) * ext;
    const aEnd = Math.ceil((off + n) / ext) * ext;
    if (xfsBmapHoleBlocks(ip, XFS_COW_FORK, aStart, aEnd - aStart) > sp.freeBlocks()) {
      throw new KernelError("ENOSPC", "no blocks for copy-on-write");
    }
    xfsBmapiWrite(sp, ip, XFS_COW_FORK, aStart, aEnd - aStart, XFS_EXT_UNWRITTEN);
    cmap = xfsForkLookup(cowFork, off)!;
  }
  const skip = off - cmap.brStartoff;
  const n = Math.min(len, cmap.brBlockcount - skip);
  if (cmap.brState === XFS_EXT_UNWRITTEN) xfsBmapConvert(sp, ip, XFS_COW_FORK, off, n, XFS_EXT_NORM);
  return { cow: { brStartoff: off, brStartblock: cmap.brStartblock + skip, brBlockcount: n, brState: XFS_EXT_NORM }, len: n };
}

/**
 * `xfs_reflink_end_cow()`: after the data reached the CoW blocks of [off, off + len),
 * move every written CoW extent there into the data fork.
 */
export function xfsReflinkEndCow(sp: XfsSpace, ip: XfsInode, off: XfsFileoff, len: XfsFilblks): void {
  if (ip.cowFork === null) return;
  for (const cmap of xfsBmapiRead(ip.cowFork, off, len)) {
    if (isHole(cmap) || cmap.brState !== XFS_EXT_NORM) continue;
    // xfs_reflink_end_cow_extent()
    for (const old of xfsBmapUnmapExtent(sp, ip, cmap.brStartoff, cmap.brBlockcount)) {
      xfsRefcountDecreaseExtent(sp, old.brStartblock, old.brBlockcount);
    }
    xfsRefcountFreeCowExtent(sp, cmap.brStartblock, cmap.brBlockcount);
    xfsBmapDelExtentCow(ip, cmap.brStartoff, cmap.brBlockcount);
    xfsBmapMapExtent(sp, ip, cmap);
  }
}

/**
 * `xfs_reflink_cancel_cow_range()`: free the CoW staging blocks of [off, off + len);
 * without `cancelReal` only the still-unwritten (preallocated) ones.
 */
export function xfsReflinkCancelCowRange(sp: XfsSpace, ip: XfsInode, off: XfsFileoff, len: XfsFilblks, cancelReal: boolean): void {
  if (ip.cowFork === null) return;
  for (const cmap of xfsBmapiRead(ip.cowFork, off, len)) {
    if (isHole(cmap) || (!cancelReal && cmap.brState === XFS_EXT_NORM)) continue;
    xfsBunmapi(sp, ip, XFS_COW_FORK, cmap.brStartoff, cmap.brBlockcount);
  }
}

/**
 * `xfs_reflink_remap_blocks()`: make [dstOff, dstOff + len) of `dst` map the blocks that
 * [srcOff, srcOff + len) of `src` maps (holes included), one source extent at a time.
 * Returns the number of blocks whose owner count went up.
 */
export function xfsReflinkRemapBlocks(
  sp: XfsSpace,
  src: XfsInode,
  srcOff: XfsFileoff,
  dst: XfsInode,
  dstOff: XfsFileoff,
  len: XfsFilblks,
): number {
  let shared = 0;
  for (const smap of xfsBmapiRead(src.dataFork, srcOff, len)) {
    shared += xfsReflinkRemapExtent(sp, dst, { ...smap, brStartoff: smap.brStartoff - srcOff + dstOff });
  }
  return shared;
}

/** `xfs_reflink_remap_extent()`: `smap` is a source mapping moved to dest file offsets. */
function xfsReflinkRemapExtent(sp: XfsSpace, dst: XfsInode, smap: XfsBmbtIrec): number {
  const real = !isHole(smap);
  let shared = 0;
  for (const dmap of xfsBmapiRead(dst.dataFork, smap.brStartoff, smap.brBlockcount)) {
    const skip = dmap.brStartoff - smap.brStartoff;
    const piece: XfsBmbtIrec = { ...smap, brStartoff: dmap.brStartoff, brBlockcount: dmap.brBlockcount, brStartblock: real ? smap.brStartblock + skip : smap.brStartblock };
    // already mapping these very blocks: nothing to do
    if (real && !isHole(dmap) && dmap.brStartblock === piece.brStartblock && dmap.brState === piece.brState) continue;
    if (real) xfsRefcountIncreaseExtent(sp, piece.brStartblock, piece.brBlockcount);
    for (const old of xfsBmapUnmapExtent(sp, dst, piece.brStartoff, piece.brBlockcount)) {
      xfsRefcountDecreaseExtent(sp, old.brStartblock, old.brBlockcount);
    }
    if (real) {
      xfsBmapMapExtent(sp, dst, piece);
      shared += piece.brBlockcount;
    }
  }
  return shared;
}

/** `xfs_reflink_set_inode_flag()`. */
export function xfsReflinkSetInodeFlag(ip: XfsInode): void {
  ip.diflags2 |= XFS_DIFLAG2_REFLINK;
}

/** `xfs_reflink_inode_has_shared_extents()`. */
export function xfsReflinkInodeHasSharedExtents(sp: XfsSpace, ip: XfsInode): boolean {
  for (const irec of ip.dataFork.tree.records()) {
    if (xfsFindSharedExtent(sp, irec.brStartblock, irec.brBlockcount, false).flen > 0) return true;
  }
  return false;
}

/** `xfs_reflink_try_clear_inode_flag()`: drop the flag once nothing is shared or staged. */
export function xfsReflinkTryClearInodeFlag(sp: XfsSpace, ip: XfsInode): void {
  if (!ip.isReflink()) return;
  if ((ip.cowFork?.nextents ?? 0) > 0) return;
  if (xfsReflinkInodeHasSharedExtents(sp, ip)) return;
  ip.diflags2 &= ~XFS_DIFLAG2_REFLINK;
}

/** Blocks of [off, off + len) whose data-fork mapping is shared. */
export function xfsReflinkSharedBlocks(sp: XfsSpace, ip: XfsInode, off: XfsFileoff, len: XfsFilblks): XfsBmbtIrec[] {
  const out: XfsBmbtIrec[] = [];
  for (const m of xfsBmapiRead(ip.dataFork, off, len)) {
    let pos = 0;
    while (!isHole(m) && pos < m.brBlockcount) {
      const piece = { ...m, brStartoff: m.brStartoff + pos, brStartblock: m.brStartblock + pos, brBlockcount: m.brBlockcount - pos };
      const t = xfsReflinkTrimAroundShared(sp, ip, piece);
      if (t.shared) out.push({ ...piece, brBlockcount: t.len });
      pos += t.len;
    }
  }
  return out;
}

