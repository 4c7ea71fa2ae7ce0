/**
 * Where a new namespace goes in its region and how much of it holds data: the
 * checks `ndctl create-namespace` and the kernel make, and the pfn info block that
 * fsdax and devdax namespaces reserve at their start.
 *
 * @see drivers/nvdimm/namespace_devs.c (size/offset allocation in a region),
 *      drivers/nvdimm/pfn_devs.c nd_pfn_init() (data offset: 8 KiB info area, the
 *      memmap with `--map=dev`, rounded up to max(align, memremap_compat_align())),
 *      nd_pfn_supported_alignments()
 *
 * Simplified: a namespace is one contiguous extent of the region (no labels, no
 * interleave sets, no BTT/sector mode); the caller may pick the region offset, which
 * the kernel does not allow; misaligned sizes are refused rather than truncated
 * (`end_trunc`), as ndctl refuses them. Errors: EINVAL (bad mode/alignment/size),
 * ENOSPC (does not fit), EBUSY (overlaps a namespace).
 */
import { PmemError } from "../errors.js";
import { PAGE_SIZE, SZ_1G, SZ_2M, SZ_4K, alignDown, alignUp, isAligned } from "../types.js";

/** `raw`: plain block device; `fsdax`: block device + DAX with struct pages; `devdax`: /dev/daxX.Y. */
export type NamespaceMode = "raw" | "fsdax" | "devdax";
/** Where the struct pages of an fsdax/devdax namespace live: DRAM (`mem`) or the pmem itself (`dev`). */
export type PfnMap = "mem" | "dev";

/** Alignments an fsdax or devdax namespace may ask for. */
export const PFN_ALIGNMENTS: readonly number[] = [SZ_4K, SZ_2M, SZ_1G];
/** `MAX_STRUCT_PAGE_SIZE`: memmap bytes reserved per page with `--map=dev`. */
export const MAX_STRUCT_PAGE_SIZE = 64;
/** The pfn info block area at the start of an fsdax/devdax namespace. */
export const PFN_INFO_SIZE = 8 * 1024;
/** `memremap_compat_align()` on x86 (SUBSECTION_SIZE). */
export const MEMREMAP_COMPAT_ALIGN = SZ_2M;

export interface NamespaceConfig {
  /** Default `fsdax`, as `ndctl create-namespace`. */
  readonly mode?: NamespaceMode;
  /** Bytes; default: the largest free aligned extent of the region. */
  readonly size?: number;
  /** Byte offset in the region; default: the first free extent that fits. */
  readonly offset?: number;
  /** fsdax/devdax page alignment: 4 KiB, 2 MiB (default) or 1 GiB. */
  readonly align?: number;
  /** fsdax/devdax memmap location, default `dev` as ndctl. */
  readonly map?: PfnMap;
}

export interface NamespaceLayout {
  readonly mode: NamespaceMode;
  /** Region-relative byte offset of the namespace. */
  readonly offset: number;
  readonly size: number;
  readonly align: number;
  readonly map: PfnMap | null;
  /** Bytes before the data area (`pmem->data_offset`); 0 for raw. */
  readonly dataOffset: number;
}

/** A used extent of the region, region-relative `[start, end)`. */
export type Extent = readonly [number, number];

function fail(code: "EINVAL" | "ENOSPC" | "EBUSY", msg: string): never {
  throw new PmemError(code, msg);
}

/** `nd_pfn_init()`'s data offset for a namespace at physical `start` of `size` bytes. */
export function pfnDataOffset(start: number, size: number, align: number, map: PfnMap): number {
  const npfns = Math.floor((size - PFN_INFO_SIZE) / PAGE_SIZE);
  const a = Math.max(align, MEMREMAP_COMPAT_ALIGN);
  const memmap = map === "dev" ? MAX_STRUCT_PAGE_SIZE * npfns : 0;
  return alignUp(start + PFN_INFO_SIZE + memmap, a) - start;
}

/**
 * Validates `cfg` against a region at `regionPhys` of `regionSize` bytes whose used
 * extents are `taken`, and places the namespace.
 */
