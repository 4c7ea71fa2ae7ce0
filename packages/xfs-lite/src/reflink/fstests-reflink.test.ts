/**
 * Ports of the fstests reflink / dedupe cases that need no mmap (tests/generic/110–158,
 * 358), against the file-system API. Each asserts what the test's golden output encodes
 * (which files and ranges match), block counts and extent sharing, and runs the checker
 * at every `_test_cycle_mount`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { S_IFCHR, S_IFIFO } from "../inode/inode.js";
import { xfsMemFs } from "../ops/mem-fs.js";
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE,
  FALLOC_FL_ZERO_RANGE,
  FMODE_WRITE,
  O_APPEND,
} from "../ops/xfs-fs.js";
import { FstestsEnv } from "./fstests-env.js";
import { RamDisk } from "../blockdev.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsLogIsClean } from "../mount/xfs-mount-ops.js";
import { xfsFilesMount, xfsFilesUnmount } from "../ops/mounted-fs.js";
import { runSync } from "@pagelab/mm-core";

const blksz = 65536;

/** Byte-array equality without vitest's element-by-element diffing. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
const FSB_PER_BLK = blksz / 4096;
/** 512-byte sectors in n test blocks. */
const sectors = (n: number) => (n * blksz) / 512;

/** In-memory metadata, or a RAM disk that `_test_cycle_mount` really unmounts and mounts. */
const backends = {
  memory: () => new FstestsEnv(xfsMemFs({ agcount: 4, agblocks: 16384 })),
  device: () => {
    const dev = new RamDisk(256 * 1024 * 1024, { writeCache: true });
    xfsMkfs(dev, { reflink: true, rmapbt: true, agcount: 4 });
    let m = xfsFilesMount(dev);
    return new FstestsEnv(m.fs, () => {
      xfsFilesUnmount(m);
      if (!xfsLogIsClean(dev)) throw new Error("log not clean after unmount");
      m = xfsFilesMount(dev);
      return m.fs;
    });
  },
};
let env: () => FstestsEnv = backends.memory;

function falloc(t: FstestsEnv, file: string, mode: number, off: number, len: number): void {
  runSync(t.fs.fallocate(t.path(file), mode, off, len));
}

