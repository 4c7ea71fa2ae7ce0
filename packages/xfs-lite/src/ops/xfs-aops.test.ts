import { bootVm, filemapPeek, mappingDirtyIndexes, runSync, type VmMachine } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsFilesMount, xfsFilesUnmount, type XfsMountedFs } from "./mounted-fs.js";
import { xfsMemFs } from "./mem-fs.js";
import { xfsWriteAndWaitRange } from "./xfs-aops.js";
import { FS_XFLAG_DAX, type XfsInode } from "../inode/inode.js";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FIEMAP_EXTENT_SHARED, type XfsFileSystem } from "./xfs-fs.js";

const BS = 4096;
const bytes = (v: number, n: number) => new Uint8Array(n).fill(v);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

function freshDisk(): RamDisk {
  const dev = new RamDisk(64 * 1024 * 1024, { writeCache: true });
  xfsMkfs(dev, { reflink: true, rmapbt: true, agcount: 4 });
  return dev;
}

/** What the device holds at file-system byte address `addr`. */
function devRead(dev: RamDisk, addr: number, n: number): Uint8Array {
  const buf = new Uint8Array(Math.ceil(n / 512) * 512);
  dev.read(addr / 512, buf);
  return buf.subarray(0, n);
}

function mount(dev: RamDisk, vm: VmMachine): XfsMountedFs {
  return xfsFilesMount(dev, { pageCache: vm.ctx });
}

function physOf(fs: XfsFileSystem, ip: XfsInode, fileOff: number): number {
  const e = fs.fiemap(ip).find((x) => x.feLogical <= fileOff && fileOff < x.feLogical + x.feLength)!;
  return e.fePhysical + (fileOff - e.feLogical);
}

