import { describe, expect, it } from "vitest";
import { KernelBug } from "../errno.js";
import { DeadlockError, Scheduler, exploreSchedules, runSync, schedule } from "../sched/index.js";
import { PG_locked, PG_waiters, PG_writeback } from "./flags.js";
import { createMemory } from "./memory.js";
import {
  endPageWriteback,
  lockPage,
  setPageWriteback,
  trylockPage,
  unlockPage,
  waitOnPageLocked,
  waitOnPageWriteback,
} from "./pagelock.js";

const MiB = 1024 * 1024;

function page() {
  const mem = createMemory({ dramBytes: 4 * MiB });
  return { mm: mem.memmap, pfn: mem.buddy.allocPage() };
}

describe("page lock", () => {
  it("takes and releases PG_locked without sleeping when uncontended", () => {
    const { mm, pfn } = page();
    runSync(lockPage(mm, pfn));
    expect(mm.testPageFlag(pfn, PG_locked)).toBe(true);
    expect(trylockPage(mm, pfn)).toBe(false);
    unlockPage(mm, pfn);
    expect(mm.testPageFlag(pfn, PG_locked)).toBe(false);
    expect(() => unlockPage(mm, pfn)).toThrow(KernelBug);
  });

  it("puts a second locker to sleep with PG_waiters set until the unlock", () => {
    const { mm, pfn } = page();
    const s = new Scheduler({ seed: 1 });
    const log: string[] = [];
    s.spawn("A", function* () {
      yield* lockPage(mm, pfn);
      log.push("A locked");
      while (!mm.testPageFlag(pfn, PG_waiters)) yield* schedule();
      log.push("A unlocks");
      unlockPage(mm, pfn);
    });
    s.spawn("B", function* () {
      yield* schedule();
      yield* schedule();
      yield* lockPage(mm, pfn);
      log.push("B locked");
      unlockPage(mm, pfn);
    });
    s.run();
    expect(log).toEqual(["A locked", "A unlocks", "B locked"]);
    expect(mm.testPageFlag(pfn, PG_waiters)).toBe(false);
    expect(mm.testPageFlag(pfn, PG_locked)).toBe(false);
  });

  it("excludes every other locker under every interleaving", () => {
    const { mm, pfn } = page();
    const result = exploreSchedules((choices) => {
      const s = new Scheduler({ choices });
      let inside = 0;
      let entered = 0;
      for (const name of ["A", "B", "C"])
        s.spawn(name, function* () {
          yield* lockPage(mm, pfn);
          inside++;
          entered++;
          if (inside !== 1) throw new Error("two tasks hold the page lock");
          yield* schedule();
          inside--;
          unlockPage(mm, pfn);
        });
      s.run();
      for (const t of s.allThreads) if (t.failed) throw t.error;
      if (entered !== 3 || mm.testPageFlag(pfn, PG_locked) || mm.testPageFlag(pfn, PG_waiters))
        throw new Error("lock left held or waiters flagged");
    }, 5000);
    expect(result.exhausted).toBe(true);
    expect(result.runs).toBeGreaterThan(100);
  });

  it("reports a deadlock when a task locks a page it already holds", () => {
    const { mm, pfn } = page();
    expect(() =>
      runSync(
        (function* () {
          yield* lockPage(mm, pfn);
          yield* lockPage(mm, pfn);
        })(),
      ),
    ).toThrow(DeadlockError);
  });

  it("wakes lock waiters and writeback waiters separately", () => {
    const { mm, pfn } = page();
    const s = new Scheduler({ seed: 3 });
    const log: string[] = [];
    runSync(lockPage(mm, pfn));
    setPageWriteback(mm, pfn);
    s.spawn("wb-waiter", function* () {
      yield* waitOnPageWriteback(mm, pfn);
      log.push("writeback done");
    });
    s.spawn("lock-waiter", function* () {
      yield* waitOnPageLocked(mm, pfn);
      log.push("unlocked");
    });
    s.spawn("io", function* () {
      yield* schedule();
      yield* schedule();
      unlockPage(mm, pfn);
      yield* schedule();
      yield* schedule();
      endPageWriteback(mm, pfn);
    });
    s.run();
    expect(log).toEqual(["unlocked", "writeback done"]);
    expect(mm.testPageFlag(pfn, PG_writeback)).toBe(false);
    expect(mm.testPageFlag(pfn, PG_waiters)).toBe(false);
  });
});
