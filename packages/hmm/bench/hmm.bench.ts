/**
 * hmm_range_fault() throughput: one device snapshots a large anonymous range through an
 * interval notifier, (1) already populated, so the walk only reads PTEs, and (2) empty,
 * with HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE, so every page takes handle_mm_fault and
 * the walk restarts after each PMD's faults.
 *
 * Prints exactly `hmm_range_fault pages/s: N` (populated) and
 * `hmm_range_fault faulting pages/s: N`.
 */
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  MmuIntervalNotifier,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  bootVm,
  createProcess,
  mmuIntervalNotifierInsert,
  mmuIntervalReadBegin,
  mmuIntervalSetSeq,
  runSync,
  taskMm,
  vmMmap,
  vmMunmap,
  type MmStruct,
  type Task,
} from "@pagelab/mm-core";
import { HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, HMM_PFN_VALID, HMM_PFN_WRITE, hmmPfnsAlloc, hmmRangeFault, type HmmRange } from "../src/index.js";

export interface HmmBenchOptions {
  /** Pages per range (default 65536 = 256 MiB). */
  pages?: number;
  /** Rounds; the best is reported (default 3). */
  rounds?: number;
}

function snapshot(task: Task, mm: MmStruct, range: HmmRange): void {
  runSync(
    (function* () {
      for (;;) {
        range.notifierSeq = yield* mmuIntervalReadBegin(range.notifier);
        yield* mm.mmapLock.downRead();
        let ret: number;
        try {
          ret = yield* hmmRangeFault(range);
        } finally {
          mm.mmapLock.upRead();
        }
        if (ret === -ERRNO.EBUSY) continue;
        if (ret) throw new Error(`hmm_range_fault: ${ret}`);
        return;
      }
    })(),
    task,
  );
}

/** Measure and print both figures; returns [populated, faulting] pages per second. */
export function benchHmmRangeFault(opts: HmmBenchOptions = {}): [number, number] {
  const pages = opts.pages ?? 65536;
  const rounds = opts.rounds ?? 3;
  const { ctx } = bootVm({ dramBytes: (pages * 2 + 8192) * PAGE_SIZE });
  const task = createProcess(ctx, "bench");
  const mm = taskMm(task);
  const sub = new MmuIntervalNotifier({
    invalidate(s, _r, seq) {
      mmuIntervalSetSeq(s, seq);
      return true;
    },
  });
  mmuIntervalNotifierInsert(sub, mm, 0, mm.taskSize);
  const len = pages * PAGE_SIZE;
  let bestPopulated = 0;
  let bestFaulting = 0;
  for (let r = 0; r < rounds; r++) {
    const a = runSync(vmMmap(mm, { len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE }), task);
    const range: HmmRange = { notifier: sub, notifierSeq: 0, start: a, end: a + len, hmmPfns: hmmPfnsAlloc(pages), defaultFlags: 0, pfnFlagsMask: 0, devPrivateOwner: null };
    let t0 = performance.now();
    snapshot(task, mm, range);
    bestPopulated = Math.max(bestPopulated, pages / ((performance.now() - t0) / 1000));
    if (range.hmmPfns.flags[pages - 1] !== (HMM_PFN_VALID | HMM_PFN_WRITE)) throw new Error("populated range not reported writable");
    runSync(vmMunmap(mm, a, len), task);

    const b = runSync(vmMmap(mm, { len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), task);
    const faulting: HmmRange = { ...range, start: b, end: b + len, hmmPfns: hmmPfnsAlloc(pages), defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE };
    const faults0 = ctx.stats.anonFaults;
    t0 = performance.now();
    snapshot(task, mm, faulting);
    bestFaulting = Math.max(bestFaulting, pages / ((performance.now() - t0) / 1000));
    if (ctx.stats.anonFaults - faults0 !== pages) throw new Error("expected one anonymous fault per page");
    runSync(vmMunmap(mm, b, len), task);
  }
  console.log(`hmm_range_fault pages/s: ${Math.round(bestPopulated)}`);
  console.log(`hmm_range_fault faulting pages/s: ${Math.round(bestFaulting)}`);
  return [bestPopulated, bestFaulting];
}

const invokedDirectly = import.meta.url === `file://${process.argv[1]}`;
if (invokedDirectly) benchHmmRangeFault();
