import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsAllocAgFreeSpace, xfsAllocVextent, xfsFreeExtent } from "../ag/xfs-alloc.js";
import { xfsRmapbtCur } from "../ag/xfs-ag-btrees.js";
import { XFS_RMAP_OWN_AG, XFS_RMAP_OWN_FS, XFS_RMAP_OWN_LOG } from "../rmap/types.js";
import { xfsTransAlloc, xfsTransAllocEmpty } from "../trans/xfs-trans.js";
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
});
