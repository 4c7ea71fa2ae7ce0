/**
 * Wait queues: the one primitive every sleeping lock and every "wait until" is built on.
 *
 * @see include/linux/wait.h, kernel/sched/wait.c __wake_up_common(), prepare_to_wait(),
 *      prepare_to_wait_exclusive(); kernel/sched/wait_bit.c; mm/filemap.c folio_wait_table
 *
 * As in the kernel, non-exclusive waiters sit at the head and are all woken; exclusive
 * waiters sit at the tail and `wakeUp(nr)` wakes at most `nr` of them. A waiter may carry
 * a key (page, DAX entry): a keyed wake-up skips waiters with another key, which is what
 * lets many objects share one hashed queue without losing wake-ups.
 */
import type { Task } from "../task/task.js";
import type { BlockOp, Sleepable } from "./sleepable.js";

/** A sleeping task on a queue; the scheduler supplies `wake`. */
export interface Waiter {
  readonly task: Task;
  readonly exclusive: boolean;
  readonly key: unknown;
  wake(): void;
}

/** A lock that can say who holds it, so a deadlock report can name the cycle. */
export interface LockLike {
  readonly name: string;
  holders(): readonly Task[];
}

/** Wake-up statistics, summed over every queue (costs are reported as differences). */
export const waitStats = { sleeps: 0, wakeups: 0 };

export class WaitQueueHead {
  private readonly waiters: Waiter[] = [];

  /** @param lock the lock this queue belongs to, if any (for deadlock reports). */
  constructor(
    readonly name: string,
    readonly lock?: LockLike,
  ) {}

  get length(): number {
    return this.waiters.length;
  }

  /** Called by the scheduler when a task blocks here. */
  addWaiter(w: Waiter): void {
    waitStats.sleeps++;
    if (w.exclusive) this.waiters.push(w);
    else this.waiters.unshift(w);
  }

  /** Called by the scheduler if a waiter is removed without a wake-up (task killed). */
  removeWaiter(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /**
   * `__wake_up(wq, TASK_NORMAL, nr, key)`: wake every matching non-exclusive waiter and at
   * most `nr` matching exclusive ones (`nr = 0`: all). Returns how many were woken.
   */
  wakeUp(nr = 1, key?: unknown): number {
    let woken = 0;
    let exclusiveLeft = nr === 0 ? Infinity : nr;
    for (let i = 0; i < this.waiters.length && exclusiveLeft > 0; ) {
      const w = this.waiters[i]!;
      if (key !== undefined && w.key !== undefined && w.key !== key) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      w.wake();
      woken++;
      if (w.exclusive) exclusiveLeft--;
    }
    waitStats.wakeups += woken;
    return woken;
  }

  wakeUpAll(key?: unknown): number {
    return this.wakeUp(0, key);
  }

  /** Tasks sleeping here (for reports). */
  sleepers(): readonly Task[] {
    return this.waiters.map((w) => w.task);
  }

  /** The op that puts the current task to sleep here; the caller loops on its condition. */
  sleepOp(exclusive = false, key?: unknown): BlockOp {
    return { kind: "block", wq: this, exclusive, key };
  }

  /** `wait_event(wq, cond)` (or `wait_event_exclusive`): sleep until `cond()` holds. */
  *waitEvent(cond: () => boolean, opts: { exclusive?: boolean; key?: unknown } = {}): Sleepable {
    const op = this.sleepOp(opts.exclusive ?? false, opts.key);
    while (!cond()) yield op;
  }
}

/** A table of hashed wait queues, like `folio_wait_table` or DAX's `wait_table`. */
export class HashedWaitTable {
  private readonly queues: WaitQueueHead[];
  private readonly mask: number;

  constructor(name: string, bits: number) {
    this.queues = Array.from({ length: 1 << bits }, (_, i) => new WaitQueueHead(`${name}[${i}]`));
    this.mask = (1 << bits) - 1;
  }

  /** The queue for a key (number or string); collisions are harmless because waiters are keyed. */
  queueFor(key: number | string): WaitQueueHead {
    return this.queues[hashKey(key) & this.mask]!;
  }
}

/** `hash_long()`-like mixing of a number or string key. */
function hashKey(key: number | string): number {
  let h = 0x9e3779b9;
  if (typeof key === "number") {
    h = Math.imul(h ^ (key % 0x100000000), 0x85ebca6b);
    h = Math.imul(h ^ Math.floor(key / 0x100000000), 0xc2b2ae35);
  } else {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 16;
  return h >>> 0;
}

