import {
  GUP_PIN_COUNTING_BIAS, MMF_HAS_PINNED, PG_anon_exclusive, PG_dirty, PROT_READ, PROT_WRITE, VM_IO, VM_PFNMAP,
  MEMORY_DEVICE_GENERIC, MemFile, folioMaybeDmaPinned, forkProcess, handleToPfn, isKernelError, ptePfn, taskMm,
  vmfInsertPfn, type Pfn, type Sleepable, type Task, type VmContext, type VmFile,
} from "@pagelab/mm-core";
import { PUD_NR, PUD_SIZE, createProcess, pudLeaf } from "@pagelab/mm-core";
import { pinUserPagesFast } from "./fast.js";
import { describe, expect, it } from "vitest";
import { gupState } from "./config.js";
import { FOLL_FORCE, FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_TOUCH, FOLL_WRITE, FOLL_NOFAULT } from "./foll.js";
import { folioAddPin, putUserPageRef, unpinUserPage, unpinUserPages, unpinUserPagesDirtyLock } from "./grab.js";
import { getUserPages, getUserPagesRemote, getUserPagesUnlocked, pinUserPages, pinUserPagesRemote, pinUserPagesUnlocked, type GupResult } from "./gup.js";
import {
  addDevicePages, bootGupMachine, daxFile, mmapPages, peekText, poke, runAs, withMmapReadLock,
} from "./testing.js";

const P = 4096;

function gup(t: Task, body: () => Sleepable<GupResult>): GupResult {
  return runAs(t, withMmapReadLock(taskMm(t), body));
}
function refs(ctx: VmContext, r: GupResult): number[] {
  return r.pages.map((h) => ctx.memmap.pageRefCount(handleToPfn(h)));
}
function errCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return "no error";
}

describe("pin counting bias", () => {
  it("a pin adds GUP_PIN_COUNTING_BIAS to the refcount and folioMaybeDmaPinned sees it; unpin takes it off", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 2);
    poke(t, a, "x");
    const pfn = ptePfn(taskMm(t).pgtables.pteAt(a));
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(folioMaybeDmaPinned(ctx, pfn)).toBe(false);

    const r1 = gup(t, () => pinUserPages(a, 1, FOLL_WRITE));
    expect(r1.nr).toBe(1);
    expect(handleToPfn(r1.pages[0]!)).toBe(pfn);
    expect(GUP_PIN_COUNTING_BIAS).toBe(1024);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1 + 1024);
    expect(folioMaybeDmaPinned(ctx, pfn)).toBe(true);

    const r2 = gup(t, () => pinUserPages(a, 1, 0));
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1 + 2 * 1024);
    folioAddPin(ctx, r2.pages[0]!);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1 + 3 * 1024);
    unpinUserPage(ctx, r2.pages[0]!);
    unpinUserPages(ctx, [...r1.pages, ...r2.pages]);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(folioMaybeDmaPinned(ctx, pfn)).toBe(false);
    expect(gupState(ctx).stats.pinsAcquired - gupState(ctx).stats.pinsReleased).toBe(0);
  });

  it("folioMaybeDmaPinned is fuzzy for small pages: 1024 plain references look like a pin", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 1);
    poke(t, a, "x");
    const r = gup(t, () => getUserPages(a, 1, 0));
    const pfn = handleToPfn(r.pages[0]!);
    for (let i = 0; i < 1021; i++) ctx.memmap.pageRefInc(pfn);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1023);
    expect(folioMaybeDmaPinned(ctx, pfn)).toBe(false);
    ctx.memmap.pageRefInc(pfn);
    expect(folioMaybeDmaPinned(ctx, pfn)).toBe(true); // false positive, allowed by design
    for (let i = 0; i < 1022; i++) ctx.memmap.putPage(pfn);
    putUserPageRef(ctx, r.pages[0]!);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
  });
});

