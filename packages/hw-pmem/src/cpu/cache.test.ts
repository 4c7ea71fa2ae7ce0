import { describe, expect, it } from "vitest";
import { createPmemPlatform } from "../nvdimm/platform.js";

const BASE = 0x40000000;

function bytes(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

describe("CPU cache and persistence domain", () => {
  it("loads see the latest store before anything is durable", () => {
    const p = createPmemPlatform();
    p.store(BASE + 10, bytes(100, 1));
    const got = new Uint8Array(120);
    p.load(BASE, got);
    expect([...got.subarray(0, 10)].every((b) => b === 0)).toBe(true);
    expect([...got.subarray(10, 110)].every((b) => b === 1)).toBe(true);
    expect(p.peekMedia(BASE, 120).every((b) => b === 0)).toBe(true);
    expect(p.pendingLines).toEqual({ dirty: 2, flushed: 0, wc: 0 });
  });

  it("under ADR power loss drops exactly the lines not flushed and fenced", () => {
    const p = createPmemPlatform({ persistenceDomain: "adr" });
    p.store(BASE, bytes(64, 1)); // line 0: flushed + fenced
    p.store(BASE + 64, bytes(64, 2)); // line 1: never flushed
    p.store(BASE + 128, bytes(64, 3)); // line 2: flushed + fenced, then overwritten
    p.clwb(BASE, 64);
    p.clwb(BASE + 128, 64);
    p.sfence();
    p.store(BASE + 128, bytes(32, 4));
    const report = p.powerFail();
    expect(report.linesLost).toBe(2);
    const after = p.peek(BASE, 192);
    expect(after.subarray(0, 64).every((b) => b === 1)).toBe(true);
    expect(after.subarray(64, 128).every((b) => b === 0)).toBe(true);
    expect(after.subarray(128, 192).every((b) => b === 3)).toBe(true);
    expect(p.pendingLines).toEqual({ dirty: 0, flushed: 0, wc: 0 });
  });

  it("under ADR a clwb without sfence is not durable", () => {
    const p = createPmemPlatform({ persistenceDomain: "adr" });
    p.store(BASE, bytes(64, 9));
    p.clwb(BASE, 64);
    expect(p.pendingLines.flushed).toBe(1);
    expect(p.peekMedia(BASE, 64).every((b) => b === 0)).toBe(true);
    p.powerFail();
    expect(p.peek(BASE, 64).every((b) => b === 0)).toBe(true);
  });

  it("a store after clwb is not made durable by the fence: the fence persists the flushed copy", () => {
    const p = createPmemPlatform();
    p.store(BASE, bytes(64, 1));
    p.clwb(BASE, 64);
    p.store(BASE, bytes(64, 2));
    p.sfence();
    expect(p.peekMedia(BASE, 64).every((b) => b === 1)).toBe(true);
    expect(p.peek(BASE, 64).every((b) => b === 2)).toBe(true);
    p.powerFail();
    expect(p.peek(BASE, 64).every((b) => b === 1)).toBe(true);
  });

  it("under eADR power loss keeps every cached store, flushed or not", () => {
    const p = createPmemPlatform({ persistenceDomain: "eadr" });
    p.store(BASE, bytes(64, 1));
    p.store(BASE + 4096, bytes(10, 2));
    p.clwb(BASE, 64); // flushed, never fenced
    const report = p.powerFail();
    expect(report.linesLost).toBe(0);
    expect(report.linesPersisted).toBe(2);
    expect(p.peek(BASE, 64).every((b) => b === 1)).toBe(true);
    expect(p.peek(BASE + 4096, 10).every((b) => b === 2)).toBe(true);
  });

  it("non-temporal stores bypass the cache and are durable at the next fence", () => {
    const p = createPmemPlatform();
    p.storeNt(BASE + 8, bytes(16, 7));
    expect(p.peek(BASE + 8, 16).every((b) => b === 7)).toBe(true);
    expect(p.pendingLines).toEqual({ dirty: 0, flushed: 0, wc: 1 });
    p.sfence();
    expect(p.peekMedia(BASE + 8, 16).every((b) => b === 7)).toBe(true);
    p.powerFail();
    expect(p.peek(BASE + 8, 16).every((b) => b === 7)).toBe(true);
  });

  it("unfenced non-temporal stores are lost even under eADR (write-combining buffers are not persistent)", () => {
    const p = createPmemPlatform({ persistenceDomain: "eadr" });
    p.storeNt(BASE, bytes(64, 5));
    expect(p.powerFail().linesLost).toBe(1);
    expect(p.peek(BASE, 64).every((b) => b === 0)).toBe(true);
  });

  it("a movnt over a dirty line evicts it: both the old dirty bytes and the new ones persist at the fence", () => {
    const p = createPmemPlatform();
    p.store(BASE, bytes(64, 1));
    p.storeNt(BASE, bytes(8, 2));
    p.sfence();
    const media = p.peekMedia(BASE, 64);
    expect(media.subarray(0, 8).every((b) => b === 2)).toBe(true);
    expect(media.subarray(8).every((b) => b === 1)).toBe(true);
  });

  it("powerFail's survives hook decides the fate of lines the domain does not guarantee", () => {
    const p = createPmemPlatform();
    p.store(BASE, bytes(64, 1));
    p.store(BASE + 64, bytes(64, 2));
    const seen: string[] = [];
    p.powerFail({
      survives: (addr, kind) => {
        seen.push(`${(addr - BASE).toString(16)}:${kind}`);
        return addr === BASE + 64;
      },
    });
    expect(seen.sort()).toEqual(["0:dirty", "40:dirty"]);
    expect(p.peek(BASE, 64).every((b) => b === 0)).toBe(true);
    expect(p.peek(BASE + 64, 64).every((b) => b === 2)).toBe(true);
  });

  it("memcpy_flushcache uses store+clwb for the unaligned edges and movnt for the body; one fence makes all durable", () => {
    const p = createPmemPlatform();
    const src = new Uint8Array(203).map((_, i) => i + 1);
    p.memcpyFlushcache(BASE + 3, src);
    const c = p.counters;
    expect(c.stores).toBe(2); // 5-byte head, 2-byte tail
    expect(c.ntStores).toBe(1);
    expect(c.flushes).toBe(2);
    expect(p.pendingLines.dirty).toBe(0);
    p.sfence();
    expect(p.peekMedia(BASE + 3, 203)).toEqual(src);
  });

  it("writing 1 MiB and flushing it is cheap", () => {
    const p = createPmemPlatform();
    const mib = new Uint8Array(1 << 20).fill(3);
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) {
      p.store(BASE + i * mib.length, mib);
      p.clwb(BASE + i * mib.length, mib.length);
      p.sfence();
    }
    const ms = Date.now() - t0;
    expect(p.counters.mediaLineWrites).toBe((4 * mib.length) / 64);
    expect(ms).toBeLessThan(2000);
  });
});

