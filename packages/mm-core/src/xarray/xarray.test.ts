import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { XA_MARK_0, XA_MARK_1, XA_MARK_2, XArray, type XaMark } from "./xarray.js";
import { xaIsValue, xaMkValue, xaToValue } from "./value.js";

const entriesOf = <T extends {}>(xa: XArray<T>, start = 0, last?: number) => [...xa.entries(start, last)];

describe("XArray layout", () => {
  it("keeps a lone entry at index 0 in the head, with no node", () => {
    const xa = new XArray<string>();
    xa.store(0, "a");
    expect(xa.nodes).toBe(0);
    expect(xa.load(0)).toBe("a");
    expect(xa.lastWalkDepth).toBe(0);
    xa.checkTree();
  });

  it("walks one node per 6 bits of index", () => {
    const xa = new XArray<string>();
    xa.store(5, "a");
    expect(xa.load(5)).toBe("a");
    expect(xa.lastWalkDepth).toBe(1);
    xa.store(2 ** 18 + 3, "b");
    expect(xa.load(2 ** 18 + 3)).toBe("b");
    expect(xa.lastWalkDepth).toBe(4);
    expect(xa.load(5)).toBe("a");
    expect(xa.lastWalkDepth).toBe(4);
    expect(xa.nodes).toBe(4 + 3);
    const before = xa.nodesVisited;
    xa.load(2 ** 18 + 3);
    expect(xa.nodesVisited - before).toBe(4);
    xa.checkTree();
  });

  it("handles indices beyond 2^32 with arithmetic, not 32-bit operators", () => {
    const xa = new XArray<number>();
    const big = 2 ** 45 + 2 ** 33 + 7;
    xa.store(big, 1);
    xa.store(7, 2);
    expect(xa.load(big)).toBe(1);
    expect(xa.load(7)).toBe(2);
    expect(xa.load(2 ** 33 + 7)).toBeUndefined();
    expect(entriesOf(xa)).toEqual([
      [7, 2],
      [big, 1],
    ]);
    xa.checkTree();
  });

  it("shrinks back to a head entry when the far entry is erased", () => {
    const xa = new XArray<string>();
    xa.store(0, "a");
    xa.store(2 ** 20, "b");
    expect(xa.nodes).toBeGreaterThan(3);
    expect(xa.erase(2 ** 20)).toBe("b");
    expect(xa.nodes).toBe(0);
    expect(xa.load(0)).toBe("a");
    expect(xa.lastWalkDepth).toBe(0);
    expect(xa.erase(0)).toBe("a");
    expect(xa.isEmpty()).toBe(true);
    xa.checkTree();
  });
});

describe("XArray multi-index entries", () => {
  it("stores an order-9 entry as 8 slots of a shift-6 node", () => {
    const xa = new XArray<string>();
    xa.storeOrder(512 + 17, 9, "pmd");
    expect(xa.nodes).toBe(1);
    for (const i of [512, 600, 1023]) expect(xa.load(i)).toBe("pmd");
    expect(xa.load(511)).toBeUndefined();
    expect(xa.load(1024)).toBeUndefined();
    expect(xa.entryOrder(700)).toBe(9);
    expect(xa.count).toBe(1);
    expect(entriesOf(xa)).toEqual([[512, "pmd"]]);
    expect(entriesOf(xa, 700)).toEqual([[700, "pmd"]]);
    xa.checkTree();
  });

  it("replaces the whole multi-index entry when an index inside it is stored", () => {
    const xa = new XArray<string>();
    xa.storeOrder(512, 9, "pmd");
    xa.setMark(512, XA_MARK_0);
    expect(xa.store(600, "pte")).toBe("pmd");
    expect(xa.load(512)).toBe("pte");
    expect(xa.load(1023)).toBe("pte");
    expect(xa.entryOrder(512)).toBe(9);
    expect(xa.getMark(1000, XA_MARK_0)).toBe(true);
    expect(xa.count).toBe(1);
    xa.checkTree();
  });

  it("erases the whole range from any index inside it", () => {
    const xa = new XArray<string>();
    xa.store(3, "x");
    xa.storeOrder(4096, 12, "big");
    expect(xa.erase(4096 + 4000)).toBe("big");
    expect(xa.load(4096)).toBeUndefined();
    expect(xa.load(8191)).toBeUndefined();
    expect(xa.load(3)).toBe("x");
    expect(xa.count).toBe(1);
    xa.checkTree();
  });

  it("discards smaller entries under a new multi-index entry and folds their marks into it", () => {
    const xa = new XArray<string>();
    xa.store(513, "a");
    xa.store(700, "b");
    xa.store(1024, "outside");
    xa.setMark(700, XA_MARK_1);
    expect(xa.storeOrder(512, 9, "pmd")).toBeUndefined();
    expect(xa.count).toBe(2);
    expect(xa.getMark(512, XA_MARK_1)).toBe(true);
    expect(xa.getMark(512, XA_MARK_0)).toBe(false);
    expect(xa.load(1024)).toBe("outside");
    xa.checkTree();
  });

  it("splits an entry into smaller ones carrying the same value and marks", () => {
    const xa = new XArray<string>();
    xa.storeOrder(0, 9, "pmd");
    xa.setMark(0, XA_MARK_2);
    xa.split(300, 0);
    expect(xa.count).toBe(512);
    expect(xa.entryOrder(300)).toBe(0);
    expect(xa.load(511)).toBe("pmd");
    expect([...xa.marked(0, 1000, XA_MARK_2)]).toHaveLength(512);
    xa.erase(5);
    expect(xa.load(4)).toBe("pmd");
    expect(xa.load(5)).toBeUndefined();
    xa.checkTree();
  });
});