describe("get vs pin", () => {
  it("FOLL_GET adds 1 per page and put_page drops it; only a pin sets MMF_HAS_PINNED", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 4);
    const g = gup(t, () => getUserPages(a, 4, FOLL_WRITE));
    expect(g.nr).toBe(4);
    expect(refs(ctx, g)).toEqual([2, 2, 2, 2]);
    expect(taskMm(t).testFlag(MMF_HAS_PINNED)).toBe(false);
    g.pages.forEach((h) => putUserPageRef(ctx, h));
    expect(refs(ctx, g)).toEqual([1, 1, 1, 1]);

    const p = gup(t, () => pinUserPages(a, 4, FOLL_WRITE));
    expect(p.pages).toEqual(g.pages);
    expect(refs(ctx, p)).toEqual([1025, 1025, 1025, 1025]);
    expect(taskMm(t).testFlag(MMF_HAS_PINNED)).toBe(true);
    unpinUserPages(ctx, p.pages);
    expect(refs(ctx, p)).toEqual([1, 1, 1, 1]);
  });

  it("faults in missing pages: a write GUP allocates, a read GUP of untouched anon memory gets the zero page, unpinned", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 2);
    const r = gup(t, () => pinUserPages(a, 2, 0));
    expect(r.nr).toBe(2);
    expect(r.pages.map(handleToPfn)).toEqual([ctx.zeroPfn, ctx.zeroPfn]);
    const zeroRefs = ctx.memmap.pageRefCount(ctx.zeroPfn);
    unpinUserPages(ctx, r.pages); // no pin was taken on the zero page, none is dropped
    expect(ctx.memmap.pageRefCount(ctx.zeroPfn)).toBe(zeroRefs);

    const w = gup(t, () => pinUserPages(a, 2, FOLL_WRITE));
    const pfns = w.pages.map(handleToPfn);
    expect(pfns).not.toContain(ctx.zeroPfn);
    expect(pfns.map((p) => ptePfn(taskMm(t).pgtables.pteAt(a + pfns.indexOf(p) * P)))).toEqual(pfns);
    expect(refs(ctx, w)).toEqual([1025, 1025]);
    unpinUserPages(ctx, w.pages);
  });

  it("unpinUserPagesDirtyLock marks page-cache pages dirty before dropping the pin", () => {
    const { ctx } = bootGupMachine();
    const f = new MemFile(ctx, "f", new Uint8Array(2 * P));
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 2, { shared: true, file: f.open("rw") });
    const r = gup(t, () => pinUserPages(a, 2, 0));
    const pfns = r.pages.map(handleToPfn);
    expect(pfns.map((p) => ctx.memmap.testPageFlag(p, PG_dirty))).toEqual([false, false]);
    ctx.physMem.write(pfns[1]!, 0, Uint8Array.of(0x44)); // the device wrote page 1
    runAs(t, unpinUserPagesDirtyLock(ctx, r.pages, true));
    expect(pfns.map((p) => ctx.memmap.testPageFlag(p, PG_dirty))).toEqual([true, true]);
    expect(refs(ctx, r)).toEqual([2, 2]); // page cache + mapping
  });

  it("the unlocked and remote forms take mmap_lock themselves or use the caller's", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const other = createProcess(ctx, "tracer");
    const a = mmapPages(t, 3);
    const u = runAs(t, getUserPagesUnlocked(a, 3, FOLL_WRITE));
    expect(u.nr).toBe(3);
    expect(taskMm(t).mmapLock.isLocked()).toBe(false);
    const pu = runAs(t, pinUserPagesUnlocked(a, 3, 0));
    expect(pu.pages).toEqual(u.pages);
    const mm = taskMm(t);
    const r = runAs(other, withMmapReadLock(mm, () => getUserPagesRemote(mm, a, 3, 0)));
    const pr = runAs(other, withMmapReadLock(mm, () => pinUserPagesRemote(mm, a, 3, 0)));
    expect(r.pages).toEqual(u.pages);
    expect(refs(ctx, pr)).toEqual([1 + 2 + 2 * 1024, 1 + 2 + 2 * 1024, 1 + 2 + 2 * 1024]); // 2 gets, 2 pins
    unpinUserPages(ctx, [...pu.pages, ...pr.pages]);
    [...u.pages, ...r.pages].forEach((h) => putUserPageRef(ctx, h));
    expect(refs(ctx, u)).toEqual([1, 1, 1]);
  });
});

