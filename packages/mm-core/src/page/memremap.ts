/**
 * ZONE_DEVICE: `struct dev_pagemap` and the struct pages of device memory.
 *
 * @see include/linux/memremap.h enum memory_type, struct dev_pagemap,
 *      struct dev_pagemap_ops; mm/memremap.c memremap_pages(), pagemap_range(),
 *      memunmap_pages(), get_dev_pagemap(), put_dev_pagemap(), zone_device_page_init();
 *      mm/mm_init.c memmap_init_zone_device(), __init_zone_device_page()
 *
 * As in 6.12, device pages start PG_reserved with refcount 1, except device-private and
 * device-coherent pages, which start at 0 (free, owned by the driver's allocator) and take
 * a pgmap reference each when `zoneDevicePageInit()` hands them out. `pgmap.ref` counts the
 * `percpu_ref`: one per idle page for the other types, plus every `getDevPagemap()`.
 * `memunmapPages()` kills the ref and removes the pages; where the kernel would wait for
 * outstanding references forever, the model refuses with EBUSY and changes nothing.
 *
 * Simplified: one range per pgmap (no `ranges[]`), no altmap, no vmemmap_shift (device
 * pages are never compound), no NUMA node.
 */
import { KernelError } from "../errno.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE } from "../types.js";
import { PG_locked } from "./flags.js";
import type { Memmap } from "./memmap.js";
import { PAGES_PER_SUBSECTION } from "./sparse.js";
import type { MemoryBacking, PhysMem } from "./physmem.js";

export const MEMORY_DEVICE_PRIVATE = 1;
export const MEMORY_DEVICE_COHERENT = 2;
export const MEMORY_DEVICE_FS_DAX = 3;
export const MEMORY_DEVICE_GENERIC = 4;
export const MEMORY_DEVICE_PCI_P2PDMA = 5;
export type MemoryType = 1 | 2 | 3 | 4 | 5;

/** `struct dev_pagemap_ops`. */
export interface DevPagemapOps {
  /** Called when a page's refcount reaches 0 (not for FS_DAX, which idles at 1). */
  pageFree?(pfn: Pfn): void;
  /** Device-private only: a CPU fault on a device-private entry (`vm_fault_t` result). */
  migrateToRam?(vmf: unknown): number;
  /** A memory error in the range (returns 0 or -errno, like the kernel). */
  memoryFailure?(pfn: Pfn, nrPages: number, mfFlags: number): number;
}

/** `struct range`: physical byte addresses, `end` inclusive. */
export interface PhysRange {
  readonly start: number;
  readonly end: number;
}

export interface DevPagemapInit {
  type: MemoryType;
  range: PhysRange;
  ops?: DevPagemapOps;
  /** Matched against HMM / migrate_vma owners (device-private and coherent). */
  owner?: unknown;
}

/** `struct dev_pagemap`. */
export class DevPagemap {
  readonly type: MemoryType;
  readonly range: PhysRange;
  readonly ops: DevPagemapOps | undefined;
  readonly owner: unknown;
  /** `percpu_ref` count of live references. */
  ref = 0;
  /** false before memremap and once killed (`percpu_ref_tryget_live()` fails). */
  live = false;

  constructor(init: DevPagemapInit) {
    this.type = init.type;
    this.range = init.range;
    this.ops = init.ops;
    this.owner = init.owner;
  }

  get startPfn(): Pfn {
    return Math.floor(this.range.start / PAGE_SIZE) as Pfn;
  }
  get nrPages(): number {
    return (this.range.end + 1 - this.range.start) / PAGE_SIZE;
  }
  /** `pgmap_pfn_valid()`. */
  pfnValid(pfn: number): boolean {
    return pfn >= this.startPfn && pfn < this.startPfn + this.nrPages;
  }
}

/** What memremap needs: the memmap, and where to register the backing memory. */
export interface MemremapTarget {
  readonly memmap: Memmap;
  readonly physMem?: PhysMem;
}

function invalid(detail: string): never {
  throw new KernelError("EINVAL", `memremap_pages: ${detail}`);
}

/** The per-page pgmap references taken at memremap time. */
function pagesHoldingRefs(pgmap: DevPagemap): number {
  return pgmap.type === MEMORY_DEVICE_PRIVATE || pgmap.type === MEMORY_DEVICE_COHERENT ? 0 : pgmap.nrPages;
}

/**
 * `memremap_pages()`: create the ZONE_DEVICE struct pages for `pgmap.range` and, when a
 * backing is given, register it with `target.physMem` so pfn reads and writes reach it.
 */
