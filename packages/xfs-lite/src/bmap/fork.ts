/**
 * One inode fork's extent map: reading it with holes, adding a mapping into a hole (merging
 * with contiguous neighbours) and removing a range (trimming or splitting records).
 *
 * @see fs/xfs/libxfs/xfs_bmap.c xfs_bmapi_read(), xfs_bmap_add_extent_hole_real(),
 *      xfs_bmap_del_extent_real() (the record edits), xfs_bmap_del_extent_cow();
 *      fs/xfs/libxfs/xfs_inode_fork.h struct xfs_ifork
 *
 * The kernel enumerates the left/right contiguity cases one by one; here one insert
 * followed by a merge with each neighbour gives the same records. Neighbours merge only
 * when file offsets and blocks are contiguous, states agree, the blocks lie in the same
 * AG and the result fits XFS_MAX_BMBT_EXTLEN.
 */
import { XfsIextTree, newIextCursor } from "../iext/iext-tree.js";
import {
  HOLESTARTBLOCK,
  XFS_EXT_NORM,
  XFS_MAX_BMBT_EXTLEN,
  type XfsBmbtIrec,
  type XfsFileoff,
  type XfsFilblks,
  type XfsFsblock,
} from "../iext/types.js";

/** `XFS_DINODE_FMT_EXTENTS` / `XFS_DINODE_FMT_BTREE`: where the records live on disk. */
export const XFS_DINODE_FMT_EXTENTS = 2;
export const XFS_DINODE_FMT_BTREE = 3;

export class XfsIfork {
  readonly tree = new XfsIextTree();
  format: typeof XFS_DINODE_FMT_EXTENTS | typeof XFS_DINODE_FMT_BTREE = XFS_DINODE_FMT_EXTENTS;

  /** `if_nextents`. */
  get nextents(): number {
    return this.tree.count();
  }
}

/** Whether two fs blocks lie in the same AG (`XFS_FSB_TO_AGNO` equal). */
export type SameAg = (a: XfsFsblock, b: XfsFsblock) => boolean;

/**
 * `xfs_bmapi_read()`: the mappings covering [off, off + len), holes included as records
 * with HOLESTARTBLOCK, trimmed to the range.
 */
export function xfsBmapiRead(ifp: XfsIfork, off: XfsFileoff, len: XfsFilblks): XfsBmbtIrec[] {
  const out: XfsBmbtIrec[] = [];
  const stop = off + len;
  const cur = newIextCursor();
  let pos = off;
  let found = ifp.tree.lookupExtent(off, cur);
  while (pos < stop) {
    const got = found ? ifp.tree.peek(cur) : undefined;
    if (got === undefined || got.brStartoff >= stop) {
      out.push({ brStartoff: pos, brStartblock: HOLESTARTBLOCK, brBlockcount: stop - pos, brState: XFS_EXT_NORM });
      break;
    }
    if (got.brStartoff > pos) {
      out.push({ brStartoff: pos, brStartblock: HOLESTARTBLOCK, brBlockcount: got.brStartoff - pos, brState: XFS_EXT_NORM });
      pos = got.brStartoff;
    }
    const skip = pos - got.brStartoff;
    const n = Math.min(got.brStartoff + got.brBlockcount, stop) - pos;
    out.push({ brStartoff: pos, brStartblock: got.brStartblock + skip, brBlockcount: n, brState: got.brState });
    pos += n;
    ifp.tree.next(cur);
    found = ifp.tree.valid(cur);
  }
  return out;
}

function contiguous(a: XfsBmbtIrec, b: XfsBmbtIrec, sameAg: SameAg): boolean {
  return (
    a.brStartoff + a.brBlockcount === b.brStartoff &&
    a.brStartblock + a.brBlockcount === b.brStartblock &&
    a.brState === b.brState &&
    a.brBlockcount + b.brBlockcount <= XFS_MAX_BMBT_EXTLEN &&
    sameAg(a.brStartblock, b.brStartblock)
  );
}