describe("argument and VMA checks", () => {
  it("invalid flag combinations: EINVAL from the get forms, 0 pages and a WARN from pin_user_pages", () => {
    const { ctx, dmesg } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 1);
    expect(errCode(() => gup(t, () => getUserPages(a, 1, FOLL_PIN)))).toBe("EINVAL"); // internal flag
    expect(errCode(() => gup(t, () => getUserPages(a, 1, FOLL_TOUCH)))).toBe("EINVAL");
    expect(errCode(() => gup(t, () => getUserPages(a, 1, FOLL_LONGTERM)))).toBe("EINVAL"); // longterm needs a pin
    expect(gup(t, () => pinUserPages(a, 1, FOLL_GET))).toEqual({ nr: 0, pages: [] }); // GET and PIN together
    expect(gup(t, () => pinUserPages(a, 1, FOLL_PIN))).toEqual({ nr: 0, pages: [] });
    expect(dmesg.warnCount).toBe(5);
    expect(dmesg.format()).toContain("is_valid_gup_args");
    expect(ctx.memmap.pageRefCount(ctx.zeroPfn)).toBe(1);
  });

  it("VM_IO and VM_PFNMAP mappings fail with EFAULT", () => {
    const { ctx, mem } = bootGupMachine();
    const base = mem.buddy.allocPages(0, 0);
    for (const extra of [VM_PFNMAP, VM_PFNMAP | VM_IO]) {
      const file: VmFile = {
        mapping: new MemFile(ctx, "mmio").mapping,
        readable: true,
        writable: true,
        mmap(vma) {
          vma.vmFlags |= extra;
          vma.vmOps = {
            *fault(vmf) {
              return vmfInsertPfn(vma, vmf.address, base);
            },
          };
        },
      };
      const t = createProcess(ctx, "p");
      const a = mmapPages(t, 1, { shared: true, file });
      expect(peekText(t, a, 1)).toBe("\0"); // the CPU can use it
      expect(errCode(() => gup(t, () => getUserPages(a, 1, 0)))).toBe("EFAULT");
      expect(errCode(() => gup(t, () => pinUserPages(a, 1, 0)))).toBe("EFAULT");
    }
  });

  it("an address without a VMA fails with EFAULT; a range running past the VMA returns the pages before the hole", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 2);
    expect(errCode(() => gup(t, () => getUserPages(a - 16 * P, 1, 0)))).toBe("EFAULT");
    const r = gup(t, () => pinUserPages(a, 5, FOLL_WRITE));
    expect(r.nr).toBe(2);
    unpinUserPages(ctx, r.pages);
  });

  it("a write to a read-only mapping needs FOLL_FORCE, and FOLL_FORCE cannot write a shared read-only mapping", () => {
    const { ctx } = bootGupMachine();
    const f = new MemFile(ctx, "f", new Uint8Array(P).fill(0x61));
    const t = createProcess(ctx, "p");
    const ro = mmapPages(t, 1, { prot: PROT_READ });
    expect(errCode(() => gup(t, () => getUserPages(ro, 1, FOLL_WRITE)))).toBe("EFAULT");
    const shared = mmapPages(t, 1, { prot: PROT_READ, shared: true, file: f.open("r") });
    expect(errCode(() => gup(t, () => getUserPages(shared, 1, FOLL_WRITE | FOLL_FORCE)))).toBe("EFAULT");
    const none = mmapPages(t, 1, { prot: 0 });
    expect(errCode(() => gup(t, () => getUserPages(none, 1, 0)))).toBe("EFAULT");
    expect(gup(t, () => getUserPages(none, 1, FOLL_FORCE)).nr).toBe(1); // VM_MAYREAD is set
    void PROT_WRITE;
  });

  it("FOLL_NOFAULT does not fault: a missing page ends the walk with EFAULT", () => {
    const { ctx } = bootGupMachine();
    const t = createProcess(ctx, "p");
    const a = mmapPages(t, 2);
    poke(t, a, "y");
    const r = gup(t, () => pinUserPages(a, 2, FOLL_WRITE | FOLL_NOFAULT));
    expect(r.nr).toBe(1);
    unpinUserPages(ctx, r.pages);
    expect(errCode(() => gup(t, () => pinUserPages(a + P, 1, FOLL_WRITE | FOLL_NOFAULT)))).toBe("EFAULT");
  });
});

