import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isKernelError } from "@pagelab/mm-core";
import { RamDisk, daddr, type Daddr } from "../blockdev.js";
import { xfsUpdateCksum, xfsVerifyCksum } from "../buf/cksum.js";
import { XFS_BLFT_UNKNOWN_BUF, xfsBufRead, xfsBufRelse, type XfsBufOps } from "../buf/xfs-buf.js";
import { xfsAllocAgFreeSpace, xfsAllocVextent } from "../ag/xfs-alloc.js";
import { xfsAgbToDaddr, type XfsMount } from "../mount/xfs-mount.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsAilPush, xfsLogForce, xfsMount, xfsUnmount } from "../mount/xfs-mount-ops.js";
import { xfsTransAlloc } from "./xfs-trans.js";

const MAGIC = 0x54535442; // 'TSTB'
const testBufOps: XfsBufOps = {
  name: "test_block",
  type: XFS_BLFT_UNKNOWN_BUF + 100,
  magic: [MAGIC],
  verifyRead(data) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (dv.getUint32(0) !== MAGIC) throw new Error(`EUCLEAN: magic ${dv.getUint32(0).toString(16)}`);
    if (!xfsVerifyCksum(data, data.length, 4)) throw new Error("EUCLEAN: checksum");
  },
  verifyWrite(data) {
    xfsUpdateCksum(data, data.length, 4);
  },
};

const NBLOCKS = 6;
const NSLOTS = 32;
const slotOff = (s: number) => 128 * s + 8 + (s === 0 ? 8 : 0);

interface Rig {
  dev: RamDisk;
  mp: XfsMount;
  blocks: Daddr[];
}

/** A file system with NBLOCKS formatted test blocks, durable and written back. */
function rig(logBlocks = 16): Rig {
  const dev = new RamDisk(16 * 1024 * 1024, { writeCache: true });
  xfsMkfs(dev, { agcount: 1, logBlocks });
  const mp = xfsMount(dev, { bufOps: [testBufOps] });
  const tp = xfsTransAlloc(mp);
  const ext = xfsAllocVextent(tp, { type: "thisAg", agno: 0, minlen: NBLOCKS, maxlen: NBLOCKS, oinfo: null });
  const blocks = Array.from({ length: NBLOCKS }, (_, i) => xfsAgbToDaddr(mp, 0, ext.agbno + i));
  for (const d of blocks) {
    const bp = tp.getBuf(d, 8, testBufOps);
    bp.view.setUint32(0, MAGIC);
    tp.logBuf(bp, 0, 4095);
  }
  tp.commit({ sync: true });
  xfsAilPush(mp);
  return { dev, mp, blocks };
}

function readSlots(mp: XfsMount, blocks: Daddr[]): number[][] {
  return blocks.map((d) => {
    const bp = xfsBufRead(mp.mBtp, d, 8, testBufOps);
    const out = Array.from({ length: NSLOTS }, (_, s) => bp.view.getUint32(slotOff(s)));
    xfsBufRelse(bp);
    return out;
  });
}

type Write = [block: number, slot: number];

function applyTx(mp: XfsMount, blocks: Daddr[], id: number, writes: Write[], sync: boolean): void {
  const tp = xfsTransAlloc(mp);
  for (const [b, s] of writes) {
    const bp = tp.readBuf(blocks[b]!, 8, testBufOps);
    bp.view.setUint32(slotOff(s), id);
    tp.logBuf(bp, slotOff(s), slotOff(s) + 3);
  }
  tp.commit({ sync });
}