/** Add a mapping over a hole of the fork, merging with contiguous neighbours. */
export function xfsForkMapRange(ifp: XfsIfork, irec: XfsBmbtIrec, sameAg: SameAg): void {
  const t = ifp.tree;
  const cur = newIextCursor();
  if (t.lookupExtent(irec.brStartoff, cur)) {
    const next = t.peek(cur)!;
    if (next.brStartoff < irec.brStartoff + irec.brBlockcount) {
      throw new RangeError(`xfsForkMapRange: ${irec.brStartoff}+${irec.brBlockcount} is not a hole`);
    }
  } else {
    t.endCursor(cur);
  }
  let rec = { ...irec };
  // left neighbour
  const lcur = { ...cur };
  t.prev(lcur);
  const left = t.peek(lcur);
  if (left !== undefined && contiguous(left, rec, sameAg)) {
    rec = { ...left, brBlockcount: left.brBlockcount + rec.brBlockcount };
    t.remove(lcur);
    cur.leaf = lcur.leaf;
    cur.pos = lcur.pos;
    if (!t.valid(cur)) t.endCursor(cur);
  }
  const right = t.peek(cur);
  if (right !== undefined && contiguous(rec, right, sameAg)) {
    rec.brBlockcount += right.brBlockcount;
    t.updateExtent(cur, rec);
    return;
  }
  t.insert(cur, rec);
}

/**
 * Remove whatever is mapped in [off, off + len); returns the removed pieces in offset
 * order (holes are skipped).
 */
export function xfsForkUnmapRange(ifp: XfsIfork, off: XfsFileoff, len: XfsFilblks): XfsBmbtIrec[] {
  const t = ifp.tree;
  const stop = off + len;
  const removed: XfsBmbtIrec[] = [];
  const cur = newIextCursor();
  let found = t.lookupExtent(off, cur);
  while (found) {
    const got = t.peek(cur)!;
    if (got.brStartoff >= stop) break;
    const gotEnd = got.brStartoff + got.brBlockcount;
    const from = Math.max(off, got.brStartoff);
    const to = Math.min(stop, gotEnd);
    removed.push({ brStartoff: from, brStartblock: got.brStartblock + (from - got.brStartoff), brBlockcount: to - from, brState: got.brState });
    if (from === got.brStartoff && to === gotEnd) {
      t.remove(cur);
    } else if (from === got.brStartoff) {
      t.updateExtent(cur, { ...got, brStartoff: to, brStartblock: got.brStartblock + (to - got.brStartoff), brBlockcount: gotEnd - to });
      break;
    } else if (to === gotEnd) {
      t.updateExtent(cur, { ...got, brBlockcount: from - got.brStartoff });
      t.next(cur);
    } else {
      // punch out the middle: keep the left part here, insert the right part after it
      t.updateExtent(cur, { ...got, brBlockcount: from - got.brStartoff });
      t.next(cur);
      if (!t.valid(cur)) t.endCursor(cur);
      t.insert(cur, { ...got, brStartoff: to, brStartblock: got.brStartblock + (to - got.brStartoff), brBlockcount: gotEnd - to });
      break;
    }
    found = t.valid(cur);
  }
  return removed;
}

/** The mapping at one file block, or undefined for a hole. */
export function xfsForkLookup(ifp: XfsIfork, off: XfsFileoff): XfsBmbtIrec | undefined {
  const cur = newIextCursor();
  if (!ifp.tree.lookupExtent(off, cur)) return undefined;
  const got = ifp.tree.peek(cur)!;
  return got.brStartoff <= off ? got : undefined;
}

/** The first mapped block at or after `off` (for SEEK_DATA-like walks), or undefined. */
export function xfsForkNextMapped(ifp: XfsIfork, off: XfsFileoff): XfsBmbtIrec | undefined {
  const cur = newIextCursor();
  return ifp.tree.lookupExtent(off, cur) ? ifp.tree.peek(cur) : undefined;
}
