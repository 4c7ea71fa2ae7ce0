/**
 * Extent size hints (FS_XFLAG_EXTSIZE / EXTSZINHERIT) and the data stripe unit: the
 * ioctl's checks, the hint-aligned allocation, stripe-aligned placement, and
 * scenarios/pmd_fault_shared replayed on its mkfs geometry against Linux 6.12's fiemap.
 */
import { isKernelError, runSync } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsCheckFs } from "../check/check.js";
import { FS_XFLAG_COWEXTSIZE, FS_XFLAG_EXTSIZE, FS_XFLAG_EXTSZINHERIT, type XfsInode } from "../inode/inode.js";
import { xfsMkfs, type XfsMkfsOptions } from "../mount/xfs-mkfs.js";
import { IOMAP_DAX, IOMAP_FAULT, IOMAP_WRITE } from "./iomap.js";
import { xfsMemFs } from "./mem-fs.js";
import { xfsFilesMount, xfsFilesUnmount } from "./mounted-fs.js";
import { FIEMAP_EXTENT_LAST, FIEMAP_EXTENT_UNWRITTEN, type XfsFileSystem } from "./xfs-fs.js";

const BS = 4096;
const MiB = 1 << 20;
const fill = (v: number, n: number) => new Uint8Array(n).fill(v);

function errno(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return undefined;
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

function mounted(mkfs: XfsMkfsOptions, daxMode: "always" | "never", size = 512 * MiB) {
  const dev = new RamDisk(size);
  xfsMkfs(dev, { reflink: true, rmapbt: true, ...mkfs });
  return { dev, ...xfsFilesMount(dev, { daxMode }) };
}

describe("extent size hint ioctl (FS_IOC_FSSETXATTR / FSGETXATTR)", () => {
  it("sets and reports the hint in bytes on an empty regular file", () => {
    const fs = xfsMemFs();
    const f = runSync(fs.create(fs.root, "f"));
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 2 * MiB }));
    expect(fs.getXattr(f)).toMatchObject({ xflags: FS_XFLAG_EXTSIZE, extsize: 2 * MiB });
    expect(f.extszHint()).toBe(512);
    // the CoW hint is the larger of the two (xfs_get_cowextsz_hint)
    expect(f.cowextszHint()).toBe(512);
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 0 }));
    expect(fs.getXattr(f)).toMatchObject({ xflags: 0, extsize: 0 });
    expect(f.cowextszHint()).toBe(32);
  });

  it("rejects what xfs_ioctl_setattr_check_extsize() rejects with EINVAL", () => {
    const fs = xfsMemFs();
    const f = runSync(fs.create(fs.root, "f"));
    const d = runSync(fs.mkdir(fs.root, "d"));
    const agblocks = fs.backend.geo.agblocks;
    expect(errno(() => runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 4097 })))).toBe("EINVAL");
    expect(errno(() => runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: (agblocks / 2 + 1) * BS })))).toBe("EINVAL");
    expect(errno(() => runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 2 ** 21 * BS })))).toBe("EINVAL");
    expect(errno(() => runSync(fs.setXattr(f, { xflags: 0, extsize: 64 * 1024 })))).toBe("EINVAL");
    expect(errno(() => runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSZINHERIT, extsize: 64 * 1024 })))).toBe("EINVAL");
    expect(errno(() => runSync(fs.setXattr(d, { xflags: FS_XFLAG_EXTSIZE, extsize: 64 * 1024 })))).toBe("EINVAL");
    expect(fs.getXattr(f)).toMatchObject({ xflags: 0, extsize: 0 });
  });

  it("keeps a file's hint once it holds data: a change is EINVAL, the same value passes", () => {
    const fs = xfsMemFs();
    const f = runSync(fs.create(fs.root, "f"));
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 64 * 1024 }));
    runSync(fs.write(f, 0, fill(0x61, BS)));
    expect(errno(() => runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 128 * 1024 })))).toBe("EINVAL");
    expect(errno(() => runSync(fs.setXattr(f, { xflags: 0, extsize: 0 })))).toBe("EINVAL");
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE | FS_XFLAG_COWEXTSIZE, extsize: 64 * 1024, cowextsize: 128 * 1024 }));
    expect(fs.getXattr(f)).toMatchObject({ extsize: 64 * 1024, cowextsize: 128 * 1024 });
    const g = runSync(fs.create(fs.root, "g"));
    runSync(fs.write(g, 0, fill(0x62, BS)));
    expect(errno(() => runSync(fs.setXattr(g, { xflags: FS_XFLAG_EXTSIZE, extsize: 64 * 1024 })))).toBe("EINVAL");
  });

  it("a directory's EXTSZINHERIT gives new files the hint and new directories the flag", () => {
    const fs = xfsMemFs();
    const d = runSync(fs.mkdir(fs.root, "d"));
    runSync(fs.setXattr(d, { xflags: FS_XFLAG_EXTSZINHERIT, extsize: 1 * MiB }));
    const f = runSync(fs.create(d, "f"));
    const sub = runSync(fs.mkdir(d, "sub"));
    expect(fs.getXattr(f)).toMatchObject({ xflags: FS_XFLAG_EXTSIZE, extsize: MiB });
    expect(fs.getXattr(sub)).toMatchObject({ xflags: FS_XFLAG_EXTSZINHERIT, extsize: MiB });
    expect(fs.getXattr(runSync(fs.create(fs.root, "plain")))).toMatchObject({ xflags: 0, extsize: 0 });
  });

  it("persists the hint in the inode (di_extsize, XFS_DIFLAG_EXTSIZE) across a remount", () => {
    const m = mounted({}, "never", 64 * MiB);
    const f = runSync(m.fs.create(m.fs.root, "f"));
    runSync(m.fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 256 * 1024 }));
    xfsFilesUnmount(m);
    const again = xfsFilesMount(m.dev);
    const f2 = again.fs.lookup(again.fs.root, "f")!;
    expect(again.fs.getXattr(f2)).toMatchObject({ xflags: FS_XFLAG_EXTSIZE, extsize: 256 * 1024 });
    xfsFilesUnmount(again);
  });
});

