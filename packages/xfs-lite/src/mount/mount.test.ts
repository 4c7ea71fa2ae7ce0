import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsAllocAgFreeSpace, xfsAllocVextent, xfsFreeExtent } from "../ag/xfs-alloc.js";
import { xfsRmapbtCur } from "../ag/xfs-ag-btrees.js";
import { XFS_RMAP_OWN_AG, XFS_RMAP_OWN_FS, XFS_RMAP_OWN_LOG } from "../rmap/types.js";
import { xfsTransAlloc, xfsTransAllocEmpty } from "../trans/xfs-trans.js";
import { xfsLogSb } from "../ag/xfs-ag-headers.js";
import { isKernelError } from "@pagelab/mm-core";
import { xfsMkfs } from "./xfs-mkfs.js";
import { xfsLogIsClean, xfsMount, xfsRemount, xfsUnmount } from "./xfs-mount-ops.js";

const MiB = 1024 * 1024;

describe("mkfs, mount, unmount", () => {
  it("formats 4 AGs on 512 MiB with reflink and rmapbt, and mounts clean", () => {
    const dev = new RamDisk(512 * MiB);
    const geo = xfsMkfs(dev);
    expect(geo.agcount).toBe(4);
    expect(geo.agblocks).toBe(32768);
    expect(xfsLogIsClean(dev)).toBe(true);
    const mp = xfsMount(dev);
    expect(mp.mRecovery?.clean).toBe(true);
    expect(mp.hasReflink && mp.hasRmapbt).toBe(true);
    expect(mp.mFdblocks).toBe(geo.fdblocks);
    const tp = xfsTransAllocEmpty(mp);
    const owners = xfsRmapbtCur(tp, 2).records().map((r) => r.rmOwner);
    expect(owners).toContain(XFS_RMAP_OWN_FS);
    expect(owners).toContain(XFS_RMAP_OWN_AG);
    expect(owners).toContain(XFS_RMAP_OWN_LOG);
    tp.commit();
    xfsUnmount(mp);
  });

  it("keeps allocations across unmount and remount", () => {
    const dev = new RamDisk(64 * MiB);
    xfsMkfs(dev, { agcount: 2 });
    let mp = xfsMount(dev);
    const before = mp.mFdblocks;
    const tp = xfsTransAlloc(mp, { blocks: 10 });
    const r = xfsAllocVextent(tp, { type: "near", agno: 1, agbno: 100, minlen: 10, maxlen: 10, oinfo: { oiOwner: 1234, oiOffset: 0, oiFlags: 0 } });
    tp.commit();
    expect(mp.mFdblocks).toBeLessThanOrEqual(before - 10);
    const after = mp.mFdblocks;
    xfsUnmount(mp);
    mp = xfsMount(dev);
    expect(mp.mFdblocks).toBe(after);
    const t2 = xfsTransAllocEmpty(mp);
    const rm = xfsRmapbtCur(t2, 1).records().find((x) => x.rmOwner === 1234);
    expect(rm).toMatchObject({ rmStartblock: r.agbno, rmBlockcount: 10 });
    const fs = xfsAllocAgFreeSpace(t2, 1);
    expect(fs.bno.some((e) => e.arStartblock <= r.agbno && e.arStartblock + e.arBlockcount > r.agbno)).toBe(false);
    t2.commit();
    const t3 = xfsTransAlloc(mp);
    xfsFreeExtent(t3, r.fsbno, 10, { oiOwner: 1234, oiOffset: 0, oiFlags: 0 });
    t3.commit();
    xfsRemount(mp, { readonly: true });
    expect(xfsLogIsClean(dev)).toBe(true);
    xfsUnmount(mp);
  });

  it("recovers a logged superblock change and rebuilds the lazy counters after a crash", () => {
    const dev = new RamDisk(64 * MiB, { writeCache: true });
    xfsMkfs(dev, { agcount: 2 });
    const mp = xfsMount(dev);
    const tp = xfsTransAlloc(mp, { blocks: 30 });
    xfsAllocVextent(tp, { type: "thisAg", agno: 0, minlen: 30, maxlen: 30, oinfo: { oiOwner: 128, oiOffset: 0, oiFlags: 0 } });
    tp.modSb("icount", 64);
    tp.modSb("ifree", 63);
    mp.mSb.sbRootino = 128;
    xfsLogSb(tp);
    tp.commit({ sync: true });
    const free = mp.mFdblocks;
    dev.powerFail();
    dev.powerOn();
    expect(xfsLogIsClean(dev)).toBe(false);
    const mp2 = xfsMount(dev);
    expect(mp2.mRecovery?.clean).toBe(false);
    expect(mp2.mSb.sbRootino).toBe(128);
    expect(mp2.mFdblocks).toBe(free);
    xfsUnmount(mp2);
    const mp3 = xfsMount(dev);
    expect(mp3.mRecovery?.clean).toBe(true);
    expect(mp3.mFdblocks).toBe(free);
    expect(mp3.mSb.sbRootino).toBe(128);
  });

  it("a read-only remount refuses transactions with EROFS until remounted read-write", () => {
    const dev = new RamDisk(64 * MiB);
    xfsMkfs(dev, { agcount: 2 });
    const mp = xfsMount(dev);
    xfsRemount(mp, { readonly: true });
    try {
      xfsTransAlloc(mp);
      expect.unreachable();
    } catch (e) {
      expect(isKernelError(e, "EROFS")).toBe(true);
    }
    xfsRemount(mp, { readonly: false });
    xfsTransAlloc(mp).commit();
    xfsUnmount(mp);
    expect(xfsLogIsClean(dev)).toBe(true);
  });

  it("rmapbt=0 lays out the AGFL right after the refcount root (free space from block 13)", () => {
    const dev = new RamDisk(512 * MiB);
    xfsMkfs(dev, { rmapbt: false });
    const mp = xfsMount(dev);
    expect(mp.hasRmapbt).toBe(false);
    const tp = xfsTransAlloc(mp);
    const chunk = xfsAllocVextent(tp, { type: "near", agno: 0, agbno: 0, minlen: 8, maxlen: 8, alignment: 8, oinfo: null });
    expect(chunk.agbno).toBe(16);
    const data = xfsAllocVextent(tp, { type: "near", agno: 0, agbno: 16, minlen: 1, maxlen: 4, oinfo: null });
    expect([data.agbno, data.len]).toEqual([13, 3]);
    tp.commit();
  });
});
