import fc from "fast-check";
import { MAP_SHARED, PROT_READ, PROT_WRITE, SIGBUS } from "@pagelab/mm-core";
import { FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine } from "../machine.js";
import { O_CREAT, O_RDWR } from "../vfs/file.js";

const K = 4096;
const FILES = 3;
const MAP_PAGES = 8;

type Op =
  | { k: "pwrite"; f: number; off: number; len: number; v: number }
  | { k: "store"; f: number; off: number; len: number; v: number }
  | { k: "truncate"; f: number; size: number }
  | { k: "falloc"; f: number; mode: number; blk: number; blocks: number }
  | { k: "clone"; src: number; dst: number; sblk: number; dblk: number; blocks: number };

const file = fc.integer({ min: 0, max: FILES - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant("pwrite" as const), f: file, off: fc.integer({ min: 0, max: 6 * K }), len: fc.integer({ min: 1, max: 2 * K }), v: fc.integer({ min: 1, max: 255 }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("store" as const), f: file, off: fc.integer({ min: 0, max: MAP_PAGES * K - 64 }), len: fc.integer({ min: 1, max: 64 }), v: fc.integer({ min: 1, max: 255 }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant("truncate" as const), f: file, size: fc.integer({ min: 0, max: 7 * K }) }), weight: 1 },
  {
    arbitrary: fc.record({
    k: fc.constant("falloc" as const),
    f: file,
    mode: fc.constantFrom(0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE, FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE),
    blk: fc.integer({ min: 0, max: 5 }),
    blocks: fc.integer({ min: 1, max: 2 }),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ k: fc.constant("clone" as const), src: file, dst: file, sblk: fc.integer({ min: 0, max: 4 }), dblk: fc.integer({ min: 0, max: 4 }), blocks: fc.integer({ min: 1, max: 2 }) }), weight: 2 },
);

describe("the shadow of file bytes", () => {
  it("agrees with what read(2) returns after any sequence of writes, stores, truncates, fallocates and clones (failed calls change nothing)", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), (ops) => {
        const m = bootMachine();
        const p = m.spawn("t");
        p.task.dispositions.set(SIGBUS, "catch");
        const c = m.calls(p);
        const fds = Array.from({ length: FILES }, (_, i) => c.open(`/mnt/f${i}`, O_CREAT | O_RDWR));
        fds.forEach((fd, i) => c.pwrite(fd, new Uint8Array(6 * K).map((_, j) => 0x10 * (i + 1) + (j >> 12)), 0));
        const maps = fds.map((fd) => c.mmap({ len: MAP_PAGES * K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd }));
        for (const o of ops) {
          if (o.k === "pwrite") c.pwrite(fds[o.f]!, new Uint8Array(o.len).fill(o.v), o.off);
          else if (o.k === "store") c.store(maps[o.f]! + o.off, new Uint8Array(o.len).fill(o.v));
          else if (o.k === "truncate") c.ftruncate(fds[o.f]!, o.size);
          else if (o.k === "falloc") c.fallocate(fds[o.f]!, o.mode, o.blk * K, o.blocks * K);
          else c.clone(fds[o.dst]!, { srcFd: fds[o.src]!, srcOffset: o.sblk * K, srcLength: o.blocks * K, destOffset: o.dblk * K });
        }
        const failed = m.invariants().filter((r) => !r.ok);
        expect(failed).toEqual([]);
      }),
      { numRuns: 40, seed: 5 },
    );
  });
});
