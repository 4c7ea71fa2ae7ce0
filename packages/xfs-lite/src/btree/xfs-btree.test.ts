import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RamDisk } from "../blockdev.js";
import { xfsAllocVextent } from "../ag/xfs-alloc.js";
import { xfsAgbToDaddr, type XfsMount } from "../mount/xfs-mount.js";
import { xfsMkfs } from "../mount/xfs-mkfs.js";
import { xfsMount } from "../mount/xfs-mount-ops.js";
import { rmapCompare, type XfsRmapIrec } from "../rmap/types.js";
import { xfsTransAlloc, type XfsTrans } from "../trans/xfs-trans.js";
import { NULLPTR } from "./xfs-btree-format.js";
import { xfsBnobtOps, xfsRmapRangeKeys, xfsRmapbtOps, type XfsAllocRec } from "./xfs-btree-records.js";
import { XFS_LOOKUP_EQ, XFS_LOOKUP_GE, XFS_LOOKUP_LE, XfsBtreeCur, type XfsBtreeOps, type XfsBtreeRoot } from "./xfs-btree.js";

const small = { leaf: 4, node: 4 };

/** A btree rooted in a JS variable, with blocks from a pool the allocator handed out. */
function testTree<R, K>(mp: XfsMount, ops: XfsBtreeOps<R, K>) {
  const setup = xfsTransAlloc(mp);
  const pool = xfsAllocVextent(setup, { type: "thisAg", agno: 0, minlen: 600, maxlen: 600, oinfo: null });
  setup.commit();
  const free = Array.from({ length: pool.len }, (_, i) => pool.agbno + i);
  const state = { ptr: NULLPTR, levels: 0, blocks: 0 };
  const root = (tp: XfsTrans): XfsBtreeRoot => ({
    owner: 0,
    getRoot: () => ({ ptr: state.ptr, levels: state.levels }),
    setRoot: (ptr, levels) => {
      state.ptr = ptr;
      state.levels = levels;
    },
    allocBlock: () => {
      state.blocks++;
      return free.pop()!;
    },
    freeBlock: (p) => {
      state.blocks--;
      free.push(p);
    },
    ptrToDaddr: (p) => xfsAgbToDaddr(mp, 0, p),
  });
  return { state, cur: (tp: XfsTrans) => new XfsBtreeCur(tp, ops, root(tp)) };
}

function mounted(): XfsMount {
  const dev = new RamDisk(16 * 1024 * 1024);
  xfsMkfs(dev, { agcount: 1, logBlocks: 256 });
  return xfsMount(dev);
}

const bnoOps = xfsBnobtOps(small);
const bnoKey = (start: number): XfsAllocRec => ({ arStartblock: start, arBlockcount: 0 });

describe("generic btree against a sorted-array model", () => {
  it("insert, delete, update and lookups agree with the model and keep the tree sound", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("ins", "ins", "del", "upd"), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 9 })), {
          minLength: 20,
          maxLength: 300,
        }),
        fc.array(fc.integer({ min: -5, max: 410 }), { minLength: 5, maxLength: 20 }),
        (ops, probes) => {
          const mp = mounted();
          const t = testTree(mp, bnoOps);
          const model = new Map<number, number>();
          let tp = xfsTransAlloc(mp);
          ops.forEach(([op, start, len], i) => {
            const cur = t.cur(tp);
            if (op === "ins" && !model.has(start)) {
              cur.insert({ arStartblock: start, arBlockcount: len });
              model.set(start, len);
              expect(cur.get()).toEqual({ arStartblock: start, arBlockcount: len });
            } else if (op === "del" && model.size > 0) {
              const keys = [...model.keys()].sort((a, b) => a - b);
              const k = keys[start % keys.length]!;
              expect(cur.lookup(XFS_LOOKUP_EQ, bnoKey(k))).toBe(true);
              cur.delete();
              model.delete(k);
            } else if (op === "upd" && model.has(start)) {
              expect(cur.lookup(XFS_LOOKUP_EQ, bnoKey(start))).toBe(true);
              cur.update({ arStartblock: start, arBlockcount: len });
              model.set(start, len);
            }
            if (i % 25 === 24) {
              tp.commit();
              tp = xfsTransAlloc(mp);
            }
          });
          const cur = t.cur(tp);
          const sorted = [...model.entries()].sort((a, b) => a[0] - b[0]).map(([s, l]) => ({ arStartblock: s, arBlockcount: l }));
          expect(cur.records()).toEqual(sorted);
          expect(cur.check()).toEqual([]);
          for (const p of probes) {
            const le = [...sorted].reverse().find((r) => r.arStartblock <= p);
            expect(cur.lookup(XFS_LOOKUP_LE, bnoKey(p))).toBe(le !== undefined);
            if (le) expect(cur.get()).toEqual(le);
            const ge = sorted.find((r) => r.arStartblock >= p);
            expect(cur.lookup(XFS_LOOKUP_GE, bnoKey(p))).toBe(ge !== undefined);
            if (ge) {
              expect(cur.get()).toEqual(ge);
              // walk backwards and forwards from there
              const idx = sorted.indexOf(ge);
              if (idx > 0) {
                expect(cur.decrement()).toBe(true);
                expect(cur.get()).toEqual(sorted[idx - 1]);
                expect(cur.increment()).toBe(true);
              }
              expect(cur.get()).toEqual(ge);
            }
          }
          tp.commit();
        },
      ),
      { numRuns: 25 },
    );
  });

  it("grows to several levels with small blocks and shrinks back to one empty leaf", () => {
    const mp = mounted();
    const t = testTree(mp, bnoOps);
    let tp = xfsTransAlloc(mp);
    for (let i = 0; i < 200; i++) t.cur(tp).insert({ arStartblock: i * 2, arBlockcount: 1 });
    expect(t.state.levels).toBeGreaterThanOrEqual(4);
    const cur = t.cur(tp);
    expect(cur.check()).toEqual([]);
    tp.commit();
    tp = xfsTransAlloc(mp);
    for (let i = 0; i < 200; i++) {
      const c = t.cur(tp);
      c.deleteKey(bnoKey(((i * 37) % 200) * 2));
      if (i % 20 === 0) expect(c.check()).toEqual([]);
    }
    expect(t.state.levels).toBe(1);
    expect(t.state.blocks).toBe(1);
    expect(t.cur(tp).records()).toEqual([]);
    tp.commit();
  });
});