describe("allocation under an extent size hint", () => {
  it("a 4 KiB write to a 2 MiB-hinted file allocates one 2 MiB extent, the rest unwritten", () => {
    const { fs } = mounted({}, "never");
    const f = runSync(fs.create(fs.root, "f"));
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 2 * MiB }));
    runSync(fs.write(f, 4 * BS, fill(0x61, BS)));
    const ext = fs.fiemap(f);
    expect(ext.map((e) => [e.feLogical, e.feLength, e.feFlags])).toEqual([
      [0, 4 * BS, FIEMAP_EXTENT_UNWRITTEN],
      [4 * BS, BS, 0],
      [5 * BS, 2 * MiB - 5 * BS, FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_LAST],
    ]);
    // one physical extent: contiguous across the three state runs
    expect(ext[1]!.fePhysical).toBe(ext[0]!.fePhysical + 4 * BS);
    expect(ext[2]!.fePhysical).toBe(ext[0]!.fePhysical + 5 * BS);
    expect(fs.statx(f).blocks).toBe((2 * MiB) / 512);
    const data = runSync(fs.read(f, 0, 5 * BS));
    expect(data.subarray(0, 4 * BS)).toEqual(fill(0, 4 * BS));
    expect(data.subarray(4 * BS)).toEqual(fill(0x61, BS));
    // the next write lands inside the preallocation: nothing new is allocated
    runSync(fs.write(f, MiB, fill(0x62, BS)));
    expect(fs.statx(f).blocks).toBe((2 * MiB) / 512);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("under DAX the whole hinted extent is zeroed and written (XFS_BMAPI_ZERO)", () => {
    const { fs, dev } = mounted({}, "always");
    const f = runSync(fs.create(fs.root, "f"));
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 1 * MiB }));
    // stale bytes in the free blocks the file will take (AG 0 from block 24)
    dev.write((24 * BS) / 512, fill(0xee, 2 * MiB));
    // a DAX write fault on block 0 (iomap_begin with IOMAP_DAX), then the store
    const flags = IOMAP_WRITE | IOMAP_FAULT | IOMAP_DAX;
    const { iomap } = fs.iomapBegin(f, 0, BS, flags);
    expect([iomap.offset, iomap.length]).toEqual([0, BS]);
    dev.write(iomap.addr / 512, fill(0x61, BS));
    fs.iomapEnd(f, 0, BS, BS, flags, iomap);
    const [e] = fs.fiemap(f);
    expect([e!.feLogical, e!.feLength, e!.feFlags]).toEqual([0, MiB, FIEMAP_EXTENT_LAST]);
    const blocks = new Uint8Array(MiB);
    dev.read(e!.fePhysical / 512, blocks);
    expect(blocks.subarray(0, BS)).toEqual(fill(0x61, BS));
    expect(blocks.subarray(BS).every((b) => b === 0)).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);
  });

  it("fallocate reserves whole hint-aligned extents", () => {
    const { fs } = mounted({}, "never");
    const f = runSync(fs.create(fs.root, "f"));
    runSync(fs.setXattr(f, { xflags: FS_XFLAG_EXTSIZE, extsize: 64 * 1024 }));
    runSync(fs.fallocate(f, 0, 70 * 1024, 10 * 1024));
    expect(fs.fiemap(f).map((e) => [e.feLogical, e.feLength])).toEqual([[64 * 1024, 64 * 1024]]);
    expect(xfsCheckFs(fs)).toEqual([]);
  });
});

