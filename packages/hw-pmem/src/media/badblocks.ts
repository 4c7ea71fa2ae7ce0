/**
 * A block device's list of bad 512-byte sectors, as the pmem driver keeps it and
 * /sys/block/pmem0/badblocks shows it ("sector count" per line).
 *
 * @see block/badblocks.c badblocks_set(), badblocks_clear(), badblocks_check(),
 *      badblocks_show(); drivers/nvdimm/nd.h is_bad_pmem()
 *
 * Simplified: no acknowledged/unacknowledged distinction (every entry is acknowledged,
 * as nvdimm_badblocks_populate() sets them) and no page-sized table limit; long runs
 * are split into BB_MAX_LEN entries only when shown, as the kernel stores them.
 */
import { RangeSet } from "../util/range-set.js";

/** Longest run one badblocks table entry holds (`BB_MAX_LEN`). */
export const BB_MAX_LEN = 512;

export interface BadblocksHit {
  /** First bad sector in the checked range. */
  readonly firstBad: number;
  /** Bad sectors from `firstBad` on, within the checked range. */
  readonly numBad: number;
}

export class Badblocks {
  private readonly sectors = new RangeSet();

  /** Number of entries (`bb->count`): zero means the device has no known bad sectors. */
  get count(): number {
    let n = 0;
    for (const [s, e] of this.sectors.ranges()) n += Math.ceil((e - s) / BB_MAX_LEN);
    return n;
  }

  /** Total bad sectors. */
  get sectorCount(): number {
    return this.sectors.size;
  }

  /** `badblocks_set()`. */
  set(sector: number, nrSectors: number): void {
    this.sectors.add(sector, sector + nrSectors);
  }

  /** `badblocks_clear()`; returns how many bad sectors were cleared. */
  clear(sector: number, nrSectors: number): number {
    return this.sectors.remove(sector, sector + nrSectors);
  }

  /** `badblocks_check()`: the first bad run within `[sector, sector + nrSectors)`. */
  check(sector: number, nrSectors: number): BadblocksHit | undefined {
    const end = sector + nrSectors;
    const first = this.sectors.firstIn(sector, end);
    if (first === undefined) return undefined;
    const run = this.sectors.ranges(first, end)[0]!;
    return { firstBad: first, numBad: run[1] - run[0] };
  }

  /** `is_bad_pmem()`: whether `len` bytes from `sector` touch a bad sector. */
  isBad(sector: number, len: number): boolean {
    return this.check(sector, Math.floor(len / 512)) !== undefined;
  }

  /** The entries as `[sector, count]`, split at BB_MAX_LEN like the kernel's table. */
  entries(): Array<readonly [number, number]> {
    const out: Array<readonly [number, number]> = [];
    for (const [s, e] of this.sectors.ranges()) {
      for (let at = s; at < e; at += BB_MAX_LEN) out.push([at, Math.min(BB_MAX_LEN, e - at)]);
    }
    return out;
  }

  /** `badblocks_show()`: the text of /sys/block/<dev>/badblocks. */
  show(): string {
    return this.entries()
      .map(([s, n]) => `${s} ${n}\n`)
      .join("");
  }

  reset(): void {
    this.sectors.clear();
  }
}
