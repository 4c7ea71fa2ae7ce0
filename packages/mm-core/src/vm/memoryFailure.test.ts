import { describe, expect, it } from "vitest";
import { ERRNO } from "../errno.js";
import { PG_hwpoison } from "../page/flags.js";
import { DevPagemap, MEMORY_DEVICE_FS_DAX, memremapPages } from "../page/memremap.js";
import { runSync } from "../sched/scheduler.js";
import type { Sleepable } from "../sched/sleepable.js";
import { BUS_MCEERR_AO, BUS_MCEERR_AR, SIGBUS, SIGSEGV } from "../task/signal.js";
import { PR_MCE_KILL_EARLY, PR_MCE_KILL_SET, type Task } from "../task/task.js";
import { PAGE_SIZE, PMD_SIZE, type Pfn } from "../types.js";
import { load, store } from "./access.js";
import type { VmContext } from "./context.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MF_ACTION_REQUIRED, PROT_READ, PROT_WRITE, VM_MIXEDMAP } from "./flags.js";
import { createProcess, forkProcess, taskMm } from "./fork.js";
import { PFN_DEV, PFN_MAP, pfnToPfnT, vmfInsertMixed } from "./insertPfn.js";
import { bootVm } from "./machine.js";
import { MemFile } from "./memfile.js";
import { memoryFailure } from "./memoryFailure.js";
import { vmMmap } from "./mmap.js";
import { isHwpoisonEntry, ptePfn, pteNone } from "./pgtable.js";
import type { VmFault } from "./vma.js";

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
const pteAt = (t: Task, addr: number) => taskMm(t).pgtables.pteAt(addr);
const log = (ctx: VmContext) => ctx.dmesg.all().map((l) => `<${l.level}>${l.text}`);

function sharedAnonPage(ctx: VmContext): { parent: Task; child: Task; a: number; pfn: Pfn } {
  const parent = proc(ctx, "parent");
  const a = mmapIn(parent, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  wr(parent, a + P, 0x11);
  const child = runSync(forkProcess(ctx, parent, "child"), parent);
  return { parent, child, a: a + P, pfn: ptePfn(pteAt(parent, a + P)) };
}

describe("memory_failure on a DRAM anonymous page mapped by two processes", () => {
  it("late kill: only the consuming task gets BUS_MCEERR_AR; both lose the page to hwpoison entries", () => {
    const { ctx } = bootVm();
    const { parent, child, a, pfn } = sharedAnonPage(ctx);
    const hex = `0x${pfn.toString(16)}`;
    expect(runSync(memoryFailure(ctx, pfn, MF_ACTION_REQUIRED), parent)).toBe(0);
    expect(parent.delivered).toEqual([{ signo: SIGBUS, code: BUS_MCEERR_AR, addr: a, addrLsb: 12, outcome: "caught" }]);
    expect(child.sent).toEqual([]);
    expect(isHwpoisonEntry(pteAt(parent, a)) && isHwpoisonEntry(pteAt(child, a))).toBe(true);
    expect(ctx.memmap.testPageFlag(pfn, PG_hwpoison)).toBe(true);
    expect(ctx.memmap.pageMapcount(pfn)).toBe(0);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1); // memory_failure's reference keeps it out of the allocator
    expect(log(ctx)).toEqual([
      `<3>Memory failure: ${hex}: Sending SIGBUS to parent:${parent.pid} due to hardware memory corruption`,
      `<3>Memory failure: ${hex}: recovery action for dirty LRU page: Recovered`,
    ]);
    const later = rd(child, a + 5);
    expect(!later.ok && later.signal).toEqual({ signo: SIGBUS, code: BUS_MCEERR_AR, addr: a + 5, addrLsb: 12 });
    expect(log(ctx)[2]).toBe(`<3>MCE: Killing child:${child.pid} due to hardware memory corruption fault at ${(a + 5).toString(16)}`);
  });

  it("early kill: a PF_MCE_EARLY process is sent BUS_MCEERR_AO at its own address", () => {
    const { ctx } = bootVm();
    const { parent, child, a, pfn } = sharedAnonPage(ctx);
    child.prctlMceKill(PR_MCE_KILL_SET, PR_MCE_KILL_EARLY);
    runSync(memoryFailure(ctx, pfn, MF_ACTION_REQUIRED), parent);
    expect(parent.delivered.map((d) => d.code)).toEqual([BUS_MCEERR_AR]);
    expect(child.sent).toEqual([{ signo: SIGBUS, code: BUS_MCEERR_AO, addr: a, addrLsb: 12 }]);
    expect(log(ctx).filter((l) => l.includes("Sending SIGBUS"))).toHaveLength(2);
  });

  it("without MF_ACTION_REQUIRED, late-kill processes hear nothing and vm.memory_failure_early_kill=1 tells all", () => {
    for (const sysctl of [false, true]) {
      const { ctx } = bootVm();
      ctx.sysctl.memoryFailureEarlyKill = sysctl;
      const { parent, child, pfn } = sharedAnonPage(ctx);
      runSync(memoryFailure(ctx, pfn, 0));
      expect([parent.sent.length, child.sent.length]).toEqual(sysctl ? [1, 1] : [0, 0]);
      if (sysctl) expect(parent.sent[0]!.code).toBe(BUS_MCEERR_AO);
    }
  });

  it("a second failure of the same page reports it already poisoned and signals the accessing task", () => {
    const { ctx } = bootVm();
    const { parent, a, pfn } = sharedAnonPage(ctx);
    runSync(memoryFailure(ctx, pfn, 0));
    const ret = runSync(memoryFailure(ctx, pfn, MF_ACTION_REQUIRED), parent);
    expect(ret).toBe(-ERRNO.EHWPOISON);
    const hex = `0x${pfn.toString(16)}`;
    expect(log(ctx).slice(-2)).toEqual([
      `<3>Memory failure: ${hex}: already hardware poisoned`,
      `<3>Memory failure: ${hex}: Sending SIGBUS to parent:${parent.pid} due to hardware memory corruption`,
    ]);
    expect(parent.delivered.at(-1)).toMatchObject({ code: BUS_MCEERR_AR, addr: a });
  });
});

