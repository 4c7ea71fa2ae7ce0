import {
  BUS_MCEERR_AO,
  BUS_MCEERR_AR,
  MAP_SHARED,
  MF_ACTION_REQUIRED,
  PAGE_MAPPING_DAX_SHARED,
  PAGE_SIZE,
  PG_hwpoison,
  PR_MCE_KILL_EARLY,
  PR_MCE_KILL_SET,
  PROT_READ,
  PROT_WRITE,
  type Pfn,
  SIGBUS,
  SIGSEGV,
  type Task,
  createProcess,
  load,
  memoryFailure,
  ptePfn,
  ptePresent,
  runSync,
  store,
  taskMm,
  vmMmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { KernelOops } from "../mf/memoryFailure.js";
import type { FixtureInode } from "../testing/fixture.js";
import { type DaxMachine, bootDaxMachine } from "../testing/machine.js";
import { PageCacheCopyMechanism } from "./pageCacheCopy.js";
import type { MechanismId } from "./types.js";

const P = PAGE_SIZE;
const MECHS: MechanismId[] = ["one-to-one", "shared-count", "page-cache-copy"];
const FILES = ["W", "X", "Y", "Z"] as const;

/** Dave Chinner's rotation: W holds blocks '0'..'5'; file k holds W's block i at (i + k) % 6. */
function rotation(m: DaxMachine): FixtureInode[] {
  const w = m.fs.create("W");
  for (let i = 0; i < 6; i++) m.fs.write(w, i * P, new Uint8Array(P).fill(0x30 + i));
  const files = [w];
  for (let k = 1; k < 4; k++) {
    const f = m.fs.create(FILES[k]!);
    for (let i = 0; i < 6; i++) m.fs.reflink(w, i, f, (i + k) % 6);
    files.push(f);
  }
  return files;
}

/** The byte file k holds at page j. */
const expected = (k: number, j: number): number => 0x30 + ((j - k + 6) % 6);

interface Mapped {
  task: Task;
  addr: number;
}

function mapEach(m: DaxMachine, files: FixtureInode[], prot = PROT_READ | PROT_WRITE): Mapped[] {
  return files.map((f, k) => {
    const task = createProcess(m.ctx, `plchild${k}`);
    task.dispositions.set(SIGBUS, "catch");
    task.dispositions.set(SIGSEGV, "catch");
    const addr = runSync(vmMmap(taskMm(task), { len: 6 * P, prot, flags: MAP_SHARED, file: m.fs.open(f) }), task);
    return { task, addr };
  });
}

function readByte(t: Mapped, off: number): number {
  const r = runSync(load(t.addr + off, 1), t.task);
  if (!r.ok) throw new Error(`${t.task.comm}: ${JSON.stringify(r.signal)}`);
  return r.data[0]!;
}

function pfnAt(t: Mapped, off: number): Pfn | null {
  const pte = taskMm(t.task).pgtables.pteAt(t.addr + off);
  return ptePresent(pte) ? ptePfn(pte) : null;
}

describe.each(MECHS)("the W/X/Y/Z rotation under %s", (mech) => {
  it("every mapping reads its own rotated data", () => {
    const m = bootDaxMachine({ mechanism: mech });
    const files = rotation(m);
    const maps = mapEach(m, files, PROT_READ);
    maps.forEach((t, k) => {
      for (let j = 0; j < 6; j++) expect(readByte(t, j * P + 7), `${FILES[k]}[${j}]`).toBe(expected(k, j));
    });
    const blockA = m.dax.dev.pfnStart + files[0]!.blocks.get(0)!;
    const memmap = m.ctx.memmap;
    if (mech === "one-to-one") {
      // The second file to map A warned; A still names W, index 0.
      expect(m.dax.costs.associationWarnings).toBe(18);
      expect(m.dmesg.all().filter((l) => l.text.startsWith("WARNING:")).map((l) => l.text)).toEqual([
        "WARNING: CPU: 0 PID: 0 at fs/dax.c:dax_associate_entry",
      ]);
      expect(memmap.pageMappingObject(blockA)).toBe(files[0]!.mapping);
      expect(memmap.pageIndex(blockA)).toBe(0);
      expect(maps.map((t, k) => pfnAt(t, k * P))).toEqual([blockA, blockA, blockA, blockA]);
    } else if (mech === "shared-count") {
      expect(memmap.pageMapping(blockA)).toBe(PAGE_MAPPING_DAX_SHARED);
      expect(memmap.pageShare(blockA)).toBe(4);
      expect(m.dax.costs.associationWarnings).toBe(0);
      expect(maps.map((t, k) => pfnAt(t, k * P))).toEqual([blockA, blockA, blockA, blockA]);
    } else {
      // Four DRAM copies of A, one per file; the pmem page itself is nobody's.
      const pcc = m.dax.mechanism as PageCacheCopyMechanism;
      const copies = maps.map((t, k) => pfnAt(t, k * P)!);
      expect(new Set(copies).size).toBe(4);
      for (const c of copies) expect(m.ctx.physMem.isDram(c)).toBe(true);
      expect(copies[1]).toBe(pcc.copyOf(files[1]!.mapping, 1));
      expect(memmap.pageMappingObject(copies[2]!)).toBe(files[2]!.mapping);
      expect(memmap.pageIndex(copies[2]!)).toBe(2);
      expect(memmap.pageMapping(blockA)).toBe(0);
      expect(pcc.nrCopies).toBe(24);
      expect(m.dax.costs.dramBytesCopied).toBe(24 * P);
      expect(m.dax.costs.metadataBytes).toBe(24 * 8);
    }
  });

  it("a store to every copy of a shared block changes only the file written (generic/578 shape)", () => {
    const m = bootDaxMachine({ mechanism: mech });
    const files = rotation(m);
    const maps = mapEach(m, files);
    maps.forEach((t) => {
      for (let j = 0; j < 6; j++) readByte(t, j * P);
    });
    const blockA = files[0]!.blocks.get(0)!;
    // Block A sits at W@0, X@4k, Y@8k, Z@12k; each task writes its own letter there.
    maps.forEach((t, k) => {
      const r = runSync(store(t.addr + k * P + 100, Uint8Array.of(0x77 + k)), t.task);
      expect(r.ok, `${FILES[k]}`).toBe(true);
    });
    maps.forEach((t, k) => {
      for (let j = 0; j < 6; j++) {
        const want = j === k ? 0x77 + k : expected(k, j);
        expect(readByte(t, j * P + 100), `${FILES[k]}[${j}] via mmap`).toBe(want);
        expect(m.fs.read(files[k]!, j * P + 100, 1)[0], `${FILES[k]}[${j}] via read`).toBe(want);
        expect(readByte(t, j * P + 101), `${FILES[k]}[${j}] rest`).toBe(expected(k, j));
      }
    });
    // W, X and Y copied A on write; Z, the last owner, wrote in place.
    expect(files.map((f, k) => f.blocks.get(k) === blockA)).toEqual([false, false, false, true]);
    expect(m.dax.costs.cowFaults).toBe(3);
  });
});

interface PoisonResult {
  m: DaxMachine;
  files: FixtureInode[];
  maps: Mapped[];
  ret: number | KernelOops;
  pfn: Pfn;
}

/** Child 0 poisons W's page 0 (block A) like madvise(MADV_HWPOISON). */
function poisonA(mech: MechanismId, opts: { early: boolean; rmap?: boolean }): PoisonResult {
  const m = bootDaxMachine({ mechanism: mech, rmap: opts.rmap ?? true });
  const files = rotation(m);
  const maps = mapEach(m, files, PROT_READ);
  maps.forEach((t) => {
    for (let j = 0; j < 6; j++) readByte(t, j * P);
    if (opts.early) t.task.prctlMceKill(PR_MCE_KILL_SET, PR_MCE_KILL_EARLY);
  });
  const pfn = (m.dax.dev.pfnStart + files[0]!.blocks.get(0)!) as Pfn;
  let ret: number | KernelOops;
  try {
    ret = runSync(memoryFailure(m.ctx, pfn, MF_ACTION_REQUIRED), maps[0]!.task);
  } catch (e) {
    if (!(e instanceof KernelOops)) throw e;
    ret = e;
  }
  return { m, files, maps, ret, pfn };
}

const signals = (r: PoisonResult) => r.maps.map((t) => t.task.sent.map((s) => ({ code: s.code, off: s.addr - t.addr })));
const sendingLines = (r: PoisonResult) => r.m.dmesg.all().map((l) => l.text).filter((t) => t.includes("Memory failure"));

describe("memory failure of a block shared by four files mapped by four tasks", () => {
  it("shared-count, early kill: the fs learns all four owners; each task gets SIGBUS at its own address", () => {
    const r = poisonA("shared-count", { early: true });
    expect(r.ret).toBe(0);
    const owners = r.m.fs.failureReports[0]!.owners.map((o) => `${o.inode.name}@${o.offset}`);
    expect(owners).toEqual(["W@0", "X@4096", "Y@8192", "Z@12288"]);
    expect(signals(r)).toEqual([
      [{ code: BUS_MCEERR_AR, off: 0 }],
      [{ code: BUS_MCEERR_AO, off: 4096 }],
      [{ code: BUS_MCEERR_AO, off: 8192 }],
      [{ code: BUS_MCEERR_AO, off: 12288 }],
    ]);
    // Each task lost exactly that PTE.
    r.maps.forEach((t, k) => {
      for (let j = 0; j < 6; j++) expect(pfnAt(t, j * P) === null, `${FILES[k]}[${j}]`).toBe(j === k);
    });
    const hex = `0x${r.pfn.toString(16)}`;
    expect(sendingLines(r)).toEqual([
      ...r.maps.map((t) => `Memory failure: ${hex}: Sending SIGBUS to ${t.task.comm}:${t.task.pid} due to hardware memory corruption`),
      `Memory failure: ${hex}: recovery action for dax page: Recovered`,
    ]);
    expect(r.m.ctx.memmap.testPageFlag(r.pfn, PG_hwpoison)).toBe(true);
  });

  it("shared-count, late kill: only the accessing task is signalled and only its file loses the PTE", () => {
    const r = poisonA("shared-count", { early: false });
    expect(r.m.fs.failureReports[0]!.owners).toHaveLength(4);
    expect(signals(r)).toEqual([[{ code: BUS_MCEERR_AR, off: 0 }], [], [], []]);
    expect(r.maps.map((t, k) => pfnAt(t, k * P) === null)).toEqual([true, false, false, false]);
  });

  it("one-to-one trusts page->mapping: it reaches W only and misses the three other owners", () => {
    const r = poisonA("one-to-one", { early: true });
    expect(r.ret).toBe(0);
    expect(r.m.fs.failureReports).toEqual([]);
    expect(signals(r)).toEqual([[{ code: BUS_MCEERR_AR, off: 0 }], [], [], []]);
    expect(r.maps.map((t, k) => pfnAt(t, k * P) === null)).toEqual([true, false, false, false]);
  });

  it("shared-count without an rmap: EOPNOTSUPP, the generic path oopses in dax_lock_folio", () => {
    const r = poisonA("shared-count", { early: true, rmap: false });
    expect(r.ret).toBeInstanceOf(KernelOops);
    expect(r.m.fs.failureReports.map((f) => f.ret)).toEqual([-95]);
    const lines = r.m.dmesg.all().map((l) => l.text);
    expect(lines).toContain("BUG: kernel NULL pointer dereference, address: 0000000000000001");
    expect(lines.some((l) => l.startsWith("RIP: 0010:dax_lock_folio+0x49/"))).toBe(true);
    const trace = lines.slice(lines.indexOf("Call Trace:"));
    expect(trace.findIndex((l) => l.includes("memory_failure"))).toBeLessThan(trace.findIndex((l) => l.includes("do_madvise")));
    expect(r.m.dmesg.oopsCount).toBe(1);
    expect(r.m.dax.oopses[0]!.task).toBe(`plchild0:${r.maps[0]!.task.pid}`);
    expect(signals(r)).toEqual([[], [], [], []]);
  });

  it("page-cache-copy: the fs learns every owner, but tasks reading DRAM copies keep their data and get no signal", () => {
    const r = poisonA("page-cache-copy", { early: true });
    expect(r.ret).toBe(0);
    expect(r.m.fs.failureReports[0]!.owners).toHaveLength(4);
    expect(signals(r)).toEqual([[], [], [], []]);
    r.maps.forEach((t, k) => expect(readByte(t, k * P)).toBe(0x30));
  });
});
