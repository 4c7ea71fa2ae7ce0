import {
  Scheduler, forkProcess, handleToPfn, ptePfn, taskMm, vmMunmap, type Pfn, type Sleepable, type Task,
} from "@pagelab/mm-core";
import { createProcess } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { DmaEngine, type DmaRequest } from "./dma.js";
import { FOLL_WRITE } from "./foll.js";
import { putUserPageRef, unpinUserPages, unpinUserPagesDirtyLock } from "./grab.js";
import { getUserPages, pinUserPages } from "./gup.js";
import { ProxyTable } from "./proxy.js";
import { pinUserPagesProxied } from "./proxyGup.js";
import { addDevicePages, ascii, bootGupMachine, daxFile, mmapPages, peekText, poke, runAs, withMmapReadLock } from "./testing.js";

const P = 4096;

/** Run `body` as `task` next to the device task until both are done. */
function withDevice(engine: DmaEngine, task: Task, body: () => Sleepable, seed = 1): Scheduler {
  const sched = new Scheduler({ seed });
  engine.spawn(sched);
  const user = sched.spawn(task, function* () {
    try {
      yield* body();
    } finally {
      engine.stop();
    }
  });
  sched.run();
  if (user.failed) throw user.error;
  return sched;
}

describe("the DMA engine", () => {
  it("sleeps until triggered, then writes through the pinned pages", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "reader");
    const a = mmapPages(t, 2);
    const engine = new DmaEngine(ctx);
    let beforeTrigger = "";
    withDevice(engine, t, function* () {
      const mm = taskMm(t);
      const r = yield* withMmapReadLock(mm, () => pinUserPages(a, 2, FOLL_WRITE));
      const req = engine.submit({ dir: "to-memory", pages: r.pages, offset: 100, length: P, data: ascii("0123456789") });
      for (let i = 0; i < 5; i++) yield { kind: "yield" } as const;
      beforeTrigger = req.done ? "done" : "waiting";
      engine.trigger();
      yield* engine.waitFor(req);
      yield* unpinUserPagesDirtyLock(ctx, r.pages, true);
    });
    expect(beforeTrigger).toBe("waiting");
    expect(peekText(t, a + 100, 12)).toBe("012345678901");
    expect(peekText(t, a + P + 96, 4)).toBe("2345"); // 4096 bytes from offset 100 cross into page 1
    expect(engine.report).toEqual([]);
    expect(engine.bytesTransferred).toBe(P);
  });

  it("DMA after munmap lands in the still-pinned page, which is freed only at unpin", () => {
    const { ctx, mem } = bootGupMachine();
    const t = createProcess(ctx, "o_direct");
    const a = mmapPages(t, 1);
    poke(t, a, "before");
    const engine = new DmaEngine(ctx);
    let pfn = 0 as Pfn;
    let refsAfterMunmap = -1;
    withDevice(engine, t, function* () {
      const mm = taskMm(t);
      const r = yield* withMmapReadLock(mm, () => pinUserPages(a, 1, FOLL_WRITE));
      pfn = handleToPfn(r.pages[0]!);
      const req = engine.submit({ dir: "to-memory", pages: r.pages, length: 5, data: ascii("after") });
      yield* vmMunmap(mm, a, P);
      refsAfterMunmap = ctx.memmap.pageRefCount(pfn);
      engine.trigger();
      yield* engine.waitFor(req);
      const seen = new Uint8Array(5);
      ctx.physMem.read(pfn, 0, seen);
      expect(String.fromCharCode(...seen)).toBe("after");
      yield* unpinUserPagesDirtyLock(ctx, r.pages, true);
    });
    expect(refsAfterMunmap).toBe(1024);
    expect(engine.report).toEqual([]);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(0);
    expect(mem.buddy.isFreeBuddyPage(pfn)).toBe(true);
  });

  it("without a reference (a driver that dropped its FOLL_GET) the checker reports DMA into a freed page, then into another owner's page", () => {
    const { ctx, mem } = bootGupMachine();
    const t = createProcess(ctx, "buggy");
    const a = mmapPages(t, 1);
    poke(t, a, "x");
    const engine = new DmaEngine(ctx, { name: "nic" });
    let pfn = 0 as Pfn;
    let rx1: DmaRequest | undefined;
    withDevice(engine, t, function* () {
      const mm = taskMm(t);
      const r = yield* withMmapReadLock(mm, () => getUserPages(a, 1, FOLL_WRITE));
      pfn = handleToPfn(r.pages[0]!);
      const rx0 = engine.submit({ dir: "to-memory", pages: r.pages, length: 4, data: ascii("LATE"), label: "rx0" });
      rx1 = engine.submit({ dir: "to-memory", pages: r.pages, length: 4, data: ascii("OOPS"), label: "rx1" });
      putUserPageRef(ctx, r.pages[0]!); // the bug: the reference is gone before the DMA
      yield* vmMunmap(mm, a, P);
      expect(mem.buddy.isFreeBuddyPage(pfn)).toBe(true);
      engine.trigger();
      yield* engine.waitFor(rx0);
    });
    expect(engine.report).toEqual([`rx0: DMA into a freed page (pfn 0x${pfn.toString(16)})`]);

    // the allocator hands the freed page to another process before rx1 is triggered
    const victim = createProcess(ctx, "victim");
    const va = mmapPages(victim, 1);
    poke(victim, va, "mine");
    expect(ptePfn(taskMm(victim).pgtables.pteAt(va))).toBe(pfn);
    engine.restart();
    withDevice(engine, t, function* () {
      engine.trigger();
      yield* engine.waitFor(rx1!);
    });
    expect(engine.report[1]).toMatch(/^rx1: DMA into a page now owned by anon_vma.* index \d+ \(pfn 0x[0-9a-f]+\)$/);
    expect(peekText(victim, va, 4)).toBe("OOPS"); // the victim's memory was overwritten
  });

  it("a pin taken before fork keeps DMA on the parent's page: the child got its own copy", () => {
    const { ctx } = bootGupMachine();
    const parent = createProcess(ctx, "parent");
    const a = mmapPages(parent, 1);
    poke(parent, a, "orig");
    const engine = new DmaEngine(ctx);
    let child: Task | undefined;
    withDevice(engine, parent, function* () {
      const r = yield* withMmapReadLock(taskMm(parent), () => pinUserPages(a, 1, FOLL_WRITE));
      const req = engine.submit({ dir: "to-memory", pages: r.pages, length: 4, data: ascii("DMA!") });
      child = yield* forkProcess(ctx, parent);
      engine.trigger();
      yield* engine.waitFor(req);
      yield* unpinUserPagesDirtyLock(ctx, r.pages, true);
    });
    expect(peekText(parent, a, 4)).toBe("DMA!");
    expect(peekText(child!, a, 4)).toBe("orig");
    expect(engine.report).toEqual([]);
  });

  it("resolves proxy handles through their table", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 1);
    const table = new ProxyTable(ctx);
    const engine = new DmaEngine(ctx, { proxies: table });
    withDevice(engine, t, function* () {
      const r = yield* withMmapReadLock(taskMm(t), () => pinUserPagesProxied(table, a, 1, FOLL_WRITE));
      const req = engine.submit({ dir: "to-memory", pages: r.pages, length: 3, data: ascii("pxy") });
      engine.trigger();
      yield* engine.waitFor(req);
      table.putUserPage(r.pages[0]!);
    });
    expect(peekText(t, a, 3)).toBe("pxy");
    expect(table.stats.pointerChases).toBeGreaterThanOrEqual(2);
  });

  it("the DMA checker reports a pinned fsdax block that its file gave up and another file received", () => {
    const { ctx } = bootGupMachine({ bugs: { daxTruncateWithoutBusyWait: true } });
    const pgmap = addDevicePages(ctx);
    const a = daxFile(ctx, pgmap, { name: "a" });
    const c = daxFile(ctx, pgmap, { name: "c" });
    const pfn = pgmap.startPfn as Pfn;
    ctx.memmap.setPageMapping(pfn, a.mapping); // dax_associate_entry(): block 0 belongs to a
    ctx.memmap.setPageIndex(pfn, 0);
    const t = createProcess(ctx, "o_direct");
    const va = mmapPages(t, 1, { shared: true, file: a });
    const r = runAs(t, withMmapReadLock(taskMm(t), () => pinUserPages(va, 1, FOLL_WRITE)));
    expect(handleToPfn(r.pages[0]!)).toBe(pfn);
    const engine = new DmaEngine(ctx);
    engine.submit({ dir: "to-memory", pages: r.pages, length: 4, data: ascii("late"), label: "dio" });
    // truncate(a) without dax_layout_busy_page(): disassociate, free the block, give it to c
    ctx.memmap.setPageMapping(pfn, null);
    ctx.memmap.setPageMapping(pfn, c.mapping);
    ctx.memmap.setPageIndex(pfn, 7);
    const sched = new Scheduler();
    engine.spawn(sched);
    engine.trigger();
    engine.stop();
    sched.run();
    expect(engine.report).toEqual([`dio: DMA into a page now owned by c index 7 (pfn 0x${pfn.toString(16)})`]);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1 + 1024); // the pin is still held: the fs did not wait for it
    unpinUserPages(ctx, r.pages);
  });
});
