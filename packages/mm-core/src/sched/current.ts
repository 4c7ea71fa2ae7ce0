/**
 * `current`: the task whose code is running now.
 *
 * @see arch/x86/include/asm/current.h get_current()
 *
 * JavaScript runs one thing at a time, so a module-level variable is exact: a scheduler
 * sets it before stepping a task and restores it after. Outside any scheduler the
 * kernel's own task (pid 0, like swapper/init_task) is current.
 */
import { Task } from "../task/task.js";

export const initTask = new Task({ pid: 0, comm: "swapper/0" });

let running: Task = initTask;

/** The running task (`current`). */
export function current(): Task {
  return running;
}

/** Make `task` current for the duration of `fn` (used by schedulers). */
export function withCurrent<T>(task: Task, fn: () => T): T {
  const saved = running;
  running = task;
  try {
    return fn();
  } finally {
    running = saved;
  }
}
