/**
 * A namespace: a slice of a region's physical address range exposed as one device —
 * /dev/pmemN (raw, fsdax) or /dev/daxN.M (devdax) — with the page frame numbers
 * ZONE_DEVICE gives struct pages to, and its own list of bad sectors.
 *
 * @see drivers/nvdimm/namespace_devs.c (namespaceX.Y), nvdimm_namespace_disk_name();
 *      drivers/nvdimm/pfn_devs.c (fsdax "pfn" mode), drivers/nvdimm/dax_devs.c (devdax);
 *      drivers/nvdimm/pmem.c pmem_attach_disk() (data_offset, pgmap type, QUEUE_FLAG_DAX)
 *
 * Simplified: the mode is fixed at creation (no reconfiguring a namespace in place);
 * a devdax namespace offers daxDirectAccess() itself instead of a separate dev_dax.
 */
import { PmemAccessWindow } from "../cpu/access.js";
import { PmemError } from "../errors.js";
import { Badblocks } from "../media/badblocks.js";
import { PmemBlockDevice } from "../pmem/block-device.js";
import {
  type DaxAccessMode,
  type DaxDirectAccessResult,
  pmemDaxDirectAccess,
  pmemDaxZeroPageRange,
  pmemRecoveryWrite,
} from "../pmem/dax.js";
import { type Pfn, PAGE_SIZE, physPfn } from "../types.js";
import type { PmemPlatform } from "./platform.js";
import type { NamespaceLayout, NamespaceMode, PfnMap } from "./namespace-layout.js";
import type { NdRegion } from "./region.js";

/** The dev_pagemap type mm-core should give the namespace's pages. */
export type PgmapType = "fsdax" | "devdax";

export class NdNamespace extends PmemAccessWindow {
  /** `namespace<region>.<index>`. */
  readonly name: string;
  /** `pmem<region>[.<index>]` for raw/fsdax, `dax<region>.<index>` for devdax. */
  readonly devName: string;
  readonly mode: NamespaceMode;
  readonly align: number;
  readonly map: PfnMap | null;
  /** Bytes reserved before the data area (info block, memmap with map=dev). */
  readonly dataOffset: number;
  /** Known bad 512-byte sectors, counted from the data area's start. */
  readonly badblocks = new Badblocks();
  /** The block device face (raw, fsdax), or null (devdax). */
  readonly blockDevice: PmemBlockDevice | null;

  constructor(
    platform: PmemPlatform,
    readonly region: NdRegion,
    /** The namespace's index in its region (the Y of namespaceX.Y). */
    readonly index: number,
    layout: NamespaceLayout,
  ) {
    super(platform, region.physAddr + layout.offset, layout.size);
    this.mode = layout.mode;
    this.align = layout.align;
    this.map = layout.map;
    this.dataOffset = layout.dataOffset;
    this.name = `namespace${region.id}.${index}`;
    this.devName =
      this.mode === "devdax" ? `dax${region.id}.${index}` : index === 0 ? `pmem${region.id}` : `pmem${region.id}.${index}`;
    this.blockDevice = this.mode === "devdax" ? null : new PmemBlockDevice(this);
  }

  protected describe(): string {
    return this.name;
  }

  /** Region-relative byte offset. */
  get regionOffset(): number {
    return this.physAddr - this.region.physAddr;
  }
  /** First physical address of the data area (sector 0, pgoff 0). */
  get dataPhysAddr(): number {
    return this.physAddr + this.dataOffset;
  }
  /** Bytes of the data area. */
  get dataSize(): number {
    return this.size - this.dataOffset;
  }
  /** First pfn of the data area. */
  get pfnStart(): Pfn {
    return physPfn(this.dataPhysAddr);
  }
  /** Pages in the data area. */
  get nrPages(): number {
    return Math.floor(this.dataSize / PAGE_SIZE);
  }
  /** One past the last pfn of the data area. */
  get pfnEnd(): Pfn {
    return (this.pfnStart + this.nrPages) as Pfn;
  }

  /** Whether the namespace's pages have struct pages (PFN_MAP): fsdax, devdax, raw on a pagemap region. */
  get hasStructPages(): boolean {
    return this.mode !== "raw" || this.region.pagemap;
  }
  /** Whether filesystem DAX works on the block device (`queue/dax`). */
  get supportsDax(): boolean {
    return this.mode === "fsdax" || (this.mode === "raw" && this.region.pagemap);
  }
  /** The ZONE_DEVICE pgmap type for the pages, or null without struct pages. */
  get pgmapType(): PgmapType | null {
    if (this.mode === "devdax") return "devdax";
    return this.hasStructPages ? "fsdax" : null;
  }

  /** Whether `pfn` is a data page of this namespace. */
  containsPfn(p: Pfn): boolean {
    return p >= this.pfnStart && p < this.pfnEnd;
  }
  /** Device offset of a physical address (what pmem_pagemap_memory_failure() hands the holder). */
  physToOffset(physAddr: number): number {
    if (physAddr < this.dataPhysAddr || physAddr >= this.physAddr + this.size) {
      throw new PmemError("ERANGE", `0x${physAddr.toString(16)} is not in ${this.name}'s data area`);
    }
    return physAddr - this.dataPhysAddr;
  }
  /** Physical address of a device offset. */
  offsetToPhys(offset: number): number {
    if (offset < 0 || offset >= this.dataSize) throw new PmemError("ERANGE", `offset ${offset} is outside ${this.name}`);
    return this.dataPhysAddr + offset;
  }

  private requireDax(): void {
    if (!this.hasStructPages) {
      throw new PmemError("EOPNOTSUPP", `${this.name} (${this.mode}) has no DAX`);
    }
  }

  /**
   * `dax_direct_access()` → `pmem_dax_direct_access()`: the pfn and physical address of
   * `pgoff` and how many pages from there are contiguous and usable (at most `nrPages`).
   * Throws EHWPOISON when the range has known bad sectors (unless `mode` is
   * "recovery-write"), ERANGE past the end, EINVAL for a negative count.
   */
  daxDirectAccess(pgoff: number, nrPages: number, mode: DaxAccessMode = "access"): DaxDirectAccessResult {
    this.requireDax();
    return pmemDaxDirectAccess(this, pgoff, nrPages, mode);
  }

  /** `pmem_dax_zero_page_range()`: zero pages through the write path (clears known poison). */
  daxZeroPageRange(pgoff: number, nrPages: number): void {
    this.requireDax();
    pmemDaxZeroPageRange(this, pgoff, nrPages);
  }

  /** `pmem_recovery_write()`: write whole pages at `pgoff`, clearing known poison first. Returns bytes written. */
  daxRecoveryWrite(pgoff: number, src: Uint8Array): number {
    this.requireDax();
    return pmemRecoveryWrite(this, pgoff, src);
  }

  /** `nvdimm_clear_poison()` + `badblocks_clear()` for a data-area byte range. */
  clearPoison(offset: number, len: number): number {
    return this.platform.clearPoison(this.offsetToPhys(offset), len);
  }
}
