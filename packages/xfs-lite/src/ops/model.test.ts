import fc from "fast-check";
import { bootVm, isKernelError, mappingDirtyIndexes, runSync, type VmMachine } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { xfsCheckFs } from "../check/check.js";
import { FS_XFLAG_EXTSIZE, type XfsInode } from "../inode/inode.js";
import { xfsFileReadRange } from "./file-io.js";
import { xfsMemFs } from "./mem-fs.js";
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE,
  FALLOC_FL_ZERO_RANGE,
  type XfsFileSystem,
} from "./xfs-fs.js";

const BS = 4096;
const NFILES = 3;
const MAXB = 12;

type Op =
  | { k: "write"; f: number; off: number; len: number; v: number }
  | { k: "clone"; f: number; g: number; sb: number; db: number; nb: number; toEof: boolean }
  | { k: "dedupe"; f: number; g: number; sb: number; db: number; nb: number; copyFirst: boolean }
  | { k: "punch" | "zero" | "zeroExtend" | "unshare"; f: number; off: number; len: number }
  | { k: "collapse" | "insert"; f: number; b: number; nb: number }
  | { k: "truncate"; f: number; size: number }
  | { k: "fsync"; f: number };

const file = fc.integer({ min: 0, max: NFILES - 1 });
const byteOff = fc.integer({ min: 0, max: MAXB * BS });
const byteLen = fc.integer({ min: 1, max: 3 * BS });
const blk = fc.integer({ min: 0, max: MAXB - 1 });
const nblk = fc.integer({ min: 1, max: 4 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("write" as const), f: file, off: byteOff, len: byteLen, v: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("clone" as const), f: file, g: file, sb: blk, db: blk, nb: nblk, toEof: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("dedupe" as const), f: file, g: file, sb: blk, db: blk, nb: nblk, copyFirst: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom("punch" as const, "zero" as const, "zeroExtend" as const, "unshare" as const), f: file, off: byteOff, len: byteLen }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom("collapse" as const, "insert" as const), f: file, b: blk, nb: nblk }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("truncate" as const), f: file, size: fc.integer({ min: 0, max: MAXB * BS }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("fsync" as const), f: file }) },
);

class Model {
  data: Uint8Array[] = Array.from({ length: NFILES }, () => new Uint8Array(0));
  resize(f: number, size: number): void {
    const n = new Uint8Array(size);
    n.set(this.data[f]!.subarray(0, Math.min(size, this.data[f]!.length)));
    this.data[f] = n;
  }
  write(f: number, off: number, src: Uint8Array): void {
    if (off + src.length > this.data[f]!.length) this.resize(f, off + src.length);
    this.data[f]!.set(src, off);
  }
}

