/**
 * The in-core extent tree of one inode fork: extent records sorted by file offset, reached
 * through a cursor.
 *
 * @see fs/xfs/libxfs/xfs_iext_tree.c xfs_iext_lookup_extent(),
 *      xfs_iext_lookup_extent_before(), xfs_iext_insert(), xfs_iext_remove(),
 *      xfs_iext_update_extent(), xfs_iext_get_extent(), xfs_iext_next(), xfs_iext_prev()
 *
 * Simplified: the kernel's tree is a B+tree of 256-byte nodes with 15 records per leaf and
 * linked leaves; here the leaves (records packed in a Float64Array, four numbers each) hang
 * off one sorted leaf array searched by binary search on each leaf's first offset. Splits
 * and merges of leaves follow the kernel's rules (split a full leaf in half, fold a leaf
 * that falls under half full into a neighbour), so a million extents cost ~32 MB of
 * typed arrays, not a million objects.
 */
import type { XfsBmbtIrec, XfsExntst, XfsFileoff } from "./types.js";

const RECS_PER_LEAF = 32;
const FIELDS = 4;

class IextLeaf {
  readonly recs = new Float64Array(RECS_PER_LEAF * FIELDS);
  nr = 0;
}

/** `struct xfs_iext_cursor`: a leaf and a position inside it. */
export interface XfsIextCursor {
  leaf: number;
  pos: number;
}

export function newIextCursor(): XfsIextCursor {
  return { leaf: 0, pos: 0 };
}

export class XfsIextTree {
  private leaves: IextLeaf[] = [];
  private nrExtents = 0;

  /** `xfs_iext_count()`. */
  count(): number {
    return this.nrExtents;
  }

  /** Whether the cursor points at a record (`xfs_iext_valid()`). */
  valid(cur: XfsIextCursor): boolean {
    const leaf = this.leaves[cur.leaf];
    return leaf !== undefined && cur.pos >= 0 && cur.pos < leaf.nr;
  }

  /** `xfs_iext_first()`. */
  first(cur: XfsIextCursor): void {
    cur.leaf = 0;
    cur.pos = 0;
  }

  /** `xfs_iext_last()`. */
  last(cur: XfsIextCursor): void {
    cur.leaf = Math.max(0, this.leaves.length - 1);
    cur.pos = (this.leaves[cur.leaf]?.nr ?? 0) - 1;
  }

  /** `xfs_iext_next()`: past the last record the cursor is invalid. */
  next(cur: XfsIextCursor): void {
    const leaf = this.leaves[cur.leaf];
    if (leaf === undefined) return;
    cur.pos++;
    if (cur.pos >= leaf.nr && cur.leaf < this.leaves.length - 1) {
      cur.leaf++;
      cur.pos = 0;
    }
  }

  /** `xfs_iext_prev()`: before the first record the cursor is invalid (pos -1). */
  prev(cur: XfsIextCursor): void {
    if (cur.pos > 0) {
      cur.pos--;
      return;
    }
    if (cur.leaf > 0) {
      cur.leaf--;
      cur.pos = (this.leaves[cur.leaf]?.nr ?? 0) - 1;
      return;
    }
    cur.pos = -1;
  }

  /** `xfs_iext_get_extent()`: copy the record under the cursor into `out`. */
  getExtent(cur: XfsIextCursor, out: XfsBmbtIrec): boolean {
    if (!this.valid(cur)) return false;
    const recs = this.leaves[cur.leaf]!.recs;
    const i = cur.pos * FIELDS;
    out.brStartoff = recs[i]!;
    out.brStartblock = recs[i + 1]!;
    out.brBlockcount = recs[i + 2]!;
    out.brState = recs[i + 3]! as XfsExntst;
    return true;
  }

  /** The record under the cursor as a fresh object, or undefined. */
  peek(cur: XfsIextCursor): XfsBmbtIrec | undefined {
    const out = { brStartoff: 0, brStartblock: 0, brBlockcount: 0, brState: 0 as XfsExntst };
    return this.getExtent(cur, out) ? out : undefined;
  }

  /** `xfs_iext_update_extent()`: overwrite the record under the cursor. */
  updateExtent(cur: XfsIextCursor, irec: XfsBmbtIrec): void {
    if (!this.valid(cur)) throw new RangeError("xfsIextUpdateExtent: invalid cursor");
    writeRec(this.leaves[cur.leaf]!.recs, cur.pos, irec);
  }

