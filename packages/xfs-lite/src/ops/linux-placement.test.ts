/**
 * Block placement against real Linux 6.12: the operations of scenarios/reflink_mmap_cow,
 * scenarios/dedupe_punch_truncate, scenarios/write_cow_while_mapped and
 * scenarios/reflink_while_mapped that allocate or
 * free blocks, replayed through the file-system API on the oracle's geometry (512 MiB
 * pmem, mkfs.xfs -m reflink=1,rmapbt=1 → 4 AGs, dax=always), and the exact fiemap lines
 * Linux printed (`xfs_io -c "fiemap -v"`: 512-byte units, holes left out).
 * An mmap store is a DAX write fault: iomap_begin(IOMAP_WRITE | IOMAP_FAULT | IOMAP_DAX)
 * for its block, the store into the block it returns, iomap_end.
 */
import { runSync } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import type { XfsInode } from "../inode/inode.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { IOMAP_DAX, IOMAP_FAULT, IOMAP_WRITE } from "./iomap.js";
import { xfsFilesMount } from "./mounted-fs.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, type XfsFileSystem } from "./xfs-fs.js";

const BS = 4096;
const fill = (v: number, n: number) => new Uint8Array(n).fill(v);

function oracleFs(): { fs: XfsFileSystem; dev: RamDisk } {
  const dev = new RamDisk(512 << 20);
  xfsMkfs(dev, { reflink: true, rmapbt: true });
  const { fs } = xfsFilesMount(dev, { daxMode: "always", daxCapable: true });
  return { fs, dev };
}

/** `xfs_io -c "fiemap -v"` extent lines without the holes: `[0..7] 192..199 0x2001`. */
function fiemap(fs: XfsFileSystem, ip: XfsInode): string[] {
  return fs.fiemap(ip).map((e) => {
    const l = e.feLogical / 512;
    const p = e.fePhysical / 512;
    const n = e.feLength / 512;
    return `[${l}..${l + n - 1}] ${p}..${p + n - 1} 0x${e.feFlags.toString(16)}`;
  });
}

/** xfs_io pwrite: one write(2) per 4 KiB buffer. */
function pwrite(fs: XfsFileSystem, ip: XfsInode, v: number, pos: number, len: number): void {
  for (let o = 0; o < len; o += BS) runSync(fs.write(ip, pos + o, fill(v, Math.min(BS, len - o))));
}

/** A store of `v` over block `blk` through a shared DAX mapping (the fault's CoW, then the store). */
function mwriteBlock(fs: XfsFileSystem, dev: RamDisk, ip: XfsInode, blk: number, v: number): void {
  const flags = IOMAP_WRITE | IOMAP_FAULT | IOMAP_DAX;
  const { iomap } = fs.iomapBegin(ip, blk * BS, BS, flags);
  dev.write((iomap.addr + (blk * BS - iomap.offset)) / 512, fill(v, BS));
  fs.iomapEnd(ip, blk * BS, BS, BS, flags, iomap);
}

/** Run `f` on open files of `ips`, closed afterwards (xfs_io closes them when it exits). */
function withOpen<T>(fs: XfsFileSystem, ips: XfsInode[], f: (...files: ReturnType<XfsFileSystem["open"]>[]) => T): T {
  const files = ips.map((ip) => fs.open(ip));
  try {
    return f(...files);
  } finally {
    for (const file of files) fs.close(file);
  }
}

function create(fs: XfsFileSystem, name: string): XfsInode {
  return runSync(fs.create(fs.root, name));
}

/** The file's bytes as runs `value×blocks`, to check the data went where fiemap says. */
function blocksOf(fs: XfsFileSystem, ip: XfsInode): string {
  const data = runSync(fs.read(ip, 0, ip.size));
  const out: string[] = [];
  for (let o = 0; o < data.length; o += BS) out.push(data[o]!.toString(16));
  return out.join(",");
}

