import { bootVm, runSync, type Sleepable } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import { FS_XFLAG_DAX, type XfsInode } from "../inode/inode.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsMemFs, type XfsMemFsOptions } from "./mem-fs.js";
import { xfsFilesMount, xfsFilesUnmount } from "./mounted-fs.js";
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE,
  FALLOC_FL_ZERO_RANGE,
  STATX_ATTR_DAX,
  type XfsFileSystem,
} from "./xfs-fs.js";

const BS = 4096;
/** One past the last byte `xfs_flush_unmap_range()` covers for "to EOF and beyond". */
const END = Math.floor(Number.MAX_SAFE_INTEGER / BS) * BS;
const bytes = (v: number, n: number) => new Uint8Array(n).fill(v);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const statxDax = (fs: XfsFileSystem, ip: XfsInode) => (fs.statx(ip).attributes & STATX_ATTR_DAX) !== 0;

interface HookCall {
  hook: "layoutBreak" | "writeback" | "invalidate";
  ino: number;
  pos: number;
  len: number;
  /** i_rwsem and MMAPLOCK both held when called. */
  locked: boolean;
  /** Blocks the data fork mapped when called (extents must not have changed yet). */
  nblocks: number;
}

/** A DAX side that records what the file system asks of it. */
function recordDaxHooks(fs: XfsFileSystem): HookCall[] {
  const calls: HookCall[] = [];
  const rec = (hook: HookCall["hook"]) =>
    function* (ip: XfsInode, pos: number, len: number): Sleepable {
      calls.push({ hook, ino: ip.ino, pos, len, locked: ip.iRwsem.isLocked() && ip.mmapLock.isLocked(), nblocks: ip.nblocks });
    };
  fs.daxOps = { writeback: rec("writeback"), invalidate: rec("invalidate") };
  fs.layoutBreak = rec("layoutBreak");
  return calls;
}

function daxFile(opts: XfsMemFsOptions, name = "f", blocks = 8): { fs: XfsFileSystem; ip: XfsInode } {
  const fs = xfsMemFs({ daxMode: "always", ...opts });
  const ip = runSync(fs.create(fs.root, name));
  runSync(fs.write(ip, 0, bytes(7, blocks * BS)));
  return { fs, ip };
}

