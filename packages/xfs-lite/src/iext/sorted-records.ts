/**
 * An in-memory ordered record set (leaf arrays under a sorted leaf index), used as the
 * in-core stand-in for the refcount and reverse-mapping btrees: lookups less-or-equal /
 * greater-or-equal, insert, delete and ordered walks.
 *
 * @see fs/xfs/libxfs/xfs_btree.c xfs_btree_lookup() (XFS_LOOKUP_LE / XFS_LOOKUP_GE),
 *      xfs_btree_insert(), xfs_btree_delete(), xfs_btree_increment()
 *
 * Simplified: two levels (a leaf index and leaves of up to 64 records); nothing is written
 * to disk — the persistent btrees belong to the infrastructure layer.
 */

const LEAF_CAP = 64;

export class SortedRecords<R> {
  private leaves: R[][] = [];
  private n = 0;

  constructor(private readonly cmp: (a: R, b: R) => number) {}

  get size(): number {
    return this.n;
  }

  /** Position of the last leaf whose first record is <= key (0 when none). */
  private leafFor(key: R): number {
    let lo = 0;
    let hi = this.leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cmp(this.leaves[mid]![0]!, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index in `leaf` of the first record > key. */
  private static upperBound<R>(leaf: R[], key: R, cmp: (a: R, b: R) => number): number {
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(leaf[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The greatest record <= key (`XFS_LOOKUP_LE`). */
  lookupLe(key: R): R | undefined {
    if (this.n === 0) return undefined;
    let li = this.leafFor(key);
    const i = SortedRecords.upperBound(this.leaves[li]!, key, this.cmp) - 1;
    if (i >= 0) return this.leaves[li]![i];
    li--;
    return li >= 0 ? this.leaves[li]!.at(-1) : undefined;
  }

  /** The smallest record >= key (`XFS_LOOKUP_GE`). */
  lookupGe(key: R): R | undefined {
    for (const r of this.walkFrom(key)) return r;
    return undefined;
  }

  /** Records >= key in order. Do not modify the set while iterating. */
  *walkFrom(key: R): Generator<R> {
    if (this.n === 0) return;
    let li = this.leafFor(key);
    const leaf = this.leaves[li]!;
    // first record >= key: lower bound
    let lo = 0;
    let hi = leaf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cmp(leaf[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    for (; li < this.leaves.length; li++, i = 0) {
      const l = this.leaves[li]!;
      for (; i < l.length; i++) yield l[i]!;
    }
  }

  /** Records <= key in descending order. Do not modify the set while iterating. */
  *walkBackFrom(key: R): Generator<R> {
    if (this.n === 0) return;
    let li = this.leafFor(key);
    let i = SortedRecords.upperBound(this.leaves[li]!, key, this.cmp) - 1;
    for (; li >= 0; li--, i = (this.leaves[li]?.length ?? 0) - 1) {
      const l = this.leaves[li]!;
      for (; i >= 0; i--) yield l[i]!;
    }
  }

  *all(): Generator<R> {
    for (const l of this.leaves) yield* l;
  }

  /** Insert; a record comparing equal to an existing one is a caller bug. */
  insert(rec: R): void {
    if (this.leaves.length === 0) {
      this.leaves.push([rec]);
      this.n = 1;
      return;
    }
    const li = this.leafFor(rec);
    const leaf = this.leaves[li]!;
    const i = SortedRecords.upperBound(leaf, rec, this.cmp);
    if (i > 0 && this.cmp(leaf[i - 1]!, rec) === 0) throw new RangeError("SortedRecords.insert: duplicate key");
    leaf.splice(i, 0, rec);
    this.n++;
    if (leaf.length > LEAF_CAP) this.leaves.splice(li + 1, 0, leaf.splice(LEAF_CAP >> 1));
  }

  /** Delete the record comparing equal to `key`; returns it, or undefined. */
  delete(key: R): R | undefined {
    if (this.n === 0) return undefined;
    const li = this.leafFor(key);
    const leaf = this.leaves[li]!;
    const i = SortedRecords.upperBound(leaf, key, this.cmp) - 1;
    if (i < 0 || this.cmp(leaf[i]!, key) !== 0) return undefined;
    const [rec] = leaf.splice(i, 1);
    this.n--;
    if (leaf.length === 0) {
      this.leaves.splice(li, 1);
    } else {
      const right = this.leaves[li + 1];
      if (leaf.length < LEAF_CAP >> 2 && right !== undefined && leaf.length + right.length <= LEAF_CAP) {
        leaf.push(...right);
        this.leaves.splice(li + 1, 1);
      }
    }
    return rec;
  }

  clear(): void {
    this.leaves = [];
    this.n = 0;
  }
}
