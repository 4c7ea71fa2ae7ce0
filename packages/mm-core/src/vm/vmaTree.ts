/**
 * The set of VMAs of one mm, ordered by address: the model of the maple tree.
 *
 * @see lib/maple_tree.c, mm/vma.c (vma_iter_*), mm/mmap.c find_vma(), find_vma_prev(),
 *      find_vma_intersection()
 *
 * Simplified: a sorted array with binary search. Processes here hold tens to thousands
 * of VMAs, where this is as fast as a tree and far simpler.
 */
import type { VmAreaStruct } from "./vma.js";

export class VmaTree {
  private readonly vmas: VmAreaStruct[] = [];

  get size(): number {
    return this.vmas.length;
  }

  /** Index of the first VMA with vmEnd > addr. */
  private lowerBound(addr: number): number {
    let lo = 0;
    let hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vmas[mid]!.vmEnd > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** `find_vma()`: the first VMA ending above `addr` (it may start above it too). */
  findVma(addr: number): VmAreaStruct | undefined {
    return this.vmas[this.lowerBound(addr)];
  }

  /** `vma_lookup()`: the VMA containing `addr`. */
  lookup(addr: number): VmAreaStruct | undefined {
    const v = this.findVma(addr);
    return v && v.vmStart <= addr ? v : undefined;
  }

  /** `find_vma_prev()`'s prev: the last VMA ending at or below `addr`. */
  prev(addr: number): VmAreaStruct | undefined {
    const i = this.lowerBound(addr);
    const v = this.vmas[i];
    if (v && v.vmStart <= addr) return this.vmas[i - 1];
    return this.vmas[i - 1];
  }

  /** VMAs that intersect [start, end). */
  intersecting(start: number, end: number): VmAreaStruct[] {
    const out: VmAreaStruct[] = [];
    for (let i = this.lowerBound(start); i < this.vmas.length; i++) {
      const v = this.vmas[i]!;
      if (v.vmStart >= end) break;
      out.push(v);
    }
    return out;
  }

  insert(vma: VmAreaStruct): void {
    const i = this.lowerBound(vma.vmStart);
    const next = this.vmas[i];
    if (next && next.vmStart < vma.vmEnd) throw new Error(`vma tree: ${vma} overlaps ${next}`);
    this.vmas.splice(i, 0, vma);
  }

  remove(vma: VmAreaStruct): void {
    const i = this.vmas.indexOf(vma);
    if (i < 0) throw new Error(`vma tree: ${vma} not present`);
    this.vmas.splice(i, 1);
  }

  /** Re-sort after a VMA's bounds changed in place (bounds must not overlap a neighbour). */
  reposition(vma: VmAreaStruct): void {
    this.remove(vma);
    this.insert(vma);
  }

  all(): readonly VmAreaStruct[] {
    return this.vmas;
  }

  [Symbol.iterator](): Iterator<VmAreaStruct> {
    return this.vmas.slice()[Symbol.iterator]();
  }
}