describe("XArray marks", () => {
  it("propagates marks up so a marked walk skips unmarked subtrees", () => {
    const xa = new XArray<number>();
    for (let i = 0; i < 64 * 64; i += 3) xa.store(i, i);
    xa.setMark(3999, XA_MARK_0);
    expect(xa.anyMarked(XA_MARK_0)).toBe(true);
    let before = xa.nodesVisited;
    expect([...xa.marked(0, Infinity, XA_MARK_0)]).toEqual([[3999, 3999]]);
    const markedCost = xa.nodesVisited - before;
    before = xa.nodesVisited;
    expect(entriesOf(xa)).toHaveLength(Math.ceil(4096 / 3));
    const fullCost = xa.nodesVisited - before;
    expect(markedCost).toBe(2);
    expect(fullCost).toBe(65);
    xa.clearMark(3999, XA_MARK_0);
    expect(xa.anyMarked(XA_MARK_0)).toBe(false);
    xa.checkTree();
  });

  it("drops an entry's marks when it is erased and keeps them when it is replaced", () => {
    const xa = new XArray<string>();
    xa.store(70, "a");
    xa.setMark(70, XA_MARK_0);
    xa.store(70, "b");
    expect(xa.getMark(70, XA_MARK_0)).toBe(true);
    xa.erase(70);
    xa.store(70, "c");
    expect(xa.getMark(70, XA_MARK_0)).toBe(false);
    expect(xa.anyMarked(XA_MARK_0)).toBe(false);
    xa.checkTree();
  });

  it("ignores a mark set on an absent index", () => {
    const xa = new XArray<string>();
    xa.store(1, "a");
    xa.setMark(2, XA_MARK_0);
    expect(xa.anyMarked(XA_MARK_0)).toBe(false);
    expect(xa.find(0, 100, XA_MARK_0)).toBeUndefined();
  });
});

describe("XArray value entries", () => {
  it("round-trips values as odd numbers", () => {
    expect(xaMkValue(0)).toBe(1);
    expect(xaMkValue(21)).toBe(43);
    expect(xaIsValue(43)).toBe(true);
    expect(xaIsValue(42)).toBe(false);
    expect(xaIsValue("43")).toBe(false);
    expect(xaToValue(43)).toBe(21);
    expect(() => xaToValue(42)).toThrow(RangeError);
    const xa = new XArray<number>();
    xa.store(9, xaMkValue(2 ** 40));
    expect(xaToValue(xa.load(9)!)).toBe(2 ** 40);
  });
});

// ---- model-based property test -------------------------------------------------------

interface ModelRange {
  start: number;
  size: number;
  entry: number;
  marks: Set<XaMark>;
}

