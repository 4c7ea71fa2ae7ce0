import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { XfsRefcountMemBtree } from "./refcount-btree.js";
import {
  xfsRefcountAdjust,
  xfsRefcountAllocCow,
  xfsRefcountFindShared,
  xfsRefcountFreeCow,
  xfsRefcountOf,
  type XfsRefcountCtx,
} from "./refcount.js";
import { XFS_REFC_DOMAIN_COW, XFS_REFC_DOMAIN_SHARED } from "./types.js";

function ctx(): XfsRefcountCtx & { bt: XfsRefcountMemBtree; freed: [number, number][] } {
  const freed: [number, number][] = [];
  return { agno: 0, bt: new XfsRefcountMemBtree(), freed, freeExtent: (b, l) => void freed.push([b, l]) };
}

describe("xfs_refcount adjust", () => {
  it("records only shared blocks and deletes a record when its count falls to 1", () => {
    const c = ctx();
    xfsRefcountAdjust(c, 10, 10, 1);
    expect([...c.bt.records()]).toEqual([{ rcStartblock: 10, rcBlockcount: 10, rcRefcount: 2, rcDomain: XFS_REFC_DOMAIN_SHARED }]);
    xfsRefcountAdjust(c, 12, 3, 1);
    expect([...c.bt.records()].map((r) => [r.rcStartblock, r.rcBlockcount, r.rcRefcount])).toEqual([
      [10, 2, 2],
      [12, 3, 3],
      [15, 5, 2],
    ]);
    xfsRefcountAdjust(c, 12, 3, -1);
    // split records merge back once their counts agree
    expect([...c.bt.records()].map((r) => [r.rcStartblock, r.rcBlockcount, r.rcRefcount])).toEqual([[10, 10, 2]]);
    xfsRefcountAdjust(c, 10, 10, -1);
    expect(c.bt.size).toBe(0);
    expect(c.freed).toEqual([]);
    xfsRefcountAdjust(c, 10, 4, -1);
    expect(c.freed).toEqual([[10, 4]]);
  });

  it("keeps per-block counts equal to a model and records canonical (model check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 20 }), fc.boolean()), { maxLength: 60 }),
        (ops) => {
          const c = ctx();
          const model = new Array<number>(100).fill(1);
          for (const [b, l, inc] of ops) {
            // only blocks still owned are shared or released, as the callers guarantee
            if (model.slice(b, b + l).some((x) => x < 1)) continue;
            xfsRefcountAdjust(c, b, l, inc ? 1 : -1);
            for (let i = b; i < b + l; i++) model[i]! += inc ? 1 : -1;
          }
          for (let i = 0; i < 100; i++) {
            if (model[i]! >= 1) expect(xfsRefcountOf(c.bt, i)).toBe(model[i]);
          }
          const freedBlocks = c.freed.flatMap(([b, l]) => Array.from({ length: l }, (_, i) => b + i)).sort((a, b) => a - b);
          expect(freedBlocks).toEqual(model.flatMap((x, i) => (x === 0 ? [i] : [])));
          const recs = [...c.bt.records()];
          for (let i = 1; i < recs.length; i++) {
            const a = recs[i - 1]!;
            const b = recs[i]!;
            expect(a.rcStartblock + a.rcBlockcount <= b.rcStartblock).toBe(true);
            if (a.rcStartblock + a.rcBlockcount === b.rcStartblock) expect(a.rcRefcount).not.toBe(b.rcRefcount);
          }
          for (const r of recs) expect(r.rcRefcount).toBeGreaterThanOrEqual(2);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("finds the first shared run in a range", () => {
    const c = ctx();
    xfsRefcountAdjust(c, 10, 5, 1);
    xfsRefcountAdjust(c, 15, 5, 1);
    xfsRefcountAdjust(c, 15, 5, 1);
    expect(xfsRefcountFindShared(c.bt, 0, 10, true)).toEqual({ fbno: 10, flen: 0 });
    expect(xfsRefcountFindShared(c.bt, 0, 30, false)).toEqual({ fbno: 10, flen: 5 });
    expect(xfsRefcountFindShared(c.bt, 12, 30, true)).toEqual({ fbno: 12, flen: 8 });
  });

  it("tracks CoW staging extents in their own domain", () => {
    const c = ctx();
    xfsRefcountAllocCow(c, 50, 4);
    xfsRefcountAllocCow(c, 54, 4);
    expect([...c.bt.records()]).toEqual([{ rcStartblock: 50, rcBlockcount: 8, rcRefcount: 1, rcDomain: XFS_REFC_DOMAIN_COW }]);
    expect(xfsRefcountOf(c.bt, 51)).toBe(1);
    xfsRefcountFreeCow(c, 52, 2);
    expect([...c.bt.records()].map((r) => [r.rcStartblock, r.rcBlockcount])).toEqual([
      [50, 2],
      [54, 4],
    ]);
    expect(() => xfsRefcountFreeCow(c, 52, 2)).toThrow(/no CoW staging record/);
  });
});
