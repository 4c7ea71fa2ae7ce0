import { describe, expect, it } from "vitest";
import { PG_locked } from "../page/flags.js";
import { DevPagemap, MEMORY_DEVICE_PRIVATE, memremapPages, zoneDevicePageInit } from "../page/memremap.js";
import { lockPage, unlockPage } from "../page/pagelock.js";
import { Scheduler, runSync } from "../sched/scheduler.js";
import { schedule } from "../sched/sleepable.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE } from "../types.js";
import { load } from "./access.js";
import { anonVmaPrepare } from "./anonVma.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./flags.js";
import { createProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { sysMprotect, vmMmap } from "./mmap.js";
import { SWP_DEVICE_READ, SWP_DEVICE_WRITE, SWP_MIGRATION_READ, mkSwapEntry, pfnPte, pteMkwrite, swpOffset, swpType } from "./pgtable.js";
import { folioAddNewAnonRmap, folioRemoveRmapPte } from "./rmap.js";
import type { VmFault } from "./vma.js";

/** A process with one anonymous page whose PTE is a device-private entry, and a tiny driver. */
function setup() {
  const { ctx } = bootVm();
  const task = createProcess(ctx, "t");
  const mm = taskMm(task);
  const a = runSync(vmMmap(mm, { len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), task);
  const vma = mm.findVma(a)!;
  const seen: { locked: boolean; refcount: number }[] = [];
  const freed: Pfn[] = [];
  const range = { start: 2 ** 40, end: 2 ** 40 + 2 * 1024 * 1024 - 1 };
  const pgmap = new DevPagemap({
    type: MEMORY_DEVICE_PRIVATE,
    range,
    owner: "drv",
    ops: {
      pageFree: (pfn) => void freed.push(pfn),
      // A driver that copies nothing: maps a fresh zeroed page where the device page was.
      migrateToRam(v: unknown) {
        const vmf = v as VmFault;
        const dpfn = vmf.page!;
        seen.push({ locked: ctx.memmap.testPageFlag(dpfn, PG_locked), refcount: ctx.memmap.pageRefCount(dpfn) });
        const np = ctx.allocUserPage(true);
        const h = mm.pgtables.pteOffset(vmf.address);
        folioRemoveRmapPte(ctx, dpfn);
        ctx.memmap.putPage(dpfn);
        folioAddNewAnonRmap(ctx, np, vmf.vma, vmf.address);
        mm.pgtables.pteSet(h, pteMkwrite(pfnPte(np, vmf.vma.vmPageProt)));
        return 0;
      },
    },
  });
  memremapPages({ memmap: ctx.memmap }, pgmap);
  const dpfn = pgmap.startPfn;
  zoneDevicePageInit(ctx.memmap, dpfn);
  unlockPage(ctx.memmap, dpfn);
  anonVmaPrepare(vma);
  folioAddNewAnonRmap(ctx, dpfn, vma, a);
  mm.rss.anon++;
  mm.pgtables.pteSet(mm.pgtables.pteAlloc(a), mkSwapEntry(SWP_DEVICE_WRITE, dpfn));
  return { ctx, task, mm, a, dpfn, seen, freed };
}

describe("faults on device-private and migration entries", () => {
  it("migrate_to_ram runs with the device page locked and referenced; the last put frees it", () => {
    const { ctx, task, a, dpfn, seen, freed } = setup();
    const r = runSync(load(a, 4), task);
    expect(r.ok).toBe(true);
    expect(seen).toEqual([{ locked: true, refcount: 2 }]);
    expect(ctx.memmap.testPageFlag(dpfn, PG_locked)).toBe(false);
    expect(ctx.memmap.pageRefCount(dpfn)).toBe(0);
    expect(freed).toEqual([dpfn]);
  });

  it("a fault on a device page someone holds locked waits for the unlock, then migrates it", () => {
    const { ctx, task, a, dpfn, seen } = setup();
    const s = new Scheduler({ seed: 1 });
    const order: string[] = [];
    s.spawn("holder", function* () {
      yield* lockPage(ctx.memmap, dpfn);
      order.push("locked");
      for (let i = 0; i < 5; i++) yield* schedule();
      order.push("unlock");
      unlockPage(ctx.memmap, dpfn);
    });
    const cpu = s.adopt(task, (function* () {
      yield* schedule();
      const r = yield* load(a, 1);
      order.push("loaded");
      return r.ok;
    })());
    s.run();
    expect(cpu.result).toBe(true);
    expect(order).toEqual(["locked", "unlock", "loaded"]);
    expect(seen.length).toBe(1);
  });

  it("a fault on a migration entry sleeps until the migrating page is unlocked", () => {
    const { ctx, task, mm, a } = setup();
    const page = ctx.allocUserPage(true);
    ctx.physMem.write(page, 0, Uint8Array.of(42));
    const h = mm.pgtables.pteOffset(a);
    mm.pgtables.pteSet(h, mkSwapEntry(SWP_MIGRATION_READ, page));
    const s = new Scheduler({ seed: 2 });
    const order: string[] = [];
    runSync(lockPage(ctx.memmap, page));
    const cpu = s.adopt(task, (function* () {
      const r = yield* load(a, 1);
      order.push("loaded");
      return r.ok ? r.data[0] : -1;
    })());
    s.spawn("migrator", function* () {
      yield* schedule();
      order.push("finish");
      mm.pgtables.pteSet(h, pfnPte(page, mm.findVma(a)!.vmPageProt));
      unlockPage(ctx.memmap, page);
    });
    s.run();
    expect(cpu.result).toBe(42);
    expect(order).toEqual(["finish", "loaded"]);
  });

  it("mprotect turns a writable device-private entry read-only, and PROT_WRITE does not undo it", () => {
    const { task, mm, a, dpfn } = setup();
    runSync(sysMprotect(mm, a, PAGE_SIZE, PROT_READ), task);
    expect([swpType(mm.pgtables.pteAt(a)), swpOffset(mm.pgtables.pteAt(a))]).toEqual([SWP_DEVICE_READ, dpfn]);
    runSync(sysMprotect(mm, a, PAGE_SIZE, PROT_READ | PROT_WRITE), task);
    expect(swpType(mm.pgtables.pteAt(a))).toBe(SWP_DEVICE_READ);
  });
});
