import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPmemPlatform } from "../nvdimm/platform.js";
import type { PersistenceDomain } from "./cache.js";

const BASE = 0x40000000;
const N = 8192; // two pages: whole-page fast paths and page-crossing ranges
const LINE = 64;

type Op =
  | { kind: "store" | "storeNt" | "memcpyFlushcache"; off: number; len: number; value: number }
  | { kind: "clwb" | "clflushopt"; off: number; len: number }
  | { kind: "sfence" | "powerFail" | "load" };

const clip = ([off, len]: [number, number]) => ({ off, len: Math.min(len, N - off) });
const range = fc.oneof(
  // short ranges around the few lines at the start of each page: many collisions
  fc.tuple(fc.integer({ min: 0, max: 511 }), fc.integer({ min: 1, max: 130 }), fc.boolean()).map(([o, l, hi]) => clip([o + (hi ? 4096 : 0), l])),
  // whole, aligned pages
  fc.tuple(fc.constantFrom(0, 4096), fc.constantFrom(4096, 8192)).map(clip),
  // anything, up to more than a page
  fc.tuple(fc.integer({ min: 0, max: N - 1 }), fc.integer({ min: 1, max: 5000 })).map(clip),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc
    .tuple(fc.constantFrom("store", "storeNt", "memcpyFlushcache") as fc.Arbitrary<"store" | "storeNt" | "memcpyFlushcache">, range, fc.integer({ min: 1, max: 255 }))
    .map(([kind, r, value]) => ({ kind, ...r, value })),
  fc.tuple(fc.constantFrom("clwb", "clflushopt") as fc.Arbitrary<"clwb" | "clflushopt">, range).map(([kind, r]) => ({ kind, ...r })),
  fc.constantFrom<Op>({ kind: "sfence" }, { kind: "powerFail" }, { kind: "load" }),
);

/** Cheap comparison; a full diff only on mismatch. */
function expectSame(got: Uint8Array, want: Uint8Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) expect({ what, byte: i, got: [...got] }).toEqual({ what, byte: i, got: [...want] });
  }
}

/**
 * What is visible (the last value stored at each byte) and what is durable (what a power
 * failure leaves), with the volatile state as plain per-line snapshots.
 */
class PersistenceModel {
  visible = new Uint8Array(N);
  durable = new Uint8Array(N);
  get pending(): { dirty: number; flushed: number; wc: number } {
    return { dirty: this.dirty.size, flushed: this.flushed.size, wc: this.wc.size };
  }

  private dirty = new Set<number>();
  private flushed = new Map<number, Uint8Array>();
  private wc = new Map<number, Uint8Array>();

  constructor(private readonly domain: PersistenceDomain) {}

  private lineCopy(line: number): Uint8Array {
    return this.visible.slice(line * LINE, line * LINE + LINE);
  }
  private lines(off: number, len: number): number[] {
    const out: number[] = [];
    for (let l = Math.floor(off / LINE); l <= Math.floor((off + len - 1) / LINE); l++) out.push(l);
    return out;
  }
  private writeBackLine(line: number): void {
    if (!this.dirty.has(line)) return;
    this.flushed.set(line, this.lineCopy(line));
    this.wc.delete(line);
    this.dirty.delete(line);
  }

  store(off: number, len: number, value: number): void {
    this.visible.fill(value, off, off + len);
    for (const l of this.lines(off, len)) this.dirty.add(l);
  }
  storeNt(off: number, len: number, value: number): void {
    for (const l of this.lines(off, len)) {
      this.writeBackLine(l);
      const s = Math.max(off, l * LINE);
      const e = Math.min(off + len, l * LINE + LINE);
      this.visible.fill(value, s, e);
      this.wc.set(l, this.lineCopy(l));
    }
  }
  writeBack(off: number, len: number): void {
    for (const l of this.lines(off, len)) this.writeBackLine(l);
  }
  memcpyFlushcache(off: number, len: number, value: number): void {
    const phys = BASE + off;
    const head = Math.min(len, (8 - (phys % 8)) % 8);
    const body = Math.floor((len - head) / 4) * 4;
    const tail = len - head - body;
    if (head) {
      this.store(off, head, value);
      this.writeBack(off, head);
    }
    if (body) this.storeNt(off + head, body, value);
    if (tail) {
      this.store(off + head + body, tail, value);
      this.writeBack(off + head + body, tail);
    }
  }
  sfence(): void {
    for (const [l, snap] of this.flushed) this.durable.set(snap, l * LINE);
    for (const [l, snap] of this.wc) this.durable.set(snap, l * LINE);
    this.flushed.clear();
    this.wc.clear();
  }
  powerFail(): void {
    if (this.domain === "eadr") {
      for (const [l, snap] of this.flushed) this.durable.set(snap, l * LINE);
      for (const l of this.dirty) this.durable.set(this.lineCopy(l), l * LINE);
    }
    this.dirty.clear();
    this.flushed.clear();
    this.wc.clear();
    this.visible = this.durable.slice();
  }
}

describe("persistence model (property)", () => {
  for (const domain of ["adr", "eadr"] as const) {
    it(`random store/clwb/sfence/storeNt/powerFail sequences match the byte-array model under ${domain}`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
          const p = createPmemPlatform({ persistenceDomain: domain, regions: [{ physAddr: BASE, size: 65536 }] });
          const m = new PersistenceModel(domain);
          for (const op of ops) {
            switch (op.kind) {
              case "store":
                p.store(BASE + op.off, new Uint8Array(op.len).fill(op.value));
                m.store(op.off, op.len, op.value);
                break;
              case "storeNt":
                p.storeNt(BASE + op.off, new Uint8Array(op.len).fill(op.value));
                m.storeNt(op.off, op.len, op.value);
                break;
              case "memcpyFlushcache":
                p.memcpyFlushcache(BASE + op.off, new Uint8Array(op.len).fill(op.value));
                m.memcpyFlushcache(op.off, op.len, op.value);
                break;
              case "clwb":
              case "clflushopt":
                p[op.kind](BASE + op.off, op.len);
                m.writeBack(op.off, op.len);
                break;
              case "sfence":
                p.sfence();
                m.sfence();
                break;
              case "powerFail":
                p.powerFail();
                m.powerFail();
                break;
              case "load": {
                const got = new Uint8Array(N);
                p.load(BASE, got);
                expectSame(got, m.visible, "loaded");
                break;
              }
            }
            expectSame(p.peek(BASE, N), m.visible, "visible");
            expectSame(p.peekMedia(BASE, N), m.durable, "durable");
            expect(p.pendingLines).toEqual(m.pending);
          }
        }),
        { numRuns: 200 },
      );
    });
  }

  it("after clwb + sfence of everything, power loss changes nothing the program can see (ADR)", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const p = createPmemPlatform({ regions: [{ physAddr: BASE, size: 65536 }] });
        for (const op of ops) {
          if (op.kind === "store" || op.kind === "storeNt" || op.kind === "memcpyFlushcache") {
            p[op.kind](BASE + op.off, new Uint8Array(op.len).fill(op.value));
          } else if (op.kind === "powerFail") p.powerFail();
        }
        const before = p.peek(BASE, N);
        p.clwb(BASE, N);
        p.sfence();
        expect(p.pendingLines).toEqual({ dirty: 0, flushed: 0, wc: 0 });
        p.powerFail();
        expectSame(p.peek(BASE, N), before, "after power loss");
      }),
    );
  });
});