describe("buffered I/O through the page cache", () => {
  it("a write is readable before fsync but reaches the device only at fsync, and survives remount", () => {
    const dev = freshDisk();
    const vm = bootVm();
    const m = mount(dev, vm);
    const { fs } = m;
    const ip = runSync(fs.create(fs.root, "f"));
    const data = bytes(0x5a, 2 * BS + 100);
    runSync(fs.write(ip, 0, data));
    expect(ip.size).toBe(2 * BS + 100);
    expect(same(runSync(fs.read(ip, 0, ip.size)), data)).toBe(true);
    expect(mappingDirtyIndexes(ip.mapping!)).toEqual([0, 1, 2]);
    expect(fs.fiemap(ip)).toEqual([]); // no block allocated yet
    expect(fs.pagecacheStats.writepage).toBe(0);

    runSync(fs.fsync(ip));
    expect(mappingDirtyIndexes(ip.mapping!)).toEqual([]);
    expect(fs.pagecacheStats.writepage).toBe(3);
    expect(same(devRead(dev, physOf(fs, ip, 0), data.length), data)).toBe(true);
    // the tail past EOF went out as zeros
    expect(devRead(dev, physOf(fs, ip, 2 * BS), BS).subarray(100).every((x) => x === 0)).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);

    dev.powerFail();
    dev.powerOn();
    const m2 = xfsFilesMount(dev); // no page cache: the blocks alone
    const ip2 = m2.fs.lookup(m2.fs.root, "f");
    expect(same(runSync(m2.fs.read(ip2, 0, ip2.size)), data)).toBe(true);
    expect(xfsCheckFs(m2.fs)).toEqual([]);
  });

  it("a clean page is never written back, and pages are read once", () => {
    const dev = freshDisk();
    const vm = bootVm();
    let m = mount(dev, vm);
    const ip = runSync(m.fs.create(m.fs.root, "f"));
    runSync(m.fs.write(ip, 0, bytes(1, 3 * BS)));
    xfsFilesUnmount(m);
    m = mount(dev, vm);
    const ip2 = m.fs.lookup(m.fs.root, "f");
    runSync(m.fs.read(ip2, 0, 3 * BS));
    runSync(m.fs.read(ip2, BS, 10));
    expect(m.fs.pagecacheStats.readFolio).toBe(3);
    runSync(m.fs.fsync(ip2));
    runSync(m.fs.syncFs());
    expect(m.fs.pagecacheStats.writepage).toBe(0);
    xfsFilesUnmount(m);
  });

  it("unmount writes dirty pages back and gives every page back to the buddy allocator", () => {
    const dev = freshDisk();
    const vm = bootVm();
    const free0 = vm.mem.buddy.nrFreePages();
    let m = mount(dev, vm);
    const ip = runSync(m.fs.create(m.fs.root, "f"));
    runSync(m.fs.write(ip, BS / 2, bytes(7, 4 * BS)));
    expect(vm.mem.buddy.nrFreePages()).toBe(free0 - 5);
    xfsFilesUnmount(m);
    expect(vm.mem.buddy.nrFreePages()).toBe(free0);
    m = xfsFilesMount(dev);
    const got = runSync(m.fs.read(m.fs.lookup(m.fs.root, "f"), 0, 5 * BS));
    const want = new Uint8Array(BS / 2 + 4 * BS);
    want.fill(7, BS / 2);
    expect(same(got, want)).toBe(true);
  });

  it("a power loss before fsync loses the unsynced write and leaves a clean file system", () => {
    const dev = freshDisk();
    const vm = bootVm();
    const m = mount(dev, vm);
    const ip = runSync(m.fs.create(m.fs.root, "f"));
    runSync(m.fs.write(ip, 0, bytes(0x41, 2 * BS)));
    runSync(m.fs.fsync(ip));
    runSync(m.fs.write(ip, 100, bytes(0x42, BS)));
    const g = runSync(m.fs.create(m.fs.root, "g"));
    runSync(m.fs.write(g, 0, bytes(0x43, BS)));
    expect(runSync(m.fs.read(ip, 100, 1))[0]).toBe(0x42);
    dev.powerFail();
    dev.powerOn();
    const m2 = xfsFilesMount(dev, { pageCache: bootVm().ctx });
    const ip2 = m2.fs.lookup(m2.fs.root, "f");
    expect(same(runSync(m2.fs.read(ip2, 0, ip2.size)), bytes(0x41, 2 * BS))).toBe(true);
    expect(xfsCheckFs(m2.fs)).toEqual([]);
  });

  it("a buffered write past EOF logs the new size only when writeback reaches the data", () => {
    const dev = freshDisk();
    const vm = bootVm();
    const { fs } = mount(dev, vm);
    const f = runSync(fs.create(fs.root, "f"));
    runSync(fs.write(f, 0, bytes(1, BS)));
    runSync(fs.fsync(f));
    runSync(fs.write(f, BS, bytes(2, 2 * BS)));
    expect(f.size).toBe(3 * BS);
    expect(f.diskSize).toBe(BS);
    // writeback of the middle page alone: the logged size covers it, not the last page
    expect(runSync(xfsWriteAndWaitRange(vm.ctx, f, BS, BS))).toBe(1);
    expect(f.diskSize).toBe(2 * BS);
    // another file's fsync forces the log: f's in-core size must not ride along (no zeros)
    const g = runSync(fs.create(fs.root, "g"));
    runSync(fs.write(g, 0, bytes(3, 10)));
    runSync(fs.fsync(g));
    dev.powerFail();
    dev.powerOn();
    let m2 = xfsFilesMount(dev);
    let f2 = m2.fs.lookup(m2.fs.root, "f");
    expect(f2.size).toBe(2 * BS);
    const part = bytes(2, 2 * BS);
    part.fill(1, 0, BS);
    expect(same(runSync(m2.fs.read(f2, 0, f2.size)), part)).toBe(true);
    expect(m2.fs.lookup(m2.fs.root, "g").size).toBe(10);
    expect(xfsCheckFs(m2.fs)).toEqual([]);

    // once written back, the size is logged with the data
    xfsFilesUnmount(m2);
    const c = mount(dev, vm);
    f2 = c.fs.lookup(c.fs.root, "f");
    runSync(c.fs.write(f2, BS, bytes(2, 2 * BS)));
    runSync(c.fs.fsync(f2));
    expect(f2.diskSize).toBe(3 * BS);
    dev.powerFail();
    dev.powerOn();
    m2 = xfsFilesMount(dev);
    f2 = m2.fs.lookup(m2.fs.root, "f");
    const want = bytes(2, 3 * BS);
    want.fill(1, 0, BS);
    expect(same(runSync(m2.fs.read(f2, 0, f2.size)), want)).toBe(true);
  });

  it("writing a block shared with a clone breaks sharing only at writeback; the clone keeps its data", () => {
    const dev = freshDisk();
    const vm = bootVm();
    const { fs } = mount(dev, vm);
    const a = runSync(fs.create(fs.root, "a"));
    runSync(fs.write(a, 0, bytes(0x61, 4 * BS)));
    const b = runSync(fs.create(fs.root, "b"));
    expect(runSync(fs.clone(fs.open(a), fs.open(b)))).toBe(4 * BS);
    const shared = fs.fiemap(b);
    expect(shared).toHaveLength(1);
    expect(shared[0]!.feFlags & FIEMAP_EXTENT_SHARED).toBeTruthy();
    const oldPhys = physOf(fs, b, BS);

    runSync(fs.write(b, BS + 10, bytes(0x62, 20)));
    expect(fs.fiemap(b)).toEqual(shared); // still the shared blocks: nothing written yet
    expect(fs.fiemap(a)).toEqual(shared);
    const want = bytes(0x61, 4 * BS);
    want.fill(0x62, BS + 10, BS + 30);
    expect(same(runSync(fs.read(b, 0, 4 * BS)), want)).toBe(true);
    expect(same(runSync(fs.read(a, 0, 4 * BS)), bytes(0x61, 4 * BS))).toBe(true);

    runSync(fs.fsync(b));
    const after = fs.fiemap(b);
    expect(after.map((e) => [e.feLogical, e.feLength, e.feFlags & FIEMAP_EXTENT_SHARED])).toEqual([
      [0, BS, FIEMAP_EXTENT_SHARED],
      [BS, BS, 0],
      [2 * BS, 2 * BS, FIEMAP_EXTENT_SHARED],
    ]);
    expect(physOf(fs, b, BS)).not.toBe(oldPhys);
    expect(physOf(fs, a, BS)).toBe(oldPhys);
    expect(fs.fiemap(a).map((e) => e.feFlags & FIEMAP_EXTENT_SHARED)).toEqual([FIEMAP_EXTENT_SHARED, 0, FIEMAP_EXTENT_SHARED]);
    expect(same(devRead(dev, oldPhys, BS), bytes(0x61, BS))).toBe(true);
    expect(same(devRead(dev, physOf(fs, b, BS), BS), want.subarray(BS, 2 * BS))).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("dedupe compares what the page cache holds, not the stale blocks", () => {
    const vm = bootVm();
    const fs = xfsMemFs({ pageCache: vm.ctx });
    const a = runSync(fs.create(fs.root, "a"));
    const b = runSync(fs.create(fs.root, "b"));
    runSync(fs.write(a, 0, bytes(9, 2 * BS)));
    runSync(fs.write(b, 0, bytes(9, 2 * BS)));
    runSync(fs.syncFs());
    // a mismatch that only the cache knows about
    runSync(fs.write(b, BS + 5, Uint8Array.of(1)));
    const onDisk = new Uint8Array(BS);
    fs.dev.readBlock(physOf(fs, b, BS) / BS, onDisk);
    expect(onDisk.every((x) => x === 9)).toBe(true);
    expect(runSync(fs.dedupeRange(fs.open(a), 0, fs.open(b), 0, 2 * BS))).toBe("differs");
    expect(fs.fiemap(b).some((e) => e.feFlags & FIEMAP_EXTENT_SHARED)).toBe(false);
    expect(runSync(fs.read(b, BS + 5, 1))[0]).toBe(1);

    // and a match that only the cache knows about dedupes
    runSync(fs.write(b, BS + 5, Uint8Array.of(9)));
    expect(runSync(fs.dedupeRange(fs.open(a), 0, fs.open(b), 0, 2 * BS))).toBe(2 * BS);
    expect(fs.fiemap(b).every((e) => e.feFlags & FIEMAP_EXTENT_SHARED)).toBe(true);
    expect(same(runSync(fs.read(b, 0, 2 * BS)), bytes(9, 2 * BS))).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("punch and truncate drop the cached pages of their range back to the buddy allocator", () => {
    const vm = bootVm();
    const { memmap } = vm.ctx;
    const fs = xfsMemFs({ pageCache: vm.ctx });
    const ip = runSync(fs.create(fs.root, "f"));
    const free0 = vm.mem.buddy.nrFreePages();
    runSync(fs.write(ip, 0, bytes(3, 4 * BS)));
    const m = ip.mapping!;
    const pfns = [0, 1, 2, 3].map((i) => filemapPeek(m, i)!);
    expect(pfns.map((p) => memmap.pageRefCount(p))).toEqual([1, 1, 1, 1]);
    expect(vm.mem.buddy.nrFreePages()).toBe(free0 - 4);

    runSync(fs.fallocate(ip, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, BS + 100, BS));
    // pages 1 and 2 (the range rounded out) were written back and dropped; 0 and 3 stay dirty
    expect(filemapPeek(m, 1)).toBeNull();
    expect(filemapPeek(m, 2)).toBeNull();
    expect(memmap.pageRefCount(pfns[1]!)).toBe(0);
    expect(memmap.pageRefCount(pfns[2]!)).toBe(0);
    expect(vm.mem.buddy.nrFreePages()).toBe(free0 - 2);
    expect(mappingDirtyIndexes(m)).toEqual([0, 3]);
    const want = bytes(3, 4 * BS);
    want.fill(0, BS + 100, 2 * BS + 100);
    expect(same(runSync(fs.read(ip, 0, 4 * BS)), want)).toBe(true);

    runSync(fs.truncate(ip, BS + 50));
    expect(m.nrpages).toBe(1);
    expect(filemapPeek(m, 0)).toBe(pfns[0]);
    expect(memmap.pageRefCount(pfns[3]!)).toBe(0);
    expect(same(runSync(fs.read(ip, 0, 2 * BS)), want.subarray(0, BS + 50))).toBe(true);
    runSync(fs.truncate(ip, 3 * BS));
    expect(same(runSync(fs.read(ip, BS, 2 * BS)), new Uint8Array([...want.subarray(BS, BS + 50), ...new Uint8Array(2 * BS - 50)]))).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);

    const writes = fs.pagecacheStats.writepage;
    runSync(fs.write(ip, 0, bytes(4, BS)));
    runSync(fs.unlink(fs.root, "f"));
    // eviction drops dirty pages without writing them
    expect(fs.pagecacheStats.writepage).toBe(writes);
    expect(vm.mem.buddy.nrFreePages()).toBe(free0);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("DAX inodes bypass the page cache", () => {
    const vm = bootVm();
    const fs = xfsMemFs({ pageCache: vm.ctx });
    const ip = runSync(fs.create(fs.root, "d"));
    runSync(fs.setXattr(ip, { xflags: FS_XFLAG_DAX }));
    runSync(fs.write(ip, 0, bytes(5, BS)));
    expect(ip.mapping?.isDax).toBe(true);
    expect(ip.mapping?.nrpages ?? 0).toBe(0);
    expect(fs.fiemap(ip)).toHaveLength(1); // blocks written at once
    expect(runSync(fs.read(ip, 0, BS))[0]).toBe(5);
    expect(fs.pagecacheStats.readFolio + fs.pagecacheStats.writepage).toBe(0);
  });

  it("switching a file to DAX writes its cached pages back first", () => {
    const vm = bootVm();
    const fs = xfsMemFs({ pageCache: vm.ctx });
    const ip = runSync(fs.create(fs.root, "f"));
    runSync(fs.write(ip, 0, bytes(6, 2 * BS)));
    runSync(fs.setXattr(ip, { xflags: FS_XFLAG_DAX }));
    expect(ip.mapping!.nrpages).toBe(0);
    expect(same(runSync(fs.read(ip, 0, 2 * BS)), bytes(6, 2 * BS))).toBe(true);
  });

  it("a writeback that runs out of space is reported by fsync", () => {
    const vm = bootVm();
    const fs = xfsMemFs({ pageCache: vm.ctx, agcount: 1, agblocks: 64 });
    const ip = runSync(fs.create(fs.root, "f"));
    runSync(fs.write(ip, 0, bytes(1, 100 * BS))); // accepted: nothing is reserved at write time
    expect(() => runSync(fs.fsync(ip))).toThrow(expect.objectContaining({ code: "ENOSPC" }));
    expect(fs.pagecacheStats.writeErrors).toBeGreaterThan(0);
    runSync(fs.fsync(ip)); // the error was reported once
    expect(xfsCheckFs(fs)).toEqual([]);
  });
});
