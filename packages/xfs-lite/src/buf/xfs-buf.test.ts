import { describe, expect, it } from "vitest";
import { isKernelError } from "@pagelab/mm-core";
import { RamDisk, daddr } from "../blockdev.js";
import { xfsUpdateCksum, xfsVerifyCksum } from "./cksum.js";
import {
  XBF_DONE,
  XBF_STALE,
  XFS_BLFT_UNKNOWN_BUF,
  XfsBuftarg,
  xfsBufDelwriQueue,
  xfsBufDelwriSubmit,
  xfsBufGet,
  xfsBufRead,
  xfsBufRelse,
  xfsBufStale,
  xfsBwrite,
  type XfsBuf,
  type XfsBufOps,
} from "./xfs-buf.js";

const MAGIC = 0x54455354; // 'TEST'
const testOps: XfsBufOps = {
  name: "test",
  type: XFS_BLFT_UNKNOWN_BUF,
  magic: [MAGIC],
  verifyRead(data) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (dv.getUint32(0) !== MAGIC || !xfsVerifyCksum(data, data.length, 4)) throw new Error("EUCLEAN");
  },
  verifyWrite(data) {
    xfsUpdateCksum(data, data.length, 4);
  },
};

function formatBlock(btp: XfsBuftarg, d: number, payload: number): void {
  const bp = xfsBufGet(btp, daddr(d), 8);
  bp.bOps = testOps;
  bp.view.setUint32(0, MAGIC);
  bp.view.setUint32(8, payload);
  xfsBwrite(bp);
  xfsBufRelse(bp);
}

describe("xfs_buf cache", () => {
  it("a second read of a cached buffer is a hit and does no I/O", () => {
    const dev = new RamDisk(1 << 20);
    const btp = new XfsBuftarg(dev);
    formatBlock(btp, 16, 7);
    const reads = dev.stats.reads;
    const bp = xfsBufRead(btp, daddr(16), 8, testOps);
    expect(bp.view.getUint32(8)).toBe(7);
    expect(bp.bHold).toBe(1);
    expect(bp.bLocked).toBe(true);
    xfsBufRelse(bp);
    expect(bp.bHold).toBe(0);
    expect(btp.btLru.has(bp)).toBe(true);
    expect(dev.stats.reads).toBe(reads);
    expect(btp.stats.hits).toBeGreaterThanOrEqual(1);
  });

  it("the LRU evicts unheld buffers beyond its limit, giving b_lru_ref a second pass", () => {
    const dev = new RamDisk(1 << 20);
    const btp = new XfsBuftarg(dev, { lruLimit: 4 });
    for (let i = 0; i < 10; i++) formatBlock(btp, i * 8, i);
    expect(btp.btLru.size).toBeLessThanOrEqual(4);
    expect(btp.stats.evictions).toBeGreaterThanOrEqual(6);
    const held: XfsBuf[] = [];
    for (let i = 0; i < 6; i++) held.push(xfsBufRead(btp, daddr(i * 8), 8, testOps));
    // held buffers are never evicted
    expect(btp.size).toBeGreaterThanOrEqual(6);
    held.forEach((bp, i) => expect(bp.view.getUint32(8)).toBe(i));
    held.forEach(xfsBufRelse);
    expect(btp.btLru.size).toBeLessThanOrEqual(4);
  });

  it("a stale buffer leaves the cache when released and is read again from disk", () => {
    const dev = new RamDisk(1 << 20);
    const btp = new XfsBuftarg(dev);
    formatBlock(btp, 8, 1);
    const bp = xfsBufRead(btp, daddr(8), 8, testOps);
    xfsBufStale(bp);
    expect(bp.bFlags & XBF_STALE).toBeTruthy();
    expect(bp.bFlags & XBF_DONE).toBeFalsy();
    xfsBufRelse(bp);
    expect(btp.btHash.has(8)).toBe(false);
    const reads = dev.stats.reads;
    const again = xfsBufRead(btp, daddr(8), 8, testOps);
    expect(again).not.toBe(bp);
    expect(dev.stats.reads).toBe(reads + 1);
    xfsBufRelse(again);
  });

  it("the read verifier rejects a corrupt block and the buffer is not cached as valid", () => {
    const dev = new RamDisk(1 << 20);
    const btp = new XfsBuftarg(dev);
    formatBlock(btp, 24, 5);
    const raw = new Uint8Array(4096);
    dev.read(24, raw);
    raw[100] = raw[100]! ^ 0xff;
    dev.write(24, raw);
    btp.btHash.clear();
    btp.btLru.clear();
    expect(() => xfsBufRead(btp, daddr(24), 8, testOps)).toThrow("EUCLEAN");
    expect(btp.stats.verifyFailures).toBe(1);
    expect(btp.btHash.has(24)).toBe(false);
  });

  it("taking a buffer lock twice is a bug: locks are never contended", () => {
    const btp = new XfsBuftarg(new RamDisk(1 << 20));
    const bp = xfsBufGet(btp, daddr(0), 8);
    expect(() => xfsBufGet(btp, daddr(0), 8)).toThrow(/already locked/);
    xfsBufRelse(bp);
  });

  it("the delwri queue writes in disk order and flushes", () => {
    const dev = new RamDisk(1 << 20, { writeCache: true });
    const btp = new XfsBuftarg(dev);
    const list: XfsBuf[] = [];
    for (const d of [40, 8, 24]) {
      const bp = xfsBufGet(btp, daddr(d), 8);
      bp.bOps = testOps;
      bp.view.setUint32(0, MAGIC);
      bp.view.setUint32(8, d);
      bp.bFlags |= XBF_DONE;
      expect(xfsBufDelwriQueue(bp, list)).toBe(true);
      xfsBufRelse(bp);
    }
    expect(xfsBufDelwriSubmit(list)).toBe(3);
    expect(dev.dirtySectors).toBe(0);
    dev.powerFail();
    dev.powerOn();
    const raw = new Uint8Array(4096);
    dev.read(24, raw);
    expect(new DataView(raw.buffer).getUint32(8)).toBe(24);
    expect(() => testOps.verifyRead(raw, daddr(24))).not.toThrow();
  });

  it("reading past the device end fails with EIO", () => {
    const btp = new XfsBuftarg(new RamDisk(4096));
    try {
      xfsBufRead(btp, daddr(8), 8, null);
      expect.unreachable();
    } catch (e) {
      expect(isKernelError(e, "EIO")).toBe(true);
    }
  });
});