describe("S_DAX", () => {
  it("dax=always makes every new regular file DAX without the on-disk flag, directories never", () => {
    const fs = xfsMemFs({ daxMode: "always" });
    const f = runSync(fs.create(fs.root, "f"));
    const d = runSync(fs.mkdir(fs.root, "d"));
    expect([f.isDax(), f.flagDax(), statxDax(fs, f)]).toEqual([true, false, true]);
    expect([d.isDax(), statxDax(fs, d)]).toEqual([false, false]);
  });

  it("dax=inode follows the flag inherited from the directory; dax=never and a device without DAX ignore it", () => {
    for (const [opts, want] of [
      [{ daxMode: "inode" }, true],
      [{}, true], // no option is dax=inode
      [{ daxMode: "never" }, false],
      [{ daxMode: "inode", daxCapable: false }, false],
      [{ daxMode: "always", daxCapable: false }, false],
    ] as const) {
      const fs = xfsMemFs(opts);
      const d = runSync(fs.mkdir(fs.root, "d"));
      runSync(fs.setXattr(d, { xflags: FS_XFLAG_DAX }));
      const plain = runSync(fs.create(fs.root, "plain"));
      const f = runSync(fs.create(d, "f"));
      expect(f.flagDax()).toBe(true);
      expect([f.isDax(), statxDax(fs, f)]).toEqual([want, want]);
      expect(plain.isDax()).toBe(opts.daxMode === "always" && opts.daxCapable !== false);
      expect(fs.getXattr(f).xflags & FS_XFLAG_DAX).toBe(FS_XFLAG_DAX);
    }
  });

  it("setting FS_XFLAG_DAX on an open file under dax=inode changes S_DAX only after the last release", () => {
    const fs = xfsMemFs({ daxMode: "inode" });
    const ip = runSync(fs.create(fs.root, "f"));
    const f1 = fs.open(ip);
    const f2 = fs.open(ip);
    runSync(fs.setXattr(ip, { xflags: FS_XFLAG_DAX }));
    expect([ip.flagDax(), ip.isDax(), statxDax(fs, ip), ip.dontcache]).toEqual([true, false, false, true]);
    runSync(fs.release(f1));
    expect(ip.isDax()).toBe(false); // f2 still holds it
    runSync(fs.release(f2));
    expect([ip.isDax(), statxDax(fs, ip), ip.dontcache]).toEqual([true, true, false]);
    // and back: clearing the flag with no file open takes effect as the ioctl's file closes
    runSync(fs.setXattr(ip, { xflags: 0 }));
    expect([ip.flagDax(), ip.isDax()]).toEqual([false, false]);
  });

  it("under dax=always or dax=never the flag is stored but S_DAX never moves", () => {
    for (const daxMode of ["always", "never"] as const) {
      const fs = xfsMemFs({ daxMode });
      const ip = runSync(fs.create(fs.root, "f"));
      const before = ip.isDax();
      const file = fs.open(ip);
      runSync(fs.setXattr(ip, { xflags: before ? 0 : FS_XFLAG_DAX }));
      runSync(fs.release(file));
      expect([ip.isDax(), ip.dontcache, ip.flagDax()]).toEqual([before, false, !before]);
    }
  });

  it("a switch to DAX writes the cached pages back and drops them when the inode goes; close() with pages cached leaves it pending", () => {
    const vm = bootVm();
    const fs = xfsMemFs({ pageCache: vm.ctx });
    const ip = runSync(fs.create(fs.root, "f"));
    const file = fs.open(ip);
    runSync(fs.write(file, 0, bytes(6, 2 * BS)));
    runSync(fs.setXattr(ip, { xflags: FS_XFLAG_DAX }));
    fs.close(file); // cannot sleep, so cannot write the dirty pages back: stays non-DAX
    expect([ip.isDax(), ip.dontcache, ip.mapping!.nrpages]).toEqual([false, true, 2]);
    runSync(fs.release(fs.open(ip)));
    expect([ip.isDax(), ip.mapping!.nrpages, ip.mapping!.isDax]).toEqual([true, 0, true]);
    expect(same(runSync(fs.read(ip, 0, 2 * BS)), bytes(6, 2 * BS))).toBe(true);
    expect(fs.pagecacheStats.writepage).toBe(2);
  });

  it("IS_DAX is decided again from the on-disk flag and the mount option at every mount", () => {
    const dev = new RamDisk(64 * 1024 * 1024, { writeCache: true });
    xfsMkfs(dev, { reflink: true, rmapbt: true, agcount: 4 });
    let m = xfsFilesMount(dev, { daxMode: "inode" });
    const flagged = runSync(m.fs.create(m.fs.root, "flagged"));
    runSync(m.fs.create(m.fs.root, "plain"));
    m.fs.open(flagged); // held across the unmount: the switch waits for the next mount
    runSync(m.fs.setXattr(flagged, { xflags: FS_XFLAG_DAX }));
    expect(flagged.isDax()).toBe(false);
    xfsFilesUnmount(m);
    const daxOf = (mode: "inode" | "always" | "never", daxCapable = true) => {
      m = xfsFilesMount(dev, { daxMode: mode, daxCapable });
      const r = ["flagged", "plain"].map((n) => m.fs.lookup(m.fs.root, n)).map((ip) => [ip.flagDax(), ip.isDax()]);
      expect(m.fs.root.isDax()).toBe(false);
      xfsFilesUnmount(m);
      return r;
    };
    expect(daxOf("inode")).toEqual([[true, true], [false, false]]);
    expect(daxOf("always")).toEqual([[true, true], [false, true]]);
    expect(daxOf("never")).toEqual([[true, false], [false, false]]);
    expect(daxOf("always", false)).toEqual([[true, false], [false, false]]);
  });
});

