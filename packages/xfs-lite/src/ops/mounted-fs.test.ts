import { runSync } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsLogIsClean } from "../mount/xfs-mount-ops.js";
import { FIEMAP_EXTENT_SHARED } from "./xfs-fs.js";
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
