/**
 * What the pagelab-* helpers need from a process of the machine (the consumer's side of
 * the interface; machine/session.ts implements it over @pagelab/kernel): the system
 * calls they make, user loads, signal handling as `pl_catch()` sets it up (SIGBUS and
 * SIGSEGV caught and recorded), `sigprocmask`, and `/proc/self/pagemap`.
 *
 * @see ../shared/oracle/helpers/common.h pl_catch(), pl_handler(), pl_touch()
 */

/** A signal the process's handler recorded (`siginfo_t`: si_signo, si_code, si_addr, si_addr_lsb). */
export interface CaughtSignal {
  readonly signo: number;
  readonly code: number;
  readonly addr: number;
  readonly lsb: number;
}

/** One `/proc/PID/pagemap` entry: bit 63 (present) and the PFN. */
export interface PagemapEntry {
  readonly present: boolean;
  readonly pfn: number;
}

export interface HelperProc {
  readonly pid: number;
  /** Each call fails with `KernelError` carrying the errno Linux returns. */
  open(path: string, flags: number): number;
  close(fd: number): void;
  mmap(len: number, prot: number, flags: number, fd: number, offset: number): number;
  msync(addr: number, len: number, flags: number): void;
  madvise(addr: number, len: number, advice: number): void;
  prctl(option: number, arg2: number, arg3: number): void;
  /** A user load; a fault is recorded by the handler (see `caught()`) and gives null. */
  load(addr: number, len: number): Uint8Array | null;
  /** `sigaction(SIGBUS/SIGSEGV, SA_SIGINFO handler)`. */
  catchSignals(): void;
  /** `sigprocmask(SIG_BLOCK|SIG_UNBLOCK, {SIGBUS, SIGSEGV})`; unblocking delivers what is pending. */
  blockSignals(block: boolean): void;
  /** The process wakes up (returns to user space): pending signals are delivered. */
  wake(): void;
  /** Every signal the handler recorded, in arrival order. */
  caught(): readonly CaughtSignal[];
  pagemap(addr: number): PagemapEntry;
  readonly alive: boolean;
  /** The signal that killed the process, if one did. */
  readonly killedBy: number | null;
  exit(code: number): void;
}

/** A helper process that also does I/O which pins its user pages (pagelab-dio, pagelab-pinlong). */
export interface PinningProc extends HelperProc {
  /** `open(path, O_RDONLY | O_DIRECT)` of a block device; a descriptor for `preadDirect`. */
  openBlockDevice(path: string): number;
  /** `pread()` on that descriptor into user memory at `addr`: the pages are pinned for the I/O. */
  preadDirect(fd: number, addr: number, len: number, offset: number): number;
  /** `io_uring_register(IORING_REGISTER_BUFFERS)` of one buffer (a long-term pin), then unregister. */
  registerBuffer(addr: number, len: number): void;
}

/** Creates the helpers' processes: `comm` names them, `mmapBase` is where mmap starts. */
export type SpawnHelper = (comm: string, mmapBase: number) => PinningProc;
