import {
  DmaEngine,
  FOLL_LONGTERM,
  ascii,
  FOLL_WRITE,
  getUserPages,
  pinUserPages,
  putUserPageRef,
  unpinUserPages,
  withMmapReadLock,
} from "@pagelab/gup";
import { ERRNO, KernelBug, KernelError, MAP_SHARED, PROT_READ, PROT_WRITE, Scheduler, type Sleepable, handleToPfn, runSync, taskMm } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { bootMachine, type Machine } from "../machine.js";
import { O_CREAT, O_RDWR } from "../vfs/file.js";
import type { Process } from "../vfs/process.js";

const K = 4096;

/** A file of `blocks` blocks of `fill`, mapped shared by a new process. */
function mappedFile(m: Machine, name: string, blocks: number, fill: number): { p: Process; fd: number; addr: number } {
  const p = m.spawn(`dio-${name}`);
  const c = m.calls(p);
  const fd = c.open(`/mnt/${name}`, O_CREAT | O_RDWR);
  c.pwrite(fd, new Uint8Array(blocks * K).fill(fill), 0);
  const addr = c.mmap({ len: blocks * K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd });
  for (let i = 0; i < blocks; i++) expect(c.load(addr + i * K, 1).ok).toBe(true);
  return { p, fd, addr };
}

function pin(m: Machine, p: Process, addr: number, n: number, flags = FOLL_WRITE) {
  return runSync(withMmapReadLock(taskMm(p.task), () => pinUserPages(addr, n, flags)), p.task);
}

/**
 * F3: a pinned DAX page, a truncate racing a DMA. Returns what the other file saw and
 * the DMA checker's report.
 */
function dmaVersusTruncate(bugs: { daxTruncateWithoutBusyWait: boolean }) {
  const m = bootMachine({ bugs });
  const a = mappedFile(m, "a", 1, 0x61);
  const r = pin(m, a.p, a.addr, 1);
  const pfn = handleToPfn(r.pages[0]!);
  const dma = new DmaEngine(m.vm);
  dma.submit({ dir: "to-memory", pages: r.pages, length: 8, data: ascii("DMA-LATE"), label: "dio" });
  const sched = new Scheduler({ seed: 1 });
  const b = m.spawn("writer-b");
  const events: string[] = [];
  sched.spawn(a.p.task, function* (): Sleepable {
    const ret = yield* m.sys.ftruncate(a.p, a.fd, 0);
    events.push(`truncate ${ret}`);
  });
  sched.spawn(b.task, function* (): Sleepable {
    // runs while the truncate waits (or after it freed a's block): b allocates a block;
    // the log force first makes a freed block reusable (no longer busy)
    yield* m.sys.sync(b);
    const fd = yield* m.sys.open(b, "/mnt/b", O_CREAT | O_RDWR);
    yield* m.sys.pwrite(b, fd, new Uint8Array(K).fill(0x62), 0);
    events.push("b written");
    dma.trigger();
  });
  dma.spawn(sched);
  sched.spawn("driver", function* (): Sleepable {
    yield* dma.doneWq.waitEvent(() => dma.completed.length > 0);
    events.push("dma done");
    unpinUserPages(m.vm, r.pages);
    dma.stop();
  });
  sched.run();
  const c = m.calls(b);
  const buf = new Uint8Array(K);
  c.pread(c.open("/mnt/b", O_RDWR), buf, 0);
  return { m, pfn, events, dmaReport: dma.report, bHead: String.fromCharCode(...buf.subarray(0, 8)) };
}

