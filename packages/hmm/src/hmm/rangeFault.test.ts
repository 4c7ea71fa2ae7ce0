import { describe, expect, it } from "vitest";
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MemFile,
  PUD_NR,
  PUD_SIZE,
  pudLeaf,
  MmuIntervalNotifier,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  Scheduler,
  VM_IO,
  VM_PFNMAP,
  exploreSchedules,
  store,
  genericFileVmOps,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  ptePfn,
  sysMprotect,
  vmMunmap,
  type MmStruct,
  type Sleepable,
  type VmFile,
} from "@pagelab/mm-core";
import { P, boot, daxFile, mmap, mmapAnon, pattern, rd, run, wr } from "../testing/machine.js";
import {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnFromWord,
  hmmPfnToMapOrder,
  hmmPfnToWord,
  hmmPfnsAlloc,
  type HmmPfns,
} from "./flags.js";
import { hmmRangeFault, type HmmRange } from "./rangeFault.js";

/** An interval notifier over the whole mm that just follows the sequence protocol. */
function watch(mm: MmStruct): MmuIntervalNotifier {
  const sub = new MmuIntervalNotifier({
    invalidate(s, _range, seq) {
      mmuIntervalSetSeq(s, seq);
      return true;
    },
  });
  mmuIntervalNotifierInsert(sub, mm, 0, mm.taskSize);
  return sub;
}

function rangeOf(sub: MmuIntervalNotifier, start: number, pages: number, defaultFlags = 0, pfnFlagsMask = 0): HmmRange {
  return { notifier: sub, notifierSeq: 0, start, end: start + pages * P, hmmPfns: hmmPfnsAlloc(pages), defaultFlags, pfnFlagsMask, devPrivateOwner: null };
}

/** read_begin, then hmm_range_fault under mmap_lock (read). */
function* fault(range: HmmRange): Sleepable<number> {
  range.notifierSeq = yield* mmuIntervalReadBegin(range.notifier);
  const mm = range.notifier.mm!;
  yield* mm.mmapLock.downRead();
  try {
    return yield* hmmRangeFault(range);
  } finally {
    mm.mmapLock.upRead();
  }
}

const flagsOf = (p: HmmPfns) => [...p.flags];

describe("hmm_pfns layout", () => {
  it("keeps the 6.x word layout: VALID bit 63, WRITE 62, ERROR 61, order at bit 56", () => {
    const p = hmmPfnsAlloc(2);
    p.pfn[0] = 0x1234;
    p.flags[0] = HMM_PFN_VALID | HMM_PFN_WRITE | 9;
    expect(hmmPfnToWord(p, 0)).toBe((1n << 63n) | (1n << 62n) | (9n << 56n) | 0x1234n);
    hmmPfnFromWord(p, 1, (1n << 61n) | 0x42n);
    expect([p.flags[1], p.pfn[1]]).toEqual([HMM_PFN_ERROR, 0x42]);
  });
});

