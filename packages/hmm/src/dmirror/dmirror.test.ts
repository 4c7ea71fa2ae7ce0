import { describe, expect, it } from "vitest";
import {
  MAP_FIXED,
  MAP_SHARED,
  PUD_NR,
  PUD_SIZE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_MIGRATE,
  MemFile,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_UNMAP,
  PG_locked,
  PG_lru,
  PROT_READ,
  PROT_WRITE,
  forkProcess,
  isKernelError,
  ptePfn,
  ptePresent,
  sysMprotect,
  taskMm,
  vmMunmap,
  type Pfn,
} from "@pagelab/mm-core";
import { P, boot, daxFile, mmap, mmapAnon, pattern, rd, run, wr } from "../testing/machine.js";
import { isDevicePrivateEntry, isWritableDevicePrivateEntry, pfnSwapEntryToPfn } from "../zoneDevice/entries.js";
import {
  HMM_DMIRROR_MEMORY_DEVICE_COHERENT,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
} from "./uapi.js";
import { migrateVmaInit, migrateVmaSetup } from "../migrate/migrateDevice.js";
import { DmirrorDevice } from "./device.js";
import { MIGRATE_VMA_SELECT_SYSTEM } from "../migrate/migratePfn.js";

describe("dmirror: reading and writing through the mirror", () => {
  it("a device read faults pages into the mirror and sees what the CPU wrote", () => {
    const { task, dmirror } = boot();
    const a = mmapAnon(task, 3);
    const data = pattern(3 * P, 1);
    wr(task, a, data);
    const r = run(task, dmirror.read(a, 3));
    expect(r.data).toEqual(data);
    expect(r.faults).toBe(1);
    expect(r.cpages).toBe(3);
    expect(dmirror.mirroredPages).toBe(3);
    // A second read is served by the mirror alone.
    expect(run(task, dmirror.read(a, 3)).faults).toBe(0);
  });

  it("a device write faults pages in writable and the CPU reads the device's data", () => {
    const { task, mm, dmirror } = boot();
    const a = mmapAnon(task, 2);
    const data = pattern(2 * P, 2);
    const w = run(task, dmirror.write(a, data));
    expect(w.cpages).toBe(2);
    expect(dmirror.mirrorEntry(a)).toEqual({ pfn: ptePfn(mm.pgtables.pteAt(a)), write: true });
    expect(rd(task, a, 2 * P)).toEqual(data);
  });
});

describe("dmirror: the mirror follows CPU page-table changes", () => {
  it("munmap drops the mirror entries of the unmapped pages only", () => {
    const { task, mm, dmirror } = boot();
    const a = mmapAnon(task, 3);
    wr(task, a, pattern(3 * P, 3));
    run(task, dmirror.read(a, 3));
    run(task, vmMunmap(mm, a + P, P));
    expect(dmirror.events).toContain(MMU_NOTIFY_UNMAP);
    expect(dmirror.mirrorEntry(a)).toBeDefined();
    expect(dmirror.mirrorEntry(a + P)).toBeUndefined();
    expect(dmirror.mirrorEntry(a + 2 * P)).toBeDefined();
    expect(() => run(task, dmirror.read(a + P, 1))).toThrow(/EFAULT/);
  });

  it("fork write-protects and a CoW write replaces the page: the mirror never keeps the old one", () => {
    const { ctx, task, mm, dmirror } = boot();
    const a = mmapAnon(task, 2);
    wr(task, a, pattern(2 * P, 4));
    run(task, dmirror.write(a, pattern(2 * P, 5)));
    const before = ptePfn(mm.pgtables.pteAt(a));
    expect(dmirror.mirrorEntry(a)).toEqual({ pfn: before, write: true });
    const child = run(task, forkProcess(ctx, task, "child"));
    // fork's write-protect invalidated the parent's range.
    expect(dmirror.events).toContain(MMU_NOTIFY_PROTECTION_PAGE);
    expect(dmirror.mirroredPages).toBe(0);
    // The device reads again (read-only now: the page is shared with the child).
    expect(run(task, dmirror.read(a, 2)).data).toEqual(pattern(2 * P, 5));
    expect(dmirror.mirrorEntry(a)).toEqual({ pfn: before, write: false });
    // The parent writes: CoW gives it a new page and the mirror entry goes.
    wr(task, a, Uint8Array.of(0xee));
    const after = ptePfn(mm.pgtables.pteAt(a));
    expect(after).not.toBe(before);
    expect(dmirror.mirrorEntry(a)).toBeUndefined();
    expect(dmirror.mirrorEntry(a + P)).toBeDefined();
    expect(run(task, dmirror.read(a, 1)).data[0]).toBe(0xee);
    expect(dmirror.mirrorEntry(a)?.pfn).toBe(after);
    // The child still sees the old data through its own mapping.
    expect(rd(child, a, 1)[0]).toBe(pattern(1, 5)[0]);
  });

  it("mprotect invalidates the mirror, and a device write then fails on a read-only VMA", () => {
    const { task, mm, dmirror } = boot();
    const a = mmapAnon(task, 2);
    run(task, dmirror.write(a, pattern(2 * P, 6)));
    run(task, sysMprotect(mm, a, 2 * P, PROT_READ));
    expect(dmirror.events).toContain(MMU_NOTIFY_PROTECTION_VMA);
    expect(dmirror.mirroredPages).toBe(0);
    expect(run(task, dmirror.read(a, 2)).data).toEqual(pattern(2 * P, 6));
    expect(dmirror.mirrorEntry(a)?.write).toBe(false);
    let err: unknown;
    try {
      run(task, dmirror.write(a, pattern(P, 7)));
    } catch (e) {
      err = e;
    }
    expect(isKernelError(err, "EPERM")).toBe(true);
  });
});