describe("long-term pins and DAX", () => {
  it("FOLL_LONGTERM on an fsdax VMA fails with EOPNOTSUPP; a short-term pin of the same page works", () => {
    const { ctx } = bootGupMachine();
    const pgmap = addDevicePages(ctx);
    const t = createProcess(ctx, "rdma");
    const a = mmapPages(t, 4, { shared: true, file: daxFile(ctx, pgmap) });
    poke(t, a, "dax");
    expect(errCode(() => gup(t, () => pinUserPages(a, 1, FOLL_LONGTERM | FOLL_WRITE)))).toBe("EOPNOTSUPP");
    expect(errCode(() => gup(t, () => pinUserPages(a, 1, FOLL_LONGTERM)))).toBe("EOPNOTSUPP");
    const pfn = pgmap.startPfn as Pfn;
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1); // FS_DAX pages idle at 1 (6.12)
    const r = gup(t, () => pinUserPages(a, 1, FOLL_WRITE));
    expect(r.pages.map(handleToPfn)).toEqual([pfn]);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1 + 1024);
    const idle: number[] = [];
    ctx.memmap.onPageIdle = (p) => idle.push(p);
    unpinUserPage(ctx, r.pages[0]!);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(idle).toEqual([pfn]); // dax_layout_busy_page() waiters would wake here
  });

  it("device-dax (a character device) may be pinned long-term", () => {
    const { ctx } = bootGupMachine();
    const pgmap = addDevicePages(ctx, { type: MEMORY_DEVICE_GENERIC });
    const t = createProcess(ctx, "vfio");
    const a = mmapPages(t, 2, { shared: true, file: daxFile(ctx, pgmap, { charDevice: true }) });
    const r = gup(t, () => pinUserPages(a, 2, FOLL_LONGTERM | FOLL_WRITE));
    expect(r.pages.map(handleToPfn)).toEqual([pgmap.startPfn, pgmap.startPfn + 1]);
    expect(pgmap.ref).toBe(pgmap.nrPages); // the walk's get_dev_pagemap reference was dropped
    unpinUserPages(ctx, r.pages);
  });

  it("pins the right subpage of a 1 GiB device-dax PUD leaf, slow and fast paths alike", () => {
    const { ctx } = bootGupMachine();
    const pgmap = addDevicePages(ctx, { type: MEMORY_DEVICE_GENERIC, pages: PUD_NR });
    const t = createProcess(ctx, "vfio");
    const a = mmapPages(t, PUD_NR, { shared: true, addr: 16 * PUD_SIZE, file: daxFile(ctx, pgmap, { charDevice: true, gigantic: true }) });
    const off = 0x3456_7000;
    const want = pgmap.startPfn + off / P;
    const ref0 = ctx.memmap.pageRefCount(want as Pfn);
    const r = gup(t, () => pinUserPages(a + off, 2, FOLL_LONGTERM | FOLL_WRITE));
    expect(pudLeaf(taskMm(t).pgtables.pudAt(a))).toBe(true);
    expect(r.pages.map(handleToPfn)).toEqual([want, want + 1]);
    expect(ctx.memmap.pageRefCount(want as Pfn)).toBe(ref0 + GUP_PIN_COUNTING_BIAS);
    unpinUserPages(ctx, r.pages);
    expect(ctx.memmap.pageRefCount(want as Pfn)).toBe(ref0);
    const f = runAs(t, pinUserPagesFast(a + off + P, 1, FOLL_WRITE));
    expect(f.pages.map(handleToPfn)).toEqual([want + 1]);
    expect(ctx.memmap.pageRefCount((want + 1) as Pfn)).toBe(ref0 + GUP_PIN_COUNTING_BIAS);
    unpinUserPages(ctx, f.pages);
  });

  it("a long-term write pin of a shared file mapping that needs dirty tracking fails with EFAULT", () => {
    const { ctx } = bootGupMachine();
    const f = new MemFile(ctx, "f", new Uint8Array(P));
    const t = createProcess(ctx, "io_uring");
    const a = mmapPages(t, 1, { shared: true, file: f.open("rw") });
    expect(errCode(() => gup(t, () => pinUserPages(a, 1, FOLL_LONGTERM | FOLL_WRITE)))).toBe("EFAULT");
    const r = gup(t, () => pinUserPages(a, 1, FOLL_LONGTERM));
    expect(r.nr).toBe(1);
    unpinUserPages(ctx, r.pages);
  });
});

