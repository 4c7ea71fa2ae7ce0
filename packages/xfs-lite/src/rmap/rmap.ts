/**
 * Reverse mappings of one allocation group: who owns each block range.
 *
 * @see fs/xfs/libxfs/xfs_rmap.c xfs_rmap_map_shared(), xfs_rmap_unmap_shared(),
 *      xfs_rmap_convert_shared(), xfs_rmap_is_mergeable(), xfs_rmap_query_range(),
 *      xfs_rmap_alloc(), xfs_rmap_free()
 *
 * Always uses the "shared" variants, which find a record by (block, owner, offset) among
 * overlapping records, so a block may carry several owners (reflink) and one inode may map
 * the same block at two offsets. A new mapping merges with an owner's record that ends
 * where it starts (blocks and file offsets both contiguous, same flags) and with one that
 * starts where it ends; removing part of a record trims or splits it.
 * Simplified: conversion between written and unwritten is "unmap then map" rather than the
 * kernel's twelve-case state machine; the records come out the same.
 */
import { KernelBug } from "@pagelab/mm-core";
import type { XfsAgblock, XfsAgnumber } from "../refcount/types.js";
import type { XfsRmapBtree } from "./rmap-btree.js";
import { XFS_RMAP_LEN_MAX, xfsRmapNonInodeOwner, type XfsOwnerInfo, type XfsRmapIrec } from "./types.js";

export interface XfsRmapCtx {
  readonly agno: XfsAgnumber;
  readonly bt: XfsRmapBtree;
}

function mergeable(r: XfsRmapIrec, oinfo: XfsOwnerInfo): boolean {
  return r.rmOwner === oinfo.oiOwner && r.rmFlags === oinfo.oiFlags;
}

/** Whether `r` maps `agbno` to file offset `offset` (always true for non-inode owners). */
function offsetsAgree(r: XfsRmapIrec, agbno: XfsAgblock, offset: number): boolean {
  return xfsRmapNonInodeOwner(r.rmOwner) || r.rmOffset + (agbno - r.rmStartblock) === offset;
}

/** `xfs_rmap_map_shared()`: add [agbno, agbno + len) → owner at offset. */
export function xfsRmapMap(ctx: XfsRmapCtx, agbno: XfsAgblock, len: number, oinfo: XfsOwnerInfo): void {
  if (len <= 0) return;
  const offset = xfsRmapNonInodeOwner(oinfo.oiOwner) ? 0 : oinfo.oiOffset;
  const near = ctx.bt.queryRange(Math.max(0, agbno - 1), len + 2);
  for (const r of near) {
    const overlaps = r.rmStartblock < agbno + len && r.rmStartblock + r.rmBlockcount > agbno;
    if (overlaps && mergeable(r, oinfo) && offsetsAgree(r, Math.max(agbno, r.rmStartblock), offset + Math.max(0, r.rmStartblock - agbno))) {
      throw new KernelBug(`xfs_rmap_map: AG ${ctx.agno} block ${agbno}+${len} already mapped to owner ${oinfo.oiOwner}`);
    }
  }
  const left = near.find(
    (r) =>
      mergeable(r, oinfo) &&
      r.rmStartblock + r.rmBlockcount === agbno &&
      (xfsRmapNonInodeOwner(r.rmOwner) || r.rmOffset + r.rmBlockcount === offset),
  );
  const right = near.find(
    (r) => mergeable(r, oinfo) && r.rmStartblock === agbno + len && (xfsRmapNonInodeOwner(r.rmOwner) || r.rmOffset === offset + len),
  );
  let rec: XfsRmapIrec = { rmStartblock: agbno, rmBlockcount: len, rmOwner: oinfo.oiOwner, rmOffset: offset, rmFlags: oinfo.oiFlags };
  if (left !== undefined && left.rmBlockcount + rec.rmBlockcount <= XFS_RMAP_LEN_MAX) {
    ctx.bt.delete(left);
    rec = { ...left, rmBlockcount: left.rmBlockcount + rec.rmBlockcount };
  }
  if (right !== undefined && rec.rmBlockcount + right.rmBlockcount <= XFS_RMAP_LEN_MAX) {
    ctx.bt.delete(right);
    rec = { ...rec, rmBlockcount: rec.rmBlockcount + right.rmBlockcount };
  }
  ctx.bt.insert(rec);
}

/** `xfs_rmap_unmap_shared()`: remove [agbno, agbno + len) → owner at offset. */
export function xfsRmapUnmap(ctx: XfsRmapCtx, agbno: XfsAgblock, len: number, oinfo: XfsOwnerInfo): void {
  if (len <= 0) return;
  const offset = xfsRmapNonInodeOwner(oinfo.oiOwner) ? 0 : oinfo.oiOffset;
  const rec = ctx.bt
    .queryRange(agbno, len)
    .find(
      (r) =>
        mergeable(r, oinfo) &&
        r.rmStartblock <= agbno &&
        r.rmStartblock + r.rmBlockcount >= agbno + len &&
        offsetsAgree(r, agbno, offset),
    );
  if (rec === undefined) {
    throw new KernelBug(`xfs_rmap_unmap: AG ${ctx.agno} no record for ${agbno}+${len} owner ${oinfo.oiOwner} offset ${offset}`);
  }
  ctx.bt.delete(rec);
  const recEnd = rec.rmStartblock + rec.rmBlockcount;
  if (rec.rmStartblock < agbno) {
    ctx.bt.insert({ ...rec, rmBlockcount: agbno - rec.rmStartblock });
  }
  if (recEnd > agbno + len) {
    const skip = agbno + len - rec.rmStartblock;
    ctx.bt.insert({
      ...rec,
      rmStartblock: agbno + len,
      rmBlockcount: recEnd - (agbno + len),
      rmOffset: xfsRmapNonInodeOwner(rec.rmOwner) ? rec.rmOffset : rec.rmOffset + skip,
    });
  }
}

/** `xfs_rmap_convert_shared()`: change the flags (unwritten ↔ written) of a mapped range. */
export function xfsRmapConvert(ctx: XfsRmapCtx, agbno: XfsAgblock, len: number, from: XfsOwnerInfo, toFlags: number): void {
  xfsRmapUnmap(ctx, agbno, len, from);
  xfsRmapMap(ctx, agbno, len, { ...from, oiFlags: toFlags });
}

/** `xfs_rmap_query_range()`: every owner of any block in [agbno, agbno + len). */
export function xfsRmapQueryRange(bt: XfsRmapBtree, agbno: XfsAgblock, len: number): XfsRmapIrec[] {
  return bt.queryRange(agbno, len);
}
