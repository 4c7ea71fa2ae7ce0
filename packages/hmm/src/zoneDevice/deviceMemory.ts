/**
 * The storage behind a simulated device's memory: a sparse page store, registered with
 * PhysMem through `memremapPages()` like a pmem namespace is.
 *
 * @see lib/test_hmm.c (where each device-private page is faked by a system page,
 *      `zone_device_data`); drivers/gpu/drm/nouveau/nouveau_dmem.c (real VRAM)
 *
 * A page never written reads as zeroes and costs nothing. Device-private memory is not
 * CPU-addressable: nothing here stops a load, but no CPU page table ever holds a present
 * entry for it (the mm maps it only as a device-private swap entry), so the only users
 * are the device itself and migration copies, which stand for the device's DMA engine.
 */
import { PAGE_SIZE, type MemoryBacking } from "@pagelab/mm-core";

export class DeviceMemory implements MemoryBacking {
  private readonly pages = new Map<number, Uint8Array>();
  bytesLoaded = 0;
  bytesStored = 0;

  constructor(readonly name: string) {}

  load(physAddr: number, dst: Uint8Array): void {
    const pfn = Math.floor(physAddr / PAGE_SIZE);
    const off = physAddr - pfn * PAGE_SIZE;
    if (off + dst.length > PAGE_SIZE) throw new RangeError(`${this.name}: load crosses a page boundary`);
    const page = this.pages.get(pfn);
    if (page) dst.set(page.subarray(off, off + dst.length));
    else dst.fill(0);
    this.bytesLoaded += dst.length;
  }

  store(physAddr: number, src: Uint8Array): void {
    const pfn = Math.floor(physAddr / PAGE_SIZE);
    const off = physAddr - pfn * PAGE_SIZE;
    if (off + src.length > PAGE_SIZE) throw new RangeError(`${this.name}: store crosses a page boundary`);
    let page = this.pages.get(pfn);
    if (!page) {
      if (src.every((b) => b === 0)) {
        this.bytesStored += src.length;
        return;
      }
      page = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, page);
    }
    page.set(src, off);
    this.bytesStored += src.length;
  }

  /** Forget a page's contents (the device freed it). */
  discard(physAddr: number): void {
    this.pages.delete(Math.floor(physAddr / PAGE_SIZE));
  }

  /** Pages holding data (the rest read as zeroes). */
  get pagesStored(): number {
    return this.pages.size;
  }
}