describe("block placement matches Linux 6.12 (scenarios a, c, d, e)", () => {
  it("reflink_mmap_cow: an mmap CoW takes the block at its offset inside the cowextsize-aligned preallocation", () => {
    const { fs, dev } = oracleFs();
    const a = create(fs, "a");
    pwrite(fs, a, 0x61, 0, 16384);
    const b = create(fs, "b");
    withOpen(fs, [a, b], (fa, fb) => runSync(fs.remapFileRange(fa!, 0, fb!, 0, 16384)));
    expect(fiemap(fs, a)).toEqual(["[0..31] 192..223 0x2001"]);
    expect(fiemap(fs, b)).toEqual(["[0..31] 192..223 0x2001"]);

    mwriteBlock(fs, dev, b, 1, 0x62);
    expect(fiemap(fs, a)).toEqual(["[0..7] 192..199 0x2000", "[8..15] 200..207 0x0", "[16..31] 208..223 0x2001"]);
    // b's CoW fork got 32 blocks from 224 for offsets 0..31: offset 1 is 232..239
    expect(fiemap(fs, b)).toEqual(["[0..7] 192..199 0x2000", "[8..15] 232..239 0x0", "[16..31] 208..223 0x2001"]);

    mwriteBlock(fs, dev, a, 2, 0x63);
    expect(fiemap(fs, a)).toEqual(["[0..7] 192..199 0x2000", "[8..15] 200..207 0x0", "[16..23] 496..503 0x0", "[24..31] 216..223 0x2001"]);
    expect(fiemap(fs, b)).toEqual(["[0..7] 192..199 0x2000", "[8..15] 232..239 0x0", "[16..23] 208..215 0x0", "[24..31] 216..223 0x2001"]);
    expect(blocksOf(fs, a)).toBe("61,61,63,61");
    expect(blocksOf(fs, b)).toBe("61,62,61,61");
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("dedupe_punch_truncate: a CoW preallocation skips freed holes too short for it and takes fresh space", () => {
    const { fs } = oracleFs();
    const d1 = create(fs, "d1");
    pwrite(fs, d1, 0x61, 0, 16384);
    runSync(fs.fsync(d1));
    const d2 = create(fs, "d2");
    pwrite(fs, d2, 0x61, 0, 16384);
    runSync(fs.fsync(d2));
    const d3 = create(fs, "d3");
    pwrite(fs, d3, 0x61, 0, 8192);
    pwrite(fs, d3, 0x62, 8192, 8192);
    runSync(fs.fsync(d3));
    expect(fiemap(fs, d1)).toEqual(["[0..31] 192..223 0x1"]);
    expect(fiemap(fs, d2)).toEqual(["[0..31] 224..255 0x1"]);

    expect(withOpen(fs, [d1, d2], (f1, f2) => runSync(fs.dedupeRange(f1!, 0, f2!, 0, 16384)))).toBe(16384);
    expect(fiemap(fs, d1)).toEqual(["[0..31] 192..223 0x2001"]);
    expect(fiemap(fs, d2)).toEqual(["[0..31] 192..223 0x2001"]);
    expect(withOpen(fs, [d1, d3], (f1, f3) => runSync(fs.dedupeRange(f1!, 0, f3!, 0, 16384)))).toBe("differs");
    expect(withOpen(fs, [d1, d3], (f1, f3) => runSync(fs.dedupeRange(f1!, 0, f3!, 0, 8192)))).toBe(8192);
    expect(fiemap(fs, d3)).toEqual(["[0..15] 192..207 0x2000", "[16..31] 272..287 0x1"]);

    withOpen(fs, [d1], (f) => runSync(fs.fallocate(f!, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096)));
    runSync(fs.truncate(d1, 8192));
    expect(fiemap(fs, d1)).toEqual(["[0..7] 192..199 0x2001"]);
    expect(fiemap(fs, d2)).toEqual(["[0..15] 192..207 0x2000", "[16..31] 208..223 0x1"]);
    withOpen(fs, [d2], (f) => runSync(fs.fallocate(f!, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096)));
    runSync(fs.truncate(d2, 8192));
    expect(fiemap(fs, d2)).toEqual(["[0..15] 192..207 0x2001"]);

    // 208..271 is free again (8 blocks, not yet durable); the 32-block CoW fork
    // preallocation wants one piece and goes past it
    pwrite(fs, d3, 0x63, 0, 4096);
    expect(fiemap(fs, d1)).toEqual(["[0..7] 192..199 0x2001"]);
    expect(fiemap(fs, d3)).toEqual(["[0..7] 288..295 0x0", "[8..15] 200..207 0x2000", "[16..31] 272..287 0x1"]);
    expect(blocksOf(fs, d3)).toBe("63,61,62,62");
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("write_cow_while_mapped: write(2) CoWs and a same-file reflink then CoW reuse each inode's preallocation", () => {
    const { fs, dev } = oracleFs();
    const a = create(fs, "a");
    pwrite(fs, a, 0x61, 0, 16384);
    const b = create(fs, "b");
    withOpen(fs, [a, b], (fa, fb) => runSync(fs.clone(fa!, fb!)));
    pwrite(fs, b, 0x70, 0, 4096);
    pwrite(fs, a, 0x71, 4096, 4096);
    expect(fiemap(fs, a)).toEqual(["[0..7] 192..199 0x0", "[8..15] 488..495 0x0", "[16..31] 208..223 0x2001"]);
    expect(fiemap(fs, b)).toEqual(["[0..7] 224..231 0x0", "[8..15] 200..207 0x0", "[16..31] 208..223 0x2001"]);

    withOpen(fs, [a, a], (f, g) => runSync(fs.remapFileRange(f!, 4096, g!, 8192, 4096)));
    mwriteBlock(fs, dev, a, 2, 0x72);
    expect(fiemap(fs, a)).toEqual(["[0..7] 192..199 0x0", "[8..23] 488..503 0x0", "[24..31] 216..223 0x2001"]);
    expect(fiemap(fs, b)).toEqual(["[0..7] 224..231 0x0", "[8..23] 200..215 0x0", "[24..31] 216..223 0x2001"]);

    runSync(fs.unlink(fs.root, "b"));
    expect(fiemap(fs, a)).toEqual(["[0..7] 192..199 0x0", "[8..23] 488..503 0x0", "[24..31] 216..223 0x1"]);
    expect(blocksOf(fs, a)).toBe("61,71,72,61");
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("reflink_while_mapped: a write to a block no longer shared still lands in the CoW fork's preallocation", () => {
    const { fs, dev } = oracleFs();
    const a = create(fs, "a");
    pwrite(fs, a, 0x61, 0, 16384);
    for (let blk = 0; blk < 4; blk++) mwriteBlock(fs, dev, a, blk, 0x62);
    const b = create(fs, "b");
    withOpen(fs, [a, b], (fa, fb) => runSync(fs.remapFileRange(fa!, 0, fb!, 0, 16384)));
    mwriteBlock(fs, dev, a, 0, 0x63);
    expect(fiemap(fs, a)).toEqual(["[0..7] 224..231 0x0", "[8..31] 200..223 0x2001"]);
    expect(fiemap(fs, b)).toEqual(["[0..7] 192..199 0x0", "[8..31] 200..223 0x2001"]);

    mwriteBlock(fs, dev, b, 2, 0x64);
    expect(fiemap(fs, a)).toEqual(["[0..7] 224..231 0x0", "[8..15] 200..207 0x2000", "[16..23] 208..215 0x0", "[24..31] 216..223 0x2001"]);
    expect(fiemap(fs, b)).toEqual(["[0..7] 192..199 0x0", "[8..15] 200..207 0x2000", "[16..23] 496..503 0x0", "[24..31] 216..223 0x2001"]);

    runSync(fs.truncate(b, 0));
    mwriteBlock(fs, dev, a, 1, 0x65);
    expect(fiemap(fs, a)).toEqual(["[0..15] 224..239 0x0", "[16..31] 208..223 0x1"]);
    expect(blocksOf(fs, a)).toBe("63,65,62,62");
    expect(xfsCheckFs(fs)).toEqual([]);
  });
});
