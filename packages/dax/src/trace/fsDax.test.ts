import { MAP_SHARED, PAGE_SIZE, PMD_SIZE, PROT_READ, PROT_WRITE, SIGBUS, TraceBuffer, type Task, createProcess, load, runSync, store, taskMm, vmMmap } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import type { FixtureInode } from "../testing/fixture.js";
import { type DaxMachine, bootDaxMachine } from "../testing/machine.js";
import { daxWritebackMappingRange } from "../writeback/writeback.js";

const P = PAGE_SIZE;
const ADDR = 0x4000_0000;

function mapIn(m: DaxMachine, f: FixtureInode, len: number): Task {
  const t = createProcess(m.ctx, "t");
  t.dispositions.set(SIGBUS, "catch");
  runSync(vmMmap(taskMm(t), { len, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: m.fs.open(f), addr: ADDR }), t);
  return t;
}

const lines = (m: DaxMachine) => m.ctx.trace.drain().map(TraceBuffer.format);

describe("fs_dax tracepoints", () => {
  it("a PMD fault on an aligned extent: dax_pmd_fault, then dax_pmd_fault_done NOPAGE; writeback of the PMD entry", () => {
    const m = bootDaxMachine();
    m.dax.sDev = { major: 259, minor: 0 };
    const f = m.fs.create("big");
    m.fs.write(f, 0, new Uint8Array(PMD_SIZE).fill(0x42), { align: 512 });
    const t = mapIn(m, f, PMD_SIZE);
    m.ctx.trace.enable("fs_dax");
    runSync(store(ADDR + 5 * P + 3, Uint8Array.of(1)), t);
    const id = `dev 259:0 ino 0x${f.ino.toString(16)}`;
    const at = `address 0x${(ADDR + 5 * P).toString(16)} vm_start 0x40000000 vm_end 0x40200000 pgoff 0x5 max_pgoff 0x200`;
    const flags = "WRITE|ALLOW_RETRY|KILLABLE|USER|INTERRUPTIBLE";
    expect(lines(m)).toEqual([`dax_pmd_fault: ${id} shared ${flags} ${at} `, `dax_pmd_fault_done: ${id} shared ${flags} ${at} NOPAGE`]);
    runSync(daxWritebackMappingRange(m.dax, f.mapping), t);
    expect(lines(m)).toEqual([
      `dax_writeback_range: ${id} pgoff 0x0-0x7ffffffffffff`,
      `dax_writeback_one: ${id} pgoff 0x0 pglen 0x200`,
      `dax_writeback_range_done: ${id} pgoff 0x1000-0x7ffffffffffff`,
    ]);
  });

  it("an unaligned extent: the PMD fault reports FALLBACK and a PTE fault follows", () => {
    const m = bootDaxMachine({ firstBlock: 3 });
    const f = m.fs.create("big");
    m.fs.write(f, 0, new Uint8Array(PMD_SIZE).fill(0x43));
    const t = mapIn(m, f, PMD_SIZE);
    m.ctx.trace.enable("fs_dax/dax_pmd_fault_done fs_dax/dax_pte_fault_done");
    runSync(load(ADDR + 5 * P, 1), t);
    const got = lines(m).map((l) => l.replace(/^(\w+):.* (\w+)$/, "$1 $2"));
    expect(got).toEqual(["dax_pmd_fault_done FALLBACK", "dax_pte_fault_done NOPAGE"]);
  });

  it("a PMD-sized hole read loads the huge zero page (dax_pmd_load_hole)", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("sparse");
    f.iSize = PMD_SIZE;
    const t = mapIn(m, f, PMD_SIZE);
    m.ctx.trace.enable("fs_dax/dax_pmd_load_hole");
    runSync(load(ADDR + 77, 1), t);
    const [l] = lines(m);
    expect(l).toMatch(new RegExp(`^dax_pmd_load_hole: dev 0:0 ino 0x${f.ino.toString(16)} shared address 0x40000000 zero_page ffffea[0-9a-f]{10} radix_entry 0x[0-9a-f]+$`));
  });
});