describe("dmirror: file mappings", () => {
  it("truncate unmaps the file pages past EOF and the mirror drops them", () => {
    const { ctx, task, dmirror } = boot();
    const f = new MemFile(ctx, "f", pattern(4 * P, 21));
    const a = mmap(task, { len: 4 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: f.open("rw") });
    expect(run(task, dmirror.read(a, 4)).data).toEqual(pattern(4 * P, 21));
    expect(dmirror.mirroredPages).toBe(4);
    run(task, f.truncate(2 * P));
    expect(dmirror.events).toContain(MMU_NOTIFY_CLEAR);
    expect(dmirror.mirrorEntry(a)).toBeDefined();
    expect(dmirror.mirrorEntry(a + 2 * P)).toBeUndefined();
    expect(dmirror.mirrorEntry(a + 3 * P)).toBeUndefined();
  });
});

describe("dmirror: snapshot", () => {
  it("reports unmapped, zero-page, read-only, writable and no-VMA pages without faulting", () => {
    const { task, mm, dmirror } = boot();
    const a = mmapAnon(task, 4);
    rd(task, a + P, 1);
    wr(task, a + 2 * P, Uint8Array.of(1));
    wr(task, a + 3 * P, Uint8Array.of(1));
    run(task, sysMprotect(mm, a + 3 * P, P, PROT_READ));
    const faults = mm.counters.faults;
    const perm = run(task, dmirror.snapshot(a, 5));
    expect([...perm]).toEqual([
      HMM_DMIRROR_PROT_NONE,
      HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ,
      HMM_DMIRROR_PROT_NONE | HMM_DMIRROR_PROT_WRITE,
      HMM_DMIRROR_PROT_NONE | HMM_DMIRROR_PROT_READ,
      HMM_DMIRROR_PROT_ERROR,
    ]);
    expect(mm.counters.faults).toBe(faults);
  });
});

