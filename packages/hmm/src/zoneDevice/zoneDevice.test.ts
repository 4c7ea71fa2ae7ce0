import { describe, expect, it } from "vitest";
import {
  DevPagemap,
  KernelError,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_DEVICE_PRIVATE,
  PAGE_SIZE,
  bootVm,
  folioIsFsdax,
  isDevicePrivatePage,
  memremapPages,
  type MemoryType,
} from "@pagelab/mm-core";
import { DeviceMemory } from "./deviceMemory.js";
import { requestFreeMemRegion, MAX_PHYSMEM_END } from "./resource.js";
import {
  MEMORY_TYPE_TRAITS,
  devPagemapSummary,
  isDeviceCoherentPage,
  isDeviceDaxPage,
  isPciP2pdmaPage,
  isZoneDevicePage,
  zoneDeviceLongtermPinnable,
} from "./types.js";

const MiB = 1024 * 1024;

describe("ZONE_DEVICE memory types", () => {
  it("each type's pages answer exactly one predicate, and DRAM answers none", () => {
    const { ctx } = bootVm();
    const memmap = ctx.memmap;
    const first: Record<number, number> = {};
    const types: MemoryType[] = [MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PCI_P2PDMA];
    for (const type of types) {
      const range = requestFreeMemRegion(memmap, 2 * MiB);
      const pgmap = new DevPagemap({ type, range, owner: `owner${type}`, ops: { pageFree() {}, migrateToRam: () => 0 } });
      memremapPages({ memmap, physMem: ctx.physMem }, pgmap, new DeviceMemory(`dev${type}`));
      first[type] = pgmap.startPfn;
    }
    const preds = (pfn: number) => [
      isDevicePrivatePage(memmap, pfn),
      isDeviceCoherentPage(memmap, pfn),
      folioIsFsdax(memmap, pfn),
      isDeviceDaxPage(memmap, pfn),
      isPciP2pdmaPage(memmap, pfn),
    ];
    types.forEach((t, i) => {
      const row = [false, false, false, false, false];
      row[i] = true;
      expect(preds(first[t]!)).toEqual(row);
      expect(isZoneDevicePage(memmap, first[t]!)).toBe(true);
    });
    expect(preds(100)).toEqual([false, false, false, false, false]);
    expect(isZoneDevicePage(memmap, 100)).toBe(false);
    expect(zoneDeviceLongtermPinnable(memmap, first[MEMORY_DEVICE_GENERIC]!)).toBe(true);
    expect(zoneDeviceLongtermPinnable(memmap, first[MEMORY_DEVICE_FS_DAX]!)).toBe(false);
    expect(zoneDeviceLongtermPinnable(memmap, first[MEMORY_DEVICE_PRIVATE]!)).toBe(false);

    const summary = devPagemapSummary(memmap);
    expect(summary.map((s) => [s.type, s.nrPages, s.ref])).toEqual([
      ["MEMORY_DEVICE_PRIVATE", 512, 0],
      ["MEMORY_DEVICE_COHERENT", 512, 0],
      ["MEMORY_DEVICE_FS_DAX", 512, 512],
      ["MEMORY_DEVICE_GENERIC", 512, 512],
      ["MEMORY_DEVICE_PCI_P2PDMA", 512, 512],
    ]);
    // The idle refcounts the traits table promises are what memremap produced.
    for (const t of MEMORY_TYPE_TRAITS) expect(memmap.pageRefCount(first[t.type]!)).toBe(t.idleRefcount);
  });
});

describe("request_free_mem_region", () => {
  it("hands out ranges top-down from 64 TiB, above DRAM, never overlapping what is mapped", () => {
    const { ctx } = bootVm();
    const a = requestFreeMemRegion(ctx.memmap, 16 * MiB);
    expect(a.end + 1).toBe(MAX_PHYSMEM_END - 112 * MiB);
    memremapPages({ memmap: ctx.memmap }, new DevPagemap({ type: MEMORY_DEVICE_GENERIC, range: a }));
    const b = requestFreeMemRegion(ctx.memmap, 16 * MiB);
    expect(b.end).toBeLessThan(a.start);
    expect(b.start).toBeGreaterThan(64 * MiB);
    expect(() => requestFreeMemRegion(ctx.memmap, PAGE_SIZE)).toThrow(KernelError);
  });
});

describe("DeviceMemory", () => {
  it("stores sparsely: unwritten and zero-filled pages cost nothing, discard forgets a page", () => {
    const m = new DeviceMemory("vram");
    const buf = new Uint8Array(8);
    m.load(5 * PAGE_SIZE + 8, buf);
    expect([...buf]).toEqual(Array(8).fill(0));
    m.store(5 * PAGE_SIZE, new Uint8Array(PAGE_SIZE));
    expect(m.pagesStored).toBe(0);
    m.store(5 * PAGE_SIZE + 8, Uint8Array.of(1, 2, 3));
    m.load(5 * PAGE_SIZE + 8, buf);
    expect([...buf.subarray(0, 4)]).toEqual([1, 2, 3, 0]);
    expect(m.pagesStored).toBe(1);
    m.discard(5 * PAGE_SIZE);
    expect(m.pagesStored).toBe(0);
    expect(() => m.store(6 * PAGE_SIZE - 2, Uint8Array.of(1, 2, 3))).toThrow(RangeError);
  });
});
