import { describe, expect, it } from "vitest";
import { PG_anon_exclusive, PG_dirty } from "../page/flags.js";
import { runSync } from "../sched/scheduler.js";
import type { Sleepable } from "../sched/sleepable.js";
import { BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV } from "../task/signal.js";
import type { Task } from "../task/task.js";
import { PAGE_SIZE, PMD_SIZE, type Pfn } from "../types.js";
import { PAGECACHE_TAG_DIRTY } from "../xarray/index.js";
import { load, store } from "./access.js";
import type { VmContext } from "./context.js";
import { filemapWriteAndWaitRange } from "./filemap.js";
import {
  MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, VM_FAULT_FALLBACK, VM_HUGEPAGE,
  VM_MIXEDMAP,
} from "./flags.js";
import { createProcess, forkProcess, taskMm } from "./fork.js";
import { PFN_DEV, PFN_MAP, pfnToPfnT, vmfInsertMixed, vmfInsertPfnPmd } from "./insertPfn.js";
import { bootVm } from "./machine.js";
import { MemFile } from "./memfile.js";
import { MMF_HAS_PINNED } from "./mm.js";
import { vmMmap } from "./mmap.js";
import { pmdDevmap, pmdLeaf, ptePfn, ptePresent, pteDevmap, pteDirty, pteSpecial, pteWrite } from "./pgtable.js";
import type { VmFault, VmFile } from "./vma.js";

const P = PAGE_SIZE;

function proc(ctx: VmContext, comm: string): Task {
  const t = createProcess(ctx, comm);
  t.dispositions.set(SIGSEGV, "catch");
  t.dispositions.set(SIGBUS, "catch");
  return t;
}
function mmapIn(t: Task, args: Parameters<typeof vmMmap>[1]): number {
  return runSync(vmMmap(taskMm(t), args), t);
}
function rd(t: Task, addr: number, len = 1) {
  return runSync(load(addr, len), t);
}
function wr(t: Task, addr: number, bytes: number[] | Uint8Array): { ok: boolean; signal?: unknown } {
  return runSync(store(addr, Uint8Array.from(bytes)), t);
}
function pteOf(t: Task, addr: number): number {
  return taskMm(t).pgtables.pteAt(addr);
}
function fileOf(ctx: VmContext, pages: number, fill = (i: number) => 0x41 + (i % 26)): MemFile {
  const bytes = new Uint8Array(pages * P);
  for (let i = 0; i < bytes.length; i++) bytes[i] = fill(Math.floor(i / P));
  return new MemFile(ctx, "f", bytes);
}