describe("memory_failure on a free page", () => {
  it("takes it off the buddy allocator for good", () => {
    const { ctx, mem } = bootVm();
    const pfn = mem.buddy.allocPages(0, 0);
    mem.buddy.freePages(pfn, 0);
    const free = mem.buddy.nrFreePages();
    expect(runSync(memoryFailure(ctx, pfn, 0))).toBe(0);
    expect(mem.buddy.nrFreePages()).toBe(free - 1);
    expect(mem.buddy.isFreeBuddyPage(pfn)).toBe(false);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(log(ctx)).toEqual([`<3>Memory failure: 0x${pfn.toString(16)}: recovery action for free buddy page: Recovered`]);
  });
});

describe("memory_failure on a clean page-cache page", () => {
  it("drops the page without any signal; the next access re-reads it from the file", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(2 * P).fill(0x33));
    const t = proc(ctx, "reader");
    const a = mmapIn(t, { len: 2 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") });
    rd(t, a);
    const pfn = ptePfn(pteAt(t, a));
    const hex = `0x${pfn.toString(16)}`;
    expect(runSync(memoryFailure(ctx, pfn, MF_ACTION_REQUIRED), t)).toBe(0);
    expect(t.sent).toEqual([]);
    expect(pteNone(pteAt(t, a))).toBe(true);
    expect(f.mapping.nrpages).toBe(0);
    expect(log(ctx)).toEqual([
      `<6>Memory failure: ${hex}: corrupted page was clean: dropped without side effects`,
      `<3>Memory failure: ${hex}: recovery action for clean LRU page: Recovered`,
    ]);
    const again = rd(t, a);
    expect(again.ok && again.data[0]).toBe(0x33);
    expect(f.readFolioCalls).toBe(2);
    expect(ptePfn(pteAt(t, a))).not.toBe(pfn);
  });
});

describe("memory failure from a machine check on a device page", () => {
  it("a load from poison runs memory_failure; the pgmap declines and the generic path kills with AR", () => {
    const { ctx, mem } = bootVm();
    const base = 0x10_0000; // pfn of a 2 MiB device range above DRAM
    const calls: string[] = [];
    const pgmap = new DevPagemap({
      type: MEMORY_DEVICE_FS_DAX,
      range: { start: base * P, end: base * P + PMD_SIZE - 1 },
      ops: {
        memoryFailure: (pfn) => {
          calls.push(`memory_failure ${pfn.toString(16)}`);
          return -ERRNO.EOPNOTSUPP;
        },
      },
    });
    const media = new Uint8Array(PMD_SIZE);
    const poisoned = new Set([base * P + 3 * P + 64]);
    memremapPages(mem, pgmap, {
      load(physAddr, dst) {
        for (let i = 0; i < dst.length; i++) {
          if (poisoned.has(Math.floor((physAddr + i) / 64) * 64)) {
            throw Object.assign(new Error("poison"), { name: "MachineCheckError", physAddr: physAddr + i });
          }
        }
        dst.set(media.subarray(physAddr - base * P, physAddr - base * P + dst.length));
      },
      store(physAddr, src) {
        media.set(src, physAddr - base * P);
      },
    });
    const f = new MemFile(ctx, "daxfile", new Uint8Array(0));
    f.iSize = 8 * P;
    const t = proc(ctx, "victim");
    const other = proc(ctx, "bystander");
    const file = {
      ...f.open("rw"),
      mmap(vma: import("./vma.js").VmAreaStruct) {
        vma.vmFlags |= VM_MIXEDMAP;
        vma.vmOps = {
          *fault(vmf: VmFault): Sleepable<number> {
            const pfn = (base + vmf.pgoff) as Pfn;
            ctx.memmap.setPageMapping(pfn, f.mapping);
            ctx.memmap.setPageIndex(pfn, vmf.pgoff);
            return vmfInsertMixed(vma, vmf.address, pfnToPfnT(pfn, PFN_DEV | PFN_MAP));
          },
        };
      },
    };
    const a = mmapIn(t, { len: 8 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file });
    const b = mmapIn(other, { len: 8 * P, prot: PROT_READ, flags: MAP_SHARED, file });
    expect(rd(other, b + 3 * P).ok).toBe(true); // the poisoned line is at offset 64
    const r = runSync(load(a + 3 * P + 60, 8), t);
    expect(!r.ok && r.signal).toEqual({ signo: SIGBUS, code: BUS_MCEERR_AR, addr: a + 3 * P, addrLsb: 12 });
    expect(r.ok ? -1 : r.data.length).toBe(0);
    const pfn = base + 3;
    expect(calls).toEqual([`memory_failure ${pfn.toString(16)}`]);
    expect(ctx.memmap.testPageFlag(pfn, PG_hwpoison)).toBe(true);
    expect(other.sent).toEqual([]);
    expect(pteNone(pteAt(t, a + 3 * P)) && pteNone(pteAt(other, b + 3 * P))).toBe(true);
    expect(log(ctx)).toEqual([
      `<3>mce: Uncorrected hardware memory error in user-access at ${(base * P + 3 * P + 64).toString(16)}`,
      `<3>Memory failure: 0x${pfn.toString(16)}: Sending SIGBUS to victim:${t.pid} due to hardware memory corruption`,
      `<3>Memory failure: 0x${pfn.toString(16)}: recovery action for dax page: Recovered`,
    ]);
  });
});
