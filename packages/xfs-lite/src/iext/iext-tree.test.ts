import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { XfsIextTree, newIextCursor } from "./iext-tree.js";
import { SortedRecords } from "./sorted-records.js";
import { XFS_EXT_NORM, type XfsBmbtIrec } from "./types.js";

function rec(off: number, len: number, blk = off + 1000): XfsBmbtIrec {
  return { brStartoff: off, brStartblock: blk, brBlockcount: len, brState: XFS_EXT_NORM };
}

/** Insert at the sorted position found by lookupExtent, as bmap does. */
function insertSorted(t: XfsIextTree, r: XfsBmbtIrec): void {
  const cur = newIextCursor();
  if (!t.lookupExtent(r.brStartoff, cur)) t.endCursor(cur);
  t.insert(cur, r);
}

describe("xfs_iext tree", () => {
  it("lookupExtent finds the extent containing a block, or the next one", () => {
    const t = new XfsIextTree();
    for (const r of [rec(10, 5), rec(0, 2), rec(20, 1)]) insertSorted(t, r);
    const cur = newIextCursor();
    expect(t.lookupExtent(11, cur)).toBe(true);
    expect(t.peek(cur)?.brStartoff).toBe(10);
    expect(t.lookupExtent(2, cur)).toBe(true);
    expect(t.peek(cur)?.brStartoff).toBe(10);
    expect(t.lookupExtent(21, cur)).toBe(false);
    expect(t.lookupExtentBefore(10, cur)).toBe(true);
    expect(t.peek(cur)?.brStartoff).toBe(0);
    expect(t.lookupExtentBefore(0, cur)).toBe(false);
  });

  it("keeps order and content through splits and removals (model check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ op: fc.constantFrom("ins", "del"), k: fc.integer({ min: 0, max: 400 }) }), {
          maxLength: 600,
        }),
        (ops) => {
          const t = new XfsIextTree();
          const model = new Map<number, XfsBmbtIrec>();
          for (const { op, k } of ops) {
            const off = k * 2;
            const cur = newIextCursor();
            const found = t.lookupExtent(off, cur);
            const at = found ? t.peek(cur) : undefined;
            if (op === "ins" && !model.has(off)) {
              if (!found) t.endCursor(cur);
              t.insert(cur, rec(off, 1));
              expect(t.peek(cur)?.brStartoff).toBe(off);
              model.set(off, rec(off, 1));
            } else if (op === "del" && at?.brStartoff === off) {
              t.remove(cur);
              model.delete(off);
              const nextKey = [...model.keys()].filter((x) => x > off).sort((a, b) => a - b)[0];
              expect(t.valid(cur) ? t.peek(cur)?.brStartoff : undefined).toBe(nextKey);
            }
          }
          const want = [...model.values()].sort((a, b) => a.brStartoff - b.brStartoff);
          expect([...t.records()]).toEqual(want);
          expect(t.count()).toBe(want.length);
          // walking backwards from the end visits everything in reverse
          const cur = newIextCursor();
          t.last(cur);
          const back: number[] = [];
          while (t.valid(cur)) {
            back.push(t.peek(cur)!.brStartoff);
            t.prev(cur);
          }
          expect(back).toEqual(want.map((r) => r.brStartoff).reverse());
        },
      ),
      { numRuns: 150 },
    );
  });

  it("holds a million extents in typed arrays", () => {
    const t = new XfsIextTree();
    const cur = newIextCursor();
    for (let i = 0; i < 1_000_000; i++) {
      t.endCursor(cur);
      t.insert(cur, rec(i * 2, 1, i * 3));
    }
    expect(t.count()).toBe(1_000_000);
    let n = 0;
    let inOrder = true;
    for (const r of t.records()) {
      inOrder &&= r.brStartoff === n * 2 && r.brStartblock === n * 3;
      n++;
    }
    expect([n, inOrder]).toEqual([1_000_000, true]);
    for (const i of [0, 31, 32, 33, 500_000, 999_999]) {
      expect(t.lookupExtent(i * 2, cur)).toBe(true);
      expect(t.peek(cur)).toEqual(rec(i * 2, 1, i * 3));
    }
    // appending packs the leaves full
    expect(t.memoryBytes()).toBeLessThan(1_000_000 * 32 * 1.01);
  });
});

describe("SortedRecords", () => {
  it("answers LE/GE lookups like a sorted array (model check)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 })), { maxLength: 500 }), (ops) => {
        const s = new SortedRecords<number>((a, b) => a - b);
        const model = new Set<number>();
        for (const [ins, k] of ops) {
          if (ins && !model.has(k)) {
            s.insert(k);
            model.add(k);
          } else if (!ins) {
            expect(s.delete(k)).toBe(model.has(k) ? k : undefined);
            model.delete(k);
          }
        }
        const sorted = [...model].sort((a, b) => a - b);
        expect([...s.all()]).toEqual(sorted);
        for (let k = -1; k <= 301; k += 7) {
          expect(s.lookupLe(k)).toBe(sorted.filter((x) => x <= k).at(-1));
          expect(s.lookupGe(k)).toBe(sorted.find((x) => x >= k));
          expect([...s.walkBackFrom(k)]).toEqual(sorted.filter((x) => x <= k).reverse());
        }
      }),
      { numRuns: 150 },
    );
  });
});
