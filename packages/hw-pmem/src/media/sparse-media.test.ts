import { describe, expect, it } from "vitest";
import { createPmemPlatform } from "../nvdimm/platform.js";
import { SZ_1G } from "../types.js";
import { SparseMedia } from "./sparse-media.js";

const GiB = SZ_1G;

describe("SparseMedia", () => {
  it("a 64 GiB device costs only the pages written, and unwritten bytes read as zero", () => {
    const m = new SparseMedia(64 * GiB);
    expect(m.allocatedBytes).toBe(0);
    const buf = new Uint8Array(100).fill(0xab);
    m.write(64 * GiB - 100, buf, 0, 100);
    m.write(5 * GiB + 4090, buf, 0, 10); // crosses a 4 KiB boundary: two pages
    expect(m.allocatedPages).toBe(3);
    expect(m.allocatedBytes).toBe(3 * 4096);

    const back = new Uint8Array(100);
    m.read(64 * GiB - 100, back, 0, 100);
    expect(back).toEqual(buf);
    const hole = new Uint8Array(8192).fill(0xff);
    m.read(32 * GiB, hole, 0, 8192);
    expect(hole.every((b) => b === 0)).toBe(true);
  });

  it("writing zeros into a hole allocates nothing", () => {
    const m = new SparseMedia(GiB);
    m.write(4096, new Uint8Array(4096), 0, 4096);
    m.writeLine(8192, new Uint8Array(64), 0);
    expect(m.allocatedPages).toBe(0);
  });

  it("a 64 GiB region works end to end through the CPU and the block device", () => {
    const p = createPmemPlatform({ regions: [{ physAddr: 4 * GiB, size: 64 * GiB, namespaces: [{ mode: "raw" }] }] });
    const ns = p.namespace("pmem0")!;
    expect(ns.blockDevice!.nrSectors).toBe((64 * GiB) / 512);
    const last = ns.blockDevice!.nrSectors - 8;
    const data = new Uint8Array(4096).fill(0x5a);
    ns.blockDevice!.write(last, data, { fua: true });
    const cpuAddr = 4 * GiB + 64 * GiB - 64;
    p.store(cpuAddr, new Uint8Array(64).fill(7));
    p.clwb(cpuAddr, 64);
    p.sfence();
    const got = new Uint8Array(4096);
    ns.blockDevice!.read(last, got);
    expect(got.subarray(0, 4032).every((b) => b === 0x5a)).toBe(true);
    expect(got.subarray(4032).every((b) => b === 7)).toBe(true);
    expect(p.regions[0]!.media.allocatedBytes).toBe(4096);
  });
});
