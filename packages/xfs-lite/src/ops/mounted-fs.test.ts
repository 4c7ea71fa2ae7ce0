import { runSync } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsLogIsClean } from "../mount/xfs-mount-ops.js";
import { FIEMAP_EXTENT_SHARED } from "./xfs-fs.js";
import { IOMAP_DAX, IOMAP_FAULT, IOMAP_F_DIRTY, IOMAP_F_NEW, IOMAP_F_SHARED, IOMAP_MAPPED, IOMAP_WRITE } from "./iomap.js";
import { xfsFilesMount, xfsFilesUnmount } from "./mounted-fs.js";

const bytes = (v: number, n: number) => new Uint8Array(n).fill(v);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

function freshDisk(): RamDisk {
  const dev = new RamDisk(64 * 1024 * 1024, { writeCache: true });
  xfsMkfs(dev, { reflink: true, rmapbt: true, agcount: 4 });
  return dev;
}

describe("xfs-lite on a device", () => {
  it("keeps files, clones and directories across unmount and mount", () => {
    const dev = freshDisk();
    let m = xfsFilesMount(dev);
    expect(m.fs.root.ino).toBe(128);
    const { fs } = m;
    const a = runSync(fs.create(fs.root, "a"));
    runSync(fs.write(a, 0, bytes(0x61, 5 * 4096 + 100)));
    const d = runSync(fs.mkdir(fs.root, "sub"));
    const b = runSync(fs.create(d, "b"));
    expect(runSync(fs.clone(fs.open(a), fs.open(b)))).toBe(5 * 4096 + 100);
    runSync(fs.write(b, 4096, bytes(0x62, 10)));
    expect(xfsCheckFs(fs)).toEqual([]);
    xfsFilesUnmount(m);
    expect(xfsLogIsClean(dev)).toBe(true);

    m = xfsFilesMount(dev);
    const a2 = m.fs.lookup(m.fs.root, "a");
    const b2 = m.fs.lookup(m.fs.lookup(m.fs.root, "sub"), "b");
    expect(same(runSync(m.fs.read(a2, 0, a2.size)), bytes(0x61, 5 * 4096 + 100))).toBe(true);
    const want = bytes(0x61, 5 * 4096 + 100);
    want.fill(0x62, 4096, 4106);
    expect(same(runSync(m.fs.read(b2, 0, b2.size)), want)).toBe(true);
    expect(m.fs.fiemap(b2).filter((e) => e.feFlags & FIEMAP_EXTENT_SHARED).length).toBeGreaterThan(0);
    expect(xfsCheckFs(m.fs)).toEqual([]);
    xfsFilesUnmount(m);
  });

  it("a fragmented file moves its extents into a bmbt and back", () => {
    const dev = freshDisk();
    let m = xfsFilesMount(dev);
    const f = runSync(m.fs.create(m.fs.root, "frag"));
    for (let i = 0; i < 60; i++) runSync(m.fs.write(f, i * 8192, bytes(i + 1, 4096)));
    expect(f.dataFork.nextents).toBe(60);
    expect(f.bmbtBlocks).toBeGreaterThan(0);
    expect(xfsCheckFs(m.fs)).toEqual([]);
    xfsFilesUnmount(m);
    m = xfsFilesMount(dev);
    const f2 = m.fs.lookup(m.fs.root, "frag");
    expect(f2.dataFork.nextents).toBe(60);
    expect(runSync(m.fs.read(f2, 59 * 8192, 4096))[0]).toBe(60);
    runSync(m.fs.truncate(f2, 8192));
    expect(f2.bmbtBlocks).toBe(0);
    expect(xfsCheckFs(m.fs)).toEqual([]);
    xfsFilesUnmount(m);
  });

  it("many names spill the root directory into blocks", () => {
    const dev = freshDisk();
    let m = xfsFilesMount(dev);
    for (let i = 0; i < 300; i++) runSync(m.fs.create(m.fs.root, `file-with-a-long-name-${i}`));
    runSync(m.fs.unlink(m.fs.root, "file-with-a-long-name-7"));
    xfsFilesUnmount(m);
    m = xfsFilesMount(dev);
    expect(m.fs.readdir(m.fs.root).length).toBe(299);
    expect(xfsCheckFs(m.fs)).toEqual([]);
    xfsFilesUnmount(m);
  });
});