describe("transactions", () => {
  it("cancel puts back every buffer and the allocator's trees and counters", () => {
    const { mp, blocks } = rig();
    const before = readSlots(mp, blocks);
    const free0 = mp.mFdblocks;
    const tp0 = xfsTransAlloc(mp);
    const space0 = xfsAllocAgFreeSpace(tp0, 0);
    tp0.cancel();
    const tp = xfsTransAlloc(mp, { blocks: 20 });
    expect(mp.mFdblocks).toBe(free0 - 20);
    const bp = tp.readBuf(blocks[2]!, 8, testBufOps);
    bp.view.setUint32(slotOff(3), 99);
    tp.logBuf(bp, slotOff(3), slotOff(3) + 3);
    xfsAllocVextent(tp, { type: "near", agno: 0, agbno: 500, minlen: 20, maxlen: 20, oinfo: { oiOwner: 77, oiOffset: 0, oiFlags: 0 } });
    tp.cancel();
    expect(readSlots(mp, blocks)).toEqual(before);
    expect(mp.mFdblocks).toBe(free0);
    const tp2 = xfsTransAlloc(mp);
    expect(xfsAllocAgFreeSpace(tp2, 0)).toEqual(space0);
    tp2.commit();
  });

  it("a block reservation beyond the free space fails with ENOSPC before anything changes", () => {
    const { mp } = rig();
    const free0 = mp.mFdblocks;
    try {
      xfsTransAlloc(mp, { blocks: free0 + 1 });
      expect.unreachable();
    } catch (e) {
      expect(isKernelError(e, "ENOSPC")).toBe(true);
    }
    expect(mp.mFdblocks).toBe(free0);
    expect(mp.mActiveTrans).toBe(null);
  });

  it("a change not logged is caught at commit", () => {
    const { mp, blocks } = rig();
    const tp = xfsTransAlloc(mp);
    const bp = tp.readBuf(blocks[0]!, 8, testBufOps);
    bp.view.setUint32(slotOff(5), 1);
    expect(() => tp.commit()).toThrow(/not logged/);
  });

  it("a synchronous commit survives power loss; an unforced one may not", () => {
    const { dev, mp, blocks } = rig();
    applyTx(mp, blocks, 1, [[0, 0], [1, 1]], true);
    applyTx(mp, blocks, 2, [[0, 2]], false);
    dev.powerFail();
    dev.powerOn();
    const mp2 = xfsMount(dev, { bufOps: [testBufOps] });
    expect(mp2.mRecovery?.clean).toBe(false);
    const s = readSlots(mp2, blocks);
    expect(s[0]![0]).toBe(1);
    expect(s[1]![1]).toBe(1);
    expect(s[0]![2]).toBe(0);
    xfsUnmount(mp2);
    const mp3 = xfsMount(dev, { bufOps: [testBufOps] });
    expect(mp3.mRecovery?.clean).toBe(true);
    expect(readSlots(mp3, blocks)[0]![0]).toBe(1);
  });

  it("recovery ignores a torn last record and replays the ones before it", () => {
    const { dev, mp, blocks } = rig();
    applyTx(mp, blocks, 1, [[3, 4]], true);
    const head = mp.mLog.lCurrBlock;
    applyTx(mp, blocks, 2, [[3, 5], [4, 5], [5, 5]], false);
    const start = mp.mLog.lLogStart + head;
    // the header sector of the second record reaches the media, its payload does not
    dev.powerFail((sector) => sector === start);
    dev.powerOn();
    const mp2 = xfsMount(dev, { bufOps: [testBufOps] });
    const s = readSlots(mp2, blocks);
    expect(s[3]![4]).toBe(1);
    expect([s[3]![5], s[4]![5], s[5]![5]]).toEqual([0, 0, 0]);
  });

  it("a block invalidated by a later record is not replayed over data written there since", () => {
    const { dev, mp, blocks } = rig();
    applyTx(mp, blocks, 5, [[2, 1]], true);
    const tp = xfsTransAlloc(mp);
    tp.binval(tp.readBuf(blocks[2]!, 8, testBufOps));
    tp.commit({ sync: true });
    const data = new Uint8Array(4096).fill(0xab);
    dev.write(blocks[2]!, data);
    dev.flush();
    dev.powerFail();
    dev.powerOn();
    xfsMount(dev, { bufOps: [testBufOps] });
    const raw = new Uint8Array(4096);
    dev.read(blocks[2]!, raw);
    expect(raw).toEqual(data);
  });

  it("the circular log wraps many times and everything forced stays", () => {
    const { dev, mp, blocks } = rig(16);
    for (let i = 1; i <= 300; i++) applyTx(mp, blocks, i, [[i % NBLOCKS, i % NSLOTS], [(i * 7) % NBLOCKS, (i * 3) % NSLOTS]], i % 5 === 0);
    expect(mp.mLog.stats.wraps).toBeGreaterThan(3);
    expect(mp.mAil.stats.pushes).toBeGreaterThan(3);
    xfsLogForce(mp);
    const want = readSlots(mp, blocks);
    dev.powerFail();
    dev.powerOn();
    const mp2 = xfsMount(dev, { bufOps: [testBufOps] });
    expect(readSlots(mp2, blocks)).toEqual(want);
  });
});

describe("crash consistency (power fails at any device operation)", () => {
  const arbTx = fc.record({
    writes: fc.array(fc.tuple(fc.integer({ min: 0, max: NBLOCKS - 1 }), fc.integer({ min: 0, max: NSLOTS - 1 })), { minLength: 1, maxLength: 6 }),
    sync: fc.boolean(),
    then: fc.constantFrom("none", "none", "none", "force", "push"),
  });

  it("after remount every forced transaction is whole and no later one is partly there", () => {
    fc.assert(
      fc.property(
        fc.array(arbTx, { minLength: 1, maxLength: 40 }),
        fc.nat({ max: 150 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        (txs, failAfter, keepSeed) => {
          const { dev, mp, blocks } = rig(16);
          const keep = (sector: number) => ((sector * 2654435761 + keepSeed) >>> 7) % 3 === 0;
          dev.armPowerFailure(failAfter, keep);
          let durable = 0;
          let attempted = 0;
          try {
            txs.forEach((tx, i) => {
              attempted = i + 1;
              applyTx(mp, blocks, i + 1, tx.writes, tx.sync);
              if (tx.sync) durable = i + 1;
              if (tx.then === "force") {
                xfsLogForce(mp);
                durable = i + 1;
              } else if (tx.then === "push") {
                xfsAilPush(mp);
                durable = i + 1;
              }
            });
          } catch (e) {
            if (!isKernelError(e, "EIO")) throw e;
          }
          if (dev.hasPower) dev.powerFail(keep);
          dev.powerOn();
          const mp2 = xfsMount(dev, { bufOps: [testBufOps] });
          const got = readSlots(mp2, blocks);
          const states: number[][][] = [];
          const model = Array.from({ length: NBLOCKS }, () => new Array<number>(NSLOTS).fill(0));
          states.push(model.map((r) => [...r]));
          txs.slice(0, attempted).forEach((tx, i) => {
            for (const [b, s] of tx.writes) model[b]![s] = i + 1;
            states.push(model.map((r) => [...r]));
          });
          const k = states.findIndex((st, i) => i >= durable && JSON.stringify(st) === JSON.stringify(got));
          expect(k, `state matches no prefix from ${durable} to ${attempted}`).toBeGreaterThanOrEqual(durable);
          xfsUnmount(mp2);
        },
      ),
      { numRuns: 60 },
    );
  });
});
