import {
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_SYNC,
  PAGECACHE_TAG_DIRTY,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  SIGBUS,
  type Task,
  createProcess,
  load,
  pmdDevmap,
  pmdLeaf,
  ptePfn,
  pteDevmap,
  ptePresent,
  pteWrite,
  runSync,
  store,
  taskMm,
  vmMmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { daxIsPmdEntry, daxIsZeroEntry, daxToPfn } from "../entry/entry.js";
import type { FixtureInode } from "../testing/fixture.js";
import { type DaxMachine, bootDaxMachine } from "../testing/machine.js";

const P = PAGE_SIZE;

function mapIn(m: DaxMachine, f: FixtureInode, len: number, opts: { flags?: number; prot?: number; addr?: number } = {}) {
  const t: Task = createProcess(m.ctx, "t");
  t.dispositions.set(SIGBUS, "catch");
  const addr = runSync(
    vmMmap(taskMm(t), {
      len,
      prot: opts.prot ?? PROT_READ | PROT_WRITE,
      flags: opts.flags ?? MAP_SHARED,
      file: m.fs.open(f),
      ...(opts.addr !== undefined ? { addr: opts.addr } : {}),
    }),
    t,
  );
  return { t, addr, pt: taskMm(t).pgtables };
}

describe("PMD faults", () => {
  it("a 2 MiB-aligned extent is mapped by one PMD and a PMD entry", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("big");
    m.fs.write(f, 0, new Uint8Array(PMD_SIZE).fill(0x42), { align: 512 });
    const { t, addr, pt } = mapIn(m, f, PMD_SIZE, { addr: 0x4000_0000 });
    const r = runSync(load(addr + 5 * P + 3, 1), t);
    expect(r.ok && r.data[0]).toBe(0x42);
    expect(pmdLeaf(pt.pmdAt(addr)) && pmdDevmap(pt.pmdAt(addr))).toBe(true);
    const e = f.mapping.iPages.load(5)!;
    expect(daxIsPmdEntry(e)).toBe(true);
    expect(daxToPfn(e)).toBe(m.dax.dev.pfnStart + f.blocks.get(0)!);
    expect(f.mapping.nrpages).toBe(512);
  });

  it("an extent not aligned on the device falls back to PTE faults", () => {
    const m = bootDaxMachine({ firstBlock: 3 });
    const f = m.fs.create("big");
    m.fs.write(f, 0, new Uint8Array(PMD_SIZE).fill(0x43));
    const { t, addr, pt } = mapIn(m, f, PMD_SIZE, { addr: 0x4000_0000 });
    const r = runSync(load(addr + 5 * P, 1), t);
    expect(r.ok && r.data[0]).toBe(0x43);
    expect(pmdLeaf(pt.pmdAt(addr))).toBe(false);
    expect(pteDevmap(pt.pteAt(addr + 5 * P))).toBe(true);
    expect(ptePfn(pt.pteAt(addr + 5 * P))).toBe(m.dax.dev.pfnStart + 3 + 5);
    expect(daxIsPmdEntry(f.mapping.iPages.load(5)!)).toBe(false);
    // The empty PMD entry the PMD fault left behind was downgraded.
    expect(f.mapping.nrpages).toBe(1);
  });

  it("a PMD-sized hole read maps the huge zero page", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("sparse");
    f.iSize = PMD_SIZE;
    const { t, addr, pt } = mapIn(m, f, PMD_SIZE, { addr: 0x4000_0000 });
    const r = runSync(load(addr + 77, 1), t);
    expect(r.ok && r.data[0]).toBe(0);
    expect(pmdLeaf(pt.pmdAt(addr))).toBe(true);
    expect(ptePfn(pt.pmdAt(addr))).toBe(m.dax.hugeZeroPfn());
    expect(daxIsZeroEntry(f.mapping.iPages.load(0)!)).toBe(true);
  });
});

describe("PTE faults", () => {
  it("a hole reads through the zero page; a write allocates, replaces the zero page and dirties the entry", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("h");
    f.iSize = 2 * P;
    const { t, addr, pt } = mapIn(m, f, 2 * P);
    expect(runSync(load(addr + P, 1), t).ok).toBe(true);
    expect(ptePfn(pt.pteAt(addr + P))).toBe(m.ctx.zeroPfn);
    expect(runSync(store(addr + P + 1, Uint8Array.of(9)), t).ok).toBe(true);
    const pte = pt.pteAt(addr + P);
    expect(ptePfn(pte)).toBe(m.dax.dev.pfnStart + f.blocks.get(1)!);
    expect(pteWrite(pte)).toBe(true);
    expect(f.mapping.iPages.getMark(1, PAGECACHE_TAG_DIRTY)).toBe(true);
    expect(m.fs.read(f, P, 2)).toEqual(Uint8Array.of(0, 9));
  });

  it("beyond EOF is SIGBUS; a private write copies into an anonymous page and leaves the file alone", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("p");
    m.fs.write(f, 0, new Uint8Array(P).fill(1));
    const { t, addr, pt } = mapIn(m, f, 2 * P, { flags: MAP_PRIVATE });
    const past = runSync(load(addr + P, 1), t);
    expect(!past.ok && past.signal.signo).toBe(SIGBUS);
    expect(runSync(store(addr, Uint8Array.of(7)), t).ok).toBe(true);
    expect(m.ctx.physMem.isDram(ptePfn(pt.pteAt(addr)))).toBe(true);
    expect(m.fs.read(f, 0, 1)[0]).toBe(1);
    expect(m.dax.costs.dramBytesCopied).toBe(P);
  });

  it("a MAP_SYNC write fault makes the metadata durable (fsync) before mapping writable", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("s");
    f.iSize = P;
    const { t, addr, pt } = mapIn(m, f, P, { flags: MAP_SHARED_VALIDATE | MAP_SYNC });
    expect(runSync(store(addr, Uint8Array.of(3)), t).ok).toBe(true);
    expect(f.fsyncs).toBe(1);
    expect(f.metaDirty).toBe(false);
    expect(ptePresent(pt.pteAt(addr)) && pteWrite(pt.pteAt(addr))).toBe(true);
    expect(f.mapping.iPages.getMark(0, PAGECACHE_TAG_DIRTY)).toBe(true);
  });
});
