/**
 * The ZONE_DEVICE memory types at a glance: which kind of device memory a struct page
 * belongs to, and what each kind allows.
 *
 * @see include/linux/memremap.h enum memory_type, is_device_private_page(),
 *      is_device_coherent_page(), is_pci_p2pdma_page(), folio_is_device_private(),
 *      folio_is_device_coherent(), folio_is_pci_p2pdma(), folio_is_fsdax();
 *      include/linux/mm.h is_zone_device_page(), folio_is_zone_device()
 *
 * mm-core owns `DevPagemap`, `memremapPages()`, `isDevicePrivatePage()` and
 * `folioIsFsdax()`; this module adds the other predicates over the same memmap and a
 * summary table of every dev_pagemap a machine has. Pages are named by pfn (the model's
 * `struct page *`); device pages are never compound here, so folio and page forms agree.
 */
import {
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_DEVICE_PRIVATE,
  type DevPagemap,
  type Memmap,
  type MemoryType,
} from "@pagelab/mm-core";

/** The kernel's enumerator name of a memory type. */
export function memoryTypeName(type: MemoryType): string {
  switch (type) {
    case MEMORY_DEVICE_PRIVATE:
      return "MEMORY_DEVICE_PRIVATE";
    case MEMORY_DEVICE_COHERENT:
      return "MEMORY_DEVICE_COHERENT";
    case MEMORY_DEVICE_FS_DAX:
      return "MEMORY_DEVICE_FS_DAX";
    case MEMORY_DEVICE_GENERIC:
      return "MEMORY_DEVICE_GENERIC";
    case MEMORY_DEVICE_PCI_P2PDMA:
      return "MEMORY_DEVICE_PCI_P2PDMA";
  }
}

function pgmapTypeIs(memmap: Memmap, pfn: number, type: MemoryType): boolean {
  return memmap.pfnValid(pfn) && memmap.isZoneDevicePage(pfn) && memmap.pagePgmap(pfn)?.type === type;
}

/** `is_zone_device_page()` / `folio_is_zone_device()`, false for a pfn without a struct page. */
export function isZoneDevicePage(memmap: Memmap, pfn: number): boolean {
  return memmap.pfnValid(pfn) && memmap.isZoneDevicePage(pfn);
}

/** `is_device_coherent_page()` / `folio_is_device_coherent()`. */
export function isDeviceCoherentPage(memmap: Memmap, pfn: number): boolean {
  return pgmapTypeIs(memmap, pfn, MEMORY_DEVICE_COHERENT);
}

/** `is_pci_p2pdma_page()` / `folio_is_pci_p2pdma()`. */
export function isPciP2pdmaPage(memmap: Memmap, pfn: number): boolean {
  return pgmapTypeIs(memmap, pfn, MEMORY_DEVICE_PCI_P2PDMA);
}

/** A device-dax page (`MEMORY_DEVICE_GENERIC`, drivers/dax/device.c). */
export function isDeviceDaxPage(memmap: Memmap, pfn: number): boolean {
  return pgmapTypeIs(memmap, pfn, MEMORY_DEVICE_GENERIC);
}

/**
 * `folio_is_longterm_pinnable()`'s ZONE_DEVICE part: device-private and device-coherent
 * memory may be migrated away at any time and fsdax blocks belong to a filesystem, so
 * none of them can be pinned long term; device-dax and P2PDMA memory can.
 */
export function zoneDeviceLongtermPinnable(memmap: Memmap, pfn: number): boolean {
  const type = memmap.pagePgmap(pfn)?.type;
  return type === MEMORY_DEVICE_GENERIC || type === MEMORY_DEVICE_PCI_P2PDMA;
}

/** What each memory type is, in one row: for reports and the README table. */
export interface MemoryTypeTraits {
  readonly type: MemoryType;
  readonly name: string;
  /** Can the CPU load and store it through a normal mapping? */
  readonly cpuAccessible: boolean;
  /** How a CPU page table refers to it: a swap-format entry, or a present PTE. */
  readonly cpuMapping: "device-private swap entry" | "present pte";
  /** Refcount of an idle (free) page in 6.12. */
  readonly idleRefcount: 0 | 1;
  /** `dev_pagemap_ops` the type requires at memremap time. */
  readonly requiredOps: readonly ("pageFree" | "migrateToRam")[];
  /** Can migrate_vma move anonymous memory to it? */
  readonly migrateTarget: boolean;
}

export const MEMORY_TYPE_TRAITS: readonly MemoryTypeTraits[] = [
  {
    type: MEMORY_DEVICE_PRIVATE, name: "MEMORY_DEVICE_PRIVATE", cpuAccessible: false,
    cpuMapping: "device-private swap entry", idleRefcount: 0, requiredOps: ["pageFree", "migrateToRam"], migrateTarget: true,
  },
  {
    type: MEMORY_DEVICE_COHERENT, name: "MEMORY_DEVICE_COHERENT", cpuAccessible: true,
    cpuMapping: "present pte", idleRefcount: 0, requiredOps: ["pageFree"], migrateTarget: true,
  },
  {
    type: MEMORY_DEVICE_FS_DAX, name: "MEMORY_DEVICE_FS_DAX", cpuAccessible: true,
    cpuMapping: "present pte", idleRefcount: 1, requiredOps: [], migrateTarget: false,
  },
  {
    type: MEMORY_DEVICE_GENERIC, name: "MEMORY_DEVICE_GENERIC", cpuAccessible: true,
    cpuMapping: "present pte", idleRefcount: 1, requiredOps: [], migrateTarget: false,
  },
  {
    type: MEMORY_DEVICE_PCI_P2PDMA, name: "MEMORY_DEVICE_PCI_P2PDMA", cpuAccessible: true,
    cpuMapping: "present pte", idleRefcount: 1, requiredOps: [], migrateTarget: false,
  },
];

/** One dev_pagemap as a row: what `cat /proc/iomem` plus the pgmap state would tell. */
export interface DevPagemapSummary {
  readonly type: string;
  readonly startPfn: number;
  readonly nrPages: number;
  readonly live: boolean;
  /** `percpu_ref` count. */
  readonly ref: number;
  readonly owner: unknown;
}

/** Every dev_pagemap of a memmap, in the order their ranges were added. */
export function devPagemapSummary(memmap: Memmap): DevPagemapSummary[] {
  const seen = new Set<DevPagemap>();
  const out: DevPagemapSummary[] = [];
  for (const r of memmap.memRanges()) {
    const pgmap = r.pgmap;
    if (!pgmap || seen.has(pgmap)) continue;
    seen.add(pgmap);
    out.push({
      type: memoryTypeName(pgmap.type),
      startPfn: pgmap.startPfn,
      nrPages: pgmap.nrPages,
      live: pgmap.live,
      ref: pgmap.ref,
      owner: pgmap.owner,
    });
  }
  return out;
}