export function memremapPages(target: MemremapTarget, pgmap: DevPagemap, backing?: MemoryBacking): void {
  const { memmap, physMem } = target;
  switch (pgmap.type) {
    case MEMORY_DEVICE_PRIVATE:
      if (!pgmap.ops?.migrateToRam) invalid("Missing migrate_to_ram method");
      if (!pgmap.ops.pageFree) invalid("Missing page_free method");
      if (pgmap.owner === undefined) invalid("Missing owner");
      break;
    case MEMORY_DEVICE_COHERENT:
      if (!pgmap.ops?.pageFree) invalid("Missing page_free method");
      if (pgmap.owner === undefined) invalid("Missing owner");
      break;
    case MEMORY_DEVICE_FS_DAX:
    case MEMORY_DEVICE_GENERIC:
    case MEMORY_DEVICE_PCI_P2PDMA:
      break;
    default:
      invalid(`Invalid pgmap type ${String(pgmap.type)}`);
  }
  if (pgmap.live) invalid("pgmap already in use");
  const { range } = pgmap;
  const bytes = range.end + 1 - range.start;
  const subsection = PAGES_PER_SUBSECTION * PAGE_SIZE;
  if (range.start % subsection !== 0 || bytes % subsection !== 0 || bytes <= 0)
    invalid(`range [${range.start}, ${range.end}] is not 2 MiB (subsection) aligned`);
  if (backing && !physMem) throw new TypeError("memremapPages: a backing needs target.physMem");
  const start = range.start / PAGE_SIZE;
  const nr = bytes / PAGE_SIZE;
  for (let p = start; p < start + nr; p += PAGES_PER_SUBSECTION) {
    const r = memmap.rangeOf(p);
    if (r?.zone === "DEVICE") throw new KernelError("ENOMEM", "Conflicting mapping in same section");
    if (r) throw new KernelError("ENXIO", "memremap_pages attempted on ram region");
  }
  memmap.addRange(start, nr, {
    zone: "DEVICE",
    pgmap,
    initialRefcount: pgmap.type === MEMORY_DEVICE_PRIVATE || pgmap.type === MEMORY_DEVICE_COHERENT ? 0 : 1,
  });
  if (backing) physMem!.registerBacking(start, nr, backing);
  pgmap.live = true;
  pgmap.ref = pagesHoldingRefs(pgmap);
}

/**
 * `memunmap_pages()`: kill the pgmap and remove its struct pages and backing. Throws EBUSY
 * (state unchanged) where the kernel would wait for references that are still held.
 */
export function memunmapPages(target: MemremapTarget, pgmap: DevPagemap): void {
  if (!pgmap.live) throw new KernelError("EINVAL", "memunmap_pages: pgmap is not mapped");
  const outstanding = pgmap.ref - pagesHoldingRefs(pgmap);
  if (outstanding > 0)
    throw new KernelError("EBUSY", `memunmap_pages: ${outstanding} dev_pagemap reference(s) still held`);
  pgmap.live = false;
  pgmap.ref = 0;
  const start = pgmap.startPfn;
  target.memmap.removeRange(start);
  if (target.physMem?.backingAt(start)) target.physMem.unregisterBacking(start);
}

/** `get_dev_pagemap()`: a live reference on the pgmap covering `pfn`, or undefined. */
export function getDevPagemap(memmap: Memmap, pfn: number): DevPagemap | undefined {
  if (!memmap.pfnValid(pfn)) return undefined;
  const pgmap = memmap.pagePgmap(pfn);
  if (!pgmap?.live) return undefined;
  pgmap.ref++;
  return pgmap;
}

/** `put_dev_pagemap()`. */
export function putDevPagemap(pgmap: DevPagemap): void {
  if (pgmap.ref <= 0) throw new RangeError("put_dev_pagemap: reference underflow");
  pgmap.ref--;
}

/**
 * `zone_device_page_init()`: a driver hands out a free device-private/coherent page:
 * pgmap reference, refcount 1, page locked (a fresh page's lock never sleeps).
 */
export function zoneDevicePageInit(memmap: Memmap, pfn: number): void {
  const pgmap = memmap.pagePgmap(pfn);
  if (!pgmap?.live) memmap.warnOnce("zone_device_page_init", "WARNING: zone_device_page_init: pgmap is dead");
  else pgmap.ref++;
  if (memmap.pageRefCount(pfn) !== 0) memmap.bug(pfn, "VM_BUG_ON_PAGE(page_ref_count(page))");
  memmap.setPageCount(pfn, 1);
  memmap.setPageFlag(pfn, PG_locked);
}

/** `is_device_private_page()`. */
export function isDevicePrivatePage(memmap: Memmap, pfn: number): boolean {
  return memmap.isZoneDevicePage(pfn) && memmap.pagePgmap(pfn)?.type === MEMORY_DEVICE_PRIVATE;
}

/** `folio_is_fsdax()`. */
export function folioIsFsdax(memmap: Memmap, pfn: number): boolean {
  return memmap.isZoneDevicePage(pfn) && memmap.pagePgmap(pfn)?.type === MEMORY_DEVICE_FS_DAX;
}
