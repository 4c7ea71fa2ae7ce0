import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RangeSet } from "./range-set.js";

describe("RangeSet", () => {
  it("merges touching and overlapping ranges into one", () => {
    const s = new RangeSet();
    s.add(10, 20);
    s.add(20, 30);
    s.add(5, 12);
    expect(s.ranges()).toEqual([[5, 30]]);
    expect(s.size).toBe(25);
  });

  it("removing the middle of a range splits it and reports what was removed", () => {
    const s = new RangeSet();
    s.add(0, 100);
    expect(s.remove(40, 60)).toBe(20);
    expect(s.ranges()).toEqual([
      [0, 40],
      [60, 100],
    ]);
    expect(s.remove(30, 70)).toBe(20);
    expect(s.ranges()).toEqual([
      [0, 30],
      [70, 100],
    ]);
  });

  it("finds the first member of a window and clips ranges to it", () => {
    const s = new RangeSet();
    s.add(10, 20);
    s.add(40, 50);
    expect(s.firstIn(0, 10)).toBeUndefined();
    expect(s.firstIn(15, 45)).toBe(15);
    expect(s.firstIn(20, 45)).toBe(40);
    expect(s.ranges(15, 45)).toEqual([
      [15, 20],
      [40, 45],
    ]);
  });

  it("behaves like a set of integers under random adds and removes", () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 12 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new RangeSet();
        const model = new Set<number>();
        for (const [add, start, len] of ops) {
          if (add) {
            s.add(start, start + len);
            for (let i = start; i < start + len; i++) model.add(i);
          } else {
            let removed = 0;
            for (let i = start; i < start + len; i++) if (model.delete(i)) removed++;
            expect(s.remove(start, start + len)).toBe(removed);
          }
        }
        for (let i = 0; i < 80; i++) expect(s.has(i)).toBe(model.has(i));
        expect(s.size).toBe(model.size);
        const rs = s.ranges();
        for (let i = 1; i < rs.length; i++) expect(rs[i]![0]).toBeGreaterThan(rs[i - 1]![1]);
      }),
    );
  });
});
