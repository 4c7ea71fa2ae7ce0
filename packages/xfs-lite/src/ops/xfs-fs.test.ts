import { isKernelError, runSync } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { xfsCheckFs } from "../check/check.js";
import { xfsMemFs } from "./mem-fs.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FIEMAP_EXTENT_LAST, FIEMAP_EXTENT_SHARED, FIEMAP_EXTENT_UNWRITTEN } from "./xfs-fs.js";

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
