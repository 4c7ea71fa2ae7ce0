import { describe, expect, it } from "vitest";
import { runSync } from "../sched/scheduler.js";
import { PAGE_SIZE } from "../types.js";
import { store } from "./access.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./flags.js";
import { createProcess, forkProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { vmMmap } from "./mmap.js";
import {
  MMU_NOTIFY_CLEAR, MmuIntervalNotifier, mmuIntervalNotifierInsert, mmuIntervalSetSeq, mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart, mmuNotifierInvalidateRangeStartNonblock, mmuNotifierRangeBlockable,
  mmuNotifierRangeInit,
} from "./mmuNotifier.js";

describe("blockable and non-blockable invalidations", () => {
  it("range_start always hands subscribers a blockable range, even one initialised with flags 0 (fork)", () => {
    const { ctx } = bootVm();
    const t = createProcess(ctx, "t");
    const mm = taskMm(t);
    const a = runSync(vmMmap(mm, { len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), t);
    runSync(store(a, Uint8Array.of(1)), t);
    const seen: boolean[] = [];
    const sub = new MmuIntervalNotifier({
      invalidate(s, r, seq) {
        seen.push(mmuNotifierRangeBlockable(r));
        mmuIntervalSetSeq(s, seq);
        return true;
      },
    });
    mmuIntervalNotifierInsert(sub, mm, 0, mm.taskSize);
    runSync(forkProcess(ctx, t), t);
    expect(seen).toEqual([true]);
  });

  it("the _nonblock variant keeps the flags and backs out with -EAGAIN when a subscriber refuses", () => {
    const { ctx } = bootVm();
    const t = createProcess(ctx, "t");
    const mm = taskMm(t);
    const sub = new MmuIntervalNotifier({ invalidate: (_s, r) => mmuNotifierRangeBlockable(r) });
    mmuIntervalNotifierInsert(sub, mm, 0, mm.taskSize);
    const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, 0, mm, 0x10000, 0x11000);
    const seq = mm.notifiers.invalidateSeq;
    expect(mmuNotifierInvalidateRangeStartNonblock(range)).toBe(-11);
    expect(mm.notifiers.activeInvalidateRanges).toBe(0);
    expect(mm.notifiers.isInvalidating).toBe(false);
    expect(mm.notifiers.invalidateSeq).toBe(seq + 2);
    // The blocking variant makes the same range blockable, so the subscriber accepts it.
    expect(mmuNotifierInvalidateRangeStart(range)).toBe(0);
    mmuNotifierInvalidateRangeEnd(range);
    expect(mm.notifiers.activeInvalidateRanges).toBe(0);
  });
});
