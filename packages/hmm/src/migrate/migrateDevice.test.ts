import { describe, expect, it } from "vitest";
import {
  MMU_NOTIFY_MIGRATE,
  PG_locked,
  PG_lru,
  ptePfn,
  ptePresent,
  pteWrite,
} from "@pagelab/mm-core";
import { P, boot, mmapAnon, pattern, rd, wr } from "../testing/machine.js";
import { isMigrationEntry, isWritableMigrationEntry, pfnSwapEntryToPfn } from "../zoneDevice/entries.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  migratePfn,
  migratePfnFlags,
  migratePfnToPage,
} from "./migratePfn.js";
import { migrateVmaFinalize, migrateVmaInit, migrateVmaPages, migrateVmaSetup } from "./migrateDevice.js";

describe("migrate pfns", () => {
  it("keep the pfn above MIGRATE_PFN_SHIFT and the flags below, exactly, for large pfns", () => {
    const m = migratePfn(2 ** 40 + 3) + MIGRATE_PFN_MIGRATE + MIGRATE_PFN_WRITE;
    expect(migratePfnToPage(m)).toBe(2 ** 40 + 3);
    expect(migratePfnFlags(m)).toBe(MIGRATE_PFN_VALID | MIGRATE_PFN_MIGRATE | MIGRATE_PFN_WRITE);
    expect(migratePfnToPage(MIGRATE_PFN_MIGRATE)).toBeNull();
  });
});

describe("migrate_vma_setup / pages / finalize", () => {
  it("setup locks and isolates the pages, leaves migration entries, and marks holes and the zero page migratable", () => {
    const { ctx, task, mm, dmirror } = boot();
    const memmap = ctx.memmap;
    const a = mmapAnon(task, 4);
    wr(task, a, pattern(2 * P, 1)); // pages 0, 1: private
    rd(task, a + 2 * P, 1); // page 2: zero page; page 3: none
    const pfns = [0, 1].map((i) => ptePfn(mm.pgtables.pteAt(a + i * P)));
    const events = dmirror.events.length;
    const args = migrateVmaInit(mm.findVma(a)!, a, a + 4 * P, { pgmapOwner: dmirror.mdevice, flags: MIGRATE_VMA_SELECT_SYSTEM });
    expect(migrateVmaSetup(args)).toBe(0);
    expect(args.npages).toBe(4);
    expect(args.cpages).toBe(4);
    // The collect ran under MMU_NOTIFY_MIGRATE with our owner: the mirror ignored it.
    expect(dmirror.events.slice(events)).toEqual([MMU_NOTIFY_MIGRATE]);
    for (const [i, pfn] of pfns.entries()) {
      expect(args.src[i]).toBe(migratePfn(pfn) + MIGRATE_PFN_MIGRATE + MIGRATE_PFN_WRITE);
      const pte = mm.pgtables.pteAt(a + i * P);
      expect(isMigrationEntry(pte) && isWritableMigrationEntry(pte)).toBe(true);
      expect(pfnSwapEntryToPfn(pte)).toBe(pfn);
      expect(memmap.testPageFlag(pfn, PG_locked)).toBe(true);
      expect(memmap.testPageFlag(pfn, PG_lru)).toBe(false);
      expect(memmap.pageRefCount(pfn)).toBe(1); // only the isolation reference
      expect(memmap.pageMapcount(pfn)).toBe(0);
    }
    expect([args.src[2], args.src[3]]).toEqual([MIGRATE_PFN_MIGRATE, MIGRATE_PFN_MIGRATE]);
    expect(ptePfn(mm.pgtables.pteAt(a + 2 * P))).toBe(ctx.zeroPfn); // left in place until replaced

    // A driver that migrates nothing: finalize restores every page as it was.
    migrateVmaPages(args);
    // No destination: MIGRATE_PFN_MIGRATE is withdrawn everywhere.
    const kept = MIGRATE_PFN_VALID | MIGRATE_PFN_WRITE;
    expect([...args.src].map(migratePfnFlags)).toEqual([kept, kept, 0, 0]);
    migrateVmaFinalize(args);
    for (const [i, pfn] of pfns.entries()) {
      const pte = mm.pgtables.pteAt(a + i * P);
      expect(ptePresent(pte) && pteWrite(pte) && ptePfn(pte) === pfn).toBe(true);
      expect(memmap.testPageFlag(pfn, PG_locked)).toBe(false);
      expect(memmap.testPageFlag(pfn, PG_lru)).toBe(true);
      expect([memmap.pageRefCount(pfn), memmap.pageMapcount(pfn)]).toEqual([1, 1]);
    }
    expect(rd(task, a, 2 * P)).toEqual(pattern(2 * P, 1));
  });

  it("only pages of the asked-for kind are collected", () => {
    const { task, mm, dmirror } = boot();
    const a = mmapAnon(task, 2);
    wr(task, a, pattern(2 * P, 2));
    const args = migrateVmaInit(mm.findVma(a)!, a, a + 2 * P, { pgmapOwner: dmirror.mdevice, flags: MIGRATE_VMA_SELECT_DEVICE_PRIVATE });
    expect(migrateVmaSetup(args)).toBe(0);
    expect([...args.src]).toEqual([0, 0]);
    expect(args.cpages).toBe(0);
    expect(ptePresent(mm.pgtables.pteAt(a))).toBe(true);
  });

  it("rejects bad ranges with -EINVAL", () => {
    const { task, mm, dmirror } = boot();
    const a = mmapAnon(task, 2);
    const vma = mm.findVma(a)!;
    const opts = { pgmapOwner: dmirror.mdevice, flags: MIGRATE_VMA_SELECT_SYSTEM };
    expect(migrateVmaSetup(migrateVmaInit(vma, a, a, opts))).toBe(-22);
    expect(migrateVmaSetup(migrateVmaInit(vma, a - P, a + P, opts))).toBe(-22);
    expect(migrateVmaSetup(migrateVmaInit(vma, a, a + 3 * P, opts))).toBe(-22);
    // A fault page must be a locked device-private page.
    wr(task, a, Uint8Array.of(1));
    const sys = ptePfn(mm.pgtables.pteAt(a));
    expect(migrateVmaSetup(migrateVmaInit(vma, a, a + P, { ...opts, faultPage: sys }))).toBe(-22);
  });
});