describe("stripe unit (mkfs -d su=,sw=)", () => {
  it("records sb_unit/sb_width and puts the first inode chunk on a stripe-unit boundary", () => {
    const dev = new RamDisk(512 * MiB);
    const r = xfsMkfs(dev, { agcount: 2, sunit: 512, swidth: 512 });
    expect([r.sunit, r.swidth, r.agblocks % 512]).toEqual([512, 512, 0]);
    const m = xfsFilesMount(dev);
    expect([m.mp.mSb.sbUnit, m.mp.mSb.sbWidth]).toEqual([512, 512]);
    // root inode: AG 0 block 512, inode 512 << 3
    expect(m.fs.root.ino).toBe(0x1000);
    xfsFilesUnmount(m);
    expect(() => xfsMkfs(new RamDisk(64 * MiB), { sunit: 512, swidth: 768 })).toThrow(/stripe/);
  });

  it("the first large file's extents start 2 MiB aligned with su=2m, and not without it", () => {
    for (const sunit of [512, 0]) {
      const { fs } = mounted(sunit > 0 ? { agcount: 2, sunit, swidth: sunit } : { agcount: 2 }, "always");
      const f = runSync(fs.create(fs.root, "big"));
      runSync(fs.write(f, 0, fill(0x61, 4 * MiB)));
      const starts = fs.fiemap(f).map((e) => e.fePhysical);
      if (sunit > 0) expect(starts.every((p) => p % (2 * MiB) === 0)).toBe(true);
      else expect(starts[0]! % (2 * MiB)).not.toBe(0);
      // a write shorter than the stripe unit is placed near its inode, unaligned
      const s = runSync(fs.create(fs.root, "small"));
      runSync(fs.write(s, 0, fill(0x62, BS)));
      expect(fs.fiemap(s)[0]!.fePhysical % (2 * MiB)).not.toBe(0);
      expect(xfsCheckFs(fs)).toEqual([]);
    }
  });
});

describe("scenarios/pmd_fault_shared on Linux 6.12's geometry", () => {
  it("p and its reflink clone q give the fiemap lines Linux printed, before and after a PMD write fault", () => {
    // mkfs.xfs -m reflink=1,rmapbt=1 -d agcount=2,su=2m,sw=1 -l size=64m on 512 MiB pmem
    const { fs, dev } = mounted({ agcount: 2, sunit: 512, swidth: 512, logBlocks: 16384 }, "always");
    const p = runSync(fs.create(fs.root, "p"));
    // root 0x1000 at the stripe-aligned chunk, then mkfs's rbmino/rsumino: p is 0x1003 as in the trace
    expect(p.ino).toBe(0x1003);
    runSync(fs.setXattr(p, { xflags: FS_XFLAG_EXTSIZE, extsize: 2 * MiB }));
    runSync(fs.write(p, 0, fill(0x61, 2 * MiB)));
    runSync(fs.write(p, 2 * MiB, fill(0x61, 2 * MiB)));
    runSync(fs.fsync(p));
    expect(fiemap(fs, p)).toEqual(["[0..8191] 8192..16383 0x1"]);
    const q = runSync(fs.create(fs.root, "q"));
    const fp = fs.open(p);
    const fq = fs.open(q);
    runSync(fs.remapFileRange(fp, 0, fq, 0, 4 * MiB, 0));
    fs.close(fp);
    fs.close(fq);
    expect(fiemap(fs, q)).toEqual(["[0..8191] 8192..16383 0x2001"]);
    // mwrite -S 0x62 8k 1: a PMD write fault asks iomap for the whole 2 MiB at 0
    const flags = IOMAP_WRITE | IOMAP_FAULT | IOMAP_DAX;
    const { iomap, srcmap } = fs.iomapBegin(q, 0, 2 * MiB, flags);
    expect([iomap.length, srcmap?.length]).toEqual([2 * MiB, 2 * MiB]);
    // the fault copies the 2 MiB from the shared extent, then the store lands
    const copy = new Uint8Array(2 * MiB);
    dev.read(srcmap!.addr / 512, copy);
    copy[8192] = 0x62;
    dev.write(iomap.addr / 512, copy);
    fs.iomapEnd(q, 0, 2 * MiB, 2 * MiB, flags, iomap);
    expect(fiemap(fs, p)).toEqual(["[0..4095] 8192..12287 0x0", "[4096..8191] 12288..16383 0x2001"]);
    expect(fiemap(fs, q)).toEqual(["[0..4095] 16384..20479 0x0", "[4096..8191] 12288..16383 0x2001"]);
    const qd = runSync(fs.read(q, 0, 4 * MiB));
    expect(qd.findIndex((b) => b !== 0x61)).toBe(8192);
    expect(qd[8192]).toBe(0x62);
    expect(qd.subarray(8193).every((b) => b === 0x61)).toBe(true);
    expect(runSync(fs.read(p, 0, 4 * MiB)).every((b) => b === 0x61)).toBe(true);
    expect(xfsCheckFs(fs)).toEqual([]);
  });
});