describe("pinned DAX pages (issue 6: F3, F4, F5, F9)", () => {
  it("F3: truncate waits for the pinned page; the block is never handed to another file meanwhile", () => {
    const { events, dmaReport, bHead } = dmaVersusTruncate({ daxTruncateWithoutBusyWait: false });
    expect(events.indexOf("dma done")).toBeLessThan(events.indexOf("truncate 0"));
    expect(dmaReport).toEqual([]);
    expect(bHead).toBe("bbbbbbbb");
  });

  it("F3 with the pre-4.17 switch: truncate frees the pinned block, b gets it, the late DMA lands in b's data", () => {
    const { events, dmaReport, bHead } = dmaVersusTruncate({ daxTruncateWithoutBusyWait: true });
    expect(events.indexOf("truncate 0")).toBeLessThan(events.indexOf("dma done"));
    expect(dmaReport).toHaveLength(1);
    expect(dmaReport[0]).toMatch(/^dio: DMA into a (freed page|page now owned by)/);
    expect(bHead).toBe("DMA-LATE");
  });

  it("F4: the final iput of an unlinked file waits until its pinned page is unpinned", () => {
    const m = bootMachine();
    const a = mappedFile(m, "a", 1, 0x61);
    const r = pin(m, a.p, a.addr, 1);
    const c = m.calls(a.p);
    expect(c.munmap(a.addr, K)).toBe(0);
    expect(c.close(a.fd)).toBe(0);
    const freeBefore = m.kfs.fs.freeBlocks();
    const sched = new Scheduler({ seed: 2 });
    const events: string[] = [];
    sched.spawn(a.p.task, function* (): Sleepable {
      events.push(`unlink ${yield* m.sys.unlink(a.p, "/mnt/a")}`);
    });
    sched.spawn("driver", function* (): Sleepable {
      events.push(`blocks freed while pinned: ${m.kfs.fs.freeBlocks() > freeBefore}`);
      unpinUserPages(m.vm, r.pages);
      events.push("unpinned");
    });
    sched.run();
    expect(events).toEqual(["blocks freed while pinned: false", "unpinned", "unlink 0"]);
    expect(m.invariants().filter((r) => !r.ok)).toEqual([]);
    expect(m.kfs.fs.freeBlocks()).toBeGreaterThan(freeBefore);
  });

  it("F5: a FOLL_LONGTERM pin of a DAX mapping fails with EOPNOTSUPP", () => {
    const m = bootMachine();
    const a = mappedFile(m, "a", 1, 0x61);
    let err: unknown;
    try {
      pin(m, a.p, a.addr, 1, FOLL_WRITE | FOLL_LONGTERM);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe(ERRNO.EOPNOTSUPP);
  });

  it("F9: pinning X while a and b share it trips follow_page_pte()'s VM_BUG_ON (a shared fsdax page reads as PageAnon in 6.12)", () => {
    const m = bootMachine();
    const a = mappedFile(m, "a", 1, 0x58);
    const c = m.calls(a.p);
    const b = c.open("/mnt/b", O_CREAT | O_RDWR);
    expect(c.clone(b, { srcFd: a.fd })).toBe(0);
    expect(c.load(a.addr, 1).ok).toBe(true);
    expect(() => pin(m, a.p, a.addr, 1)).toThrow(KernelBug);
  });

  it("F9 with a FOLL_GET reference: X held through a, a CoWs away to X', b (the last owner) unlinked: X is not reused while held", () => {
    const m = bootMachine();
    const a = mappedFile(m, "a", 1, 0x58);
    const c = m.calls(a.p);
    const b = c.open("/mnt/b", O_CREAT | O_RDWR);
    expect(c.clone(b, { srcFd: a.fd })).toBe(0);
    c.close(b);
    expect(c.load(a.addr, 1).ok).toBe(true);
    const r = runSync(withMmapReadLock(taskMm(a.p.task), () => getUserPages(a.addr, 1, 0)), a.p.task);
    const x = handleToPfn(r.pages[0]!);
    // mwrite a: the shared block is CoWed; a's mapping now shows X'
    expect(c.store(a.addr, Uint8Array.of(0x41)).ok).toBe(true);
    const xPrime = c.fiemap(a.fd);
    expect(Array.isArray(xPrime) && xPrime[0]!.fePhysical / K + m.ns.pfnStart).not.toBe(x);
    const dma = new DmaEngine(m.vm);
    const req = dma.submit({ dir: "from-memory", pages: r.pages, length: 4, label: "dio" });
    // b was the last owner of X: unlink waits for the pin before X goes back to free space
    const sched = new Scheduler({ seed: 3 });
    const events: string[] = [];
    sched.spawn(a.p.task, function* (): Sleepable {
      events.push(`unlink b ${yield* m.sys.unlink(a.p, "/mnt/b")}`);
      const fd = yield* m.sys.open(a.p, "/mnt/c", O_CREAT | O_RDWR);
      yield* m.sys.pwrite(a.p, fd, new Uint8Array(K).fill(0x63), 0);
      events.push("c written");
    });
    dma.spawn(sched);
    sched.spawn("driver", function* (): Sleepable {
      dma.trigger();
      yield* dma.doneWq.waitEvent(() => dma.completed.length > 0);
      events.push("dma done");
      putUserPageRef(m.vm, r.pages[0]!);
      dma.stop();
    });
    sched.run();
    expect(events.indexOf("dma done")).toBeLessThan(events.indexOf("unlink b 0"));
    expect(dma.report).toEqual([]);
    expect(m.invariants().filter((r) => !r.ok)).toEqual([]);
    expect(String.fromCharCode(...req.result!)).toBe("XXXX"); // the device read X's old data
    const buf = new Uint8Array(K);
    expect(c.pread(c.open("/mnt/c", O_RDWR), buf, 0)).toBe(K);
    expect(buf.every((v) => v === 0x63)).toBe(true);
    const ab = new Uint8Array(1);
    c.pread(a.fd, ab, 0);
    expect(ab[0]).toBe(0x41);
  });
});