function expectErr(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (isKernelError(e) && e.code === code) return;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

/** The outcome generic_remap_checks() / generic_remap_check_len() predict for a clone. */
function cloneValid(m: Model, f: number, g: number, pos: number, dpos: number, len: number): boolean {
  const sizeIn = m.data[f]!.length;
  const sizeOut = m.data[g]!.length;
  if (pos >= sizeIn) return false;
  const count = Math.min(len, sizeIn - pos);
  if (count !== len) return false;
  const bcount = pos + count === sizeIn ? Math.ceil(sizeIn / BS) * BS - pos : count;
  if (pos + count !== sizeIn && count % BS !== 0) return false;
  if (f === g && dpos + bcount > pos && dpos < pos + bcount) return false;
  if (count % BS !== 0 && dpos + count < sizeOut) return false;
  return true;
}

function apply(fs: XfsFileSystem, ips: XfsInode[], m: Model, op: Op): void {
  const ip = ips[op.f]!;
  const size = m.data[op.f]!.length;
  switch (op.k) {
    case "write": {
      const src = new Uint8Array(op.len).fill(op.v);
      runSync(fs.write(ip, op.off, src));
      m.write(op.f, op.off, src);
      return;
    }
    case "clone": {
      const pos = op.sb * BS;
      const dpos = op.db * BS;
      const len = op.toEof ? Math.max(0, size - pos) : op.nb * BS;
      const [fin, fout] = [fs.open(ip), fs.open(ips[op.g]!)];
      try {
        if (len === 0 || !cloneValid(m, op.f, op.g, pos, dpos, len)) {
          if (len > 0) expectErr(() => runSync(fs.remapFileRange(fin, pos, fout, dpos, len)), "EINVAL");
          return;
        }
        expect(runSync(fs.remapFileRange(fin, pos, fout, dpos, len))).toBe(len);
      } finally {
        fs.close(fin);
        fs.close(fout);
      }
      m.write(op.g, dpos, m.data[op.f]!.slice(pos, pos + len));
      return;
    }
    case "dedupe": {
      const pos = op.sb * BS;
      const dpos = op.db * BS;
      const len = op.nb * BS;
      const dsize = m.data[op.g]!.length;
      if (pos + len > size || dpos + len > dsize) return;
      if (op.f === op.g && dpos + len > pos && dpos < pos + len) return;
      if (op.copyFirst) {
        const src = m.data[op.f]!.slice(pos, pos + len);
        runSync(fs.write(ips[op.g]!, dpos, src));
        m.write(op.g, dpos, src);
      }
      const same = m.data[op.f]!.slice(pos, pos + len).every((x, i) => x === m.data[op.g]![dpos + i]);
      const [fin, fout] = [fs.open(ip), fs.open(ips[op.g]!)];
      const r = runSync(fs.dedupeRange(fin, pos, fout, dpos, len));
      fs.close(fin);
      fs.close(fout);
      expect(r).toBe(same ? len : "differs");
      return;
    }
    case "punch":
    case "zero": {
      const mode = (op.k === "punch" ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) | FALLOC_FL_KEEP_SIZE;
      runSync(fs.fallocate(ip, mode, op.off, op.len));
      m.data[op.f]!.fill(0, Math.min(op.off, size), Math.min(op.off + op.len, size));
      return;
    }
    case "zeroExtend": {
      runSync(fs.fallocate(ip, FALLOC_FL_ZERO_RANGE, op.off, op.len));
      if (op.off + op.len > size) m.resize(op.f, op.off + op.len);
      m.data[op.f]!.fill(0, op.off, op.off + op.len);
      return;
    }
    case "unshare":
      runSync(fs.fallocate(ip, FALLOC_FL_UNSHARE_RANGE, op.off, op.len));
      if (op.off + op.len > size) m.resize(op.f, op.off + op.len);
      return;
    case "collapse": {
      const off = op.b * BS;
      const len = op.nb * BS;
      if (off + len >= size) {
        expectErr(() => runSync(fs.fallocate(ip, FALLOC_FL_COLLAPSE_RANGE, off, len)), "EINVAL");
        return;
      }
      runSync(fs.fallocate(ip, FALLOC_FL_COLLAPSE_RANGE, off, len));
      const d = m.data[op.f]!;
      m.data[op.f] = Uint8Array.from([...d.subarray(0, off), ...d.subarray(off + len)]);
      return;
    }
    case "insert": {
      const off = op.b * BS;
      const len = op.nb * BS;
      if (off >= size) {
        expectErr(() => runSync(fs.fallocate(ip, FALLOC_FL_INSERT_RANGE, off, len)), "EINVAL");
        return;
      }
      runSync(fs.fallocate(ip, FALLOC_FL_INSERT_RANGE, off, len));
      const d = m.data[op.f]!;
      m.data[op.f] = Uint8Array.from([...d.subarray(0, off), ...new Uint8Array(len), ...d.subarray(off)]);
      return;
    }
    case "truncate":
      runSync(fs.truncate(ip, op.size));
      m.resize(op.f, op.size);
      return;
    case "fsync":
      runSync(fs.fsync(ip));
      if (ip.mapping !== null) expect(mappingDirtyIndexes(ip.mapping)).toEqual([]);
      return;
  }
}

function expectSame(fs: XfsFileSystem, ips: XfsInode[], m: Model): void {
  for (let f = 0; f < NFILES; f++) {
    expect(ips[f]!.size).toBe(m.data[f]!.length);
    const got = runSync(fs.read(ips[f]!, 0, ips[f]!.size));
    if (!got.every((x, i) => x === m.data[f]![i])) {
      const i = got.findIndex((x, j) => x !== m.data[f]![j]);
      throw new Error(`file ${f}: byte ${i} is ${got[i]}, model ${m.data[f]![i]}`);
    }
  }
}

/** The blocks alone (bypassing any page cache) hold the model's bytes. */
function expectBlocksSame(fs: XfsFileSystem, ips: XfsInode[], m: Model): void {
  for (let f = 0; f < NFILES; f++) {
    const got = new Uint8Array(ips[f]!.size);
    xfsFileReadRange(fs, ips[f]!, 0, got);
    const i = got.findIndex((x, j) => x !== m.data[f]![j]);
    if (i >= 0) throw new Error(`file ${f} on its blocks: byte ${i} is ${got[i]}, model ${m.data[f]![i]}`);
  }
}

function runSequence(ops: Op[], smallAgs: boolean, vm?: VmMachine, extszBlocks = 0): void {
  const geo = smallAgs ? { agcount: 4, agblocks: 64 } : { agcount: 2, agblocks: 4096 };
  const fs = xfsMemFs(vm !== undefined ? { ...geo, pageCache: vm.ctx } : geo);
  const free0 = vm?.mem.buddy.nrFreePages();
  const ips = Array.from({ length: NFILES }, (_, i) => runSync(fs.create(fs.root, `f${i}`)));
  // file 0 allocates whole hint-aligned extents (the padding unwritten)
  if (extszBlocks > 0) runSync(fs.setXattr(ips[0]!, { xflags: FS_XFLAG_EXTSIZE, extsize: extszBlocks * BS }));
  const m = new Model();
  for (const op of ops) {
    apply(fs, ips, m, op);
  }
  expectSame(fs, ips, m);
  expect(xfsCheckFs(fs)).toEqual([]);
  if (vm !== undefined) {
    // writeback (CoW of shared blocks included) puts exactly the cached bytes on the blocks
    runSync(fs.syncFs());
    expect(fs.pagecacheStats.writeErrors).toBe(0);
    expectBlocksSame(fs, ips, m);
    expect(xfsCheckFs(fs)).toEqual([]);
  }
  fs.cancelAllCowBlocks();
  expect(xfsCheckFs(fs)).toEqual([]);
  expectSame(fs, ips, m);
  // every block comes back once the files are gone, and every page-cache page
  for (let i = 0; i < NFILES; i++) runSync(fs.unlink(fs.root, `f${i}`));
  expect(xfsCheckFs(fs)).toEqual([]);
  expect(fs.freeBlocks()).toBe(fs.backend.geo.agcount * (fs.backend.geo.agblocks - 4));
  if (vm !== undefined) expect(vm.mem.buddy.nrFreePages()).toBe(free0);
}

describe("random file operations against a byte-array model", () => {
  it("keep data equal to the model and the checker clean", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.boolean(), (ops, smallAgs) => runSequence(ops, smallAgs)),
      { numRuns: 150 },
    );
  }, 30_000);

  it("with an extent size hint on one file (direct and through the page cache): data equal to the model, checker clean", () => {
    const vm = bootVm({ dramBytes: 16 * 1024 * 1024 });
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.boolean(), fc.boolean(), fc.integer({ min: 2, max: 5 }), (ops, smallAgs, cached, ext) =>
        runSequence(ops, smallAgs, cached ? vm : undefined, ext),
      ),
      { numRuns: 100 },
    );
  }, 30_000);

  it("through the page cache: data equal to the model, on the blocks after sync, checker clean", () => {
    const vm = bootVm({ dramBytes: 16 * 1024 * 1024 });
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.boolean(), (ops, smallAgs) => runSequence(ops, smallAgs, vm)),
      { numRuns: 150 },
    );
  }, 30_000);
});