describe("iomap for DAX writes", () => {
  it("turns holes into zeroed written blocks, reports DIRTY until fsync, and CoWs shared blocks with a srcmap", () => {
    const dev = freshDisk();
    const m = xfsFilesMount(dev);
    const { fs } = m;
    const a = runSync(fs.create(fs.root, "a"));
    const W = IOMAP_WRITE | IOMAP_DAX | IOMAP_FAULT;
    const { iomap } = fs.iomapBegin(a, 0, 4096, W);
    expect(iomap.type).toBe(IOMAP_MAPPED);
    expect(iomap.flags & (IOMAP_F_NEW | IOMAP_F_DIRTY)).toBe(IOMAP_F_NEW | IOMAP_F_DIRTY);
    const blk = new Uint8Array(4096).fill(0xff);
    fs.dev.readBlock(iomap.addr / 4096, blk);
    expect(blk.every((x) => x === 0)).toBe(true);
    fs.dev.writeBlock(iomap.addr / 4096, bytes(0x5a, 4096));
    fs.iomapEnd(a, 0, 4096, 4096, W, iomap);
    runSync(fs.truncate(a, 4096));
    runSync(fs.fsync(a));
    expect(fs.iomapBegin(a, 0, 4096, W).iomap.flags & IOMAP_F_DIRTY).toBe(0);

    const b = runSync(fs.create(fs.root, "b"));
    runSync(fs.clone(fs.open(a), fs.open(b)));
    const cow = fs.iomapBegin(b, 0, 4096, W);
    expect(cow.iomap.flags & IOMAP_F_SHARED).toBe(IOMAP_F_SHARED);
    expect(cow.srcmap).toMatchObject({ type: IOMAP_MAPPED, addr: iomap.addr });
    expect(cow.iomap.addr).not.toBe(iomap.addr);
    // dax_iomap_copy_around() then the new byte
    const data = bytes(0x5a, 4096);
    data[7] = 1;
    fs.dev.writeBlock(cow.iomap.addr / 4096, data);
    fs.iomapEnd(b, 0, 4096, 4096, W, cow.iomap);
    expect(runSync(fs.read(b, 0, 8))).toEqual(Uint8Array.from([0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 1]));
    expect(runSync(fs.read(a, 7, 1))[0]).toBe(0x5a);
    expect(fs.fiemap(b)[0]!.feFlags & FIEMAP_EXTENT_SHARED).toBe(0);
    expect(xfsCheckFs(fs)).toEqual([]);
    xfsFilesUnmount(m);
  });
});

describe("directories on disk", () => {
  it("a removed directory's blocks are reused for file data without stale directory writes", () => {
    const dev = freshDisk();
    let m = xfsFilesMount(dev);
    const d = runSync(m.fs.mkdir(m.fs.root, "big"));
    for (let i = 0; i < 200; i++) runSync(m.fs.create(d, `entry-number-${i}`));
    const dirBlocks = d.dataFork.nextents;
    expect(dirBlocks).toBeGreaterThan(0);
    for (let i = 0; i < 200; i++) runSync(m.fs.unlink(d, `entry-number-${i}`));
    runSync(m.fs.rmdir(m.fs.root, "big"));
    const f = runSync(m.fs.create(m.fs.root, "data"));
    runSync(m.fs.write(f, 0, bytes(0x77, 64 * 4096)));
    runSync(m.fs.fsync(f));
    xfsFilesUnmount(m);
    m = xfsFilesMount(dev);
    const f2 = m.fs.lookup(m.fs.root, "data");
    expect(same(runSync(m.fs.read(f2, 0, f2.size)), bytes(0x77, 64 * 4096))).toBe(true);
    expect(() => m.fs.lookup(m.fs.root, "big")).toThrow(/ENOENT/);
    expect(xfsCheckFs(m.fs)).toEqual([]);
    xfsFilesUnmount(m);
  });
});