describe("GUP and copy-on-write", () => {
  it("a write GUP of a CoW-shared anonymous page breaks CoW first: the pinned page is the writer's own", () => {
    const { ctx } = bootGupMachine();
    const parent = createProcess(ctx, "parent");
    const a = mmapPages(parent, 1);
    poke(parent, a, "old");
    const shared = ptePfn(taskMm(parent).pgtables.pteAt(a));
    const child = runAs(parent, forkProcess(ctx, parent));
    expect(ptePfn(taskMm(child).pgtables.pteAt(a))).toBe(shared);
    expect(ctx.memmap.testPageFlag(shared, PG_anon_exclusive)).toBe(false);

    const r = gup(child, () => pinUserPages(a, 1, FOLL_WRITE));
    const mine = handleToPfn(r.pages[0]!);
    expect(mine).not.toBe(shared);
    expect(ptePfn(taskMm(child).pgtables.pteAt(a))).toBe(mine);
    expect(ctx.memmap.testPageFlag(mine, PG_anon_exclusive)).toBe(true);
    ctx.physMem.write(mine, 0, Uint8Array.from([0x4e, 0x45, 0x57])); // DMA writes "NEW"
    expect(peekText(child, a, 3)).toBe("NEW");
    expect(peekText(parent, a, 3)).toBe("old");
    unpinUserPages(ctx, r.pages);
  });

  it("a R/O pin after fork unshares (FAULT_FLAG_UNSHARE): the child's pin gets an exclusive copy the parent cannot change", () => {
    const { ctx } = bootGupMachine();
    const parent = createProcess(ctx, "parent");
    const a = mmapPages(parent, 1);
    poke(parent, a, "secret-1");
    const shared = ptePfn(taskMm(parent).pgtables.pteAt(a));
    const child = runAs(parent, forkProcess(ctx, parent));
    const r = gup(child, () => pinUserPages(a, 1, 0));
    const pinned = handleToPfn(r.pages[0]!);
    expect(pinned).not.toBe(shared);
    expect(ctx.memmap.testPageFlag(pinned, PG_anon_exclusive)).toBe(true);
    expect(gupState(ctx).stats.unshareFaults).toBe(1);
    poke(parent, a, "secret-2");
    const seen = new Uint8Array(8);
    ctx.physMem.read(pinned, 0, seen);
    expect(String.fromCharCode(...seen)).toBe("secret-1");
    unpinUserPages(ctx, r.pages);
  });

  it("fork copies a pinned exclusive anon page for the child at once (page_needs_cow_for_dma)", () => {
    const { ctx } = bootGupMachine();
    const parent = createProcess(ctx, "parent");
    const a = mmapPages(parent, 1);
    poke(parent, a, "dma");
    const r = gup(parent, () => pinUserPages(a, 1, FOLL_WRITE));
    const pinned = handleToPfn(r.pages[0]!);
    const child = runAs(parent, forkProcess(ctx, parent));
    expect(ptePfn(taskMm(parent).pgtables.pteAt(a))).toBe(pinned);
    expect(ptePfn(taskMm(child).pgtables.pteAt(a))).not.toBe(pinned);
    expect(ctx.memmap.testPageFlag(pinned, PG_anon_exclusive)).toBe(true);
    ctx.physMem.write(pinned, 0, Uint8Array.from([0x44, 0x4d, 0x41])); // the device keeps writing
    expect(peekText(parent, a, 3)).toBe("DMA");
    expect(peekText(child, a, 3)).toBe("dma");
    unpinUserPages(ctx, r.pages);
  });
});
