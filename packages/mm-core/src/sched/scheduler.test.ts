import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Task } from "../task/task.js";
import { current } from "./current.js";
import { lockdepReports, lockdepReset } from "./lockdep.js";
import { Mutex } from "./mutex.js";
import { RwSemaphore } from "./rwsem.js";
import { DeadlockError, Scheduler, ScriptedChoices, exploreSchedules, runSync } from "./scheduler.js";
import { schedule, type Sleepable } from "./sleepable.js";
import { HashedWaitTable, WaitQueueHead } from "./waitqueue.js";

/** Two tasks take one mutex three times each; returns the order the critical sections ran in. */
function contend(seed: number): string[] {
  const m = new Mutex("m");
  const order: string[] = [];
  const s = new Scheduler({ seed });
  for (const name of ["a", "b"]) {
    s.spawn(name, function* (): Sleepable {
      for (let i = 0; i < 3; i++) {
        yield* m.lock();
        order.push(name);
        yield* schedule();
        m.unlock();
      }
    });
  }
  s.run();
  return order;
}

describe("Scheduler", () => {
  it("gives the same interleaving for the same seed and different ones for different seeds", () => {
    expect(contend(7)).toEqual(contend(7));
    const orders = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => contend(seed).join("")));
    expect(orders.size).toBeGreaterThan(1);
    for (const o of orders) expect(o.split("").sort().join("")).toBe("aaabbb");
  });

  it("never lets two tasks into a mutex at once, under any seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 2, max: 5 }), (seed, n) => {
        const m = new Mutex("m");
        let inside = 0;
        let maxInside = 0;
        const s = new Scheduler({ seed });
        for (let t = 0; t < n; t++) {
          s.spawn(`t${t}`, function* () {
            for (let i = 0; i < 3; i++) {
              yield* m.lock();
              inside++;
              maxInside = Math.max(maxInside, inside);
              yield* schedule();
              inside--;
              m.unlock();
            }
          });
        }
        s.run();
        expect(maxInside).toBe(1);
        expect(m.isLocked()).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it("reports a lock-order inversion as a deadlock naming the wait-for cycle", () => {
    lockdepReset();
    let deadlocks = 0;
    for (let seed = 0; seed < 40; seed++) {
      const x = new Mutex("lock_x");
      const y = new Mutex("lock_y");
      const s = new Scheduler({ seed });
      s.spawn("ab", function* () {
        yield* x.lock();
        yield* y.lock();
        y.unlock();
        x.unlock();
      });
      s.spawn("ba", function* () {
        yield* y.lock();
        yield* x.lock();
        x.unlock();
        y.unlock();
      });
      try {
        s.run();
      } catch (e) {
        expect(e).toBeInstanceOf(DeadlockError);
        const d = e as DeadlockError;
        expect(d.cycle).toBe(true);
        expect(d.edges.map((edge) => edge.waitsOn).sort()).toEqual(["lock_x", "lock_y"]);
        expect(d.message).toMatch(/ab\/\d+ waits on lock_[xy] held by ba\/\d+/);
        deadlocks++;
      }
    }
    expect(deadlocks).toBeGreaterThan(0);
    expect(deadlocks).toBeLessThan(40);
    // lockdep saw the inversion even in runs that did not deadlock.
    expect(lockdepReports().some((r) => r.cycle.includes("lock_x") && r.cycle.includes("lock_y"))).toBe(true);
  });

  it("enumerates every interleaving of two three-step tasks exactly once", () => {
    const seen = new Set<string>();
    const { runs, exhausted } = exploreSchedules((choices) => {
      const log: string[] = [];
      const s = new Scheduler({ choices });
      for (const name of ["a", "b"]) {
        s.spawn(name, function* () {
          log.push(name);
          yield* schedule();
          log.push(name);
          yield* schedule();
          log.push(name);
        });
      }
      s.run();
      seen.add(log.join(""));
    });
    expect(exhausted).toBe(true);
    expect(runs).toBe(20); // C(6,3)
    expect(seen.size).toBe(20);
  });

  it("replays a recorded choice sequence", () => {
    const first = new ScriptedChoices([1, 0, 1, 1]);
    const run = (choices: ScriptedChoices) => {
      const log: string[] = [];
      const s = new Scheduler({ choices });
      for (const name of ["a", "b", "c"]) {
        s.spawn(name, function* () {
          log.push(name);
          yield* schedule();
          log.push(name);
        });
      }
      s.run();
      return log.join("");
    };
    const a = run(first);
    const b = run(new ScriptedChoices(first.made.map((m) => m.picked)));
    expect(b).toBe(a);
  });

  it("runSync runs a sleepable as current and reports one that would sleep forever", () => {
    const t = new Task({ comm: "worker" });
    expect(runSync((function* () { yield* schedule(); return current().comm; })(), t)).toBe("worker");
    const wq = new WaitQueueHead("never");
    expect(() => runSync(wq.waitEvent(() => false))).toThrow(DeadlockError);
  });

  it("stops a task that throws without stopping the others", () => {
    const s = new Scheduler();
    const bad = s.spawn("bad", function* () {
      yield* schedule();
      throw new Error("boom");
    });
    const good = s.spawn("good", function* () {
      yield* schedule();
      return 42;
    });
    s.run();
    expect(bad.failed).toBe(true);
    expect(good.result).toBe(42);
  });
});