  /**
   * `xfs_iext_lookup_extent()`: point the cursor at the extent containing `bno`, or the
   * first one after it; false when there is none.
   */
  lookupExtent(bno: XfsFileoff, cur: XfsIextCursor): boolean {
    if (this.nrExtents === 0) {
      cur.leaf = 0;
      cur.pos = 0;
      return false;
    }
    // last leaf whose first record starts at or before bno
    let lo = 0;
    let hi = this.leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.leaves[mid]!.recs[0]! <= bno) lo = mid;
      else hi = mid - 1;
    }
    const leaf = this.leaves[lo]!;
    // last record in the leaf starting at or before bno (or -1)
    let a = 0;
    let b = leaf.nr - 1;
    let found = -1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      if (leaf.recs[mid * FIELDS]! <= bno) {
        found = mid;
        a = mid + 1;
      } else {
        b = mid - 1;
      }
    }
    cur.leaf = lo;
    if (found < 0) {
      cur.pos = 0;
    } else {
      const end = leaf.recs[found * FIELDS]! + leaf.recs[found * FIELDS + 2]!;
      cur.pos = end > bno ? found : found + 1;
      if (cur.pos >= leaf.nr && lo < this.leaves.length - 1) {
        cur.leaf = lo + 1;
        cur.pos = 0;
      }
    }
    return this.valid(cur);
  }

  /**
   * `xfs_iext_lookup_extent_before()`: the extent containing `end - 1`, or the last one
   * before it; false when nothing lies before `end`.
   */
  lookupExtentBefore(end: XfsFileoff, cur: XfsIextCursor): boolean {
    if (end <= 0) return false;
    if (this.lookupExtent(end - 1, cur)) {
      const rec = this.leaves[cur.leaf]!.recs;
      if (rec[cur.pos * FIELDS]! <= end - 1) return true;
    } else {
      this.last(cur);
      return this.valid(cur);
    }
    this.prev(cur);
    return this.valid(cur);
  }

  /**
   * `xfs_iext_insert()`: insert `irec` before the cursor's position (at the end when the
   * cursor is past the last record); the cursor then points at the new record.
   */
  insert(cur: XfsIextCursor, irec: XfsBmbtIrec): void {
    if (this.leaves.length === 0) {
      this.leaves.push(new IextLeaf());
      cur.leaf = 0;
      cur.pos = 0;
    }
    if (this.leaves[cur.leaf] === undefined) {
      cur.leaf = this.leaves.length - 1;
      cur.pos = this.leaves[cur.leaf]!.nr;
    }
    let leaf = this.leaves[cur.leaf]!;
    if (leaf.nr === RECS_PER_LEAF) {
      // xfs_iext_split_leaf(): move the upper half into a new leaf; appending at the
      // end of the last leaf starts an empty one instead, so sequential inserts pack leaves
      const half = cur.pos === RECS_PER_LEAF && cur.leaf === this.leaves.length - 1 ? RECS_PER_LEAF : RECS_PER_LEAF >> 1;
      const right = new IextLeaf();
      right.recs.set(leaf.recs.subarray(half * FIELDS, leaf.nr * FIELDS));
      right.nr = leaf.nr - half;
      leaf.nr = half;
      this.leaves.splice(cur.leaf + 1, 0, right);
      if (cur.pos > half || half === RECS_PER_LEAF) {
        cur.leaf++;
        cur.pos -= half;
        leaf = right;
      }
    }
    const recs = leaf.recs;
    recs.copyWithin((cur.pos + 1) * FIELDS, cur.pos * FIELDS, leaf.nr * FIELDS);
    writeRec(recs, cur.pos, irec);
    leaf.nr++;
    this.nrExtents++;
  }

  /**
   * `xfs_iext_remove()`: remove the record under the cursor; the cursor then points at the
   * record that followed it.
   */
  remove(cur: XfsIextCursor): void {
    if (!this.valid(cur)) throw new RangeError("xfsIextRemove: invalid cursor");
    const leaf = this.leaves[cur.leaf]!;
    leaf.recs.copyWithin(cur.pos * FIELDS, (cur.pos + 1) * FIELDS, leaf.nr * FIELDS);
    leaf.nr--;
    this.nrExtents--;
    if (leaf.nr === 0) {
      this.leaves.splice(cur.leaf, 1);
      cur.pos = 0;
      if (cur.leaf >= this.leaves.length) this.endCursor(cur);
      return;
    }
    // xfs_iext_rebalance_leaf(): fold an under-half leaf into its right neighbour's space
    const right = this.leaves[cur.leaf + 1];
    if (leaf.nr < RECS_PER_LEAF / 2 && right !== undefined && leaf.nr + right.nr <= RECS_PER_LEAF) {
      leaf.recs.set(right.recs.subarray(0, right.nr * FIELDS), leaf.nr * FIELDS);
      leaf.nr += right.nr;
      this.leaves.splice(cur.leaf + 1, 1);
    }
    if (cur.pos >= leaf.nr) {
      if (cur.leaf < this.leaves.length - 1) {
        cur.leaf++;
        cur.pos = 0;
      }
    }
  }

  /** Point the cursor just past the last record (where `insert` appends). */
  endCursor(cur: XfsIextCursor): void {
    cur.leaf = Math.max(0, this.leaves.length - 1);
    cur.pos = this.leaves[cur.leaf]?.nr ?? 0;
  }

  /** Every record in offset order (for tests, FIEMAP-like walks and the checker). */
  *records(): Generator<XfsBmbtIrec> {
    for (const leaf of this.leaves) {
      for (let i = 0; i < leaf.nr; i++) {
        const o = i * FIELDS;
        yield {
          brStartoff: leaf.recs[o]!,
          brStartblock: leaf.recs[o + 1]!,
          brBlockcount: leaf.recs[o + 2]!,
          brState: leaf.recs[o + 3]! as XfsExntst,
        };
      }
    }
  }

  /** Drop every record (`xfs_iext_destroy()`). */
  destroy(): void {
    this.leaves = [];
    this.nrExtents = 0;
  }

  /** Bytes of in-core memory the records occupy. */
  memoryBytes(): number {
    return this.leaves.length * RECS_PER_LEAF * FIELDS * 8;
  }
}

function writeRec(recs: Float64Array, pos: number, irec: XfsBmbtIrec): void {
  const o = pos * FIELDS;
  recs[o] = irec.brStartoff;
  recs[o + 1] = irec.brStartblock;
  recs[o + 2] = irec.brBlockcount;
  recs[o + 3] = irec.brState;
}