describe("hmm_range_fault", () => {
  it("snapshots each PTE as VALID or VALID|WRITE, and 0 for holes, faulting nothing without a request", () => {
    const { task, mm, ctx } = boot();
    const a = mmapAnon(task, 4);
    wr(task, a, pattern(P, 1)); // page 0: private, writable
    rd(task, a + P, 1); // page 1: the zero page, read-only
    const sub = watch(mm);
    const range = rangeOf(sub, a, 4);
    const faultsBefore = mm.counters.faults;
    expect(run(task, fault(range))).toBe(0);
    expect(flagsOf(range.hmmPfns)).toEqual([HMM_PFN_VALID | HMM_PFN_WRITE, HMM_PFN_VALID, 0, 0]);
    expect(range.hmmPfns.pfn[0]).toBe(ptePfn(mm.pgtables.pteAt(a)));
    expect(range.hmmPfns.pfn[1]).toBe(ctx.zeroPfn);
    expect(mm.counters.faults).toBe(faultsBefore);
  });

  it("REQ_FAULT faults missing pages in; REQ_WRITE breaks the zero page into private writable pages", () => {
    const { task, mm, ctx } = boot();
    const a = mmapAnon(task, 3);
    rd(task, a, 1);
    const sub = watch(mm);
    const r1 = rangeOf(sub, a, 3, HMM_PFN_REQ_FAULT);
    expect(run(task, fault(r1))).toBe(0);
    expect(flagsOf(r1.hmmPfns)).toEqual([HMM_PFN_VALID, HMM_PFN_VALID, HMM_PFN_VALID]);
    expect([...r1.hmmPfns.pfn]).toEqual([ctx.zeroPfn, ctx.zeroPfn, ctx.zeroPfn]);

    const r2 = rangeOf(sub, a, 3, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE);
    // The write faults replace zero-page PTEs (an invalidation of our own interval): retry once.
    let ret = run(task, fault(r2));
    if (ret === -ERRNO.EBUSY) ret = run(task, fault(r2));
    expect(ret).toBe(0);
    expect(flagsOf(r2.hmmPfns)).toEqual([3, 3, 3].map(() => HMM_PFN_VALID | HMM_PFN_WRITE));
    for (let i = 0; i < 3; i++) {
      expect(r2.hmmPfns.pfn[i]).toBe(ptePfn(mm.pgtables.pteAt(a + i * P)));
      expect(r2.hmmPfns.pfn[i]).not.toBe(ctx.zeroPfn);
    }
  });

  it("per-page requests fault from the first requested PTE to the end of its PMD; an empty PMD faults whole", () => {
    const { task, mm } = boot();
    const a = mmapAnon(task, 8);
    rd(task, a + 7 * P, 1); // a PTE table now exists for the range
    const sub = watch(mm);
    const range = rangeOf(sub, a, 4, 0, HMM_PFN_REQ_FAULT);
    range.hmmPfns.flags[1] = HMM_PFN_REQ_FAULT;
    expect(run(task, fault(range))).toBe(0);
    // Page 0 was not asked for and lies before the first fault: still none.
    expect(mm.pgtables.pteAt(a)).toBe(0);
    expect(flagsOf(range.hmmPfns)).toEqual([0, HMM_PFN_VALID, HMM_PFN_VALID, HMM_PFN_VALID]);

    // With no PTE table at all the walk sees one hole, and hmm_vma_fault() faults all of it.
    const b = mmap(task, { addr: 0x20000000, len: 4 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
    const r2 = rangeOf(sub, b, 4, 0, HMM_PFN_REQ_FAULT);
    r2.hmmPfns.flags[1] = HMM_PFN_REQ_FAULT;
    expect(run(task, fault(r2))).toBe(0);
    expect(mm.pgtables.pteAt(b)).not.toBe(0);
    expect(flagsOf(r2.hmmPfns)).toEqual([HMM_PFN_VALID, HMM_PFN_VALID, HMM_PFN_VALID, HMM_PFN_VALID]);
  });

  it("reports HMM_PFN_ERROR outside any VMA and in VM_IO/VM_PFNMAP VMAs, and -EFAULT when asked to fault there", () => {
    const { task, mm, ctx } = boot();
    const mf = new MemFile(ctx, "io", new Uint8Array(4 * P));
    const ioFile: VmFile = {
      mapping: mf.mapping,
      readable: true,
      writable: true,
      mmap(vma) {
        vma.vmOps = genericFileVmOps;
        vma.vmFlags |= VM_IO | VM_PFNMAP;
      },
    };
    const io = mmap(task, { len: 2 * P, prot: PROT_READ, flags: MAP_PRIVATE, file: ioFile });
    const sub = watch(mm);
    const r = rangeOf(sub, io, 2);
    expect(run(task, fault(r))).toBe(0);
    expect(flagsOf(r.hmmPfns)).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR]);
    expect(run(task, fault(rangeOf(sub, io, 2, HMM_PFN_REQ_FAULT)))).toBe(-ERRNO.EFAULT);

    const hole = 0x10000000;
    const h = rangeOf(sub, hole, 2);
    expect(run(task, fault(h))).toBe(0);
    expect(flagsOf(h.hmmPfns)).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR]);
    expect(run(task, fault(rangeOf(sub, hole, 2, HMM_PFN_REQ_FAULT)))).toBe(-ERRNO.EFAULT);
  });

  it("a PROT_NONE VMA cannot be mirrored: HMM_PFN_ERROR, or -EFAULT when a fault is requested", () => {
    const { task, mm } = boot();
    const a = mmap(task, { len: 2 * P, prot: PROT_NONE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const sub = watch(mm);
    const r = rangeOf(sub, a, 2);
    expect(run(task, fault(r))).toBe(0);
    expect(flagsOf(r.hmmPfns)).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR]);
    expect(run(task, fault(rangeOf(sub, a, 2, HMM_PFN_REQ_FAULT)))).toBe(-ERRNO.EFAULT);
  });

  it("refuses a write request in a read-only VMA with -EPERM", () => {
    const { task, mm } = boot();
    const a = mmap(task, { len: 2 * P, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    const sub = watch(mm);
    expect(run(task, fault(rangeOf(sub, a, 2, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE)))).toBe(-ERRNO.EPERM);
    expect(run(task, fault(rangeOf(sub, a, 2, HMM_PFN_REQ_FAULT)))).toBe(0);
  });

  it("returns -EBUSY when an invalidation lands after read_begin, and read_retry catches one after the walk", () => {
    const { task, mm } = boot();
    const a = mmapAnon(task, 2);
    wr(task, a, pattern(2 * P, 3));
    const sub = watch(mm);
    const range = rangeOf(sub, a, 2, HMM_PFN_REQ_FAULT);
    range.notifierSeq = run(task, mmuIntervalReadBegin(sub));
    run(task, sysMprotect(mm, a, P, PROT_READ));
    const busy = run(
      task,
      (function* () {
        yield* mm.mmapLock.downRead();
        try {
          return yield* hmmRangeFault(range);
        } finally {
          mm.mmapLock.upRead();
        }
      })(),
    );
    expect(busy).toBe(-ERRNO.EBUSY);

    // A clean walk, then an invalidation before the driver takes its lock: read_retry says so.
    expect(run(task, fault(range))).toBe(0);
    expect(mmuIntervalReadRetry(sub, range.notifierSeq)).toBe(false);
    run(task, vmMunmap(mm, a + P, P));
    expect(mmuIntervalReadRetry(sub, range.notifierSeq)).toBe(true);
  });

  it("the driver loop never programs a stale pfn when a CPU write races it (every schedule explored)", () => {
    let runs = 0;
    let raced = 0;
    const result = exploreSchedules((choices) => {
      runs++;
      const { task, mm } = boot();
      const a = mmapAnon(task, 1);
      rd(task, a, 1); // the zero page: the write replaces it, and wp_page_copy invalidates
      let programmed = -1;
      const sub = new MmuIntervalNotifier({
        invalidate(s, _r, seq) {
          mmuIntervalSetSeq(s, seq);
          programmed = -1; // the device drops its mapping
          return true;
        },
      });
      mmuIntervalNotifierInsert(sub, mm, 0, mm.taskSize);
      const sched = new Scheduler({ choices });
      let retries = 0;
      const device = sched.spawn("device", function* () {
        const range = rangeOf(sub, a, 1, HMM_PFN_REQ_FAULT);
        for (;;) {
          const ret = yield* fault(range);
          if (ret === -ERRNO.EBUSY || mmuIntervalReadRetry(sub, range.notifierSeq)) {
            retries++;
            continue;
          }
          expect(ret).toBe(0);
          programmed = range.hmmPfns.pfn[0]!;
          return;
        }
      });
      sched.adopt(task, store(a, Uint8Array.of(0x5a)));
      sched.run();
      expect(device.failed).toBe(false);
      if (retries) raced++;
      // Either the device holds the page the CPU maps now, or its mapping was dropped.
      if (programmed !== -1) expect(programmed).toBe(ptePfn(mm.pgtables.pteAt(a)));
    }, 400);
    expect(result.runs).toBe(runs);
    expect(runs).toBeGreaterThan(2);
    expect(raced).toBeGreaterThan(0);
  });

  it("a 1 GiB DAX leaf is faulted once and reported with order 18 and the subpage pfns", () => {
    const { task, mm, ctx } = boot();
    const { file, base } = daxFile(ctx, PUD_NR, { gigantic: true });
    expect(base % PUD_NR).toBe(0);
    const a = mmap(task, { addr: 64 * PUD_SIZE, len: PUD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file });
    const sub = watch(mm);
    const off = 0x2345_6000;
    const range = rangeOf(sub, a + off, 3, HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE);
    const huge = ctx.stats.hugeFaults;
    expect(run(task, fault(range))).toBe(0);
    expect(ctx.stats.hugeFaults - huge).toBe(1);
    expect(pudLeaf(mm.pgtables.pudAt(a))).toBe(true);
    expect([...range.hmmPfns.pfn]).toEqual([0, 1, 2].map((i) => base + off / P + i));
    for (const f of range.hmmPfns.flags) {
      expect(hmmPfnToMapOrder(f)).toBe(18);
      expect(f & (HMM_PFN_VALID | HMM_PFN_WRITE)).toBe(HMM_PFN_VALID | HMM_PFN_WRITE);
    }
  });
});
