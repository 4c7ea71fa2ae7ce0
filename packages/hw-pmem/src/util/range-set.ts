/**
 * A set of integers kept as sorted, disjoint, merged half-open ranges `[start, end)`.
 * The media's poisoned cache lines, the bus's list of known bad ranges and a
 * namespace's bad sectors are all such sets: rare, but possibly long (an injected
 * error may cover a gigabyte), so they are stored as ranges, never as members.
 *
 * @see block/badblocks.c (the sorted table badblocks_set()/badblocks_clear() maintain),
 *      drivers/nvdimm/badrange.c (the bus's list of bad address ranges)
 *
 * Simplified: plain arrays with binary search; inserts shift the arrays (fine for the
 * tens or hundreds of ranges media errors produce).
 */

export class RangeSet {
  private starts: number[] = [];
  private ends: number[] = [];

  /** Number of disjoint ranges. */
  get rangeCount(): number {
    return this.starts.length;
  }

  /** Number of members (sum of range lengths). */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += this.ends[i]! - this.starts[i]!;
    return n;
  }

  /** Index of the first range whose end is above `x`. */
  private firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    // Ranges touching [start, end) (adjacent ones too) merge into one.
    const i = this.firstEndingAfter(start - 1);
    let s = start;
    let e = end;
    let j = i;
    while (j < this.starts.length && this.starts[j]! <= end) {
      s = Math.min(s, this.starts[j]!);
      e = Math.max(e, this.ends[j]!);
      j++;
    }
    this.starts.splice(i, j - i, s);
    this.ends.splice(i, j - i, e);
  }

  /** Removes `[start, end)`; returns how many members were removed. */
  remove(start: number, end: number): number {
    if (end <= start) return 0;
    let i = this.firstEndingAfter(start);
    let removed = 0;
    while (i < this.starts.length && this.starts[i]! < end) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      const cutS = Math.max(s, start);
      const cutE = Math.min(e, end);
      removed += cutE - cutS;
      if (s < start && e > end) {
        this.ends[i] = start;
        this.starts.splice(i + 1, 0, end);
        this.ends.splice(i + 1, 0, e);
        return removed;
      }
      if (s < start) {
        this.ends[i] = start;
        i++;
      } else if (e > end) {
        this.starts[i] = end;
        i++;
      } else {
        this.starts.splice(i, 1);
        this.ends.splice(i, 1);
      }
    }
    return removed;
  }

  has(x: number): boolean {
    const i = this.firstEndingAfter(x);
    return i < this.starts.length && this.starts[i]! <= x;
  }

  /** The smallest member in `[start, end)`, or undefined. */
  firstIn(start: number, end: number): number | undefined {
    if (end <= start) return undefined;
    const i = this.firstEndingAfter(start);
    if (i >= this.starts.length) return undefined;
    const first = Math.max(this.starts[i]!, start);
    return first < end ? first : undefined;
  }

  overlaps(start: number, end: number): boolean {
    return this.firstIn(start, end) !== undefined;
  }

  /** The ranges, clipped to `[start, end)` when given, in ascending order. */
  ranges(start = -Infinity, end = Infinity): Array<readonly [number, number]> {
    const out: Array<readonly [number, number]> = [];
    for (let i = this.firstEndingAfter(start); i < this.starts.length && this.starts[i]! < end; i++) {
      out.push([Math.max(this.starts[i]!, start), Math.min(this.ends[i]!, end)]);
    }
    return out;
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
  }
}