describe("anonymous faults", () => {
  it("a read maps the shared zero page; a write then gets a private zeroed page", () => {
    const { ctx } = bootVm();
    const t = proc(ctx, "a");
    const a = mmapIn(t, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const r = rd(t, a + 10, 4);
    expect(r.ok && [...r.data]).toEqual([0, 0, 0, 0]);
    expect(ptePfn(pteOf(t, a))).toBe(ctx.zeroPfn);
    expect(pteSpecial(pteOf(t, a)) && !pteWrite(pteOf(t, a))).toBe(true);
    expect(wr(t, a + 10, [7, 8]).ok).toBe(true);
    const pfn = ptePfn(pteOf(t, a));
    expect(pfn).not.toBe(ctx.zeroPfn);
    expect(pteWrite(pteOf(t, a)) && pteDirty(pteOf(t, a))).toBe(true);
    expect(ctx.memmap.pageMapcount(pfn)).toBe(1);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(ctx.memmap.folioTestAnon(pfn)).toBe(true);
    expect(ctx.memmap.testPageFlag(pfn, PG_anon_exclusive)).toBe(true);
    expect(taskMm(t).rss.anon).toBe(1);
    const back = rd(t, a + 9, 4);
    expect(back.ok && [...back.data]).toEqual([0, 7, 8, 0]);
  });

  it("SIGSEGV with SEGV_MAPERR outside any VMA and SEGV_ACCERR on a write to a read-only one", () => {
    const { ctx, dmesg } = bootVm();
    const t = proc(ctx, "segv");
    const a = mmapIn(t, { len: P, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const miss = rd(t, a - 3 * P);
    expect(!miss.ok && miss.signal).toEqual({ signo: SIGSEGV, code: SEGV_MAPERR, addr: a - 3 * P });
    const ro = wr(t, a + 1, [1]);
    expect(ro.signal).toEqual({ signo: SIGSEGV, code: SEGV_ACCERR, addr: a + 1 });
    expect(t.delivered.map((d) => [d.code, d.outcome])).toEqual([[SEGV_MAPERR, "caught"], [SEGV_ACCERR, "caught"]]);
    expect(dmesg.all()).toEqual([]);
  });

  it("an uncaught SIGSEGV kills the task and logs the segfault line", () => {
    const { ctx, dmesg } = bootVm();
    const t = createProcess(ctx, "crash");
    const r = runSync(load(0x1000, 1), t);
    expect(!r.ok && r.signal.code).toBe(SEGV_MAPERR);
    expect(t.alive).toBe(false);
    expect(t.shellStatus).toBe(128 + SIGSEGV);
    expect(dmesg.all()[0]!.text).toMatch(new RegExp(`^crash\\[${t.pid}\\]: segfault at 1000 ip 0+ sp 0+ error 4`));
    expect(ctx.tasks).not.toContain(t);
  });
});

describe("page-cache faults", () => {
  it("read the page through ->read_folio once and map the same page for every task", () => {
    const { ctx } = bootVm();
    const f = fileOf(ctx, 3);
    const t1 = proc(ctx, "r1");
    const t2 = proc(ctx, "r2");
    const a1 = mmapIn(t1, { len: 3 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") });
    const a2 = mmapIn(t2, { len: 2 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r"), pgoff: 1 });
    const r1 = rd(t1, a1 + P + 5, 2);
    expect(r1.ok && [...r1.data]).toEqual([0x42, 0x42]);
    expect(f.readFolioCalls).toBe(1);
    const r2 = rd(t2, a2 + 7);
    expect(r2.ok && r2.data[0]).toBe(0x42);
    expect(f.readFolioCalls).toBe(1);
    const pfn = ptePfn(pteOf(t1, a1 + P));
    expect(ptePfn(pteOf(t2, a2))).toBe(pfn);
    expect(ctx.memmap.pageMapcount(pfn)).toBe(2);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(3); // page cache + two mappings
    expect(ctx.memmap.pageIndex(pfn)).toBe(1);
    expect(f.mapping.nrpages).toBe(1);
    expect(taskMm(t1).rss.file).toBe(1);
  });

  it("a write to a shared mapping write-notifies, dirties the page, and writeback cleans it", () => {
    const { ctx } = bootVm();
    const f = fileOf(ctx, 2);
    const t = proc(ctx, "w");
    const a = mmapIn(t, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: f.open("rw") });
    expect(rd(t, a).ok).toBe(true);
    expect(pteWrite(pteOf(t, a))).toBe(false); // write-notify: read faults map read-only
    expect(wr(t, a + 1, [0x7a]).ok).toBe(true);
    const pfn = ptePfn(pteOf(t, a)) as Pfn;
    expect(pteWrite(pteOf(t, a)) && pteDirty(pteOf(t, a))).toBe(true);
    expect(ctx.memmap.testPageFlag(pfn, PG_dirty)).toBe(true);
    expect(f.mapping.iPages.getMark(0, PAGECACHE_TAG_DIRTY)).toBe(true);
    expect(runSync(filemapWriteAndWaitRange(ctx, f.mapping, 0, 10), t)).toBe(1);
    expect(f.disk[1]).toBe(0x7a);
    expect(ctx.memmap.testPageFlag(pfn, PG_dirty)).toBe(false);
    expect(pteWrite(pteOf(t, a)) || pteDirty(pteOf(t, a))).toBe(false);
    expect(wr(t, a + 2, [0x7b]).ok).toBe(true);
    expect(ctx.memmap.testPageFlag(pfn, PG_dirty)).toBe(true);
  });

  it("a write to a private file mapping copies the page; the file and other mappings keep the old data", () => {
    const { ctx } = bootVm();
    const f = fileOf(ctx, 1);
    const t = proc(ctx, "p");
    const other = proc(ctx, "o");
    const a = mmapIn(t, { len: P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file: f.open("r") });
    const b = mmapIn(other, { len: P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") });
    expect(rd(t, a).ok && rd(other, b).ok).toBe(true);
    const filePfn = ptePfn(pteOf(t, a));
    expect(pteWrite(pteOf(t, a))).toBe(false);
    expect(wr(t, a, [0x21]).ok).toBe(true);
    const anonPfn = ptePfn(pteOf(t, a));
    expect(anonPfn).not.toBe(filePfn);
    expect(ctx.memmap.folioTestAnon(anonPfn)).toBe(true);
    expect(ctx.memmap.pageMapcount(filePfn)).toBe(1);
    const mine = rd(t, a, 2);
    expect(mine.ok && [...mine.data]).toEqual([0x21, 0x41]);
    const theirs = rd(other, b, 1);
    expect(theirs.ok && theirs.data[0]).toBe(0x41);
    expect(ctx.memmap.testPageFlag(filePfn, PG_dirty)).toBe(false);
    expect(taskMm(t).rss).toMatchObject({ anon: 1, file: 0 });
  });

  it("a private write fault on a never-read page copies straight from the page cache (do_cow_fault)", () => {
    const { ctx } = bootVm();
    const f = fileOf(ctx, 2);
    const t = proc(ctx, "cow");
    const a = mmapIn(t, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file: f.open("r") });
    expect(wr(t, a + P, [1]).ok).toBe(true);
    const r = rd(t, a + P, 2);
    expect(r.ok && [...r.data]).toEqual([1, 0x42]);
    expect(ctx.stats.cowFaults).toBe(1);
    expect(f.mapping.nrpages).toBe(1);
  });

  it("SIGBUS with BUS_ADRERR past EOF, also after a truncate while mapped", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "short", new Uint8Array(P + 100).fill(9));
    const t = proc(ctx, "bus");
    const a = mmapIn(t, { len: 4 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") });
    const tail = rd(t, a + P + 200);
    expect(tail.ok && tail.data[0]).toBe(0); // inside the last page, past i_size: zero
    const past = rd(t, a + 2 * P);
    expect(!past.ok && past.signal).toEqual({ signo: SIGBUS, code: BUS_ADRERR, addr: a + 2 * P });
    expect(rd(t, a).ok).toBe(true);
    runSync(f.truncate(0), t);
    expect(ptePresent(pteOf(t, a))).toBe(false);
    const gone = rd(t, a + 3);
    expect(!gone.ok && gone.signal).toEqual({ signo: SIGBUS, code: BUS_ADRERR, addr: a + 3 });
    expect(f.mapping.nrpages).toBe(0);
  });
});

describe("MAP_POPULATE", () => {
  it("pre-faults every page: private writable mappings get their own pages, shared file pages are mapped", () => {
    const { ctx } = bootVm();
    const t = proc(ctx, "pop");
    const a = mmapIn(t, { len: 4 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE });
    expect([0, 1, 2, 3].map((i) => pteWrite(pteOf(t, a + i * P)))).toEqual([true, true, true, true]);
    expect(taskMm(t).rss.anon).toBe(4);
    const f = fileOf(ctx, 2);
    const b = mmapIn(t, { len: 2 * P, prot: PROT_READ, flags: MAP_SHARED | MAP_POPULATE, file: f.open("r") });
    expect([0, 1].map((i) => ptePresent(pteOf(t, b + i * P)))).toEqual([true, true]);
    expect(f.readFolioCalls).toBe(2);
    const faults = ctx.stats.faults;
    expect(rd(t, b + P).ok && wr(t, a, [1]).ok).toBe(true);
    expect(ctx.stats.faults).toBe(faults);
  });
});

describe("fork and copy-on-write", () => {
  it("shares anonymous pages read-only, clears PageAnonExclusive, and each side's write stays its own", () => {
    const { ctx } = bootVm();
    const parent = proc(ctx, "parent");
    const a = mmapIn(parent, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    expect(wr(parent, a, [1]).ok && wr(parent, a + P, [2]).ok).toBe(true);
    const pfn0 = ptePfn(pteOf(parent, a));
    const child = runSync(forkProcess(ctx, parent, "child"), parent);
    child.dispositions.set(SIGSEGV, "catch");
    expect(ptePfn(pteOf(child, a))).toBe(pfn0);
    expect(pteWrite(pteOf(parent, a)) || pteWrite(pteOf(child, a))).toBe(false);
    expect(ctx.memmap.pageMapcount(pfn0)).toBe(2);
    expect(ctx.memmap.pageRefCount(pfn0)).toBe(2);
    expect(ctx.memmap.testPageFlag(pfn0, PG_anon_exclusive)).toBe(false);
    expect(taskMm(parent).counters.tlbFlushes).toBeGreaterThan(0);

    expect(wr(child, a, [0x63]).ok).toBe(true); // child copies
    const childPfn = ptePfn(pteOf(child, a));
    expect(childPfn).not.toBe(pfn0);
    expect(ctx.memmap.testPageFlag(childPfn, PG_anon_exclusive)).toBe(true);
    expect(ctx.memmap.pageMapcount(pfn0)).toBe(1);
    expect(wr(parent, a, [0x70]).ok).toBe(true); // parent is the last user: reuses in place
    expect(ptePfn(pteOf(parent, a))).toBe(pfn0);
    expect(ctx.memmap.testPageFlag(pfn0, PG_anon_exclusive)).toBe(true);
    const pr = rd(parent, a);
    const cr = rd(child, a);
    expect([pr.ok && pr.data[0], cr.ok && cr.data[0]]).toEqual([0x70, 0x63]);
    const p2 = rd(child, a + P);
    expect(p2.ok && p2.data[0]).toBe(2);
    expect(ctx.stats.wpCopies).toBe(1);
    expect(ctx.stats.wpReuses).toBeGreaterThanOrEqual(1);
  });

  it("frees the child's copies at exit and lets the parent reuse its page again", () => {
    const { ctx, mem } = bootVm();
    const parent = proc(ctx, "parent");
    const a = mmapIn(parent, { len: P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    wr(parent, a, [1]);
    const free0 = mem.buddy.nrFreePages();
    const child = runSync(forkProcess(ctx, parent), parent);
    wr(child, a, [2]);
    expect(mem.buddy.nrFreePages()).toBe(free0 - 1);
    child.exit(0);
    expect(mem.buddy.nrFreePages()).toBe(free0);
    const pfn = ptePfn(pteOf(parent, a));
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(wr(parent, a, [3]).ok).toBe(true);
    expect(ptePfn(pteOf(parent, a))).toBe(pfn);
  });

  it("copies a possibly pinned exclusive page for the child at fork time", () => {
    const { ctx } = bootVm();
    const parent = proc(ctx, "pin");
    const a = mmapIn(parent, { len: P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    wr(parent, a, [0x55]);
    const pfn = ptePfn(pteOf(parent, a));
    taskMm(parent).setFlag(MMF_HAS_PINNED);
    ctx.memmap.pageRefAdd(pfn, 1024); // FOLL_PIN bias
    const child = runSync(forkProcess(ctx, parent), parent);
    expect(ptePfn(pteOf(child, a))).not.toBe(pfn);
    expect(pteWrite(pteOf(parent, a))).toBe(true);
    expect(ctx.memmap.testPageFlag(pfn, PG_anon_exclusive)).toBe(true);
    const r = rd(child, a);
    expect(r.ok && r.data[0]).toBe(0x55);
  });

  it("shared mappings stay shared: a write after fork is seen by both", () => {
    const { ctx } = bootVm();
    const parent = proc(ctx, "sh");
    const a = mmapIn(parent, { len: P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_ANONYMOUS });
    wr(parent, a, [1]);
    const child = runSync(forkProcess(ctx, parent), parent);
    wr(child, a, [9]);
    const r = rd(parent, a);
    expect(r.ok && r.data[0]).toBe(9);
    expect(taskMm(parent).rss.shmem).toBe(1);
  });
});

describe("teardown", () => {
  it("gives every page back when all processes exit and the file is truncated", () => {
    const { ctx, mem } = bootVm();
    void ctx.zeroPfn;
    const free0 = mem.buddy.nrFreePages();
    const f = fileOf(ctx, 3);
    const parent = proc(ctx, "p");
    const a = mmapIn(parent, { len: 3 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const b = mmapIn(parent, { len: 3 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file: f.open("r") });
    const c = mmapIn(parent, { len: 3 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_ANONYMOUS });
    for (const base of [a, b, c]) [0, 1, 2].forEach((i) => wr(parent, base + i * P, [i + 1]));
    rd(parent, b + P);
    const child = runSync(forkProcess(ctx, parent), parent);
    [a, b, c].forEach((base) => wr(child, base, [9]));
    expect(mem.buddy.nrFreePages()).toBeLessThan(free0);
    child.exit(0);
    parent.exit(0);
    expect(ctx.tasks).toEqual([]);
    runSync(f.truncate(0));
    expect(mem.buddy.nrFreePages()).toBe(free0);
  });
});

describe("raw-PFN mappings (DAX-like drivers)", () => {
  function driverFile(ctx: VmContext, base: Pfn, opts: { huge: boolean }): { file: VmFile; calls: string[] } {
    const calls: string[] = [];
    const mapping = new MemFile(ctx, "dev").mapping;
    (mapping.host as MemFile).iSize = 4 * PMD_SIZE;
    const file: VmFile = {
      mapping,
      readable: true,
      writable: true,
      mmap(vma) {
        vma.vmFlags |= VM_MIXEDMAP | VM_HUGEPAGE;
        vma.vmOps = {
          *fault(vmf: VmFault): Sleepable<number> {
            calls.push(`pte ${vmf.pgoff}`);
            return vmfInsertMixed(vma, vmf.address, pfnToPfnT((base + vmf.pgoff) as Pfn, PFN_DEV | PFN_MAP));
          },
          *hugeFault(vmf: VmFault): Sleepable<number> {
            calls.push(`pmd ${vmf.pgoff}`);
            if (!opts.huge) return VM_FAULT_FALLBACK;
            const first = vmf.pgoff - (vmf.pgoff % 512);
            return vmfInsertPfnPmd(vmf, pfnToPfnT((base + first) as Pfn, PFN_DEV | PFN_MAP), false);
          },
          *pfnMkwrite(vmf: VmFault): Sleepable<number> {
            calls.push(`mkwrite ${vmf.pgoff}`);
            return 0;
          },
        };
      },
    };
    return { file, calls };
  }

  it("maps a whole PMD through ->huge_fault, and falls back to PTEs when the driver declines", () => {
    const { ctx, mem } = bootVm();
    const base = mem.buddy.allocPages(0, 9);
    ctx.physMem.write(base + 3, 17, new Uint8Array([0xd7]));
    for (const huge of [true, false]) {
      const { file, calls } = driverFile(ctx, base, { huge });
      const t = proc(ctx, huge ? "huge" : "small");
      const a = mmapIn(t, { addr: 0x4000_0000, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file });
      const r = rd(t, a + 3 * P + 17);
      expect(r.ok && r.data[0]).toBe(0xd7);
      const pt = taskMm(t).pgtables;
      if (huge) {
        expect(pmdLeaf(pt.pmdAt(a)) && pmdDevmap(pt.pmdAt(a))).toBe(true);
        expect(calls).toEqual(["pmd 3"]);
      } else {
        expect(pmdLeaf(pt.pmdAt(a))).toBe(false);
        expect(pteDevmap(pt.pteAt(a + 3 * P))).toBe(true);
        expect(calls).toEqual(["pmd 3", "pte 3"]);
        expect(wr(t, a + 3 * P, [1]).ok).toBe(true);
        expect(calls).toEqual(["pmd 3", "pte 3", "mkwrite 3"]);
        expect(pteWrite(pt.pteAt(a + 3 * P))).toBe(true);
      }
      expect(ctx.memmap.pageMapcount(base + 3)).toBe(0); // devmap entries carry no rmap
    }
  });
});