describe("dmirror: migration to device memory and back", () => {
  it("a round trip keeps the data; meanwhile the CPU page table holds device-private entries", () => {
    const { ctx, task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 4);
    const data = pattern(4 * P, 8);
    wr(task, a, data);
    const sysPfns = [0, 1, 2, 3].map((i) => ptePfn(mm.pgtables.pteAt(a + i * P)));
    const free0 = ctx.memmap && dev.nrFreePages;
    const r = run(task, dmirror.migrateToDevice(a, 4));
    expect(r.cpages).toBe(4);
    expect(r.data).toEqual(data);
    for (let i = 0; i < 4; i++) {
      const pte = mm.pgtables.pteAt(a + i * P);
      expect(isDevicePrivateEntry(pte)).toBe(true);
      expect(isWritableDevicePrivateEntry(pte)).toBe(true);
      const dpfn = pfnSwapEntryToPfn(pte);
      expect(dev.chunks[0]!.pagemap.pfnValid(dpfn)).toBe(true);
      expect(ctx.memmap.pageRefCount(dpfn)).toBe(1);
      expect(ctx.memmap.pageMapcount(dpfn)).toBe(1);
      expect(dmirror.mirrorEntry(a + i * P)).toEqual({ pfn: dpfn, write: true });
      // The system pages went back to the allocator.
      expect(ctx.memmap.pageRefCount(sysPfns[i]!)).toBe(0);
    }
    expect(dev.nrFreePages).toBe(free0 - 4);
    expect([...run(task, dmirror.snapshot(a, 4))]).toEqual(Array(4).fill(HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE));

    const back = run(task, dmirror.migrateToSystem(a, 4));
    expect(back.cpages).toBe(4);
    expect(rd(task, a, 4 * P)).toEqual(data);
    for (let i = 0; i < 4; i++) expect(ptePresent(mm.pgtables.pteAt(a + i * P))).toBe(true);
    expect(dev.calloc - dev.cfree).toBe(0);
    expect(dev.nrFreePages).toBe(free0);
    expect(dmirror.mirroredPages).toBe(0);
  });

  it("the device reads and writes its own memory through the mirror, and hmm reports it as is", () => {
    const { task, dev, dmirror } = boot();
    const a = mmapAnon(task, 2);
    wr(task, a, pattern(2 * P, 9));
    run(task, dmirror.migrateToDevice(a, 2));
    run(task, dmirror.write(a, pattern(2 * P, 10)));
    expect(dev.memory.pagesStored).toBe(2);
    // A fresh open of the same device re-faults: device-private pages of its owner are not migrated.
    const again = dev.open(dmirror.mm);
    const r = run(task, again.read(a, 2));
    expect(r.data).toEqual(pattern(2 * P, 10));
    expect(dev.migrateToRamCalls).toBe(0);
  });

  it("a CPU access faults a device page back through migrate_to_ram and frees the device page", () => {
    const { ctx, task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 2);
    const data = pattern(2 * P, 11);
    wr(task, a, data);
    run(task, dmirror.migrateToDevice(a, 2));
    const dpfn = pfnSwapEntryToPfn(mm.pgtables.pteAt(a));
    const pgmap = dev.chunks[0]!.pagemap;
    const refs = pgmap.ref;
    expect(rd(task, a, 16)).toEqual(data.subarray(0, 16));
    expect(dev.migrateToRamCalls).toBe(1);
    expect(ptePresent(mm.pgtables.pteAt(a))).toBe(true);
    expect(ctx.memmap.pageRefCount(dpfn)).toBe(0);
    expect(pgmap.ref).toBe(refs - 1);
    expect(dev.cfree).toBe(1);
    expect(dmirror.mirrorEntry(a)).toBeUndefined();
    // The other page is still on the device.
    expect(isDevicePrivateEntry(mm.pgtables.pteAt(a + P))).toBe(true);
    wr(task, a + P + 5, Uint8Array.of(0x99));
    expect(dev.migrateToRamCalls).toBe(2);
    expect(rd(task, a + P, 8)).toEqual(Uint8Array.of(...data.subarray(P, P + 5), 0x99, ...data.subarray(P + 6, P + 8)));
  });

  it("another device does not see the page without faulting; its hmm_range_fault migrates it back to RAM", () => {
    const { task, mm, devs, dmirror } = boot({ devices: 2 });
    const other = devs[1]!.open(mm);
    const a = mmapAnon(task, 1);
    wr(task, a, pattern(P, 12));
    run(task, dmirror.migrateToDevice(a, 1));
    // Only the owner's pages are reported as they are (test_hmm's hmm2.snapshot expects NONE here).
    expect([...run(task, other.snapshot(a, 1))]).toEqual([HMM_DMIRROR_PROT_NONE]);
    expect(run(task, other.read(a, 1)).data).toEqual(pattern(P, 12));
    expect(devs[0]!.migrateToRamCalls).toBe(1);
    expect(ptePresent(mm.pgtables.pteAt(a))).toBe(true);
  });

  it("one device's migration invalidates another device's mirror, but not its own", () => {
    const { task, mm, devs, dmirror } = boot({ devices: 2 });
    const other = devs[1]!.open(mm);
    const a = mmapAnon(task, 1);
    wr(task, a, pattern(P, 22));
    run(task, other.read(a, 1));
    run(task, dmirror.read(a, 1));
    const ownInvalidations = dmirror.invalidations;
    run(task, dmirror.migrateToDevice(a, 1));
    expect(other.events).toContain(MMU_NOTIFY_MIGRATE);
    expect(other.mirrorEntry(a)).toBeUndefined();
    expect(dmirror.invalidations).toBe(ownInvalidations);
    expect(dmirror.mirrorEntry(a)?.pfn).toBe(pfnSwapEntryToPfn(mm.pgtables.pteAt(a)));
  });

  it("device pages are freed (page_free, refcount 0) on munmap and on exit", () => {
    const { ctx, task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 3);
    wr(task, a, pattern(3 * P, 13));
    run(task, dmirror.migrateToDevice(a, 3));
    const dpfns = [0, 1, 2].map((i) => pfnSwapEntryToPfn(mm.pgtables.pteAt(a + i * P)) as Pfn);
    run(task, vmMunmap(mm, a, P));
    expect(dev.cfree).toBe(1);
    expect(ctx.memmap.pageRefCount(dpfns[0]!)).toBe(0);
    expect(mm.rss.anon).toBe(2);
    task.exit(0);
    expect(mm.dead).toBe(true);
    expect(dev.cfree).toBe(3);
    for (const p of dpfns) expect(ctx.memmap.pageRefCount(p)).toBe(0);
    expect(dev.chunks[0]!.pagemap.ref).toBe(0);
    expect(dev.memory.pagesStored).toBe(0);
  });

  it("after fork both processes map the device page; a CPU read in the child brings it back for both", () => {
    const { ctx, task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 1);
    wr(task, a, pattern(P, 14));
    run(task, dmirror.migrateToDevice(a, 1));
    const dpfn = pfnSwapEntryToPfn(mm.pgtables.pteAt(a));
    const child = run(task, forkProcess(ctx, task, "child"));
    const cmm = taskMm(child);
    expect(ctx.memmap.pageRefCount(dpfn)).toBe(2);
    expect(ctx.memmap.pageMapcount(dpfn)).toBe(2);
    // fork made the parent's entry read-only (CoW), and the child's is a copy of it.
    expect(isWritableDevicePrivateEntry(mm.pgtables.pteAt(a))).toBe(false);
    expect(pfnSwapEntryToPfn(cmm.pgtables.pteAt(a))).toBe(dpfn);
    expect(rd(child, a, P)).toEqual(pattern(P, 14));
    const sys = ptePfn(cmm.pgtables.pteAt(a));
    expect(ptePfn(mm.pgtables.pteAt(a))).toBe(sys);
    expect(ctx.memmap.pageMapcount(sys)).toBe(2);
    expect(ctx.memmap.pageRefCount(dpfn)).toBe(0);
    expect(dev.cfree).toBe(1);
    // A write in the child now breaks CoW as for any shared anonymous page.
    wr(child, a, Uint8Array.of(1));
    expect(rd(task, a, 1)[0]).toBe(pattern(P, 14)[0]);
  });

  it("mprotect makes device-private entries read-only for good; a CPU write then migrates the page back", () => {
    const { task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 1);
    wr(task, a, pattern(P, 19));
    run(task, dmirror.migrateToDevice(a, 1));
    run(task, sysMprotect(mm, a, P, PROT_READ));
    expect(isDevicePrivateEntry(mm.pgtables.pteAt(a)) && !isWritableDevicePrivateEntry(mm.pgtables.pteAt(a))).toBe(true);
    run(task, sysMprotect(mm, a, P, PROT_READ | PROT_WRITE));
    // As in change_pte_range(): write permission does not come back on its own.
    expect(isWritableDevicePrivateEntry(mm.pgtables.pteAt(a))).toBe(false);
    expect([...run(task, dmirror.snapshot(a, 1))]).toEqual([HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_READ]);
    wr(task, a + 1, Uint8Array.of(0x77));
    expect(dev.migrateToRamCalls).toBe(1);
    expect(rd(task, a, 2)).toEqual(Uint8Array.of(pattern(P, 19)[0]!, 0x77));
  });

  it("a page fork shared is unmapped from both processes (try_to_migrate) and lands on the device for both", () => {
    const { ctx, task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 1);
    wr(task, a, pattern(P, 23));
    const sys = ptePfn(mm.pgtables.pteAt(a));
    const child = run(task, forkProcess(ctx, task, "child"));
    const cmm = taskMm(child);
    run(task, dmirror.migrateToDevice(a, 1));
    const ppte = mm.pgtables.pteAt(a);
    const cpte = cmm.pgtables.pteAt(a);
    expect(isDevicePrivateEntry(ppte) && isDevicePrivateEntry(cpte)).toBe(true);
    expect(pfnSwapEntryToPfn(cpte)).toBe(pfnSwapEntryToPfn(ppte));
    // Both entries were read-only (CoW after fork), so both stay read-only on the device.
    expect(isWritableDevicePrivateEntry(ppte) || isWritableDevicePrivateEntry(cpte)).toBe(false);
    expect(ctx.memmap.pageMapcount(pfnSwapEntryToPfn(ppte))).toBe(2);
    expect(ctx.memmap.pageRefCount(sys)).toBe(0);
    // The child writes: migrate_to_ram brings the page back for both, then CoW gives the child its own.
    wr(child, a, Uint8Array.of(0x42));
    expect(dev.migrateToRamCalls).toBe(1);
    expect(rd(task, a, P)).toEqual(pattern(P, 23));
    expect(rd(child, a, 1)[0]).toBe(0x42);
    expect(dev.calloc - dev.cfree).toBe(0);
  });

  it("evicting the device (HMM_DMIRROR_RELEASE) moves every page back to RAM and unmaps the chunk", () => {
    const { ctx, task, mm, dev, dmirror } = boot();
    const a = mmapAnon(task, 3);
    const data = pattern(3 * P, 15);
    wr(task, a, data);
    run(task, dmirror.migrateToDevice(a, 3));
    const pgmap = dev.chunks[0]!.pagemap;
    expect(dev.removeChunks()).toBe(3);
    expect(pgmap.live).toBe(false);
    expect(ctx.memmap.pfnValid(pgmap.startPfn)).toBe(false);
    for (let i = 0; i < 3; i++) expect(ptePresent(mm.pgtables.pteAt(a + i * P))).toBe(true);
    expect(rd(task, a, 3 * P)).toEqual(data);
    expect(dmirror.mirroredPages).toBe(0);
  });

  it("a page pinned by someone else stays in RAM: setup restores it and leaves it out", () => {
    const { ctx, task, mm, dmirror } = boot();
    const a = mmapAnon(task, 2);
    wr(task, a, pattern(2 * P, 16));
    const pinned = ptePfn(mm.pgtables.pteAt(a));
    ctx.memmap.pageRefInc(pinned); // a GUP reference
    let err: unknown;
    try {
      run(task, dmirror.migrateToDevice(a, 2));
    } catch (e) {
      err = e;
    }
    // As in test_hmm: the read-back finds the unmigrated page missing from the mirror.
    expect(isKernelError(err, "ENOENT")).toBe(true);
    expect(ptePfn(mm.pgtables.pteAt(a))).toBe(pinned);
    expect(ptePresent(mm.pgtables.pteAt(a))).toBe(true);
    expect(ctx.memmap.testPageFlag(pinned, PG_locked)).toBe(false);
    expect(ctx.memmap.testPageFlag(pinned, PG_lru)).toBe(true);
    expect(ctx.memmap.pageRefCount(pinned)).toBe(2);
    expect(ctx.memmap.pageMapcount(pinned)).toBe(1);
    expect(isDevicePrivateEntry(mm.pgtables.pteAt(a + P))).toBe(true);
    expect(rd(task, a, 2 * P)).toEqual(pattern(2 * P, 16));
  });
});