describe.each(["memory", "device"] as const)("on %s", (backend) => {
  beforeAll(() => {
    env = backends[backend];
  });

  describe("generic/110: reflink, reflink the reflink, modify original and copy", () => {
    it("keeps every copy's data and shares until written", () => {
      const t = env();
      t.pwriteByte(0x61, 0, 9000, "original");
      t.cpReflink("original", "copy1");
      t.cpReflink("copy1", "copy2");
      expect(t.sharedBytes("copy1")).toBe(12288);
      const orig = t.sum("original");
      expect([t.sum("copy1"), t.sum("copy2")]).toEqual([orig, orig]);
      t.pwriteByte(0x62, 0, 9000, "original");
      expect(t.sum("original")).not.toBe(orig);
      expect([t.sum("copy1"), t.sum("copy2")]).toEqual([orig, orig]);
      t.pwriteByte(0x63, 0, 9000, "copy1");
      expect(t.sum("copy2")).toBe(orig);
      expect(new Set([t.sum("original"), t.sum("copy1"), t.sum("copy2")]).size).toBe(3);
      t.cycleMount();
      expect(t.sharedBytes("original")).toBe(0);
      expect(t.sharedBytes("copy2")).toBe(0);
    });
  });

  describe("generic/111: reflink copies of a directory tree", () => {
    it("copies file1 and subdir/file2 and keeps them independent", () => {
      const t = env();
      t.mkdir("original");
      t.mkdir("original/subdir");
      t.pwriteByte(0x61, 0, 9000, "original/file1");
      t.pwriteByte(0x62, 0, 11000, "original/subdir/file2");
      for (const c of ["copy1", "copy2"]) {
        t.mkdir(c);
        t.mkdir(`${c}/subdir`);
      }
      t.cpReflink("original/file1", "copy1/file1");
      t.cpReflink("original/subdir/file2", "copy1/subdir/file2");
      t.cpReflink("copy1/file1", "copy2/file1");
      t.cpReflink("copy1/subdir/file2", "copy2/subdir/file2");
      const f1 = t.sum("original/file1");
      const f2 = t.sum("original/subdir/file2");
      t.pwriteByte(0x63, 0, 13000, "original/file1");
      t.pwriteByte(0x64, 5000, 1000, "original/subdir/file2");
      expect([t.sum("copy1/file1"), t.sum("copy2/file1"), t.sum("copy1/subdir/file2")]).toEqual([f1, f1, f2]);
      t.pwriteByte(0x65, 0, 9000, "copy1/file1");
      t.pwriteByte(0x66, 5000, 25000, "copy1/subdir/file2");
      expect([t.sum("copy2/file1"), t.sum("copy2/subdir/file2")]).toEqual([f1, f2]);
      expect(t.read("copy1/subdir/file2").length).toBe(30000);
      t.cycleMount();
    });
  });

  describe("generic/115: move the original and the copy, delete the original", () => {
    it("the copy survives rename and the original's removal", () => {
      const t = env();
      t.pwriteByte(0x61, 0, 9000, "original");
      t.cpReflink("original", "copy");
      const sum = t.sum("copy");
      t.mkdir("subdir");
      const sub = t.path("subdir", false);
      runSync(t.fs.rename(t.fs.root, "original", sub, "original_moved"));
      runSync(t.fs.rename(t.fs.root, "copy", sub, "copy_moved"));
      expect(t.sum("subdir/original_moved")).toBe(sum);
      t.unlink("subdir/original_moved");
      expect(t.sum("subdir/copy_moved")).toBe(sum);
      expect(t.sharedBytes("subdir/copy_moved")).toBe(0);
      t.cycleMount();
    });
  });

  describe("generic/116 and 118: reflink the middle blocks of two files", () => {
    for (const [name, second] of [
      ["116 (identical files)", 0x61],
      ["118 (different files)", 0x62],
    ] as const) {
      it(name, () => {
        const t = env();
        t.pwriteByte(0x61, blksz * 2, blksz * 6, "file1");
        t.pwriteByte(second, blksz * 2, blksz * 6, "file2");
        const free0 = t.freeBlocks();
        expect(t.reflinkRange("file1", blksz * 4, "file2", blksz * 4, blksz * 2)).toBe(blksz * 2);
        t.cycleMount();
        // the two blocks file2 used to own in the middle were freed
        expect(t.freeBlocks()).toBe(free0 + 2 * FSB_PER_BLK);
        expect(t.compareRange("file1", blksz * 4, "file2", blksz * 4, blksz * 2)).toBe(true);
        expect(t.compareRange("file1", 0, "file2", 0, blksz * 4)).toBe(second === 0x61);
        expect(t.compareRange("file1", blksz * 6, "file2", blksz * 6, blksz * 2)).toBe(second === 0x61);
        expect(t.sharedBytes("file2")).toBe(blksz * 2);
        expect(t.statBlocks("file2")).toBe(sectors(6));
      });
    }
  });

  describe("generic/119: reflink 1-2 and 3-4, then 1-3 and 1-4", () => {
    it("ranges match exactly where they were linked", () => {
      const t = env();
      for (const [i, v] of [0x61, 0x62, 0x63, 0x64].entries()) t.pwriteByte(v, 0, blksz * 8, `file${i + 1}`);
      t.reflinkRange("file1", 0, "file2", 0, blksz * 4);
      t.reflinkRange("file3", 0, "file4", 0, blksz * 4);
      t.cycleMount();
      expect(t.compareRange("file1", 0, "file2", 0, blksz * 4)).toBe(true);
      expect(t.compareRange("file3", 0, "file4", 0, blksz * 4)).toBe(true);
      expect(t.compareRange("file1", 0, "file3", 0, blksz * 4)).toBe(false);
      t.reflinkRange("file1", 0, "file3", 0, blksz * 2);
      t.reflinkRange("file1", 0, "file4", 0, blksz * 2);
      t.cycleMount();
      for (const f of ["file2", "file3", "file4"]) expect(t.compareRange("file1", 0, f, 0, blksz * 2)).toBe(true);
      expect(t.compareRange("file1", blksz * 2, "file2", blksz * 2, blksz * 2)).toBe(true);
      expect(t.compareRange("file3", blksz * 2, "file4", blksz * 2, blksz * 2)).toBe(true);
      expect(t.compareRange("file1", blksz * 2, "file3", blksz * 2, blksz * 2)).toBe(false);
      // four owners of the first two blocks, two of the next two
      const [e0, e1] = t.fs.fiemap(t.path("file4", false));
      expect([e0!.feLength, e1!.feLength]).toEqual([blksz * 2, blksz * 2]);
      expect(e0!.fePhysical).toBe(t.fs.fiemap(t.path("file1", false))[0]!.fePhysical);
    });
  });

  describe("generic/121 and 122: dedupe the middle blocks", () => {
    it("121: identical middles are deduped and freed", () => {
      const t = env();
      t.pwriteByte(0x61, blksz * 2, blksz * 6, "file1");
      t.pwriteByte(0x61, blksz * 2, blksz * 6, "file2");
      const free0 = t.freeBlocks();
      expect(t.dedupeRange("file1", blksz * 4, "file2", blksz * 4, blksz * 2)).toBe(blksz * 2);
      t.cycleMount();
      expect(t.freeBlocks()).toBe(free0 + 2 * FSB_PER_BLK);
      expect(t.sum("file1")).toBe(t.sum("file2"));
      expect(t.sharedBytes("file1")).toBe(blksz * 2);
    });

    it("122: different middles are not deduped (Extents did not match)", () => {
      const t = env();
      t.pwriteByte(0x61, blksz * 2, blksz * 6, "file1");
      t.pwriteByte(0x62, blksz * 2, blksz * 6, "file2");
      const free0 = t.freeBlocks();
      expect(t.dedupeRange("file1", blksz * 4, "file2", blksz * 4, blksz * 2)).toBe("differs");
      expect(FstestsEnv.errno(() => t.dedupeExact("file1", blksz * 4, "file2", blksz * 4, blksz * 2))).toBe("EBADE");
      t.cycleMount();
      expect(t.freeBlocks()).toBe(free0);
      expect(t.sharedBytes("file1")).toBe(0);
      expect(t.compareRange("file1", blksz * 4, "file2", blksz * 4, blksz * 2)).toBe(false);
    });
  });

  describe("generic/134: reflink the unaligned last block", () => {
    it("links the EOF block of file1 into file2 and file3", () => {
      const t = env();
      t.pwriteByte(0x61, 0, blksz + 37, "file1");
      t.pwriteByte(0x61, 0, blksz + 37, "file2");
      t.pwriteByte(0x62, 0, blksz + 37, "file3");
      t.pwriteByte(0x62, 0, blksz + 37, "file4");
      t.reflinkRange("file1", blksz, "file2", blksz, 37);
      t.reflinkRange("file1", blksz, "file3", blksz, 37);
      t.cycleMount();
      expect(t.sum("file1")).toBe(t.sum("file2"));
      expect(t.sum("file3")).not.toBe(t.sum("file4"));
      expect(t.compareRange("file1", blksz, "file3", blksz, 37)).toBe(true);
      expect(t.compareRange("file3", 0, "file4", 0, blksz)).toBe(true);
      expect(t.sharedBytes("file3")).toBe(4096);
      expect(t.read("file3").length).toBe(blksz + 37);
    });
  });

  describe("generic/142 and 143: rewrite every reflinked copy", () => {
    it("the original keeps its data and every copy gets its own blocks", () => {
      const t = env();
      const nr = 9;
      t.pwriteByte(0x61, 0, blksz * 32, "file1");
      const csum = t.sum("file1");
      for (let i = 2; i <= nr; i++) t.cpReflink("file1", `file${i}`);
      t.cycleMount();
      const free1 = t.freeBlocks();
      for (let i = 2; i <= nr; i++) t.pwriteByte(0x62, 0, blksz * 32, `file${i}`);
      t.cycleMount();
      expect(t.sum("file1")).toBe(csum);
      expect(t.sum("file2")).not.toBe(csum);
      expect(free1 - t.freeBlocks()).toBe((nr - 1) * 32 * FSB_PER_BLK);
      for (let i = 1; i <= nr; i++) expect(t.sharedBytes(`file${i}`)).toBe(0);
    });
  });

  /** generic/144-149 common setup: five files sharing parts of file1 (5 blocks + 37 bytes). */
  function weave(t: FstestsEnv): void {
    const size = blksz * 5 + 37;
    t.pwriteByte(0x61, 0, size, "file1");
    t.reflinkRange("file1", blksz, "file2", blksz, blksz * 4 + 37);
    runSync(t.fs.truncate(t.path("file3"), size));
    t.reflinkRange("file1", 0, "file3", 0, blksz);
    runSync(t.fs.truncate(t.path("file4"), size));
    t.reflinkRange("file1", blksz, "file4", blksz, blksz);
    t.reflinkRange("file1", blksz * 3, "file4", blksz * 3, blksz);
    t.cpReflink("file1", "file5");
    t.cycleMount();
  }

  function expectWeave(t: FstestsEnv): void {
    expect(t.compareRange("file1", blksz, "file2", blksz, blksz * 4 + 37)).toBe(true);
    expect(t.compareRange("file1", 0, "file3", 0, blksz)).toBe(true);
    expect(t.compareRange("file1", blksz, "file4", blksz, blksz)).toBe(true);
    expect(t.sum("file1")).toBe(t.sum("file5"));
    const sums = ["file1", "file2", "file3", "file4"].map((f) => t.sum(f));
    expect(new Set(sums).size).toBe(4);
  }

  describe("generic/144-149: fallocate modes around reflinked ranges", () => {
    it("144: falloc steps around shared blocks and changes no data", () => {
      const t = env();
      weave(t);
      expectWeave(t);
      const before = ["file1", "file2", "file3", "file4", "file5"].map((f) => t.sum(f));
      for (const f of ["file2", "file3", "file4"]) falloc(t, f, 0, 0, blksz * 5);
      t.cycleMount();
      expect(["file1", "file2", "file3", "file4", "file5"].map((f) => t.sum(f))).toEqual(before);
      // file3's hole got unwritten blocks, its shared first block stayed shared
      expect(t.statBlocks("file3")).toBe(sectors(5));
      expect(t.sharedBytes("file3")).toBe(blksz);
    });

    it("145: fcollapse of the second block of files 2-4", () => {
      const t = env();
      weave(t);
      const f1 = t.read("file1");
      for (const f of ["file2", "file3", "file4"]) falloc(t, f, FALLOC_FL_COLLAPSE_RANGE, blksz, blksz);
      t.cycleMount();
      expect(t.read("file2").length).toBe(blksz * 4 + 37);
      // file2 lost its (shared) block 1: its blocks 1.. now hold file1's blocks 2..
      expect(same(t.read("file2", blksz, blksz * 3 + 37), f1.subarray(blksz * 2))).toBe(true);
      expect(same(t.read("file4", blksz * 2, blksz), f1.subarray(blksz * 3, blksz * 4))).toBe(true);
      expect(t.sum("file1")).toBe(t.sum("file5"));
      expect(t.sharedBytes("file4")).toBe(blksz);
    });

    it("146: fpunch of the second block of files 2-4", () => {
      const t = env();
      weave(t);
      const free0 = t.freeBlocks();
      for (const f of ["file2", "file3", "file4"]) falloc(t, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, blksz, blksz);
      t.cycleMount();
      // punched blocks were all shared with file1: nothing is freed
      expect(t.freeBlocks()).toBe(free0);
      expect(same(t.read("file2", blksz, blksz), new Uint8Array(blksz))).toBe(true);
      expect(t.compareRange("file1", blksz * 2, "file2", blksz * 2, blksz * 3 + 37)).toBe(true);
      expect(t.statBlocks("file4")).toBe(sectors(1));
      expect(t.sum("file1")).toBe(t.sum("file5"));
    });

    it("147: finsert a block into files 2-4", () => {
      const t = env();
      weave(t);
      const f1 = t.read("file1");
      for (const f of ["file2", "file3", "file4"]) falloc(t, f, FALLOC_FL_INSERT_RANGE, blksz, blksz);
      t.cycleMount();
      expect(t.read("file2").length).toBe(blksz * 6 + 37);
      expect(same(t.read("file2", blksz, blksz), new Uint8Array(blksz))).toBe(true);
      expect(same(t.read("file2", blksz * 2), f1.subarray(blksz))).toBe(true);
      expect(same(t.read("file3", 0, blksz), f1.subarray(0, blksz))).toBe(true);
      expect(t.sharedBytes("file2")).toBe(blksz * 4 + 4096);
    });

    it("148: truncate the unaligned EOF block of a reflinked file CoWs it", () => {
      const t = env();
      t.pwriteByte(0x61, 0, blksz + 37, "file1");
      t.cpReflink("file1", "file2");
      runSync(t.fs.truncate(t.path("file2"), blksz + 17));
      runSync(t.fs.truncate(t.path("file2"), blksz + 37));
      t.cycleMount();
      const d = t.read("file2");
      expect(d.subarray(0, blksz + 17).every((x) => x === 0x61)).toBe(true);
      expect(d.subarray(blksz + 17)).toEqual(new Uint8Array(20));
      expect(same(t.read("file1"), new Uint8Array(blksz + 37).fill(0x61))).toBe(true);
      expect(t.sharedBytes("file2")).toBe(blksz);
    });

    it("149: fzero of the second block of files 2-4", () => {
      const t = env();
      weave(t);
      const c5 = t.sum("file5");
      for (const f of ["file2", "file3", "file4"]) falloc(t, f, FALLOC_FL_ZERO_RANGE, blksz + 1, blksz - 2);
      t.cycleMount();
      const d2 = t.read("file2");
      expect(d2[blksz]).toBe(0x61);
      expect(d2.subarray(blksz + 1, blksz * 2 - 1).every((x) => x === 0)).toBe(true);
      expect(d2[blksz * 2 - 1]).toBe(0x61);
      expect(t.sum("file1")).toBe(c5);
      expect(t.read("file1", blksz, blksz).every((x) => x === 0x61)).toBe(true);
    });
  });

  describe("generic/150-156: block usage of a file reflinked N times", () => {
    const nr = 4;
    const blks = 200;
    const sz = blks * 4096;
    function copies(t: FstestsEnv): void {
      t.pwriteByte(0x61, 0, sz, "file1");
      for (let i = 2; i <= nr; i++) t.cpReflink("file1", `file${i}`);
      t.cycleMount();
    }

    it("150: N reflinks cost no data blocks, and each copy reports every block", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      expect(free0 - t.freeBlocks()).toBe(blks);
      for (let i = 1; i <= nr; i++) expect(t.statBlocks(`file${i}`)).toBe((blks * 4096) / 512);
    });

    it("151: deleting all copies releases the blocks", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      for (let i = 1; i < nr; i++) t.unlink(`file${i}`);
      expect(free0 - t.freeBlocks()).toBe(blks);
      expect(t.sharedBytes(`file${nr}`)).toBe(0);
      t.unlink(`file${nr}`);
      t.cycleMount();
      expect(t.freeBlocks()).toBe(free0);
    });

    it("152: punching all copies releases the blocks", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      for (let i = 1; i <= nr; i++) falloc(t, `file${i}`, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, sz - 8192);
      t.cycleMount();
      expect(free0 - t.freeBlocks()).toBe(2);
      expect(t.statBlocks("file3")).toBe(16);
    });

    it("153: collapsing all copies releases the blocks", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      for (let i = 1; i <= nr; i++) falloc(t, `file${i}`, FALLOC_FL_COLLAPSE_RANGE, 4096, sz - 8192);
      t.cycleMount();
      expect(free0 - t.freeBlocks()).toBe(2);
      expect(t.read("file2").length).toBe(8192);
    });

    it("154: CoW rewrites of the copies allocate one set of blocks per copy", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      const free1 = t.freeBlocks();
      expect(free1).toBe(free0 - blks);
      t.pwriteByte(0x62, 0, sz, "file2");
      t.pwriteByte(0x63, 0, sz / 2, "file3");
      t.pwriteByte(0x64, sz / 2, sz / 2, "file4");
      t.cycleMount();
      const free2 = t.freeBlocks();
      expect(free2).toBe(free1 - 2 * blks);
      t.pwriteByte(0x62, 0, sz, "file2");
      t.pwriteByte(0x63, 0, sz, "file3");
      t.pwriteByte(0x64, 0, sz, "file4");
      t.cycleMount();
      const free3 = t.freeBlocks();
      expect(free3).toBe(free2 - blks);
      t.pwriteByte(0x65, 0, sz, "file1");
      t.cycleMount();
      expect(t.freeBlocks()).toBe(free3);
      expect(t.freeBlocks()).toBe(free0 - 4 * blks);
      for (let i = 1; i <= nr; i++) expect(t.sharedBytes(`file${i}`)).toBe(0);
    });

    it("155: zero-range over the copies unshares by allocating unwritten blocks", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      for (let i = 2; i <= nr; i++) falloc(t, `file${i}`, FALLOC_FL_ZERO_RANGE, 0, sz);
      t.cycleMount();
      expect(free0 - t.freeBlocks()).toBe(nr * blks);
      expect(same(t.read("file3"), new Uint8Array(sz))).toBe(true);
      expect(t.read("file1").every((x) => x === 0x61)).toBe(true);
    });

    it("156: funshare gives every copy private blocks with the same data", () => {
      const t = env();
      const free0 = t.freeBlocks();
      copies(t);
      for (let i = 2; i <= nr; i++) falloc(t, `file${i}`, FALLOC_FL_UNSHARE_RANGE, 0, sz);
      t.cycleMount();
      expect(free0 - t.freeBlocks()).toBe(nr * blks);
      for (let i = 1; i <= nr; i++) {
        expect(t.read(`file${i}`).every((x) => x === 0x61)).toBe(true);
        expect(t.sharedBytes(`file${i}`)).toBe(0);
        if (i > 1) expect(t.path(`file${i}`, false).isReflink()).toBe(false);
      }
    });
  });

  describe("generic/157: invalid reflinks are rejected", () => {
    it("gives the kernel's errno for each case", () => {
      const t = env();
      const other = new FstestsEnv(xfsMemFs({ agcount: 2, agblocks: 4096 }));
      const blks = 100;
      const sz = 4096 * blks;
      t.pwriteByte(0x61, 0, sz, "file1");
      t.pwriteByte(0x61, 0, sz, "file2");
      other.pwriteByte(0x61, 0, sz, "file1");
      t.mkdir("dir1");
      runSync(t.fs.create(t.fs.root, "dev1", S_IFCHR | 0o644));
      runSync(t.fs.create(t.fs.root, "fifo1", S_IFIFO | 0o644));
      const fsz = t.fs.statx(t.path("file1", false)).blocks;
      const e = FstestsEnv.errno;
      const cross = () => {
        const a = t.fs.open(t.path("file1", false));
        const b = other.fs.open(other.path("file1", false));
        return runSync(t.fs.remapFileRange(a, 0, b, 0, 4096));
      };
      expect(e(cross)).toBe("EXDEV");
      expect(e(() => t.reflinkRange("file1", 37, "file1", 59, 23))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("file1", 0, "file1", 1, 8192))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("file1", 0, "file1", 4096, 8192))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("file1", (blks + 10) * 4096, "file1", 0, 4096))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("dir1", 0, "file2", 0, 4096))).toBe("EISDIR");
      expect(e(() => t.reflinkRange("dev1", 0, "file2", 0, 4096))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("file1", 0, "dir1", 0, 4096))).toBe("EISDIR");
      expect(e(() => t.reflinkRange("file1", 0, "dev1", 0, 4096))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("file1", 0, "fifo1", 0, 4096))).toBe("EINVAL");
      expect(e(() => t.reflinkRange("file1", 0, "file3", 0, 4096, FMODE_WRITE | 1, O_APPEND))).toBe("EBADF");
      expect(t.sharedBytes("file1")).toBe(0);
      expect(t.fs.statx(t.path("file1", false)).blocks).toBe(fsz);
      expect(t.reflinkRange("file1", 0, "file2", 0, 4096)).toBe(4096);
      expect(other.reflinkRange("file1", 0, "file2", 0, 4096)).toBe(4096);
      t.cycleMount();
      other.cycleMount();
    });
  });

  describe("generic/358: owners of a shared extent rotate block by block", () => {
    it("every file reads back and the refcounts match the owners", () => {
      const t = env();
      const blocks = 32;
      const bs = 4096;
      t.pwriteByte(0x61, 0, blocks * bs, "file");
      for (let nr = 1; nr < blocks; nr++) {
        t.reflinkRange("file", 0, `file${nr}.0`, 0, nr * bs);
        for (let nnr = nr; nnr < blocks; nnr++) t.reflinkRange("file", nnr * bs, `file${nr}.${nnr}`, nnr * bs, bs);
      }
      t.cycleMount();
      const want = new Uint8Array(blocks * bs).fill(0x61);
      expect(same(t.read("file"), want)).toBe(true);
      for (let nr = 1; nr < blocks; nr++) expect(same(t.read(`file${nr}.0`), want.subarray(0, nr * bs))).toBe(true);
      // block b of "file" is owned by itself, by every file<nr>.0 with nr > b, and file<nr>.<b> for nr <= b
      expect(t.sharedBytes("file")).toBe(blocks * bs);
      // the owners change at every block but the count stays 32: one refcount record
      const recs = [0, 1, 2, 3].flatMap((ag) => [...t.fs.readSpace((sp) => sp.refcountbt(ag).records())]);
      expect(recs.map((r) => [r.rcBlockcount, r.rcRefcount])).toEqual([[blocks, blocks]]);
      for (let nr = 1; nr < blocks; nr++) for (let nnr = nr; nnr < blocks; nnr++) t.unlink(`file${nr}.${nnr}`);
      for (let nr = 1; nr < blocks; nr++) t.unlink(`file${nr}.0`);
      t.cycleMount();
      expect(t.sharedBytes("file")).toBe(0);
      expect(same(t.read("file"), want)).toBe(true);
    });
  });
});
