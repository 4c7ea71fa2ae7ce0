import { describe, expect, it } from "vitest";
import { PG_reserved } from "./flags.js";
import { createMemory } from "./memory.js";

const MiB = 1024 * 1024;

describe("createMemory", () => {
  it("splits DRAM into x86_64 zones and frees all but the reserved low pages", () => {
    const mem = createMemory({ dramBytes: 4096 * MiB + 64 * MiB, reservedLowPages: 256 });
    expect(mem.memmap.pageZone(0)).toBe("DMA");
    expect(mem.memmap.pageZone(4096)).toBe("DMA32");
    expect(mem.memmap.pageZone(2 ** 20)).toBe("NORMAL");
    expect(mem.buddy.nrFreePages()).toBe(mem.dramPages - 256);
    expect(mem.memmap.testPageFlag(255, PG_reserved)).toBe(true);
    expect(mem.memmap.pageRefCount(255)).toBe(1);
    expect(mem.memmap.testPageFlag(256, PG_reserved)).toBe(false);
    expect(mem.buddy.zoneFreePages("NORMAL")).toBe((64 * MiB) / 4096);
  });

  it("refuses a DRAM size that is not a multiple of 2 MiB", () => {
    expect(() => createMemory({ dramBytes: 3 * MiB })).toThrow(RangeError);
  });
});