class Model {
  ranges: ModelRange[] = [];
  find(i: number) {
    return this.ranges.find((r) => i >= r.start && i < r.start + r.size);
  }
  storeOrder(i: number, order: number, entry: number): number | undefined {
    const size = 2 ** order;
    const start = Math.floor(i / size) * size;
    const outer = this.find(start);
    if (outer && outer.size > size) {
      const old = outer.entry;
      outer.entry = entry;
      return old;
    }
    const inside = this.ranges.filter((r) => r.start >= start && r.start < start + size);
    const marks = new Set<XaMark>();
    inside.forEach((r) => r.marks.forEach((m) => marks.add(m)));
    const old = this.find(start)?.entry;
    this.ranges = this.ranges.filter((r) => !inside.includes(r));
    this.ranges.push({ start, size, entry, marks });
    return old;
  }
  erase(i: number): number | undefined {
    const r = this.find(i);
    if (r) this.ranges = this.ranges.filter((x) => x !== r);
    return r?.entry;
  }
  entries(start: number, last: number, mark?: XaMark): [number, number][] {
    return this.ranges
      .filter((r) => r.start + r.size - 1 >= start && r.start <= last && (mark === undefined || r.marks.has(mark)))
      .sort((a, b) => a.start - b.start)
      .map((r) => [Math.max(r.start, start), r.entry]);
  }
}

type Op =
  | { op: "store"; index: number; order: number; entry: number }
  | { op: "erase"; index: number }
  | { op: "set" | "clear"; index: number; mark: XaMark }
  | { op: "split"; index: number; order: number };

const indexArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 24 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 63, 64, 4095, 4096, 262_143, 2 ** 32, 2 ** 32 + 511, 2 ** 45) },
);
const markArb = fc.constantFrom<XaMark>(XA_MARK_0, XA_MARK_1, XA_MARK_2);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("store" as const),
      index: indexArb,
      order: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 13 })),
      entry: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("erase" as const), index: indexArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("set" as const), index: indexArb, mark: markArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const), index: indexArb, mark: markArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("split" as const), index: indexArb, order: fc.integer({ min: 0, max: 8 }) }),
  },
);

describe("XArray against a model", () => {
  it("agrees with a range map on loads, orders, marks, iteration and counts", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 80 }), (ops) => {
        const xa = new XArray<number>();
        const model = new Model();
        const probes = new Set<number>();
        for (const o of ops) {
          probes.add(o.index);
          switch (o.op) {
            case "store":
              expect(xa.storeOrder(o.index, o.order, o.entry)).toBe(model.storeOrder(o.index, o.order, o.entry));
              break;
            case "erase":
              expect(xa.erase(o.index)).toBe(model.erase(o.index));
              break;
            case "set":
              xa.setMark(o.index, o.mark);
              model.find(o.index)?.marks.add(o.mark);
              break;
            case "clear":
              xa.clearMark(o.index, o.mark);
              model.find(o.index)?.marks.delete(o.mark);
              break;
            case "split": {
              const r = model.find(o.index);
              if (!r || Math.log2(r.size) <= o.order) break;
              xa.split(o.index, o.order);
              model.ranges = model.ranges.filter((x) => x !== r);
              for (let s = r.start; s < r.start + r.size; s += 2 ** o.order)
                model.ranges.push({ start: s, size: 2 ** o.order, entry: r.entry, marks: new Set(r.marks) });
              break;
            }
          }
          xa.checkTree();
        }
        expect(xa.count).toBe(model.ranges.length);
        expect(xa.isEmpty()).toBe(model.ranges.length === 0);
        for (const p of probes) {
          const r = model.find(p);
          expect(xa.load(p)).toBe(r?.entry);
          expect(xa.entryOrder(p)).toBe(r ? Math.log2(r.size) : 0);
          for (const m of [0, 1, 2] as const) expect(xa.getMark(p, m)).toBe(r?.marks.has(m) ?? false);
          expect(entriesOf(xa, p, p + 5000)).toEqual(model.entries(p, p + 5000));
        }
        expect(entriesOf(xa)).toEqual(model.entries(0, Number.MAX_SAFE_INTEGER));
        for (const m of [0, 1, 2] as const) {
          expect([...xa.marked(0, Number.MAX_SAFE_INTEGER, m)]).toEqual(model.entries(0, Number.MAX_SAFE_INTEGER, m));
          expect(xa.anyMarked(m)).toBe(model.ranges.some((r) => r.marks.has(m)));
          const first = model.entries(0, Number.MAX_SAFE_INTEGER, m)[0];
          expect(xa.find(0, Number.MAX_SAFE_INTEGER, m)).toEqual(first);
        }
      }),
      { numRuns: 100 },
    );
  });
});
