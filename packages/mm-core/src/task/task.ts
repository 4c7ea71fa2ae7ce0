/**
 * `struct task_struct`, as much of it as memory management needs: identity, the mm,
 * the machine-check kill policy flags, and signal state.
 *
 * @see include/linux/sched.h struct task_struct, PF_MCE_PROCESS, PF_MCE_EARLY;
 *      kernel/sys.c prctl(PR_MCE_KILL); kernel/signal.c
 *
 * Simplified: one thread per process (tgid == pid); signal handlers are "catch and
 * record" or the default action. The mm is owned by the vm layer; a task only points
 * at it.
 */
import { SIGKILL, type SigInfo } from "./signal.js";

/** `PF_MCE_PROCESS`: the task chose its own memory-error kill policy. */
export const PF_MCE_PROCESS = 0x00000080;
/** `PF_MCE_EARLY`: with PF_MCE_PROCESS, kill early (BUS_MCEERR_AO) when a page it maps fails. */
export const PF_MCE_EARLY = 0x08000000;

/** `prctl(PR_MCE_KILL, ...)` arguments. */
export const PR_MCE_KILL_CLEAR = 0;
export const PR_MCE_KILL_SET = 1;
export const PR_MCE_KILL_LATE = 0;
export const PR_MCE_KILL_EARLY = 1;
export const PR_MCE_KILL_DEFAULT = 2;

export type SignalDisposition = "default" | "catch" | "ignore";

export interface DeliveredSignal extends SigInfo {
  /** How it ended: caught by a handler, or the task died of it. */
  readonly outcome: "caught" | "killed";
}

export type TaskState = "running" | "exited";

/** What a task's mm must offer the signal code (implemented by the vm layer's MmStruct). */
export interface TaskMm {
  readonly users: number;
}

let nextPid = 1;

export class Task {
  readonly pid: number;
  comm: string;
  mm: TaskMm | null = null;
  flags = 0;
  state: TaskState = "running";
  /** The signal that killed the task, if one did. */
  exitSignal: number | null = null;
  exitCode: number | null = null;
  /** Blocked signal numbers (`sigprocmask`). */
  readonly blocked = new Set<number>();
  readonly dispositions = new Map<number, SignalDisposition>();
  /** Pending signals in arrival order; at most one per non-realtime signal number. */
  readonly pending: SigInfo[] = [];
  /** Every signal sent, in order, whether or not it was queued (for tests and traces). */
  readonly sent: SigInfo[] = [];
  /** Every signal delivered, in delivery order. */
  readonly delivered: DeliveredSignal[] = [];

  constructor(opts: { pid?: number; comm: string; mm?: TaskMm | null }) {
    this.pid = opts.pid ?? nextPid++;
    this.comm = opts.comm.slice(0, 15); // TASK_COMM_LEN 16
    this.mm = opts.mm ?? null;
  }

  get alive(): boolean {
    return this.state === "running";
  }

  /** `prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY | PR_MCE_KILL_LATE)` and `..._CLEAR`. */
  prctlMceKill(option: number, policy = 0): void {
    if (option === PR_MCE_KILL_CLEAR) {
      this.flags &= ~PF_MCE_PROCESS;
      this.flags &= ~PF_MCE_EARLY;
      return;
    }
    this.flags |= PF_MCE_PROCESS;
    if (policy === PR_MCE_KILL_EARLY) this.flags |= PF_MCE_EARLY;
    else if (policy === PR_MCE_KILL_LATE) this.flags &= ~PF_MCE_EARLY;
    else this.flags &= ~(PF_MCE_PROCESS | PF_MCE_EARLY); // PR_MCE_KILL_DEFAULT
  }

  /** Whether a failure of a page this task maps should kill it early (`task_early_kill`'s per-task part). */
  mceEarlyKill(sysctlEarlyKill: boolean): boolean {
    if (this.flags & PF_MCE_PROCESS) return (this.flags & PF_MCE_EARLY) !== 0;
    return sysctlEarlyKill;
  }

  disposition(signo: number): SignalDisposition {
    return this.dispositions.get(signo) ?? "default";
  }

  /**
   * `send_signal()`: queue a signal. A non-realtime signal already pending is not queued
   * again (`legacy_queue()`), so a second SIGBUS merges into the first.
   * Returns whether it was queued.
   */
  sendSignal(info: SigInfo): boolean {
    if (!this.alive) return false;
    this.sent.push(info);
    if (this.disposition(info.signo) === "ignore" && info.signo !== SIGKILL) return false;
    if (this.pending.some((p) => p.signo === info.signo)) return false;
    this.pending.push(info);
    if (info.signo === SIGKILL) this.deliverPending();
    return true;
  }

  /**
   * `force_sig_info_to_task()`: a synchronous fault signal. If the task blocks or ignores
   * it, the kernel unblocks it and resets the handler to default, so the task dies.
   */
  forceSignal(info: SigInfo): boolean {
    if (this.blocked.has(info.signo) || this.disposition(info.signo) === "ignore") {
      this.blocked.delete(info.signo);
      this.dispositions.set(info.signo, "default");
    }
    const queued = this.sendSignal(info);
    this.deliverPending();
    return queued;
  }

  /** Return to user space: deliver every pending signal that is not blocked. */
  deliverPending(): void {
    while (this.alive) {
      const i = this.pending.findIndex((p) => p.signo === SIGKILL || !this.blocked.has(p.signo));
      if (i < 0) return;
      const [info] = this.pending.splice(i, 1);
      if (!info) return;
      if (info.signo !== SIGKILL && this.disposition(info.signo) === "catch") {
        this.delivered.push({ ...info, outcome: "caught" });
      } else {
        this.delivered.push({ ...info, outcome: "killed" });
        this.exit(null, info.signo);
      }
    }
  }

  /** `sigprocmask(SIG_BLOCK / SIG_UNBLOCK)`; unblocking delivers what was pending. */
  blockSignals(signos: readonly number[], block: boolean): void {
    for (const s of signos) {
      if (s === SIGKILL) continue;
      if (block) this.blocked.add(s);
      else this.blocked.delete(s);
    }
    if (!block) this.deliverPending();
  }

  /** `do_exit()`: the task is gone; its mm is released by whoever owns it (see onExit). */
  exit(code: number | null, signal: number | null = null): void {
    if (!this.alive) return;
    this.state = "exited";
    this.exitCode = code;
    this.exitSignal = signal;
    this.pending.length = 0;
    for (const hook of this.exitHooks) hook(this);
  }

  private readonly exitHooks: ((t: Task) => void)[] = [];
  /** Run `hook` when the task exits (the vm layer drops the mm here: exit_mm()). */
  onExit(hook: (t: Task) => void): void {
    this.exitHooks.push(hook);
  }

  /** The status a shell reports: the exit code, or 128 + the signal number. */
  get shellStatus(): number | null {
    if (this.exitSignal !== null) return 128 + this.exitSignal;
    return this.exitCode;
  }
}
