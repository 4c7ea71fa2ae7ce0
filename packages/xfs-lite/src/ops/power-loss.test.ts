import fc from "fast-check";
import { bootVm, isKernelError, runSync } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import type { XfsInode } from "../inode/inode.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsFilesMount, type XfsMountedFs } from "./mounted-fs.js";
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE,
  type XfsFileSystem,
} from "./xfs-fs.js";

const BS = 4096;
const NFILES = 3;
const MAXB = 10;

type Op =
  | { k: "write"; f: number; off: number; len: number; v: number }
  | { k: "clone" | "dedupe"; f: number; g: number; sb: number; db: number; nb: number }
  | { k: "punch" | "unshare"; f: number; off: number; len: number }
  | { k: "collapse"; f: number; b: number; nb: number }
  | { k: "truncate"; f: number; size: number };

const file = fc.integer({ min: 0, max: NFILES - 1 });
const blk = fc.integer({ min: 0, max: MAXB - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("write" as const), f: file, off: fc.integer({ min: 0, max: MAXB * BS }), len: fc.integer({ min: 1, max: 2 * BS }), v: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ k: fc.constantFrom("clone" as const, "dedupe" as const), f: file, g: file, sb: blk, db: blk, nb: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constantFrom("punch" as const, "unshare" as const), f: file, off: fc.integer({ min: 0, max: MAXB * BS }), len: fc.integer({ min: 1, max: 2 * BS }) }),
  fc.record({ k: fc.constant("collapse" as const), f: file, b: blk, nb: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ k: fc.constant("truncate" as const), f: file, size: fc.integer({ min: 0, max: MAXB * BS }) }),
);

/** File contents, plus which bytes (and whether the size) an op may have changed. */
class Model {
  data: Uint8Array[] = Array.from({ length: NFILES }, () => new Uint8Array(0));
  touchedFrom: number[] = Array.from({ length: NFILES }, () => Infinity);
  touched: [number, number][][] = Array.from({ length: NFILES }, () => []);
  sizeTouched: boolean[] = Array.from({ length: NFILES }, () => false);
  resize(f: number, size: number): void {
    const n = new Uint8Array(size);
    n.set(this.data[f]!.subarray(0, Math.min(size, this.data[f]!.length)));
    this.data[f] = n;
  }
  set(f: number, off: number, src: Uint8Array): void {
    if (off + src.length > this.data[f]!.length) {
      this.resize(f, off + src.length);
      this.sizeTouched[f] = true;
    }
    this.data[f]!.set(src, off);
    this.touched[f]!.push([off, off + src.length]);
  }
  isTouched(f: number, i: number): boolean {
    return i >= this.touchedFrom[f]! || this.touched[f]!.some(([a, b]) => i >= a && i < b);
  }
}

/** Apply `op` to the file system and the model; ops the kernel would refuse are skipped. */
function apply(fs: XfsFileSystem, ips: XfsInode[], m: Model, op: Op): void {
  const ip = ips[op.f]!;
  const size = m.data[op.f]!.length;
  switch (op.k) {
    case "write": {
      const src = new Uint8Array(op.len).fill(op.v);
      runSync(fs.write(ip, op.off, src));
      m.set(op.f, op.off, src);
      return;
    }
    case "clone":
    case "dedupe": {
      const pos = op.sb * BS;
      const dpos = op.db * BS;
      const len = op.nb * BS;
      const dsize = m.data[op.g]!.length;
      if (pos + len > size || (op.k === "dedupe" && dpos + len > dsize)) return;
      if (op.f === op.g && dpos + len > pos && dpos < pos + len) return;
      if (op.k === "clone" && dpos + len < dsize && len % BS !== 0) return;
      const [fin, fout] = [fs.open(ip), fs.open(ips[op.g]!)];
      try {
        if (op.k === "clone") {
          runSync(fs.remapFileRange(fin, pos, fout, dpos, len));
          m.set(op.g, dpos, m.data[op.f]!.slice(pos, pos + len));
        } else {
          runSync(fs.dedupeRange(fin, pos, fout, dpos, len));
        }
      } finally {
        fs.close(fin);
        fs.close(fout);
      }
      return;
    }
    case "punch":
      runSync(fs.fallocate(ip, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, op.off, op.len));
      m.data[op.f]!.fill(0, Math.min(op.off, size), Math.min(op.off + op.len, size));
      m.touched[op.f]!.push([op.off, op.off + op.len]);
      return;
    case "unshare":
      runSync(fs.fallocate(ip, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, op.off, op.len));
      return;
    case "collapse": {
      const off = op.b * BS;
      const len = op.nb * BS;
      if (off + len >= size) return;
      runSync(fs.fallocate(ip, FALLOC_FL_COLLAPSE_RANGE, off, len));
      const d = m.data[op.f]!;
      m.data[op.f] = Uint8Array.from([...d.subarray(0, off), ...d.subarray(off + len)]);
      m.touchedFrom[op.f] = Math.min(m.touchedFrom[op.f]!, off);
      m.sizeTouched[op.f] = true;
      return;
    }
    case "truncate":
      runSync(fs.truncate(ip, op.size));
      m.resize(op.f, op.size);
      m.touchedFrom[op.f] = Math.min(m.touchedFrom[op.f]!, op.size);
      m.sizeTouched[op.f] = true;
      return;
  }
}

