/**
 * A user process as the system-call layer sees it: the mm-core task (with its mm) and
 * its file descriptor table.
 *
 * @see include/linux/sched.h task_struct->files; kernel/fork.c copy_files()
 */
import type { Task } from "@pagelab/mm-core";
import { FdTable } from "./file.js";

export class Process {
  constructor(
    readonly task: Task,
    readonly files: FdTable = new FdTable(),
  ) {}

  get pid(): number {
    return this.task.pid;
  }
  get comm(): string {
    return this.task.comm;
  }
  get alive(): boolean {
    return this.task.alive;
  }
}
