import {
  MEMORY_DEVICE_GENERIC, PG_anon_exclusive, createProcess, forkProcess, handleToPfn, isKernelError, ptePfn, taskMm, withCurrent,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { gupState } from "./config.js";
import { getUserPagesFast, getUserPagesFastOnly, pinUserPagesFast } from "./fast.js";
import { FOLL_LONGTERM, FOLL_NOWAIT, FOLL_WRITE } from "./foll.js";
import { putUserPageRef, unpinUserPages } from "./grab.js";
import { addDevicePages, bootGupMachine, daxFile, mmapPages, poke, runAs } from "./testing.js";

const P = 4096;

describe("GUP-fast", () => {
  it("takes present pages from the page tables without mmap_lock and without falling back", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 8);
    for (let i = 0; i < 8; i++) poke(t, a + i * P, "w");
    const mm = taskMm(t);
    const acquisitions = mm.mmapLock.acquisitions;
    const r = runAs(t, pinUserPagesFast(a, 8, FOLL_WRITE));
    expect(r.nr).toBe(8);
    expect(r.pages.map(handleToPfn)).toEqual([...Array(8).keys()].map((i) => ptePfn(mm.pgtables.pteAt(a + i * P))));
    expect(mm.mmapLock.acquisitions).toBe(acquisitions);
    expect(gupState(ctx).stats).toMatchObject({ fastPages: 8, fastFallbacks: 0 });
    unpinUserPages(ctx, r.pages);
  });

  it("falls back to the slow path for what needs a fault, and fast-only simply stops there", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 4);
    poke(t, a, "w");
    poke(t, a + P, "w");
    const only = withCurrent(t, () => getUserPagesFastOnly(a, 4, FOLL_WRITE));
    expect(only.nr).toBe(2);
    only.pages.forEach((h) => putUserPageRef(ctx, h));
    const r = runAs(t, getUserPagesFast(a, 4, FOLL_WRITE));
    expect(r.nr).toBe(4);
    expect(gupState(ctx).stats.fastFallbacks).toBe(1);
    expect(r.pages.map((h) => ctx.memmap.pageRefCount(handleToPfn(h)))).toEqual([2, 2, 2, 2]);
    r.pages.forEach((h) => putUserPageRef(ctx, h));
  });

  it("bails on a shared anonymous page for a R/O pin, so the slow path can unshare it", () => {
    const { ctx } = bootGupMachine();
    const parent = createProcess(ctx, "parent");
    const a = mmapPages(parent, 1);
    poke(parent, a, "s");
    const shared = ptePfn(taskMm(parent).pgtables.pteAt(a));
    const child = runAs(parent, forkProcess(ctx, parent));
    const r = runAs(child, pinUserPagesFast(a, 1, 0));
    const pinned = handleToPfn(r.pages[0]!);
    expect(pinned).not.toBe(shared);
    expect(ctx.memmap.testPageFlag(pinned, PG_anon_exclusive)).toBe(true);
    expect(gupState(ctx).stats).toMatchObject({ fastPages: 0, fastFallbacks: 1, unshareFaults: 1 });
    unpinUserPages(ctx, r.pages);
  });

  it("bails on devmap entries for FOLL_LONGTERM; the slow path decides (device-dax: allowed)", () => {
    const { ctx } = bootGupMachine();
    const pgmap = addDevicePages(ctx, { type: MEMORY_DEVICE_GENERIC });
    const t = createProcess(ctx, "rdma");
    const a = mmapPages(t, 2, { shared: true, file: daxFile(ctx, pgmap, { charDevice: true }) });
    poke(t, a, "d");
    poke(t, a + P, "d");
    const short = runAs(t, pinUserPagesFast(a, 2, FOLL_WRITE));
    expect(gupState(ctx).stats.fastPages).toBe(2);
    const long = runAs(t, pinUserPagesFast(a, 2, FOLL_WRITE | FOLL_LONGTERM));
    expect(long.pages).toEqual(short.pages);
    expect(gupState(ctx).stats).toMatchObject({ fastPages: 2, fastFallbacks: 1 });
    expect(ctx.memmap.pageRefCount(pgmap.startPfn)).toBe(1 + 2 * 1024);
    expect(pgmap.ref).toBe(pgmap.nrPages);
    unpinUserPages(ctx, [...short.pages, ...long.pages]);
  });

  it("refuses flags outside the fast set with EINVAL", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 1);
    let code = "";
    try {
      runAs(t, getUserPagesFast(a, 1, FOLL_NOWAIT));
    } catch (e) {
      if (isKernelError(e)) code = e.code;
    }
    expect(code).toBe("EINVAL");
  });
});
