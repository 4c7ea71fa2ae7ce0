/**
 * A small lockdep: lock classes (by name), the order in which tasks take them, and the
 * "possible circular locking dependency" report when a new acquisition closes a cycle —
 * before any task actually deadlocks.
 *
 * @see kernel/locking/lockdep.c check_prev_add(), print_circular_bug()
 *
 * Simplified: a class is a lock's name; no irq-safety states, no recursive-read rules
 * (a read acquisition counts like a write one), each cycle reported once.
 */
import type { Task } from "../task/task.js";
import type { LockLike } from "./waitqueue.js";

export interface LockdepReport {
  readonly task: Task;
  /** The class chain that closes the cycle, starting and ending with the new lock's class. */
  readonly cycle: readonly string[];
  readonly text: string;
}

const held = new WeakMap<Task, LockLike[]>();
/** class -> classes taken while holding it */
const after = new Map<string, Set<string>>();
const reported = new Set<string>();
const reports: LockdepReport[] = [];
const listeners: ((r: LockdepReport) => void)[] = [];

export function heldLocks(task: Task): readonly LockLike[] {
  return held.get(task) ?? [];
}

/** Record that `task` is about to take `lock`; report an inversion it would create. */
export function lockdepAcquire(task: Task, lock: LockLike): void {
  const mine = held.get(task) ?? [];
  for (const prev of mine) {
    if (prev.name === lock.name) continue;
    const edges = after.get(prev.name) ?? new Set<string>();
    if (edges.has(lock.name)) continue;
    const back = pathBetween(lock.name, prev.name);
    edges.add(lock.name);
    after.set(prev.name, edges);
    if (back) {
      const cycle = [...back, lock.name];
      const key = [...cycle].sort().join(">");
      if (reported.has(key)) continue;
      reported.add(key);
      const text =
        `WARNING: possible circular locking dependency detected\n` +
        `${task.comm}/${task.pid} is trying to acquire lock:\n  (${lock.name})\n` +
        `but task is already holding lock:\n  (${prev.name})\n` +
        `which lock already depends on the new lock: ${cycle.join(" --> ")}`;
      const report = { task, cycle, text };
      reports.push(report);
      for (const l of listeners) l(report);
    }
  }
}

export function lockdepAcquired(task: Task, lock: LockLike): void {
  const mine = held.get(task);
  if (mine) mine.push(lock);
  else held.set(task, [lock]);
}

export function lockdepRelease(task: Task, lock: LockLike): void {
  const mine = held.get(task);
  if (!mine) return;
  const i = mine.lastIndexOf(lock);
  if (i >= 0) mine.splice(i, 1);
}

/** Reports so far (oldest first). */
export function lockdepReports(): readonly LockdepReport[] {
  return reports;
}

export function onLockdepReport(fn: (r: LockdepReport) => void): () => void {
  listeners.push(fn);
  return () => {
    const i = listeners.indexOf(fn);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/** Forget all recorded orders (tests, or a fresh machine). */
export function lockdepReset(): void {
  after.clear();
  reported.clear();
  reports.length = 0;
}

/** A path of classes from `from` to `to` in the dependency graph, if any. */
function pathBetween(from: string, to: string): string[] | null {
  const seen = new Set<string>([from]);
  const stack: string[][] = [[from]];
  while (stack.length) {
    const path = stack.pop()!;
    const last = path[path.length - 1]!;
    if (last === to) return path;
    for (const next of after.get(last) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push([...path, next]);
    }
  }
  return null;
}
