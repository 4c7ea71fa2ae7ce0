import { describe, expect, it } from "vitest";
import { Scheduler, runSync } from "../sched/scheduler.js";
import { schedule } from "../sched/sleepable.js";
import { SIGSEGV } from "../task/signal.js";
import type { Task } from "../task/task.js";
import { PAGE_SIZE } from "../types.js";
import { store } from "./access.js";
import type { VmContext } from "./context.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "./flags.js";
import { createProcess, forkProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { vmMmap, vmMunmap } from "./mmap.js";
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_CLEAR, MMU_NOTIFY_PROTECTION_PAGE, MMU_NOTIFY_UNMAP, MmuIntervalNotifier,
  MmuNotifier, type MmuNotifierRange, mmuIntervalNotifierInsert, mmuIntervalReadBegin, mmuIntervalReadRetry,
  mmuIntervalSetSeq, mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart, mmuNotifierRangeInit,
  mmuNotifierRegister,
} from "./mmuNotifier.js";

const P = PAGE_SIZE;

function proc(ctx: VmContext, comm: string): Task {
  const t = createProcess(ctx, comm);
  t.dispositions.set(SIGSEGV, "catch");
  return t;
}

function mirror(log: { start: number; end: number; event: number; seq: number }[]): MmuIntervalNotifier {
  return new MmuIntervalNotifier({
    invalidate(sub, range, curSeq) {
      mmuIntervalSetSeq(sub, curSeq);
      log.push({ start: range.start, end: range.end, event: range.event, seq: curSeq });
      return true;
    },
  });
}

describe("mmu_interval_notifier sequence protocol", () => {
  it("munmap of the watched range invalidates it: read_retry fails for the old sequence, a new read_begin succeeds", () => {
    const { ctx } = bootVm();
    const t = proc(ctx, "hmm");
    const mm = taskMm(t);
    const a = runSync(vmMmap(mm, { len: 4 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), t);
    runSync(store(a, Uint8Array.of(1)), t);
    const log: { start: number; end: number; event: number; seq: number }[] = [];
    const sub = mirror(log);
    mmuIntervalNotifierInsert(sub, mm, a, 2 * P);
    const far = mirror([]);
    mmuIntervalNotifierInsert(far, mm, a + 3 * P, P);
    const seq = runSync(mmuIntervalReadBegin(sub), t);
    const farSeq = runSync(mmuIntervalReadBegin(far), t);
    expect(seq % 2).toBe(1);
    expect(mm.notifiers.invalidateSeq).toBe(2);
    expect(mmuIntervalReadRetry(sub, seq)).toBe(false);

    runSync(vmMunmap(mm, a + P, P), t);
    expect(log).toEqual([{ start: a + P, end: a + 2 * P, event: MMU_NOTIFY_UNMAP, seq: 3 }]);
    expect(mm.notifiers.invalidateSeq).toBe(4); // odd during, even again after
    expect(mmuIntervalReadRetry(sub, seq)).toBe(true);
    expect(mmuIntervalReadRetry(far, farSeq)).toBe(false);
    const seq2 = runSync(mmuIntervalReadBegin(sub), t);
    expect(seq2).toBe(3);
    expect(mmuIntervalReadRetry(sub, seq2)).toBe(false);
  });

  it("read_begin sleeps while an invalidation of the interval is in flight", () => {
    const { ctx } = bootVm();
    const t = proc(ctx, "inv");
    const mm = taskMm(t);
    const sub = mirror([]);
    mmuIntervalNotifierInsert(sub, mm, 0x10000, P);
    const order: string[] = [];
    const s = new Scheduler({ seed: 1 });
    s.spawn(t, function* () {
      const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, 0x10000, 0x11000);
      mmuNotifierInvalidateRangeStart(range);
      order.push("start");
      for (let i = 0; i < 5; i++) yield* schedule();
      order.push("end");
      mmuNotifierInvalidateRangeEnd(range);
    });
    const reader = s.spawn("device", function* () {
      yield* schedule();
      const seq = yield* mmuIntervalReadBegin(sub);
      order.push(`read_begin ${seq}`);
      return seq;
    });
    s.run();
    expect(order).toEqual(["start", "end", "read_begin 3"]);
    expect(reader.result).toBe(3);
  });
});

describe("mmu_notifier subscribers", () => {
  it("see start/end around a CoW fault and the write-protection at fork", () => {
    const { ctx } = bootVm();
    const t = proc(ctx, "kvm");
    const mm = taskMm(t);
    const a = runSync(vmMmap(mm, { len: P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), t);
    runSync(store(a, Uint8Array.of(1)), t);
    const events: string[] = [];
    const fmt = (r: MmuNotifierRange) => `${r.event}:${(r.start - a) / P}-${(r.end - a) / P}`;
    mmuNotifierRegister(
      new MmuNotifier({
        invalidateRangeStart: (_s, r) => (events.push(`start ${fmt(r)}`), 0),
        invalidateRangeEnd: (_s, r) => void events.push(`end ${fmt(r)}`),
        archInvalidateSecondaryTlbs: () => void events.push("tlb"),
      }),
      mm,
    );
    const child = runSync(forkProcess(ctx, t), t);
    expect(events).toEqual([`start ${MMU_NOTIFY_PROTECTION_PAGE}:0-1`, `end ${MMU_NOTIFY_PROTECTION_PAGE}:0-1`, "tlb"]);
    events.length = 0;
    runSync(store(a, Uint8Array.of(2)), t);
    expect(events).toEqual([`start ${MMU_NOTIFY_CLEAR}:0-1`, "tlb", `end ${MMU_NOTIFY_CLEAR}:0-1`]);
    expect(taskMm(child).notifiers.list).toHaveLength(0);
  });
});