describe("overlapping btree (rmapbt) interval queries", () => {
  const rops = xfsRmapbtOps(small);
  const arbRec = fc.record({
    rmStartblock: fc.integer({ min: 0, max: 300 }),
    rmBlockcount: fc.integer({ min: 1, max: 40 }),
    rmOwner: fc.oneof(fc.integer({ min: 100, max: 130 }), fc.constantFrom(-3, -5, -9)),
    rmOffset: fc.integer({ min: 0, max: 1000 }),
    rmFlags: fc.constantFrom(0, 4),
  });

  it("finds exactly the records whose block range overlaps the query, in key order", () => {
    fc.assert(
      fc.property(
        fc.array(arbRec, { minLength: 1, maxLength: 150 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 360 }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 15 }),
        (recs, queries) => {
          const mp = mounted();
          const t = testTree(mp, rops);
          const tp = xfsTransAlloc(mp);
          const model: XfsRmapIrec[] = [];
          for (const r0 of recs) {
            const r = r0.rmOwner < 0 ? { ...r0, rmOffset: 0, rmFlags: 0 } : r0;
            if (model.some((m) => rmapCompare(m, r) === 0)) continue;
            t.cur(tp).insert(r);
            model.push(r);
          }
          // delete a third to exercise merges with high keys
          for (const r of model.filter((_, i) => i % 3 === 0)) t.cur(tp).deleteKey({ ...r, rmBlockcount: 0 });
          const live = model.filter((_, i) => i % 3 !== 0).sort(rmapCompare);
          const cur = t.cur(tp);
          expect(cur.check()).toEqual([]);
          for (const [a, len] of queries) {
            const want = live.filter((r) => r.rmStartblock < a + len && r.rmStartblock + r.rmBlockcount > a);
            const got: XfsRmapIrec[] = [];
            const { low, high } = xfsRmapRangeKeys(a, len);
            cur.queryRange(low, high, (r) => {
              got.push(r);
            });
            expect(got).toEqual(want);
          }
          tp.commit();
        },
      ),
      { numRuns: 25 },
    );
  });

  it("prunes subtrees: a narrow query reads few blocks of a large tree", () => {
    const mp = mounted();
    const t = testTree(mp, xfsRmapbtOps({ leaf: 8, node: 8 }));
    let tp = xfsTransAlloc(mp);
    for (let i = 0; i < 400; i++) t.cur(tp).insert({ rmStartblock: i * 4, rmBlockcount: 2, rmOwner: 200 + i, rmOffset: 0, rmFlags: 0 });
    tp.commit();
    tp = xfsTransAlloc(mp);
    const { low, high } = xfsRmapRangeKeys(800, 8);
    const got: number[] = [];
    t.cur(tp).queryRange(low, high, (r) => {
      got.push(r.rmStartblock);
    });
    expect(got).toEqual([800, 804]);
    expect(tp.bufCount).toBeLessThanOrEqual(2 * t.state.levels + 2);
    tp.commit();
  });
});
