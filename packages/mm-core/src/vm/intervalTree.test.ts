import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IntervalTree } from "./intervalTree.js";

describe("IntervalTree", () => {
  it("yields overlapping intervals by start, equal starts in insertion order", () => {
    const t = new IntervalTree<string>();
    t.insert("b", 5, 9);
    t.insert("a", 0, 3);
    t.insert("c", 5, 6);
    t.insert("d", 12, 20);
    expect(t.overlapping(4, 5)).toEqual(["b", "c"]);
    expect(t.overlapping(0, 100)).toEqual(["a", "b", "c", "d"]);
    expect(t.overlapping(10, 11)).toEqual([]);
  });

  it("agrees with a linear scan under random inserts and removes, and stays balanced", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(200), fc.nat(30), fc.nat(60)), { maxLength: 200 }),
        fc.nat(220),
        fc.nat(40),
        (ops, qFirst, qLen) => {
          const t = new IntervalTree<number>();
          const model = new Map<number, [number, number, number]>();
          let seq = 0;
          ops.forEach(([ins, start, len, victim], id) => {
            if (ins || model.size === 0) {
              t.insert(id, start, start + len);
              model.set(id, [start, start + len, seq++]);
            } else {
              const keys = [...model.keys()];
              const k = keys[victim % keys.length]!;
              expect(t.remove(k)).toBe(true);
              model.delete(k);
            }
          });
          const expected = [...model.entries()]
            .filter(([, [s, l]]) => s <= qFirst + qLen && l >= qFirst)
            .sort((x, y) => x[1][0] - y[1][0] || x[1][2] - y[1][2])
            .map(([k]) => k);
          expect(t.overlapping(qFirst, qFirst + qLen)).toEqual(expected);
          expect(t.size).toBe(model.size);
          expect(t.height).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(model.size + 2)) + 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
