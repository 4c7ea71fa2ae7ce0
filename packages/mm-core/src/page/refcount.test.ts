import { describe, expect, it } from "vitest";
import { KernelBug } from "../errno.js";
import { PAGE_MAPPING_ANON, PG_active, PG_anon_exclusive, PG_locked, PG_lru } from "./flags.js";
import { createMemory } from "./memory.js";
import {
  DevPagemap,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PRIVATE,
  memremapPages,
  zoneDevicePageInit,
  type MemoryType,
} from "./memremap.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function machine() {
  return createMemory({ dramBytes: 4 * MiB });
}

function devicePages(type: MemoryType, extra: { pageFree?: boolean } = {}) {
  const mem = machine();
  const freed: number[] = [];
  const idle: number[] = [];
  const pgmap = new DevPagemap({
    type,
    range: { start: 4 * GiB, end: 4 * GiB + 2 * MiB - 1 },
    ops: {
      ...(extra.pageFree === false ? {} : { pageFree: (pfn: number) => void freed.push(pfn) }),
      migrateToRam: () => 0,
    },
    owner: "test-driver",
  });
  memremapPages(mem, pgmap);
  mem.memmap.onPageIdle = (pfn) => void idle.push(pfn);
  return { mem, pgmap, freed, idle, pfn: (4 * GiB) / 4096 + 7 };
}

describe("DRAM page refcount", () => {
  it("goes back to the buddy allocator when the last reference is put", () => {
    const { memmap, buddy } = machine();
    const free = buddy.nrFreePages();
    const pfn = buddy.allocPage();
    memmap.pageRefInc(pfn);
    expect(memmap.pageRefCount(pfn)).toBe(2);
    memmap.putPage(pfn);
    expect(memmap.pageRefCount(pfn)).toBe(1);
    expect(buddy.nrFreePages()).toBe(free - 1);
    memmap.setPageFlag(pfn, PG_lru);
    memmap.setPageFlag(pfn, PG_active);
    memmap.putPage(pfn);
    expect(memmap.pageRefCount(pfn)).toBe(0);
    expect(buddy.nrFreePages()).toBe(free);
    expect(memmap.testPageFlag(pfn, PG_lru)).toBe(false);
    expect(memmap.testPageFlag(pfn, PG_active)).toBe(false);
  });

  it("treats a put of a free page as a bug and dumps the page", () => {
    const { memmap, buddy } = machine();
    const pfn = buddy.allocPage();
    memmap.putPage(pfn);
    let err: unknown;
    try {
      memmap.putPage(pfn);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelBug);
    expect((err as KernelBug).message).toContain("VM_BUG_ON_PAGE(page_ref_count(page) == 0)");
    expect((err as KernelBug).dump).toMatch(/^page: refcount:0 mapcount:0 /);
  });

  it("refuses get_page() on a free page", () => {
    const { memmap, buddy } = machine();
    const pfn = buddy.allocPage();
    memmap.putPage(pfn);
    expect(() => memmap.pageRefInc(pfn)).toThrow(KernelBug);
    expect(memmap.getPageUnlessZero(pfn)).toBe(false);
  });

  it("adds, subtracts, freezes and unfreezes raw references", () => {
    const { memmap, buddy } = machine();
    const pfn = buddy.allocPage();
    memmap.pageRefAdd(pfn, 1024);
    expect(memmap.pageRefCount(pfn)).toBe(1025);
    expect(memmap.pageRefSubAndTest(pfn, 1024)).toBe(false);
    expect(memmap.pageRefFreeze(pfn, 2)).toBe(false);
    expect(memmap.pageRefFreeze(pfn, 1)).toBe(true);
    expect(memmap.pageRefCount(pfn)).toBe(0);
    expect(memmap.getPageUnlessZero(pfn)).toBe(false);
    memmap.pageRefUnfreeze(pfn, 1);
    expect(memmap.pageRefCount(pfn)).toBe(1);
    expect(() => memmap.pageRefSubAndTest(pfn, 2)).toThrow(/underflow/);
  });
});

describe("ZONE_DEVICE page refcount (6.12)", () => {
  it("FS_DAX pages idle at 1 and wake waiters when a put brings them back to 1", () => {
    const { mem, freed, idle, pfn } = devicePages(MEMORY_DEVICE_FS_DAX);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
    mem.memmap.pageRefInc(pfn);
    mem.memmap.pageRefInc(pfn);
    mem.memmap.putPage(pfn);
    expect(idle).toEqual([]);
    mem.memmap.putPage(pfn);
    expect(idle).toEqual([pfn]);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
    expect(freed).toEqual([]);
    expect(() => mem.memmap.putPage(pfn)).toThrow(KernelBug);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
  });

  it("FS_DAX pages take a GUP pin bias and drop it in one put", () => {
    const { mem, idle, pfn } = devicePages(MEMORY_DEVICE_FS_DAX);
    mem.memmap.pageRefAdd(pfn, 1024);
    mem.memmap.putPageRefs(pfn, 1024);
    expect(idle).toEqual([pfn]);
  });

  it("GENERIC pages are freed through page_free at 0 and reset to 1", () => {
    const { mem, freed, idle, pfn } = devicePages(MEMORY_DEVICE_GENERIC);
    mem.memmap.pageRefInc(pfn);
    mem.memmap.putPage(pfn);
    expect(idle).toEqual([]);
    mem.memmap.setPageMapping(pfn, {});
    mem.memmap.putPage(pfn);
    expect(freed).toEqual([pfn]);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
    expect(mem.memmap.pageMapping(pfn)).toBe(0);
  });

  it("GENERIC pages without page_free warn and stay at 0", () => {
    const { mem, pfn } = devicePages(MEMORY_DEVICE_GENERIC, { pageFree: false });
    mem.memmap.putPage(pfn);
    expect(mem.memmap.pageRefCount(pfn)).toBe(0);
    expect(mem.memmap.warnings.join("\n")).toMatch(/free_zone_device_folio/);
  });

  for (const type of [MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT] as const) {
    it(`${type === 1 ? "device-private" : "device-coherent"} pages start free, are handed out locked and stay at 0 when freed`, () => {
      const { mem, pgmap, freed, pfn } = devicePages(type);
      expect(mem.memmap.pageRefCount(pfn)).toBe(0);
      expect(pgmap.ref).toBe(0);
      zoneDevicePageInit(mem.memmap, pfn);
      expect(mem.memmap.pageRefCount(pfn)).toBe(1);
      expect(mem.memmap.testPageFlag(pfn, PG_locked)).toBe(true);
      expect(pgmap.ref).toBe(1);
      mem.memmap.clearPageFlag(pfn, PG_locked);
      mem.memmap.setPageMapping(pfn, {}, PAGE_MAPPING_ANON);
      mem.memmap.setPageFlag(pfn, PG_anon_exclusive);
      mem.memmap.putPage(pfn);
      expect(freed).toEqual([pfn]);
      expect(mem.memmap.pageRefCount(pfn)).toBe(0);
      expect(mem.memmap.pageMapping(pfn)).toBe(0);
      expect(mem.memmap.testPageFlag(pfn, PG_anon_exclusive)).toBe(false);
      expect(pgmap.ref).toBe(0);
    });
  }
});
