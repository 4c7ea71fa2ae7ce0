import { Scheduler, exploreSchedules, isKernelError, runSync, schedule } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { xfsCheckFs } from "../check/check.js";
import { xfsMemFs } from "./mem-fs.js";
import { FS_XFLAG_COWEXTSIZE, FS_XFLAG_DAX } from "../inode/inode.js";
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FIEMAP_EXTENT_LAST,
  FIEMAP_EXTENT_SHARED,
  FIEMAP_EXTENT_UNWRITTEN,
  STATX_ATTR_DAX,
} from "./xfs-fs.js";

const bytes = (v: number, n: number) => new Uint8Array(n).fill(v);

describe("xfs file operations", () => {
  it("writes, clones, copies on write and stops sharing", () => {
    const fs = xfsMemFs();
    const a = runSync(fs.create(fs.root, "a"));
    const b = runSync(fs.create(fs.root, "b"));
    runSync(fs.write(a, 0, bytes(0x61, 9000)));
    const fa = fs.open(a);
    const fb = fs.open(b);
    expect(runSync(fs.clone(fa, fb))).toBe(9000);
    expect(xfsCheckFs(fs)).toEqual([]);
    expect(fs.fiemap(b).map((e) => e.feFlags)).toEqual([FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_LAST]);
    expect(fs.statx(b).blocks).toBe(24);
    runSync(fs.write(a, 100, bytes(0x62, 10)));
    expect(xfsCheckFs(fs)).toEqual([]);
    expect(runSync(fs.read(b, 0, 9000))).toEqual(bytes(0x61, 9000));
    const got = runSync(fs.read(a, 0, 9000));
    expect(got.subarray(100, 110)).toEqual(bytes(0x62, 10));
    expect(got[99]).toBe(0x61);
    expect(got[110]).toBe(0x61);
    fs.cancelAllCowBlocks();
    expect(xfsCheckFs(fs)).toEqual([]);
    expect(fs.fiemap(a).map((e) => [e.feLogical, e.feLength, e.feFlags])).toEqual([
      [0, 4096, 0],
      [4096, 8192, FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_LAST],
    ]);
  });

  it("punches, preallocates and frees everything on unlink", () => {
    const fs = xfsMemFs();
    const free0 = fs.freeBlocks();
    const a = runSync(fs.create(fs.root, "a"));
    runSync(fs.write(a, 0, bytes(1, 5 * 4096)));
    runSync(fs.fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096 + 100));
    const d = runSync(fs.read(a, 0, 5 * 4096));
    expect(d.subarray(4096, 8192 + 100)).toEqual(bytes(0, 4096 + 100));
    expect(d[8192 + 100]).toBe(1);
    runSync(fs.fallocate(a, FALLOC_FL_KEEP_SIZE, 8 * 4096, 4096));
    expect(fs.fiemap(a).at(-1)?.feFlags).toBe(FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_LAST);
    expect(xfsCheckFs(fs)).toEqual([]);
    runSync(fs.unlink(fs.root, "a"));
    expect(fs.freeBlocks()).toBe(free0);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("dedupe of differing ranges fails with EBADE and shares nothing", () => {
    const fs = xfsMemFs();
    const a = runSync(fs.create(fs.root, "a"));
    const b = runSync(fs.create(fs.root, "b"));
    runSync(fs.write(a, 0, bytes(1, 8192)));
    runSync(fs.write(b, 0, bytes(1, 8192)));
    runSync(fs.write(b, 5000, bytes(2, 1)));
    expect(runSync(fs.dedupeRange(fs.open(a), 0, fs.open(b), 0, 8192))).toBe("differs");
    expect(fs.fiemap(b).every((e) => !(e.feFlags & FIEMAP_EXTENT_SHARED))).toBe(true);
    expect(runSync(fs.dedupeRange(fs.open(a), 0, fs.open(b), 0, 4096))).toBe(4096);
    expect(fs.fiemap(b)[0]!.feFlags & FIEMAP_EXTENT_SHARED).toBeTruthy();
    expect(xfsCheckFs(fs)).toEqual([]);
    try {
      runSync(fs.remapFileRange(fs.open(a), 1, fs.open(b), 0, 4096));
      expect.unreachable();
    } catch (e) {
      expect(isKernelError(e, "EINVAL")).toBe(true);
    }
  });
});

describe("reverse mapping, layout breaking and flags", () => {
  it("finds every owner of a block shared at rotated offsets (inodes W X Y Z)", () => {
    const fs = xfsMemFs();
    const w = runSync(fs.create(fs.root, "W"));
    runSync(fs.write(w, 0, new Uint8Array(6 * 4096).fill(0x41)));
    const fw = fs.open(w);
    const others = ["X", "Y", "Z"].map((n, k) => {
      const ip = runSync(fs.create(fs.root, n));
      const f = fs.open(ip);
      // file k+1 holds W's blocks rotated by k+1: index i maps W block (i + k + 1) % 6
      for (let i = 0; i < 6; i++) runSync(fs.remapFileRange(fw, ((i + k + 1) % 6) * 4096, f, i * 4096, 4096));
      return ip;
    });
    const blockA = fs.fiemap(w)[0]!.fePhysical / 4096;
    const owners = fs.rmapQueryOwners(blockA, 1).map((o) => [fs.inodes.get(o.owner) ? o.owner : -1, o.offset]);
    expect(owners.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [w.ino, 0],
      [others[0]!.ino, 5],
      [others[1]!.ino, 4],
      [others[2]!.ino, 3],
    ]);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("calls the layout-break hook with i_rwsem and the MMAPLOCK held, for both inodes of a clone", () => {
    const fs = xfsMemFs();
    const a = runSync(fs.create(fs.root, "a"));
    const b = runSync(fs.create(fs.root, "b"));
    runSync(fs.write(a, 0, bytes(1, 8192)));
    const calls: [number, boolean, boolean][] = [];
    fs.layoutBreak = function* (ip) {
      calls.push([ip.ino, ip.iRwsem.isWriteLocked(), ip.mmapLock.isWriteLocked()]);
    };
    runSync(fs.clone(fs.open(a), fs.open(b)));
    runSync(fs.truncate(a, 100));
    runSync(fs.fallocate(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
    expect(calls).toEqual([
      [a.ino, true, true],
      [b.ino, true, true],
      [a.ino, true, true],
      [b.ino, true, true],
    ]);
    expect(a.iRwsem.isLocked() || b.mmapLock.isLocked()).toBe(false);
  });

  it("reports the DAX flag through statx and the cowextsize hint through fsgetxattr", () => {
    const fs = xfsMemFs();
    const a = runSync(fs.create(fs.root, "a"));
    runSync(fs.setXattr(a, { xflags: FS_XFLAG_DAX | FS_XFLAG_COWEXTSIZE, cowextsize: 16 * 4096 }));
    expect(fs.statx(a).attributes & STATX_ATTR_DAX).toBe(STATX_ATTR_DAX);
    expect(fs.getXattr(a)).toMatchObject({ xflags: FS_XFLAG_DAX | FS_XFLAG_COWEXTSIZE, cowextsize: 16 * 4096 });
    expect(() => runSync(fs.setXattr(a, { xflags: FS_XFLAG_COWEXTSIZE, cowextsize: 1000 }))).toThrow(/EINVAL/);
    // a DAX file cannot share blocks with a non-DAX file
    const b = runSync(fs.create(fs.root, "b"));
    runSync(fs.write(a, 0, bytes(1, 4096)));
    expect(() => runSync(fs.clone(fs.open(a), fs.open(b)))).toThrow(/EINVAL/);
    // a CoW write preallocates 16 blocks, not the default 32
    const c = runSync(fs.create(fs.root, "c"));
    runSync(fs.setXattr(c, { xflags: FS_XFLAG_DAX | FS_XFLAG_COWEXTSIZE, cowextsize: 16 * 4096 }));
    runSync(fs.clone(fs.open(a), fs.open(c)));
    runSync(fs.write(c, 0, bytes(2, 10)));
    expect(c.delayedBlks).toBe(15);
    expect(fs.statx(c).blocks).toBe(16 * 8);
  });
});

describe("concurrency", () => {
  it("clones in opposite directions never deadlock: both inodes lock in inode-number order", () => {
    const outcomes = new Set<string>();
    const r = exploreSchedules((choices) => {
      const fs = xfsMemFs();
      const a = runSync(fs.create(fs.root, "a"));
      const b = runSync(fs.create(fs.root, "b"));
      runSync(fs.write(a, 0, bytes(0x61, 8192)));
      runSync(fs.write(b, 0, bytes(0x62, 8192)));
      // the layout break is a sleeping point, with both inodes' locks held
      fs.layoutBreak = function* () {
        yield* schedule();
      };
      const s = new Scheduler({ choices });
      s.spawn("clone-ab", () => fs.clone(fs.open(a), fs.open(b)));
      s.spawn("clone-ba", () => fs.clone(fs.open(b), fs.open(a)));
      s.run();
      for (const t of s.allThreads) expect(t.failed).toBe(false);
      expect(xfsCheckFs(fs)).toEqual([]);
      const da = runSync(fs.read(a, 0, 8192));
      const db = runSync(fs.read(b, 0, 8192));
      outcomes.add(`${da[0]}${da[4096]}/${db[0]}${db[4096]}`);
    }, 400);
    expect(r.runs).toBeGreaterThan(50);
    // several distinct interleavings, every one consistent
    expect(outcomes.size).toBeGreaterThan(1);
  });
});

describe("running out of space", () => {
  it("ENOSPC leaves files, refcounts and free space consistent", () => {
    const fs = xfsMemFs({ agcount: 1, agblocks: 64 });
    const a = runSync(fs.create(fs.root, "a"));
    runSync(fs.write(a, 0, bytes(1, 20 * 4096)));
    const b = runSync(fs.create(fs.root, "b"));
    const [fa, fb] = [fs.open(a), fs.open(b)];
    runSync(fs.clone(fa, fb));
    fs.close(fa);
    fs.close(fb);
    const c = runSync(fs.create(fs.root, "c"));
    let code = "";
    try {
      runSync(fs.write(c, 0, bytes(2, 64 * 4096)));
    } catch (e) {
      code = isKernelError(e) ? e.code : String(e);
    }
    expect(code).toBe("ENOSPC");
    expect(xfsCheckFs(fs)).toEqual([]);
    // fill the rest, then a CoW write into the shared file cannot get a block
    runSync(fs.write(c, 0, bytes(2, fs.freeBlocks() * 4096)));
    expect(fs.freeBlocks()).toBe(0);
    expect(() => runSync(fs.write(b, 0, bytes(3, 10)))).toThrow(/ENOSPC/);
    expect(runSync(fs.read(b, 0, 4096)).every((x) => x === 1)).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);
    // punching a hole in a shared file frees nothing; deleting the last owner frees
    runSync(fs.fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 20 * 4096));
    expect(fs.freeBlocks()).toBe(0);
    runSync(fs.unlink(fs.root, "b"));
    expect(fs.freeBlocks()).toBe(20);
    expect(xfsCheckFs(fs)).toEqual([]);
  });
});