describe("dmirror: DAX mappings", () => {
  it("a DAX VMA is refused for migration with EINVAL and mirrored read-only until the device writes", () => {
    const { ctx, task, mm, dmirror } = boot();
    const { file, base, storage } = daxFile(ctx, 4);
    const a = mmap(task, { len: 4 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file });
    wr(task, a, pattern(P, 17));
    expect(storage.pagesStored).toBe(1);
    const vma = mm.findVma(a)!;
    const args = migrateVmaInit(vma, a, a + 4 * P, { pgmapOwner: dmirror.mdevice, flags: MIGRATE_VMA_SELECT_SYSTEM });
    expect(migrateVmaSetup(args)).toBe(-22);
    let err: unknown;
    try {
      run(task, dmirror.migrateToDevice(a, 4));
    } catch (e) {
      err = e;
    }
    expect(isKernelError(err, "EINVAL")).toBe(true);

    expect(run(task, dmirror.read(a + P, 1)).data).toEqual(new Uint8Array(P));
    expect(dmirror.mirrorEntry(a + P)).toEqual({ pfn: base + 1, write: false });
    expect([...run(task, dmirror.snapshot(a + P, 1))]).toEqual([HMM_DMIRROR_PROT_NONE | HMM_DMIRROR_PROT_READ]);
    run(task, dmirror.write(a + P, pattern(P, 18)));
    expect(dmirror.mirrorEntry(a + P)).toEqual({ pfn: base + 1, write: true });
    expect(rd(task, a + P, P)).toEqual(pattern(P, 18));
  });

  it("a 2 MiB DAX mapping is reported with order 9 (HMM_DMIRROR_PROT_PMD)", () => {
    const { ctx, task, dmirror } = boot();
    const { file } = daxFile(ctx, 512, { huge: true });
    const a = mmap(task, { len: 512 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file });
    expect(a % (512 * P)).toBe(0);
    rd(task, a, 1);
    expect([...run(task, dmirror.snapshot(a, 2))]).toEqual(Array(2).fill(HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_PMD));
  });

  it("a 1 GiB DAX mapping is reported with order 18 (HMM_DMIRROR_PROT_PUD)", () => {
    const { ctx, task, dmirror } = boot();
    const { file } = daxFile(ctx, PUD_NR, { gigantic: true });
    const a = mmap(task, { addr: 64 * PUD_SIZE, len: PUD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file });
    rd(task, a + PUD_SIZE - P, 1);
    expect([...run(task, dmirror.snapshot(a + 0x1000_0000, 2))]).toEqual(Array(2).fill(HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_PUD));
  });
});

