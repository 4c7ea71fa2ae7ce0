/**
 * The simulated HMM device (test_hmm's `dmirror_device`): device memory in 256 MiB
 * chunks of ZONE_DEVICE pages with its own struct pages, a free list, the
 * `dev_pagemap_ops` (page_free, migrate_to_ram), and eviction of its memory back to RAM.
 *
 * @see lib/test_hmm.c dmirror_allocate_chunk(), dmirror_devmem_alloc_page(),
 *      dmirror_devmem_free(), dmirror_devmem_fault(),
 *      dmirror_devmem_fault_alloc_and_copy(), dmirror_device_evict_chunk(),
 *      dmirror_device_remove_chunks(), dmirror_fops_open()
 *
 * Device memory lives in a `DeviceMemory` backing registered at the chunk's physical
 * range (found with `requestFreeMemRegion`, above DRAM and pmem), so migration copies are
 * physical page copies. test_hmm fakes each device-private page with a system page
 * (`zone_device_data`); here the device's own backing holds the data, and the page's
 * owning mirror (what test_hmm keeps in the backing page's `zone_device_data`) is a map
 * kept by the device. Simplified: no device-exclusive (atomic) mappings, no THP chunks.
 */
import {
  DevPagemap,
  KernelError,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_PRIVATE,
  PAGE_SIZE,
  VM_FAULT_SIGBUS,
  isDevicePrivatePage,
  memremapPages,
  memunmapPages,
  trylockPage,
  vmBugOn,
  zoneDevicePageInit,
  type MmStruct,
  type Pfn,
  type VmContext,
  type VmFault,
} from "@pagelab/mm-core";
import { DeviceMemory } from "../zoneDevice/deviceMemory.js";
import { requestFreeMemRegion } from "../zoneDevice/resource.js";
import { isDeviceCoherentPage } from "../zoneDevice/types.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
} from "../migrate/migratePfn.js";
import {
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDeviceRange,
  migrateVmaFinalize,
  migrateVmaInit,
  migrateVmaPages,
  migrateVmaSetup,
  type MigrateVma,
} from "../migrate/migrateDevice.js";
import { Dmirror } from "./mirror.js";
import { HMM_DMIRROR_MEMORY_DEVICE_PRIVATE, type DmirrorMemoryType } from "./uapi.js";

/** `DEVMEM_CHUNK_SIZE`. */
export const DEVMEM_CHUNK_SIZE = 256 * 1024 * 1024;

/** `struct dmirror_chunk`: one memremapped range of device pages. */
export interface DmirrorChunk {
  readonly pagemap: DevPagemap;
  /** Set while the chunk is being removed: freed pages do not return to the free list. */
  remove: boolean;
}

export interface DmirrorDeviceOptions {
  /** Device name (`hmm_dmirror0`…). */
  name?: string;
  /** HMM_DMIRROR_MEMORY_DEVICE_PRIVATE (default) or _COHERENT. */
  zoneDeviceType?: DmirrorMemoryType;
  /** Bytes per chunk; a multiple of 2 MiB (default DEVMEM_CHUNK_SIZE). */
  chunkBytes?: number;
}

/** `struct dmirror_device`. */
export class DmirrorDevice {
  readonly name: string;
  readonly zoneDeviceType: DmirrorMemoryType;
  readonly chunkBytes: number;
  readonly chunks: DmirrorChunk[] = [];
  /** The device's memory, behind every chunk. */
  readonly memory: DeviceMemory;
  /** Free device pages (`free_pages`), most recently freed last. */
  private freePages: Pfn[] = [];
  /** Which mirror each allocated page holds data for (test_hmm: the backing page's zone_device_data). */
  private readonly pageMirror = new Map<number, Dmirror>();
  /** Pages handed out (`calloc`) and given back through page_free (`cfree`). */
  calloc = 0;
  cfree = 0;
  /** ->migrate_to_ram calls. */
  migrateToRamCalls = 0;

