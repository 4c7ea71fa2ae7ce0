import { describe, expect, it } from "vitest";
import { runSync } from "../sched/scheduler.js";
import { SIGBUS, SIGSEGV } from "../task/signal.js";
import type { Task } from "../task/task.js";
import { PAGE_SIZE, type Pfn } from "../types.js";
import { load, store } from "./access.js";
import type { VmContext } from "./context.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "./flags.js";
import { createProcess, forkProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { MemFile } from "./memfile.js";
import { vmMmap } from "./mmap.js";
import { ptePfn, ptePresent } from "./pgtable.js";
import { folioReferenced, rmapMappings, tryToUnmap } from "./rmap.js";
import { unmapMappingRange } from "./zap.js";

const P = PAGE_SIZE;

function proc(ctx: VmContext, comm: string): Task {
  const t = createProcess(ctx, comm);
  t.dispositions.set(SIGSEGV, "catch");
  t.dispositions.set(SIGBUS, "catch");
  return t;
}
const mmapIn = (t: Task, args: Parameters<typeof vmMmap>[1]) => runSync(vmMmap(taskMm(t), args), t);
const rd = (t: Task, addr: number) => runSync(load(addr, 1), t);
const wr = (t: Task, addr: number, b: number) => runSync(store(addr, Uint8Array.of(b)), t);
const pfnAt = (t: Task, addr: number) => ptePfn(taskMm(t).pgtables.pteAt(addr)) as Pfn;
const where = (ctx: VmContext, pfn: Pfn) =>
  rmapMappings(ctx, pfn).map((h) => [h.vma.vmMm.id, h.address]).sort((x, y) => x[0]! - y[0]!);

describe("rmap", () => {
  it("finds every process mapping an anonymous page after fork, and only the copier after CoW", () => {
    const { ctx } = bootVm();
    const parent = proc(ctx, "p");
    const a = mmapIn(parent, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    wr(parent, a + P, 1);
    const pfn = pfnAt(parent, a + P);
    const c1 = runSync(forkProcess(ctx, parent, "c1"), parent);
    const c2 = runSync(forkProcess(ctx, parent, "c2"), parent);
    const g = runSync(forkProcess(ctx, c1, "g"), c1);
    const mms = [parent, c1, c2, g].map((t) => taskMm(t).id);
    expect(where(ctx, pfn)).toEqual(mms.map((id) => [id, a + P]));
    expect(ctx.memmap.pageMapcount(pfn)).toBe(4);
    wr(c1, a + P, 2);
    const copy = pfnAt(c1, a + P);
    expect(where(ctx, pfn)).toEqual([parent, c2, g].map((t) => [taskMm(t).id, a + P]));
    expect(where(ctx, copy)).toEqual([[taskMm(c1).id, a + P]]);
  });

  it("finds a file page in every task that maps it, each at its own address", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(5 * P).fill(3));
    const ts = ["x", "y", "z"].map((n) => proc(ctx, n));
    const addrs = [
      mmapIn(ts[0]!, { len: 5 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") }) + 2 * P,
      mmapIn(ts[1]!, { len: 2 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r"), pgoff: 2 }),
      mmapIn(ts[2]!, { addr: 0x5000_0000, len: 3 * P, prot: PROT_READ, flags: MAP_PRIVATE, file: f.open("r"), pgoff: 1 }) + P,
    ];
    ts.forEach((t, i) => expect(rd(t, addrs[i]!).ok).toBe(true));
    const pfn = pfnAt(ts[0]!, addrs[0]!);
    expect(where(ctx, pfn)).toEqual(ts.map((t, i) => [taskMm(t).id, addrs[i]]));
    expect(new Set(addrs).size).toBe(3);
    expect(folioReferenced(ctx, pfn)).toBe(3);
    expect(folioReferenced(ctx, pfn)).toBe(0);
  });

  it("try_to_unmap removes every PTE of a file page and drops their references", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(P).fill(1));
    const ts = [proc(ctx, "a"), proc(ctx, "b")];
    const addrs = ts.map((t) => mmapIn(t, { len: P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") }));
    ts.forEach((t, i) => rd(t, addrs[i]!));
    const pfn = pfnAt(ts[0]!, addrs[0]!);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(3);
    expect(tryToUnmap(ctx, pfn, 0)).toBe(true);
    expect(ctx.memmap.pageMapcount(pfn)).toBe(0);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    ts.forEach((t, i) => expect(ptePresent(taskMm(t).pgtables.pteAt(addrs[i]!))).toBe(false));
  });
});

describe("unmap_mapping_range", () => {
  it("zaps the range in every mapping of the file with one counted TLB flush per VMA", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(3 * P).fill(5));
    const ts = [proc(ctx, "a"), proc(ctx, "b"), proc(ctx, "c")];
    const addrs = ts.map((t) => mmapIn(t, { len: 3 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") }));
    ts.forEach((t, i) => [0, 1, 2].forEach((p) => rd(t, addrs[i]! + p * P)));
    const before = ts.map((t) => taskMm(t).counters.tlbFlushes);
    unmapMappingRange(f.mapping, P, P, false);
    ts.forEach((t, i) => {
      const pt = taskMm(t).pgtables;
      expect([0, 1, 2].map((p) => ptePresent(pt.pteAt(addrs[i]! + p * P)))).toEqual([true, false, true]);
      expect(taskMm(t).counters.tlbFlushes - before[i]!).toBe(1);
      expect(taskMm(t).counters.ptesUnmapped).toBe(1);
      expect(taskMm(t).rss.file).toBe(2);
    });
    const page1 = f.mapping.iPages.load(1)! / 2;
    expect(ctx.memmap.pageMapcount(page1)).toBe(0);
    expect(ctx.memmap.pageRefCount(page1)).toBe(1);
    unmapMappingRange(f.mapping, P, P, false);
    expect(taskMm(ts[0]!).counters.tlbFlushes - before[0]!).toBe(1); // nothing left to flush
    expect(rd(ts[0]!, addrs[0]! + P).ok).toBe(true); // refaults from the cache
  });

  it("keeps private CoW copies unless even_cows", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(2 * P).fill(5));
    const t = proc(ctx, "cow");
    const a = mmapIn(t, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, file: f.open("r") });
    rd(t, a);
    wr(t, a + P, 9);
    unmapMappingRange(f.mapping, 0, 0, false);
    const pt = taskMm(t).pgtables;
    expect([ptePresent(pt.pteAt(a)), ptePresent(pt.pteAt(a + P))]).toEqual([false, true]);
    unmapMappingRange(f.mapping, 0, 0, true);
    expect(ptePresent(pt.pteAt(a + P))).toBe(false);
    expect(taskMm(t).rss.anon).toBe(0);
  });
});