/** `cached`: the files go through a page cache, and sync(2) makes the first part durable. */
function powerLossProperty(cached: boolean): void {
    let failedMidway = 0;
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 10 }),
        fc.array(opArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 60 }),
        (before, after, failAfter) => {
          const dev = new RamDisk(32 * 1024 * 1024, { writeCache: true });
          xfsMkfs(dev, { reflink: true, rmapbt: true, agcount: 2 });
          const opts = cached ? { pageCache: bootVm({ dramBytes: 8 * 1024 * 1024 }).ctx } : {};
          let m: XfsMountedFs = xfsFilesMount(dev, opts);
          const ips = Array.from({ length: NFILES }, (_, i) => runSync(m.fs.create(m.fs.root, `f${i}`)));
          const model = new Model();
          for (const op of before) apply(m.fs, ips, model, op);
          if (cached) runSync(m.fs.syncFs());
          else runSync(m.fs.fsync(ips[0]!));
          const synced = model.data.map((d) => d.slice());
          const fresh = new Model();
          fresh.data = model.data.map((d) => d.slice());

          dev.armPowerFailure(failAfter);
          try {
            for (const op of after) apply(m.fs, ips, fresh, op);
            // write the cached pages back while the power may fail (fsync reports EIO then)
            if (cached) runSync(m.fs.syncFs());
            dev.powerFail();
          } catch (e) {
            if (dev.hasPower || !isKernelError(e, "EIO")) throw e;
            failedMidway++;
          }
          dev.powerOn();

          m = xfsFilesMount(dev, opts);
          expect(xfsCheckFs(m.fs)).toEqual([]);
          for (let f = 0; f < NFILES; f++) {
            const ip = m.fs.lookup(m.fs.root, `f${f}`);
            const want = synced[f]!;
            if (!fresh.sizeTouched[f]) expect(ip.size).toBe(want.length);
            const got = runSync(m.fs.read(ip, 0, ip.size));
            for (let i = 0; i < Math.min(want.length, got.length); i++) {
              if (fresh.isTouched(f, i)) continue;
              if (got[i] !== want[i]) throw new Error(`file ${f} byte ${i}: ${got[i]} after recovery, fsync'd ${want[i]}`);
            }
          }
          // and the recovered file system keeps working
          const f0 = m.fs.lookup(m.fs.root, "f0");
          runSync(m.fs.write(f0, 0, new Uint8Array(100).fill(9)));
          runSync(m.fs.fsync(f0));
          expect(xfsCheckFs(m.fs)).toEqual([]);
        },
      ),
      // A fixed seed: the guard below counts how many runs lost power inside an
      // operation, and a random seed sometimes gives only 5 of 40 (this one gives 10 and 16).
      { numRuns: 40, seed: 6 },
    );
    // the power really failed inside operations, not only after them
    expect(failedMidway).toBeGreaterThan(5);
}

describe("power loss at a random point", () => {
  it("after log recovery every fsync'd byte reads back and the checker is clean", () => powerLossProperty(false), 60_000);

  it("through the page cache: every byte synced before the power loss reads back, the checker is clean", () => powerLossProperty(true), 60_000);
});
