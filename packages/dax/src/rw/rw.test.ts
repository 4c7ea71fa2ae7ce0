import {
  MAP_SHARED,
  PAGECACHE_TAG_DIRTY,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  type Task,
  createProcess,
  load,
  pteWrite,
  runSync,
  store,
  taskMm,
  vmMmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import type { FixtureInode } from "../testing/fixture.js";
import { type DaxMachine, bootDaxMachine } from "../testing/machine.js";
import { daxWritebackMappingRange } from "../writeback/writeback.js";
import { daxDedupeFileRangeCompare, daxFileUnshare, daxIomapRw, daxTruncatePage } from "./rw.js";

const P = PAGE_SIZE;

function mapped(m: DaxMachine, f: FixtureInode, len: number): { t: Task; addr: number } {
  const t = createProcess(m.ctx, `t-${f.name}`);
  const addr = runSync(vmMmap(taskMm(t), { len, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: m.fs.open(f) }), t);
  return { t, addr };
}
const byte = (x: { t: Task; addr: number }, off: number) => {
  const r = runSync(load(x.addr + off, 1), x.t);
  return r.ok ? r.data[0] : -1;
};

describe("dax_iomap_rw", () => {
  it("reads and writes without the page cache; reads stop at EOF and holes read as zeroes", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("f");
    m.fs.write(f, 2 * P, new Uint8Array(P).fill(0x61));
    const buf = new Uint8Array(4 * P).fill(0xff);
    expect(runSync(daxIomapRw(m.dax, f.mapping, 0, buf, false, m.fs.fops.readOps))).toBe(3 * P);
    expect(buf[0]).toBe(0);
    expect(buf[2 * P]).toBe(0x61);
    expect(buf[3 * P]).toBe(0xff);
    const w = new Uint8Array(10).fill(0x62);
    expect(runSync(daxIomapRw(m.dax, f.mapping, 2 * P + 5, w, true, m.fs.fops.writeOps))).toBe(10);
    expect(m.fs.read(f, 2 * P + 4, 12)).toEqual(Uint8Array.of(0x61, ...new Array(10).fill(0x62), 0x61));
  });

  it("a write into a shared block CoWs it: the writer's mappings see the new data at once, the other file keeps the old", () => {
    const m = bootDaxMachine();
    const a = m.fs.create("a");
    m.fs.write(a, 0, new Uint8Array(2 * P).fill(0x61));
    const b = m.fs.create("b");
    m.fs.reflink(a, 0, b, 0, 2);
    const ma = mapped(m, a, 2 * P);
    const mb = mapped(m, b, 2 * P);
    expect([byte(ma, 0), byte(mb, 0)]).toEqual([0x61, 0x61]);
    runSync(daxIomapRw(m.dax, b.mapping, 0, new Uint8Array(4).fill(0x70), true, m.fs.fops.writeOps));
    expect(b.blocks.get(0)).not.toBe(a.blocks.get(0));
    expect([byte(mb, 0), byte(mb, 4), byte(ma, 0)]).toEqual([0x70, 0x61, 0x61]);
  });

  it("dax_truncate_page zeroes the tail of the last block; unshare gives a file its own copies", () => {
    const m = bootDaxMachine();
    const a = m.fs.create("a");
    m.fs.write(a, 0, new Uint8Array(2 * P).fill(0x61));
    const b = m.fs.create("b");
    m.fs.reflink(a, 0, b, 0, 2);
    expect(runSync(daxDedupeFileRangeCompare(m.dax, a.mapping, 0, b.mapping, 0, 2 * P, m.fs.fops.readOps))).toBe(true);
    expect(runSync(daxTruncatePage(m.dax, b.mapping, P + 100, m.fs.fops.writeOps))).toBe(true);
    expect(m.fs.read(b, P + 99, 2)).toEqual(Uint8Array.of(0x61, 0));
    expect(m.fs.read(a, P + 100, 1)[0]).toBe(0x61);
    expect(runSync(daxDedupeFileRangeCompare(m.dax, a.mapping, 0, b.mapping, 0, 2 * P, m.fs.fops.readOps))).toBe(false);
    expect(m.fs.refcount(a.blocks.get(0)!)).toBe(2);
    expect(runSync(daxFileUnshare(m.dax, b.mapping, 0, P, m.fs.fops.writeOps))).toBe(P);
    expect(m.fs.refcount(a.blocks.get(0)!)).toBe(1);
    expect(m.fs.read(b, 0, 1)[0]).toBe(0x61);
  });
});

describe("dax_writeback_mapping_range", () => {
  it("write-protects dirty mappings and flushes their cache lines: written-back data survives power loss, the rest does not", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("f");
    m.fs.write(f, 0, new Uint8Array(2 * P));
    const x = mapped(m, f, 2 * P);
    expect(runSync(store(x.addr + 8, Uint8Array.of(0x41)), x.t).ok).toBe(true);
    expect(f.mapping.iPages.getMark(0, PAGECACHE_TAG_DIRTY)).toBe(true);
    expect(runSync(daxWritebackMappingRange(m.dax, f.mapping))).toBe(1);
    expect(f.mapping.iPages.getMark(0, PAGECACHE_TAG_DIRTY)).toBe(false);
    expect(pteWrite(taskMm(x.t).pgtables.pteAt(x.addr))).toBe(false);
    // The next store faults again (pfn_mkwrite) and re-dirties the entry.
    expect(runSync(store(x.addr + P + 8, Uint8Array.of(0x42)), x.t).ok).toBe(true);
    expect(runSync(store(x.addr + 9, Uint8Array.of(0x43)), x.t).ok).toBe(true);
    expect(f.mapping.iPages.getMark(0, PAGECACHE_TAG_DIRTY)).toBe(true);
    m.pmem.powerFail();
    expect(Array.from(m.fs.read(f, 8, 2))).toEqual([0x41, 0]);
    expect(m.fs.read(f, P + 8, 1)[0]).toBe(0);
  });
});
