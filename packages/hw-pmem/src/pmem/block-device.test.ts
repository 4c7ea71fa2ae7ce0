import { describe, expect, it } from "vitest";
import { isPmemError } from "../errors.js";
import { createPmemPlatform } from "../nvdimm/platform.js";
import type { PmemBlockDevice } from "./block-device.js";

const BASE = 0x40000000;

/** The interface the filesystem declares on its side. */
interface FsBlockDevice {
  readonly sectorSize: 512;
  readonly nrSectors: number;
  read(sector: number, buf: Uint8Array): void;
  write(sector: number, buf: Uint8Array): void;
  flush(): void;
}

function ioCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isPmemError(e)) return e.code;
    throw e;
  }
  return undefined;
}

function setup(domain: "adr" | "eadr" = "adr") {
  const p = createPmemPlatform({ persistenceDomain: domain });
  const bdev: PmemBlockDevice = p.namespace("pmem0")!.blockDevice!;
  const fs: FsBlockDevice = bdev;
  return { p, bdev, fs };
}

function sectorData(n: number, v: number): Uint8Array {
  return new Uint8Array(n * 512).fill(v);
}

describe("pmem block device", () => {
  it("satisfies the filesystem's block interface: whole sectors in, the same sectors out", () => {
    const { fs } = setup();
    expect(fs.sectorSize).toBe(512);
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    fs.write(16, data);
    const got = new Uint8Array(4096);
    fs.read(16, got);
    expect(got).toEqual(data);
  });

  it("a write is durable after flush (REQ_PREFLUSH) or with FUA, not before (ADR)", () => {
    const { p, bdev } = setup();
    bdev.write(0, sectorData(1, 1));
    bdev.write(1, sectorData(1, 2), { fua: true });
    bdev.write(2, sectorData(1, 3));
    p.powerFail();
    const got = new Uint8Array(1536);
    bdev.read(0, got);
    // The FUA's fence also made the earlier write durable; the later one was lost.
    expect(got.subarray(0, 512).every((b) => b === 1)).toBe(true);
    expect(got.subarray(512, 1024).every((b) => b === 2)).toBe(true);
    expect(got.subarray(1024).every((b) => b === 0)).toBe(true);

    bdev.write(3, sectorData(1, 4));
    bdev.flush();
    p.powerFail();
    const s3 = new Uint8Array(512);
    bdev.read(3, s3);
    expect(s3.every((b) => b === 4)).toBe(true);
  });

  it("the write path is memcpy_flushcache: movnt, no dirty lines left in the cache", () => {
    const { p, bdev } = setup();
    bdev.write(8, sectorData(8, 9));
    expect(p.pendingLines).toEqual({ dirty: 0, flushed: 0, wc: 64 });
    expect(p.counters.ntLineWrites).toBe(64);
    bdev.flush();
    expect(p.counters.fences).toBe(1);
    expect(p.pendingLines.wc).toBe(0);
  });

  it("rejects ragged buffers with EINVAL and I/O beyond the end with EIO", () => {
    const { bdev } = setup();
    expect(ioCode(() => bdev.write(0, new Uint8Array(100)))).toBe("EINVAL");
    expect(ioCode(() => bdev.read(-1, new Uint8Array(512)))).toBe("EINVAL");
    expect(ioCode(() => bdev.read(bdev.nrSectors - 1, new Uint8Array(1024)))).toBe("EIO");
    expect(ioCode(() => bdev.read(bdev.nrSectors - 1, new Uint8Array(512)))).toBeUndefined();
  });

  it("a read of a known bad sector fails with EIO and raises no machine check", () => {
    const { p, bdev } = setup();
    p.injectPoison(BASE + 10 * 512, 64);
    p.ars();
    expect(bdev.badblocks.show()).toBe("10 1\n");
    expect(ioCode(() => bdev.read(8, new Uint8Array(4096)))).toBe("EIO");
    expect(p.counters.machineChecks).toBe(0);
    expect(ioCode(() => bdev.read(11, new Uint8Array(512)))).toBeUndefined();
  });

  it("a write of whole bad sectors clears the poison (pmem_clear_poison) and the data reads back", () => {
    const { p, bdev } = setup();
    const cleared: number[] = [];
    p.onPoisonCleared((e) => cleared.push(e.physAddr));
    p.injectPoison(BASE + 10 * 512, 64);
    p.injectPoison(BASE + 20 * 512, 64);
    p.ars();
    bdev.write(8, sectorData(4, 0x42)); // sectors 8..11 cover the first error only
    expect(cleared).toEqual([BASE + 8 * 512]);
    expect(bdev.badblocks.show()).toBe("20 1\n");
    expect(p.isPoisoned(BASE + 10 * 512, 512)).toBe(false);
    const got = new Uint8Array(2048);
    bdev.read(8, got);
    expect(got.every((b) => b === 0x42)).toBe(true);
    expect(ioCode(() => bdev.read(20, new Uint8Array(512)))).toBe("EIO");
  });

  it("a write over latent (unknown) poison does not clear it: the next read gets EIO and learns of it", () => {
    const { p, bdev } = setup();
    p.injectPoison(BASE + 5 * 512, 64);
    bdev.write(5, sectorData(1, 7), { fua: true });
    expect(p.isPoisoned(BASE + 5 * 512)).toBe(true);
    expect(ioCode(() => bdev.read(5, new Uint8Array(512)))).toBe("EIO");
    expect(p.machineCheckLog.at(-1)!.kind).toBe("copy-mc");
    expect(bdev.badblocks.show()).toBe("5 1\n");
    bdev.write(5, sectorData(1, 7));
    const got = new Uint8Array(512);
    bdev.read(5, got);
    expect(got.every((b) => b === 7)).toBe(true);
  });
});