export function layoutNamespace(
  regionPhys: number,
  regionSize: number,
  taken: readonly Extent[],
  cfg: NamespaceConfig,
): NamespaceLayout {
  const mode = cfg.mode ?? "fsdax";
  if (mode !== "raw" && mode !== "fsdax" && mode !== "devdax") fail("EINVAL", `unknown namespace mode ${String(mode)}`);
  const pfnMode = mode !== "raw";

  let align: number;
  if (pfnMode) {
    align = cfg.align ?? SZ_2M;
    if (!PFN_ALIGNMENTS.includes(align)) fail("EINVAL", `${mode} alignment must be 4K, 2M or 1G, not ${align}`);
  } else {
    if (cfg.align !== undefined && cfg.align !== SZ_4K) fail("EINVAL", `raw namespaces take no alignment (${cfg.align})`);
    if (cfg.map !== undefined) fail("EINVAL", "raw namespaces have no memmap (--map)");
    align = PAGE_SIZE;
  }
  const map: PfnMap | null = pfnMode ? (cfg.map ?? "dev") : null;
  if (map !== null && map !== "mem" && map !== "dev") fail("EINVAL", `unknown map ${String(map)}`);

  if (cfg.size !== undefined && (!Number.isSafeInteger(cfg.size) || cfg.size <= 0 || !isAligned(cfg.size, align))) {
    fail("EINVAL", `size ${cfg.size} is not a positive multiple of the alignment ${align}`);
  }
  const sorted = [...taken].sort((a, b) => a[0] - b[0]);

  let offset: number;
  let size: number;
  if (cfg.offset !== undefined) {
    offset = cfg.offset;
    if (!Number.isSafeInteger(offset) || offset < 0 || !isAligned(regionPhys + offset, align)) {
      fail("EINVAL", `offset ${offset} does not put the namespace on a ${align}-byte boundary`);
    }
    if (offset >= regionSize) fail("ENOSPC", `offset ${offset} is beyond the region (${regionSize} bytes)`);
    const holder = sorted.find(([s, e]) => offset >= s && offset < e);
    if (holder) fail("EBUSY", `offset ${offset} is inside a namespace at [${holder[0]}, ${holder[1]})`);
    if (cfg.size !== undefined) size = cfg.size;
    else {
      const next = sorted.find(([s]) => s > offset);
      size = alignDown((next ? next[0] : regionSize) - offset, align);
      if (size === 0) fail("ENOSPC", `no aligned space at offset ${offset}`);
    }
    if (offset + size > regionSize) fail("ENOSPC", `${size} bytes at offset ${offset} exceed the region (${regionSize} bytes)`);
    const clash = sorted.find(([s, e]) => offset < e && s < offset + size);
    if (clash) fail("EBUSY", `[${offset}, ${offset + size}) overlaps a namespace at [${clash[0]}, ${clash[1]})`);
  } else {
    let best: { offset: number; size: number } | undefined;
    let cursor = 0;
    for (const gap of [...sorted, [regionSize, regionSize] as const]) {
      const gapStart = cursor;
      const gapEnd = gap[0];
      cursor = Math.max(cursor, gap[1]);
      const start = alignUp(regionPhys + gapStart, align) - regionPhys;
      if (start >= gapEnd) continue;
      const avail = alignDown(gapEnd - start, align);
      if (cfg.size !== undefined) {
        if (avail >= cfg.size) {
          best = { offset: start, size: cfg.size };
          break;
        }
      } else if (avail > 0 && (!best || avail > best.size)) {
        best = { offset: start, size: avail };
      }
    }
    if (!best) {
      fail("ENOSPC", cfg.size !== undefined ? `no free ${align}-aligned extent of ${cfg.size} bytes` : "no free aligned space");
    }
    offset = best.offset;
    size = best.size;
  }

  let dataOffset = 0;
  if (map !== null) {
    dataOffset = pfnDataOffset(regionPhys + offset, size, align, map);
    if (dataOffset >= size) {
      fail("ENOSPC", `${size} bytes cannot hold the info block and memmap (${dataOffset} bytes) plus data`);
    }
  }
  return { mode, offset, size, align, map, dataOffset };
}
