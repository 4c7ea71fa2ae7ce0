/**
 * The bus-wide list of known bad physical address ranges, and how a namespace's
 * badblocks (in 512-byte sectors of its data area) are derived from it.
 *
 * @see drivers/nvdimm/badrange.c badrange_add(), badrange_forget(),
 *      nvdimm_badblocks_populate() / __add_badblock_range() (a partial sector is a bad
 *      sector); drivers/nvdimm/bus.c nvdimm_bus_add_badrange()
 *
 * The list is kept in 64-byte cache lines (the granularity of poison here). Simplified:
 * instead of only adding to a namespace's badblocks, the affected sectors are recomputed
 * from the list, which also performs the `badblocks_clear()` of pmem_clear_poison().
 */
import { CACHELINE_SIZE, SECTOR_SIZE } from "../types.js";
import type { RangeSet } from "../util/range-set.js";
import type { NdNamespace } from "./namespace.js";

/** A bad physical address range, as ARS reports it and the badrange list holds it. */
export interface BadRange {
  readonly physAddr: number;
  readonly length: number;
}

/** The ranges of a set of cache lines, as physical byte ranges. */
export function lineRangesToBadRanges(lines: ReadonlyArray<readonly [number, number]>, base = 0): BadRange[] {
  return lines.map(([s, e]) => ({ physAddr: base + s * CACHELINE_SIZE, length: (e - s) * CACHELINE_SIZE }));
}

/**
 * `nvdimm_badblocks_populate()` for the part of `ns`'s data area within
 * `[physStart, physEnd)`: every sector that holds a known bad line is bad, the others
 * in that span are not.
 */
export function nvdimmBadblocksPopulate(
  ns: NdNamespace,
  knownBadLines: RangeSet,
  physStart = ns.dataPhysAddr,
  physEnd = ns.physAddr + ns.size,
): void {
  const dataStart = ns.dataPhysAddr;
  const dataEnd = ns.physAddr + ns.size;
  const s = Math.max(physStart, dataStart);
  const e = Math.min(physEnd, dataEnd);
  if (s >= e) return;
  const sec0 = Math.floor((s - dataStart) / SECTOR_SIZE);
  const sec1 = Math.ceil((e - dataStart) / SECTOR_SIZE);
  ns.badblocks.clear(sec0, sec1 - sec0);
  const lo = dataStart + sec0 * SECTOR_SIZE;
  const hi = Math.min(dataStart + sec1 * SECTOR_SIZE, dataEnd);
  for (const [l0, l1] of knownBadLines.ranges(Math.floor(lo / CACHELINE_SIZE), Math.ceil(hi / CACHELINE_SIZE))) {
    const a = Math.max(l0 * CACHELINE_SIZE, lo);
    const b = Math.min(l1 * CACHELINE_SIZE, hi);
    const first = Math.floor((a - dataStart) / SECTOR_SIZE);
    const last = Math.ceil((b - dataStart) / SECTOR_SIZE);
    ns.badblocks.set(first, last - first);
  }
}
