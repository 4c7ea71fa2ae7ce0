/**
 * A machine's DRAM: memmap + buddy allocator + page contents, wired together.
 *
 * @see mm/mm_init.c free_area_init(), memmap_init(), memblock_free_all();
 *      arch/x86/kernel/setup.c (low memory reserved at boot)
 *
 * DRAM starts at pfn 0 and is split into ZONE_DMA (first 16 MiB), ZONE_DMA32 (below
 * 4 GiB) and ZONE_NORMAL, as on x86_64. The first `reservedLowPages` pages stay
 * PG_reserved and never reach the allocator (the kernel reserves low memory, at least
 * pfn 0, at boot). Device memory is added later with `memremapPages(mem, pgmap, backing)`.
 */
import { PAGE_SIZE } from "../types.js";
import type { ZoneName } from "./flags.js";
import { BuddyAllocator } from "./buddy.js";
import { Memmap } from "./memmap.js";
import { PhysMem, type MmCounters } from "./physmem.js";
import { PAGES_PER_SUBSECTION } from "./sparse.js";

export interface MemoryOptions {
  /** DRAM size in bytes: a multiple of 2 MiB. */
  dramBytes: number;
  /** Pages at pfn 0.. kept reserved (default 1: pfn 0). */
  reservedLowPages?: number;
  /** Share a counters object with the caller. */
  counters?: MmCounters;
}

export interface Memory {
  readonly memmap: Memmap;
  readonly buddy: BuddyAllocator;
  readonly physMem: PhysMem;
  readonly counters: MmCounters;
  readonly dramPages: number;
}

const MAX_DMA_PFN = (16 * 1024 * 1024) / PAGE_SIZE;
const MAX_DMA32_PFN = (4 * 1024 * 1024 * 1024) / PAGE_SIZE;

export function createMemory(opts: MemoryOptions): Memory {
  const dramPages = opts.dramBytes / PAGE_SIZE;
  if (!Number.isInteger(dramPages) || dramPages <= 0 || dramPages % PAGES_PER_SUBSECTION !== 0)
    throw new RangeError(`createMemory: dramBytes ${opts.dramBytes} is not a positive multiple of 2 MiB`);
  const reserved = opts.reservedLowPages ?? 1;
  if (!Number.isInteger(reserved) || reserved < 0 || reserved >= dramPages)
    throw new RangeError(`createMemory: bad reservedLowPages ${reserved}`);
  const memmap = new Memmap();
  const physMem = new PhysMem(opts.counters);
  const zones: [ZoneName, number, number][] = [
    ["DMA", 0, MAX_DMA_PFN],
    ["DMA32", MAX_DMA_PFN, MAX_DMA32_PFN],
    ["NORMAL", MAX_DMA32_PFN, Infinity],
  ];
  for (const [zone, lo, hi] of zones) {
    const end = Math.min(hi, dramPages);
    if (end > lo) memmap.addRange(lo, end - lo, { zone });
  }
  physMem.addDramRange(0, dramPages);
  const buddy = new BuddyAllocator(memmap, physMem);
  for (const [, lo, hi] of zones) {
    const start = Math.max(lo, reserved);
    const end = Math.min(hi, dramPages);
    if (end > start) buddy.addFreeRange(start, end - start);
  }
  return { memmap, buddy, physMem, counters: physMem.counters, dramPages };
}