describe("counters and the cost model", () => {
  it("count stores, flushes, fences and line reads/writes, priced by the latency table", () => {
    const p = createPmemPlatform({ latency: { readMissNs: 300, readHitNs: 10, writeNs: 100, flushNs: 100, fenceNs: 50 } });
    p.store(BASE, bytes(128, 1)); // 2 lines
    p.clwb(BASE, 128); // 2 lines
    p.sfence();
    const buf = new Uint8Array(256);
    p.load(BASE, buf); // 2 resident (clwb keeps the line) + 2 misses
    p.load(BASE, buf); // 4 hits
    const c = p.costs.snapshot();
    expect(c).toMatchObject({
      stores: 1,
      loads: 2,
      lineWrites: 2,
      flushes: 2,
      fences: 1,
      lineReads: 8,
      lineReadMisses: 2,
      mediaLineWrites: 2,
      bytesStored: 128,
      bytesLoaded: 512,
    });
    expect(c.writeNs).toBe(200);
    expect(c.flushNs).toBe(200);
    expect(c.fenceNs).toBe(50);
    expect(c.readNs).toBe(2 * 300 + 6 * 10);
    expect(c.totalNs).toBe(200 + 200 + 50 + 660);
  });

  it("clflushopt evicts: the next load misses", () => {
    const p = createPmemPlatform();
    p.store(BASE, bytes(64, 1));
    p.clflushopt(BASE, 64);
    p.sfence();
    p.load(BASE, new Uint8Array(64));
    expect(p.counters.lineReadMisses).toBe(1);
  });

  it("snapshot, since and reset", () => {
    const p = createPmemPlatform();
    p.store(BASE, bytes(64, 1));
    const before = p.costs.snapshot();
    p.sfence();
    p.sfence();
    const delta = p.costs.since(before);
    expect(delta.fences).toBe(2);
    expect(delta.stores).toBe(0);
    expect(delta.totalNs).toBe(100);
    p.costs.reset();
    expect(p.costs.snapshot().totalNs).toBe(0);
    expect(before.stores).toBe(1);
  });
});
