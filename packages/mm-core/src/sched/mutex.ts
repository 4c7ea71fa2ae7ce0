/**
 * A sleeping mutex: one owner, FIFO-ish waiters, a switch point before every acquisition
 * so the scheduler can interleave tasks there.
 *
 * @see kernel/locking/mutex.c mutex_lock(), mutex_trylock(), mutex_unlock()
 *
 * Simplified: no optimistic spinning and no handoff; a woken waiter re-checks and may
 * lose the lock to a task that got there first, as without MUTEX_FLAG_HANDOFF.
 */
import { KernelBug } from "../errno.js";
import type { Task } from "../task/task.js";
import { current } from "./current.js";
import { lockdepAcquire, lockdepAcquired, lockdepRelease } from "./lockdep.js";
import { schedule, type Sleepable } from "./sleepable.js";
import { WaitQueueHead, type LockLike } from "./waitqueue.js";

/** Lock statistics summed over every lock (costs are reported as differences). */
export const lockStats = { acquisitions: 0, contended: 0 };

export class Mutex implements LockLike {
  owner: Task | null = null;
  readonly wq: WaitQueueHead;
  acquisitions = 0;
  contended = 0;

  constructor(readonly name: string) {
    this.wq = new WaitQueueHead(name, this);
  }

  holders(): readonly Task[] {
    return this.owner ? [this.owner] : [];
  }

  isLocked(): boolean {
    return this.owner !== null;
  }

  *lock(): Sleepable {
    yield* schedule();
    const me = current();
    lockdepAcquire(me, this);
    if (this.owner !== null) {
      this.contended++;
      lockStats.contended++;
      const op = this.wq.sleepOp(true);
      while (this.owner !== null) yield op;
    }
    this.take(me);
  }

  tryLock(): boolean {
    if (this.owner !== null) return false;
    this.take(current());
    return true;
  }

  unlock(): void {
    const me = current();
    if (this.owner !== me) {
      throw new KernelBug(`mutex_unlock(${this.name}) by ${me.comm}/${me.pid}, owner ${this.owner ? `${this.owner.comm}/${this.owner.pid}` : "none"}`);
    }
    this.owner = null;
    lockdepRelease(me, this);
    this.wq.wakeUp(1);
  }

  private take(me: Task): void {
    this.owner = me;
    this.acquisitions++;
    lockStats.acquisitions++;
    lockdepAcquired(me, this);
  }
}
