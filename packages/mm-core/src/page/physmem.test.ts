import { describe, expect, it } from "vitest";
import { PhysMem, type MemoryBacking } from "./physmem.js";

class PoisonedBacking implements MemoryBacking {
  load(physAddr: number): void {
    throw Object.assign(new Error("machine check"), { name: "MachineCheckError", physAddr });
  }
  store(): void {}
}

describe("PhysMem", () => {
  it("stores nothing for DRAM that was never written and reads it as zeroes", () => {
    const pm = new PhysMem();
    pm.addDramRange(0, 1024);
    const buf = new Uint8Array(16).fill(9);
    pm.read(100, 0, buf);
    expect([...buf]).toEqual(new Array(16).fill(0));
    expect(pm.dramPagesStored).toBe(0);
    pm.write(100, 4090, new Uint8Array([1, 2, 3, 4, 5, 6]));
    expect(pm.dramPagesStored).toBe(1);
    const back = new Uint8Array(6);
    pm.read(100, 4090, back);
    expect([...back]).toEqual([1, 2, 3, 4, 5, 6]);
    pm.zeroPage(100);
    expect(pm.dramPagesStored).toBe(0);
    expect(pm.counters.dramBytesZeroed).toBe(4096);
  });

  it("copies whole pages and counts the DRAM bytes copied", () => {
    const pm = new PhysMem();
    pm.addDramRange(0, 1024);
    pm.write(1, 0, new Uint8Array([42]));
    pm.copyPage(2, 1);
    const b = new Uint8Array(1);
    pm.read(2, 0, b);
    expect(b[0]).toBe(42);
    expect(pm.counters.dramBytesCopied).toBe(4096);
    expect(pm.counters.pagesCopied).toBe(1);
  });

  it("lets a machine check from a poisoned backing through", () => {
    const pm = new PhysMem();
    pm.addDramRange(0, 1024);
    pm.registerBacking(1 << 20, 512, new PoisonedBacking());
    expect(() => pm.read(1 << 20, 64, new Uint8Array(8))).toThrow(
      expect.objectContaining({ name: "MachineCheckError", physAddr: 2 ** 32 + 64 }),
    );
    expect(() => pm.copyPage(5, (1 << 20) + 1)).toThrow(expect.objectContaining({ name: "MachineCheckError" }));
  });

  it("rejects spans crossing a page and pfns with no memory", () => {
    const pm = new PhysMem();
    pm.addDramRange(0, 16);
    expect(() => pm.read(0, 4095, new Uint8Array(2))).toThrow(RangeError);
    expect(() => pm.read(16, 0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => pm.registerBacking(8, 16, new PoisonedBacking())).toThrow(RangeError);
  });
});
