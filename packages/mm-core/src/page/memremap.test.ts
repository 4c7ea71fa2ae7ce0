import { describe, expect, it } from "vitest";
import { KernelError } from "../errno.js";
import { PG_reserved } from "./flags.js";
import { createMemory } from "./memory.js";
import {
  DevPagemap,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_PRIVATE,
  folioIsFsdax,
  getDevPagemap,
  isDevicePrivatePage,
  memremapPages,
  memunmapPages,
  putDevPagemap,
} from "./memremap.js";
import type { MemoryBacking } from "./physmem.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

class RecordingBacking implements MemoryBacking {
  readonly bytes = new Map<number, number>();
  load(physAddr: number, dst: Uint8Array): void {
    for (let i = 0; i < dst.length; i++) dst[i] = this.bytes.get(physAddr + i) ?? 0;
  }
  store(physAddr: number, src: Uint8Array): void {
    src.forEach((b, i) => this.bytes.set(physAddr + i, b));
  }
}

function fsdax(start: number, bytes: number) {
  return new DevPagemap({ type: MEMORY_DEVICE_FS_DAX, range: { start, end: start + bytes - 1 } });
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof KernelError) return e.code;
    throw e;
  }
  return undefined;
}

describe("memremapPages", () => {
  it("creates 64 GiB of idle FS_DAX struct pages without allocating a section", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const sections = mem.memmap.materializedSections;
    const pgmap = fsdax(8 * GiB, 64 * GiB);
    memremapPages(mem, pgmap, new RecordingBacking());
    expect(mem.memmap.materializedSections).toBe(sections);
    const first = (8 * GiB) / 4096;
    const last = first + (64 * GiB) / 4096 - 1;
    for (const pfn of [first, last]) {
      expect(mem.memmap.pfnValid(pfn)).toBe(true);
      expect(mem.memmap.pageZone(pfn)).toBe("DEVICE");
      expect(mem.memmap.pagePgmap(pfn)).toBe(pgmap);
      expect(mem.memmap.pageRefCount(pfn)).toBe(1);
      expect(mem.memmap.testPageFlag(pfn, PG_reserved)).toBe(true);
      expect(folioIsFsdax(mem.memmap, pfn)).toBe(true);
    }
    expect(mem.memmap.pfnValid(last + 1)).toBe(false);
    expect(pgmap.ref).toBe((64 * GiB) / 4096);
  });

  it("routes physical reads and writes of the range to its backing", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const backing = new RecordingBacking();
    memremapPages(mem, fsdax(4 * GiB, 2 * MiB), backing);
    const pfn = (4 * GiB) / 4096 + 3;
    mem.physMem.write(pfn, 10, new Uint8Array([7, 8]));
    expect(backing.bytes.get(4 * GiB + 3 * 4096 + 10)).toBe(7);
    const buf = new Uint8Array(2);
    mem.physMem.read(pfn, 10, buf);
    expect([...buf]).toEqual([7, 8]);
    expect(mem.counters.deviceBytesWritten).toBe(2);
  });

  it("requires migrate_to_ram, page_free and an owner for device-private memory", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const range = { start: 4 * GiB, end: 4 * GiB + 2 * MiB - 1 };
    expect(codeOf(() => memremapPages(mem, new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, range })))).toBe("EINVAL");
    const noOwner = new DevPagemap({ type: MEMORY_DEVICE_COHERENT, range, ops: { pageFree: () => {} } });
    expect(codeOf(() => memremapPages(mem, noOwner))).toBe("EINVAL");
    const ok = new DevPagemap({
      type: MEMORY_DEVICE_PRIVATE,
      range,
      ops: { pageFree: () => {}, migrateToRam: () => 0 },
      owner: "gpu",
    });
    memremapPages(mem, ok);
    expect(isDevicePrivatePage(mem.memmap, range.start / 4096)).toBe(true);
    expect(mem.memmap.pageRefCount(range.start / 4096)).toBe(0);
  });

  it("refuses RAM, overlapping device ranges and unaligned ranges", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    expect(codeOf(() => memremapPages(mem, fsdax(2 * MiB, 2 * MiB)))).toBe("ENXIO");
    memremapPages(mem, fsdax(4 * GiB, 4 * MiB));
    expect(codeOf(() => memremapPages(mem, fsdax(4 * GiB + 2 * MiB, 4 * MiB)))).toBe("ENOMEM");
    expect(codeOf(() => memremapPages(mem, fsdax(5 * GiB + 4096, 2 * MiB)))).toBe("EINVAL");
    expect(mem.memmap.pfnValid((5 * GiB + 4096) / 4096)).toBe(false);
  });
});

describe("memunmapPages and dev_pagemap references", () => {
  it("refuses while a get_dev_pagemap reference is held, then removes the pages", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pgmap = fsdax(4 * GiB, 2 * MiB);
    const backing = new RecordingBacking();
    memremapPages(mem, pgmap, backing);
    const pfn = (4 * GiB) / 4096;
    const got = getDevPagemap(mem.memmap, pfn + 5);
    expect(got).toBe(pgmap);
    expect(codeOf(() => memunmapPages(mem, pgmap))).toBe("EBUSY");
    expect(mem.memmap.pfnValid(pfn)).toBe(true);
    putDevPagemap(pgmap);
    memunmapPages(mem, pgmap);
    expect(mem.memmap.pfnValid(pfn)).toBe(false);
    expect(mem.physMem.backingAt(pfn)).toBeUndefined();
    expect(getDevPagemap(mem.memmap, pfn)).toBeUndefined();
    expect(pgmap.live).toBe(false);
    memremapPages(mem, pgmap, backing);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
  });

  it("has no pgmap for RAM pages", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    expect(getDevPagemap(mem.memmap, 5)).toBeUndefined();
    expect(getDevPagemap(mem.memmap, 10 ** 9)).toBeUndefined();
  });
});
