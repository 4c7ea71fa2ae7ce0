/**
 * An NVDIMM region: one contiguous system-physical-address range of persistent memory
 * (an ACPI NFIT SPA range, or a legacy e820 type-12 range), its media, and the
 * namespaces carved out of it.
 *
 * @see drivers/nvdimm/region_devs.c (nd_region, ND_REGION_PAGEMAP),
 *      drivers/nvdimm/namespace_devs.c (namespace creation in a region),
 *      drivers/nvdimm/e820.c (legacy pmem: `memmap=512M!1G` gives region0 with one
 *      raw namespace0.0 whose pages have struct pages)
 *
 * Simplified: no DIMM mappings, interleave sets, labels or DPA accounting; a region is
 * its SPA range and its media.
 */
import { PmemAccessWindow } from "../cpu/access.js";
import { PmemError } from "../errors.js";
import { SparseMedia } from "../media/sparse-media.js";
import { NdNamespace } from "./namespace.js";
import { type NamespaceConfig, layoutNamespace } from "./namespace-layout.js";
import type { PmemPlatform } from "./platform.js";

export interface RegionConfig {
  /** First physical address (4 KiB aligned). */
  readonly physAddr: number;
  /** Bytes (a multiple of 4 KiB); 64 GiB and more are fine: the media is sparse. */
  readonly size: number;
  /** ND_REGION_PAGEMAP: a legacy e820 region whose raw namespaces get struct pages (DAX). */
  readonly pagemap?: boolean;
  /** Namespaces to create at once, in order. */
  readonly namespaces?: readonly NamespaceConfig[];
}

export class NdRegion extends PmemAccessWindow {
  /** `region<id>`. */
  readonly name: string;
  readonly media: SparseMedia;
  readonly pagemap: boolean;
  private readonly nsList: NdNamespace[] = [];

  constructor(
    platform: PmemPlatform,
    readonly id: number,
    cfg: RegionConfig,
    private readonly onNamespaceChange: (ns: NdNamespace, added: boolean) => void,
  ) {
    super(platform, cfg.physAddr, cfg.size);
    this.name = `region${id}`;
    this.media = new SparseMedia(cfg.size);
    this.pagemap = cfg.pagemap ?? false;
  }

  protected describe(): string {
    return this.name;
  }

  get namespaces(): readonly NdNamespace[] {
    return this.nsList;
  }

  /** Bytes not used by any namespace. */
  get availableSize(): number {
    return this.size - this.nsList.reduce((n, ns) => n + ns.size, 0);
  }

  /** Carve a namespace out of the region (ndctl create-namespace). Throws EINVAL, ENOSPC or EBUSY. */
  createNamespace(cfg: NamespaceConfig = {}): NdNamespace {
    const taken = this.nsList.map((ns) => [ns.regionOffset, ns.regionOffset + ns.size] as const);
    const layout = layoutNamespace(this.physAddr, this.size, taken, cfg);
    const used = new Set(this.nsList.map((ns) => ns.index));
    let index = 0;
    while (used.has(index)) index++;
    const ns = new NdNamespace(this.platform, this, index, layout);
    this.nsList.push(ns);
    this.nsList.sort((a, b) => a.physAddr - b.physAddr);
    this.onNamespaceChange(ns, true);
    return ns;
  }

  /** ndctl destroy-namespace. The media keeps its content. */
  destroyNamespace(ns: NdNamespace): void {
    const i = this.nsList.indexOf(ns);
    if (i < 0) throw new PmemError("EINVAL", `${ns.name} is not in ${this.name}`);
    this.nsList.splice(i, 1);
    this.onNamespaceChange(ns, false);
  }
}
