/**
 * A reader/writer semaphore with the kernel's fairness: once a writer waits, new readers
 * queue behind it, so writers are not starved; waiters are granted in arrival order
 * (a run of readers together).
 *
 * @see kernel/locking/rwsem.c down_read(), down_write(), up_read(), up_write(),
 *      downgrade_write(), rwsem_mark_wake()
 *
 * Used for mmap_lock, i_rwsem, the MMAPLOCK (invalidate_lock) and i_mmap_rwsem.
 * Simplified: no optimistic spinning, no reader-owned handoff bits.
 */
import { KernelBug } from "../errno.js";
import type { Task } from "../task/task.js";
import { current } from "./current.js";
import { lockdepAcquire, lockdepAcquired, lockdepRelease } from "./lockdep.js";
import { lockStats } from "./mutex.js";
import { schedule, type Sleepable } from "./sleepable.js";
import { WaitQueueHead, type LockLike } from "./waitqueue.js";

interface Request {
  readonly task: Task;
  readonly write: boolean;
}

export class RwSemaphore implements LockLike {
  writer: Task | null = null;
  private readonly readers = new Map<Task, number>();
  private readonly queue: Request[] = [];
  readonly wq: WaitQueueHead;
  acquisitions = 0;
  contended = 0;

  constructor(readonly name: string) {
    this.wq = new WaitQueueHead(name, this);
  }

  holders(): readonly Task[] {
    return this.writer ? [this.writer] : [...this.readers.keys()];
  }

  isLocked(): boolean {
    return this.writer !== null || this.readers.size > 0;
  }

  isWriteLocked(): boolean {
    return this.writer !== null;
  }

  /** Whether the current task holds it (for `lockdep_assert_held`). */
  isHeldByCurrent(): boolean {
    const me = current();
    return this.writer === me || this.readers.has(me);
  }

  get readerCount(): number {
    let n = 0;
    for (const c of this.readers.values()) n += c;
    return n;
  }

  *downRead(): Sleepable {
    yield* this.acquire(false);
  }

  *downWrite(): Sleepable {
    yield* this.acquire(true);
  }

  tryDownRead(): boolean {
    if (this.writer !== null || this.queue.length > 0) return false;
    this.grant({ task: current(), write: false });
    return true;
  }

  tryDownWrite(): boolean {
    if (this.isLocked() || this.queue.length > 0) return false;
    this.grant({ task: current(), write: true });
    return true;
  }

  upRead(): void {
    const me = current();
    const n = this.readers.get(me);
    if (!n) throw new KernelBug(`up_read(${this.name}) by ${me.comm}/${me.pid} which does not hold it`);
    if (n === 1) this.readers.delete(me);
    else this.readers.set(me, n - 1);
    lockdepRelease(me, this);
    if (this.queue.length) this.wq.wakeUpAll();
  }

  upWrite(): void {
    const me = current();
    if (this.writer !== me) throw new KernelBug(`up_write(${this.name}) by ${me.comm}/${me.pid} which does not hold it`);
    this.writer = null;
    lockdepRelease(me, this);
    if (this.queue.length) this.wq.wakeUpAll();
  }

  /** `downgrade_write()`: keep holding it, as a reader, and let waiting readers in. */
  downgradeWrite(): void {
    const me = current();
    if (this.writer !== me) throw new KernelBug(`downgrade_write(${this.name}) by a non-owner`);
    this.writer = null;
    this.readers.set(me, (this.readers.get(me) ?? 0) + 1);
    if (this.queue.length) this.wq.wakeUpAll();
  }

  private *acquire(write: boolean): Sleepable {
    yield* schedule();
    const req: Request = { task: current(), write };
    lockdepAcquire(req.task, this);
    if (!this.grantable(req, false)) {
      this.contended++;
      lockStats.contended++;
      this.queue.push(req);
      const op = this.wq.sleepOp(false);
      while (!this.grantable(req, true)) yield op;
      this.queue.splice(this.queue.indexOf(req), 1);
      // Readers right behind us may now go too.
      if (this.queue.length) this.wq.wakeUpAll();
    }
    this.grant(req);
  }

  /** Free for `req`, counting only the requests queued before it. */
  private grantable(req: Request, queued: boolean): boolean {
    if (this.writer !== null) return false;
    if (req.write && this.readers.size > 0) return false;
    const ahead = queued ? this.queue.slice(0, this.queue.indexOf(req)) : this.queue;
    if (req.write) return ahead.length === 0;
    return ahead.every((r) => !r.write);
  }

  private grant(req: Request): void {
    if (req.write) this.writer = req.task;
    else this.readers.set(req.task, (this.readers.get(req.task) ?? 0) + 1);
    this.acquisitions++;
    lockStats.acquisitions++;
    lockdepAcquired(req.task, this);
  }
}