describe("dmirror: device-coherent memory", () => {
  it("migrated pages stay CPU-mapped with present PTEs: no migrate_to_ram, and back to RAM on request", () => {
    const { ctx, task, mm } = boot();
    const dev = new DmirrorDevice(ctx, { name: "coherent0", zoneDeviceType: HMM_DMIRROR_MEMORY_DEVICE_COHERENT, chunkBytes: 4 * 1024 * 1024 });
    const dmirror = dev.open(mm);
    const a = mmapAnon(task, 2);
    wr(task, a, pattern(2 * P, 20));
    run(task, dmirror.migrateToDevice(a, 2));
    const pte = mm.pgtables.pteAt(a);
    expect(ptePresent(pte)).toBe(true);
    expect(dev.chunks[0]!.pagemap.pfnValid(ptePfn(pte))).toBe(true);
    expect(rd(task, a, 2 * P)).toEqual(pattern(2 * P, 20));
    wr(task, a + 3, Uint8Array.of(0xab));
    expect(dev.migrateToRamCalls).toBe(0);
    expect(dev.memory.pagesStored).toBe(2);
    expect([...run(task, dmirror.snapshot(a, 2))]).toEqual(Array(2).fill(HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE));
    expect(run(task, dmirror.migrateToSystem(a, 2)).cpages).toBe(2);
    expect(dev.chunks[0]!.pagemap.pfnValid(ptePfn(mm.pgtables.pteAt(a)))).toBe(false);
    expect(rd(task, a, 4)).toEqual(Uint8Array.of(...pattern(3, 20), 0xab));
    expect(dev.calloc - dev.cfree).toBe(0);
  });
});
