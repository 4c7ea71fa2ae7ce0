/**
 * Process system calls: fork, exit, kill, prctl(PR_MCE_KILL).
 *
 * @see kernel/fork.c copy_process() (copy_files, copy_mm); kernel/exit.c do_exit()
 *      (exit_mm, exit_files); kernel/signal.c kill_pid_info(); kernel/sys.c prctl
 *      PR_MCE_KILL / PR_MCE_KILL_GET
 */
import {
  KernelError,
  PF_MCE_EARLY,
  PF_MCE_PROCESS,
  PR_MCE_KILL_CLEAR,
  PR_MCE_KILL_DEFAULT,
  PR_MCE_KILL_EARLY,
  PR_MCE_KILL_LATE,
  PR_MCE_KILL_SET,
  type Sleepable,
  forkProcess,
} from "@pagelab/mm-core";
import type { Machine } from "../machine.js";
import type { Process } from "../vfs/process.js";

export const PR_MCE_KILL = 33;
export const PR_MCE_KILL_GET = 34;
/** `SI_USER`: a signal sent by kill(2). */
export const SI_USER = 0;
const NSIG = 64;

export function* sysFork(m: Machine, p: Process, comm?: string): Sleepable<Process> {
  const child = yield* forkProcess(m.vm, p.task, comm ?? p.comm);
  return m.adopt(child, p.files.dup());
}

/** `do_exit()`: files closed, the mm dropped, the task reaped. */
export function* sysExit(m: Machine, p: Process, code: number): Sleepable<number> {
  p.task.exit(code & 0xff);
  yield* m.reap(p);
  return 0;
}

export function* sysKill(m: Machine, _p: Process, pid: number, sig: number): Sleepable<number> {
  if (!Number.isInteger(sig) || sig < 0 || sig > NSIG) throw new KernelError("EINVAL");
  const target = m.processes.find((q) => q.pid === pid && q.alive);
  if (!target) throw new KernelError("ESRCH");
  if (sig === 0) return 0;
  target.task.sendSignal({ signo: sig, code: SI_USER, addr: 0 });
  target.task.deliverPending();
  yield* m.reap(target);
  return 0;
}

/** `prctl(PR_MCE_KILL, ...)` and `prctl(PR_MCE_KILL_GET)`. */
export function* sysPrctl(_m: Machine, p: Process, option: number, arg2 = 0, arg3 = 0): Sleepable<number> {
  yield* [];
  const t = p.task;
  if (option === PR_MCE_KILL_GET) {
    if (arg2 || arg3) throw new KernelError("EINVAL");
    if (!(t.flags & PF_MCE_PROCESS)) return PR_MCE_KILL_DEFAULT;
    return t.flags & PF_MCE_EARLY ? PR_MCE_KILL_EARLY : PR_MCE_KILL_LATE;
  }
  if (option !== PR_MCE_KILL) throw new KernelError("EINVAL");
  if (arg2 === PR_MCE_KILL_CLEAR) {
    if (arg3 !== 0) throw new KernelError("EINVAL");
    t.prctlMceKill(PR_MCE_KILL_CLEAR);
    return 0;
  }
  if (arg2 !== PR_MCE_KILL_SET) throw new KernelError("EINVAL");
  if (arg3 !== PR_MCE_KILL_EARLY && arg3 !== PR_MCE_KILL_LATE && arg3 !== PR_MCE_KILL_DEFAULT) throw new KernelError("EINVAL");
  t.prctlMceKill(PR_MCE_KILL_SET, arg3);
  return 0;
}