describe("daxOps: DAX writeback and invalidation where the page cache is flushed", () => {
  /** The calls for one operation: layout break, writeback, invalidate, all locked, before extents change. */
  const flushed = (ip: XfsInode, pos: number, len: number, nblocks: number, breakLen = len): HookCall[] => [
    { hook: "layoutBreak", ino: ip.ino, pos, len: breakLen, locked: true, nblocks },
    { hook: "writeback", ino: ip.ino, pos: pos - (pos % BS), len: Math.min(END, Math.ceil((pos + len) / BS) * BS) - (pos - (pos % BS)), locked: true, nblocks },
    { hook: "invalidate", ino: ip.ino, pos: pos - (pos % BS), len: Math.min(END, Math.ceil((pos + len) / BS) * BS) - (pos - (pos % BS)), locked: true, nblocks },
  ];

  it("truncate writes back and invalidates from the new EOF, before any block is freed", () => {
    const { fs, ip } = daxFile({});
    const calls = recordDaxHooks(fs);
    runSync(fs.truncate(ip, 5000));
    expect(calls).toEqual([
      { hook: "layoutBreak", ino: ip.ino, pos: 5000, len: Number.MAX_SAFE_INTEGER, locked: true, nblocks: 8 },
      { hook: "writeback", ino: ip.ino, pos: BS, len: END - BS, locked: true, nblocks: 8 },
      { hook: "invalidate", ino: ip.ino, pos: BS, len: END - BS, locked: true, nblocks: 8 },
    ]);
    expect(ip.nblocks).toBe(2);
  });

  it("punch, zero and unshare cover their range rounded out to pages; collapse and insert run to EOF", () => {
    const { fs, ip } = daxFile({});
    const calls = recordDaxHooks(fs);
    const expectOp = (mode: number, off: number, len: number, want: [number, number, number?]) => {
      calls.length = 0;
      const n = ip.nblocks;
      runSync(fs.fallocate(ip, mode, off, len));
      expect(calls).toEqual(flushed(ip, want[0], want[1], n, want[2]));
    };
    expectOp(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * BS, BS, [2 * BS, BS]);
    expectOp(FALLOC_FL_ZERO_RANGE, 100, 5000, [100, 5000]);
    expectOp(FALLOC_FL_UNSHARE_RANGE, 0, 3 * BS, [0, 3 * BS]);
    expectOp(FALLOC_FL_COLLAPSE_RANGE, BS, BS, [BS, Number.MAX_SAFE_INTEGER]);
    expectOp(FALLOC_FL_INSERT_RANGE, 3 * BS, 2 * BS, [3 * BS, Number.MAX_SAFE_INTEGER]);
    // a plain preallocation changes no mapped block: layout break only
    calls.length = 0;
    runSync(fs.fallocate(ip, 0, 20 * BS, BS));
    expect(calls.map((c) => c.hook)).toEqual(["layoutBreak"]);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("clone writes both files back, then invalidates the destination range before remapping", () => {
    const { fs, ip: src } = daxFile({}, "src", 4);
    const dst = runSync(fs.create(fs.root, "dst"));
    runSync(fs.write(dst, 0, bytes(1, 6 * BS)));
    const calls = recordDaxHooks(fs);
    expect(runSync(fs.remapFileRange(fs.open(src), 0, fs.open(dst), BS, 2 * BS))).toBe(2 * BS);
    expect(calls.map((c) => [c.hook, c.ino, c.pos, c.len, c.locked])).toEqual([
      ["layoutBreak", src.ino, 0, 2 * BS, true],
      ["layoutBreak", dst.ino, BS, 2 * BS, true],
      ["writeback", src.ino, 0, 2 * BS, true],
      ["writeback", dst.ino, BS, 2 * BS, true],
      ["writeback", dst.ino, BS, 2 * BS, true],
      ["invalidate", dst.ino, BS, 2 * BS, true],
    ]);
    expect(calls.at(-1)!.nblocks).toBe(6); // still the old blocks when invalidated
    expect(fs.fiemap(dst)[1]!.fePhysical).toBe(fs.fiemap(src)[0]!.fePhysical);
  });

  it("eviction of an unlinked DAX file invalidates the whole file, at unlink or at its last release", () => {
    const { fs, ip } = daxFile({}, "a", 2);
    const b = runSync(fs.create(fs.root, "b"));
    const calls = recordDaxHooks(fs);
    runSync(fs.unlink(fs.root, "a"));
    expect(calls).toEqual([{ hook: "invalidate", ino: ip.ino, pos: 0, len: Number.MAX_SAFE_INTEGER, locked: false, nblocks: 2 }]);
    expect(ip.freed).toBe(true);
    calls.length = 0;
    const file = fs.open(b);
    runSync(fs.unlink(fs.root, "b"));
    expect(calls).toEqual([]);
    runSync(fs.release(file));
    expect(calls.map((c) => [c.hook, c.ino, c.pos])).toEqual([["invalidate", b.ino, 0]]);
    expect(b.freed).toBe(true);
  });

  it("is never called for non-DAX inodes", () => {
    for (const opts of [{ daxMode: "never" }, { daxMode: "inode" }, { daxMode: "always", daxCapable: false }] as const) {
      const { fs, ip } = daxFile(opts);
      const dst = runSync(fs.create(fs.root, "dst"));
      const calls = recordDaxHooks(fs);
      runSync(fs.fallocate(ip, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, BS));
      runSync(fs.truncate(ip, 3 * BS));
      runSync(fs.clone(fs.open(ip), fs.open(dst)));
      runSync(fs.unlink(fs.root, "f"));
      expect(calls.every((c) => c.hook === "layoutBreak")).toBe(true);
      expect(calls).toHaveLength(4);
    }
  });
});