describe("RwSemaphore", () => {
  it("lets readers share and keeps writers exclusive", () => {
    const sem = new RwSemaphore("mmap_lock");
    const s = new Scheduler({ seed: 3 });
    let readersInside = 0;
    let maxReaders = 0;
    let writerWithOthers = false;
    for (let r = 0; r < 3; r++) {
      s.spawn(`r${r}`, function* () {
        yield* sem.downRead();
        readersInside++;
        maxReaders = Math.max(maxReaders, readersInside);
        yield* schedule();
        yield* schedule();
        readersInside--;
        sem.upRead();
      });
    }
    s.spawn("w", function* () {
      yield* sem.downWrite();
      if (readersInside > 0) writerWithOthers = true;
      yield* schedule();
      sem.upWrite();
    });
    s.run();
    expect(maxReaders).toBeGreaterThan(1);
    expect(writerWithOthers).toBe(false);
  });

  it("queues a new reader behind a waiting writer", () => {
    const sem = new RwSemaphore("i_rwsem");
    const order: string[] = [];
    const s = new Scheduler({ choices: new ScriptedChoices([]) }); // always the first runnable
    s.spawn("reader1", function* () {
      yield* sem.downRead();
      order.push("r1 in");
      for (let i = 0; i < 4; i++) yield* schedule();
      sem.upRead();
    });
    s.spawn("writer", function* () {
      yield* schedule();
      yield* sem.downWrite();
      order.push("w in");
      sem.upWrite();
    });
    s.spawn("reader2", function* () {
      yield* schedule();
      yield* schedule();
      yield* sem.downRead();
      order.push("r2 in");
      sem.upRead();
    });
    s.run();
    expect(order).toEqual(["r1 in", "w in", "r2 in"]);
  });

  it("downgradeWrite lets waiting readers in while keeping a read hold", () => {
    const sem = new RwSemaphore("sem");
    // w twice (it takes the write lock), then prefer the other task whenever it can run.
    let n = 0;
    const s = new Scheduler({ choices: { choose: (k) => (n++ < 2 ? 0 : k - 1) } });
    const log: string[] = [];
    s.spawn("w", function* () {
      yield* sem.downWrite();
      yield* schedule();
      sem.downgradeWrite();
      log.push("downgraded");
      yield* schedule();
      sem.upRead();
      log.push("w released");
    });
    s.spawn("r", function* () {
      yield* sem.downRead();
      log.push(`r in with ${sem.readerCount} readers`);
      sem.upRead();
    });
    s.run();
    expect(log).toEqual(["downgraded", "r in with 2 readers", "w released"]);
    expect(sem.isLocked()).toBe(false);
  });
});

describe("WaitQueueHead", () => {
  it("wakes only waiters with the key asked for on a shared hashed queue", () => {
    const table = new HashedWaitTable("page_wait", 0); // one queue: every key collides
    const ready = new Set<number>();
    const woke: number[] = [];
    const s = new Scheduler({ seed: 1 });
    for (const key of [10, 20]) {
      s.spawn(`w${key}`, function* () {
        yield* table.queueFor(key).waitEvent(() => ready.has(key), { exclusive: true, key });
        woke.push(key);
      });
    }
    s.spawn("waker", function* () {
      yield* schedule();
      yield* schedule();
      ready.add(20);
      table.queueFor(20).wakeUp(1, 20);
      yield* schedule();
      ready.add(10);
      table.queueFor(10).wakeUp(1, 10);
    });
    s.run();
    expect(woke).toEqual([20, 10]);
  });
});
