import { describe, expect, it } from "vitest";
import { XfsRmapMemBtree } from "./rmap-btree.js";
import { xfsRmapConvert, xfsRmapMap, xfsRmapQueryRange, xfsRmapUnmap } from "./rmap.js";
import { XFS_RMAP_OWN_COW, XFS_RMAP_UNWRITTEN } from "./types.js";

const own = (ino: number, off: number, flags = 0) => ({ oiOwner: ino, oiOffset: off, oiFlags: flags });
const brief = (bt: XfsRmapMemBtree) => [...bt.records()].map((r) => [r.rmStartblock, r.rmBlockcount, r.rmOwner, r.rmOffset, r.rmFlags]);

describe("xfs_rmap", () => {
  it("merges contiguous mappings of one owner and splits on partial unmap", () => {
    const ctx = { agno: 0, bt: new XfsRmapMemBtree() };
    xfsRmapMap(ctx, 100, 4, own(131, 0));
    xfsRmapMap(ctx, 104, 4, own(131, 4));
    xfsRmapMap(ctx, 108, 2, own(131, 20)); // offsets not contiguous: no merge
    expect(brief(ctx.bt)).toEqual([
      [100, 8, 131, 0, 0],
      [108, 2, 131, 20, 0],
    ]);
    xfsRmapUnmap(ctx, 102, 3, own(131, 2));
    expect(brief(ctx.bt)).toEqual([
      [100, 2, 131, 0, 0],
      [105, 3, 131, 5, 0],
      [108, 2, 131, 20, 0],
    ]);
  });

  it("keeps several owners of one block and reports all of them", () => {
    const ctx = { agno: 0, bt: new XfsRmapMemBtree() };
    xfsRmapMap(ctx, 10, 6, own(131, 0));
    xfsRmapMap(ctx, 10, 6, own(132, 5));
    xfsRmapMap(ctx, 12, 2, own(131, 40)); // same inode, same blocks, other offset
    expect(xfsRmapQueryRange(ctx.bt, 13, 1).map((r) => [r.rmOwner, r.rmOffset + (13 - r.rmStartblock)])).toEqual([
      [131, 3],
      [132, 8],
      [131, 41],
    ]);
    expect(() => xfsRmapUnmap(ctx, 10, 2, own(133, 0))).toThrow(/no record/);
  });

  it("converts unwritten to written and merges with written neighbours", () => {
    const ctx = { agno: 0, bt: new XfsRmapMemBtree() };
    xfsRmapMap(ctx, 0, 4, own(131, 0));
    xfsRmapMap(ctx, 4, 4, own(131, 4, XFS_RMAP_UNWRITTEN));
    xfsRmapConvert(ctx, 4, 4, own(131, 4, XFS_RMAP_UNWRITTEN), 0);
    expect(brief(ctx.bt)).toEqual([[0, 8, 131, 0, 0]]);
  });

  it("merges CoW staging owners regardless of offsets", () => {
    const ctx = { agno: 0, bt: new XfsRmapMemBtree() };
    xfsRmapMap(ctx, 0, 4, own(XFS_RMAP_OWN_COW, 0));
    xfsRmapMap(ctx, 4, 4, own(XFS_RMAP_OWN_COW, 99));
    expect(brief(ctx.bt)).toEqual([[0, 8, XFS_RMAP_OWN_COW, 0, 0]]);
  });
});