  constructor(
    readonly ctx: VmContext,
    opts: DmirrorDeviceOptions = {},
  ) {
    this.name = opts.name ?? "hmm_dmirror";
    this.zoneDeviceType = opts.zoneDeviceType ?? HMM_DMIRROR_MEMORY_DEVICE_PRIVATE;
    this.chunkBytes = opts.chunkBytes ?? DEVMEM_CHUNK_SIZE;
    this.memory = new DeviceMemory(this.name);
    // dmirror_device_init(): build the first chunk's free list.
    this.allocateChunk();
  }

  get isPrivateZone(): boolean {
    return this.zoneDeviceType === HMM_DMIRROR_MEMORY_DEVICE_PRIVATE;
  }

  /** `dmirror_select_device()`: which device pages migrate_vma should collect. */
  get selectDevice(): number {
    return this.isPrivateZone ? MIGRATE_VMA_SELECT_DEVICE_PRIVATE : MIGRATE_VMA_SELECT_DEVICE_COHERENT;
  }

  /** Free pages on the device's list. */
  get nrFreePages(): number {
    return this.freePages.length;
  }

  /** The mirror an allocated device page holds data for. */
  pageOwner(pfn: Pfn): Dmirror | undefined {
    return this.pageMirror.get(pfn);
  }

  /** `dmirror_fops_open()`: start mirroring `mm`. */
  open(mm: MmStruct): Dmirror {
    return new Dmirror(this, mm);
  }

  /** `dmirror_allocate_chunk()`: memremap another chunk and put its pages on the free list. */
  allocateChunk(): DmirrorChunk {
    const memmap = this.ctx.memmap;
    const range = requestFreeMemRegion(memmap, this.chunkBytes);
    const self = this;
    const pagemap = new DevPagemap({
      type: this.isPrivateZone ? MEMORY_DEVICE_PRIVATE : MEMORY_DEVICE_COHERENT,
      range,
      owner: this,
      ops: {
        pageFree: (pfn) => self.devmemFree(pfn),
        migrateToRam: (vmf) => self.devmemFault(vmf as VmFault),
      },
    });
    memremapPages({ memmap, physMem: this.ctx.physMem }, pagemap, this.memory);
    const chunk: DmirrorChunk = { pagemap, remove: false };
    this.chunks.push(chunk);
    const first = pagemap.startPfn;
    for (let p = first + pagemap.nrPages - 1; p >= first; p--) this.freePages.push(p as Pfn);
    return chunk;
  }

  private chunkOf(pfn: number): DmirrorChunk | undefined {
    return this.chunks.find((c) => c.pagemap.pfnValid(pfn));
  }

  /** `dmirror_devmem_alloc_page()`: a device page, refcount 1 and locked, or null. */
  devmemAllocPage(): Pfn | null {
    let dpage = this.freePages.pop();
    if (dpage === undefined) {
      try {
        this.allocateChunk();
      } catch (e) {
        if (e instanceof KernelError) return null;
        throw e;
      }
      dpage = this.freePages.pop()!;
    }
    this.calloc++;
    zoneDevicePageInit(this.ctx.memmap, dpage);
    return dpage;
  }

  /** `dmirror_devmem_free()` (->page_free): the page's refcount reached zero. */
  devmemFree(pfn: Pfn): void {
    this.pageMirror.delete(pfn);
    this.memory.discard(pfn * PAGE_SIZE);
    const chunk = this.chunkOf(pfn);
    if (chunk && !chunk.remove) {
      this.cfree++;
      this.freePages.push(pfn);
    }
  }

  /** Record that `dpage` now holds `dmirror`'s data (the allocation side of page_free). */
  setPageOwner(dpage: Pfn, dmirror: Dmirror): void {
    this.pageMirror.set(dpage, dmirror);
  }

