/**
 * How code that may sleep is written: as a generator that yields scheduler operations.
 * `yield*` is the kernel's "this may call schedule()".
 *
 * @see kernel/sched/core.c schedule(), __cond_resched(); include/linux/wait.h
 *
 * A generator yields only at switch points, so everything between two yields is atomic
 * with respect to other tasks — the model's equivalent of holding a spinlock.
 */
import type { WaitQueueHead } from "./waitqueue.js";

/** Give other tasks a chance to run (a preemption point). */
export interface YieldOp {
  readonly kind: "yield";
}
/** Sleep on a wait queue until woken (the caller re-checks its condition). */
export interface BlockOp {
  readonly kind: "block";
  readonly wq: WaitQueueHead;
  readonly exclusive: boolean;
  readonly key: unknown;
}
export type SchedOp = YieldOp | BlockOp;

/** What a function that may sleep returns; call it with `yield*`. */
export type Sleepable<T = void> = Generator<SchedOp, T, unknown>;

const YIELD: YieldOp = { kind: "yield" };

/** `cond_resched()`: an explicit switch point. */
export function* schedule(): Sleepable {
  yield YIELD;
}

/** Wrap a plain value as a sleepable that never sleeps. */
// eslint-disable-next-line require-yield
export function* sleepableOf<T>(value: T): Sleepable<T> {
  return value;
}