  /**
   * `dmirror_devmem_fault_alloc_and_copy()`: for each device page being migrated back,
   * a locked system page with its contents; the mirror entry goes first.
   */
  devmemFaultAllocAndCopy(args: MigrateVma, dmirror: Dmirror): void {
    const { ctx } = this;
    const memmap = ctx.memmap;
    for (let i = 0; i < args.npages; i++) {
      const spage = migratePfnToPage(args.src[i]!);
      if (spage === null || !migratePfnHas(args.src[i]!, MIGRATE_PFN_MIGRATE)) continue;
      if (!isDevicePrivatePage(memmap, spage) && !isDeviceCoherentPage(memmap, spage)) {
        memmap.warnOnce("dmirror-fault-copy", "WARNING: dmirror_devmem_fault_alloc_and_copy: not a device page");
        continue;
      }
      let dpage: Pfn;
      try {
        dpage = ctx.allocUserPage(false);
      } catch (e) {
        if (e instanceof KernelError) continue;
        throw e;
      }
      vmBugOn(!trylockPage(memmap, dpage), "dmirror: a fresh page is locked");
      dmirror.mirrorErase(args.start + i * PAGE_SIZE);
      ctx.physMem.copyPage(dpage, spage);
      args.dst[i] = migratePfn(dpage) + (migratePfnHas(args.src[i]!, MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
    }
  }

  /** `dmirror_devmem_fault()` (->migrate_to_ram): a CPU touched a page that lives here. */
  devmemFault(vmf: VmFault): number {
    this.migrateToRamCalls++;
    const page = vmf.page;
    if (page === null) return VM_FAULT_SIGBUS;
    const dmirror = this.pageMirror.get(page);
    if (!dmirror) return VM_FAULT_SIGBUS;
    const args = migrateVmaInit(vmf.vma, vmf.address, vmf.address + PAGE_SIZE, {
      pgmapOwner: this,
      flags: this.selectDevice,
      faultPage: page,
    });
    if (migrateVmaSetup(args)) return VM_FAULT_SIGBUS;
    this.devmemFaultAllocAndCopy(args, dmirror);
    migrateVmaPages(args);
    // The mirror entry was dropped by the copy step: no device finalize needed.
    migrateVmaFinalize(args);
    return 0;
  }

  /** `dmirror_device_evict_chunk()`: move every used page of a chunk back to RAM. */
  evictChunk(chunk: DmirrorChunk): number {
    const { ctx } = this;
    const memmap = ctx.memmap;
    const start = chunk.pagemap.startPfn;
    const npages = chunk.pagemap.nrPages;
    const src = new Float64Array(npages);
    const dst = new Float64Array(npages);
    migrateDeviceRange(ctx, src, start, npages);
    let moved = 0;
    for (let i = 0; i < npages; i++) {
      const spage = migratePfnToPage(src[i]!);
      if (spage === null || !migratePfnHas(src[i]!, MIGRATE_PFN_MIGRATE)) continue;
      const dpage = ctx.allocUserPage(false);
      vmBugOn(!trylockPage(memmap, dpage), "dmirror: a fresh page is locked");
      ctx.physMem.copyPage(dpage, spage);
      dst[i] = migratePfn(dpage) + (migratePfnHas(src[i]!, MIGRATE_PFN_WRITE) ? MIGRATE_PFN_WRITE : 0);
      moved++;
    }
    migrateDevicePages(ctx, src, dst, npages);
    migrateDeviceFinalize(ctx, src, dst, npages);
    return moved;
  }

  /**
   * `dmirror_device_remove_chunks()` (HMM_DMIRROR_RELEASE): evict every chunk and
   * memunmap it. Returns the pages moved back to RAM.
   */
  removeChunks(): number {
    let moved = 0;
    for (const chunk of this.chunks) {
      chunk.remove = true;
      this.freePages = this.freePages.filter((p) => !chunk.pagemap.pfnValid(p));
      moved += this.evictChunk(chunk);
      memunmapPages({ memmap: this.ctx.memmap, physMem: this.ctx.physMem }, chunk.pagemap);
    }
    this.chunks.length = 0;
    this.freePages = [];
    return moved;
  }
}
