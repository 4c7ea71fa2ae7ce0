/**
 * The system-call table: every call takes the calling process first, runs as that task
 * (a generator: it may sleep), returns what Linux returns — a result or `-errno` — and on
 * the way back to user space runs task work (deferred fputs) and delivers pending signals.
 * `callsOf(machine, process)` gives the same calls run to completion (`runSync`), for
 * callers that are not scheduler tasks (the CLI, simple tests).
 *
 * @see arch/x86/entry/syscall_64.c sys_call_table; kernel/entry/common.c
 *      syscall_exit_to_user_mode() (task_work_run, signal delivery)
 */
import { type Sleepable, runSync } from "@pagelab/mm-core";
import type { FiemapExtent, XfsFsxattr, XfsStatx } from "@pagelab/xfs-lite";
import type { Machine } from "../machine.js";
import type { Process } from "../vfs/process.js";
import { syscallReturn } from "./errno.js";
import {
  sysClose,
  sysFallocate,
  sysFsync,
  sysFtruncate,
  sysLseek,
  sysMkdir,
  sysOpen,
  sysPread,
  sysPwrite,
  sysRead,
  sysRename,
  sysStatx,
  sysSync,
  sysUnlink,
  sysWrite,
} from "./files.js";
import { type DedupeDest, type DedupeInfo, type FileCloneRange, sysClone, sysDedupeRange, sysFiemap, sysFsGetXattr, sysFsSetXattr } from "./ioctl.js";
import {
  type AccessOutcome,
  type MmapRequest,
  sysMadvise,
  sysMmap,
  sysMprotectCall,
  sysMremapCall,
  sysMsync,
  sysMunmap,
  userLoad,
  userStore,
} from "./mman.js";
import { sysExit, sysFork, sysKill, sysPrctl } from "./process.js";
import { type Dirent, type Statfs, sysReaddir, sysStatfs } from "./statfs.js";

export class Syscalls {
  constructor(readonly m: Machine) {}

  private *call<T>(p: Process, body: () => Sleepable<T>): Sleepable<T | number> {
    this.m.monitors.samplePins();
    const r = yield* syscallReturn(body);
    if (this.m.mounted) yield* this.m.kfs.runTaskWork();
    p.task.deliverPending();
    this.m.monitors.samplePins();
    return r;
  }

  open(p: Process, path: string, flags: number, mode = 0o644): Sleepable<number> {
    return this.call(p, () => sysOpen(this.m, p, path, flags, mode));
  }
  close(p: Process, fd: number): Sleepable<number> {
    return this.call(p, () => sysClose(this.m, p, fd));
  }
  read(p: Process, fd: number, buf: Uint8Array): Sleepable<number> {
    return this.call(p, () => sysRead(this.m, p, fd, buf));
  }
  write(p: Process, fd: number, data: Uint8Array): Sleepable<number> {
    return this.call(p, () => sysWrite(this.m, p, fd, data));
  }
  pread(p: Process, fd: number, buf: Uint8Array, offset: number): Sleepable<number> {
    return this.call(p, () => sysPread(this.m, p, fd, buf, offset));
  }
  pwrite(p: Process, fd: number, data: Uint8Array, offset: number): Sleepable<number> {
    return this.call(p, () => sysPwrite(this.m, p, fd, data, offset));
  }
  lseek(p: Process, fd: number, offset: number, whence: number): Sleepable<number> {
    return this.call(p, () => sysLseek(this.m, p, fd, offset, whence));
  }
  ftruncate(p: Process, fd: number, length: number): Sleepable<number> {
    return this.call(p, () => sysFtruncate(this.m, p, fd, length));
  }
  fallocate(p: Process, fd: number, mode: number, offset: number, len: number): Sleepable<number> {
    return this.call(p, () => sysFallocate(this.m, p, fd, mode, offset, len));
  }
  fsync(p: Process, fd: number): Sleepable<number> {
    return this.call(p, () => sysFsync(this.m, p, fd));
  }
  fdatasync(p: Process, fd: number): Sleepable<number> {
    return this.call(p, () => sysFsync(this.m, p, fd, true));
  }
  sync(p: Process): Sleepable<number> {
    return this.call(p, () => sysSync(this.m));
  }
  unlink(p: Process, path: string): Sleepable<number> {
    return this.call(p, () => sysUnlink(this.m, p, path));
  }
  rename(p: Process, oldPath: string, newPath: string): Sleepable<number> {
    return this.call(p, () => sysRename(this.m, p, oldPath, newPath));
  }
  mkdir(p: Process, path: string): Sleepable<number> {
    return this.call(p, () => sysMkdir(this.m, p, path));
  }
  statx(p: Process, pathOrFd: string | number): Sleepable<XfsStatx | number> {
    return this.call(p, () => sysStatx(this.m, p, pathOrFd));
  }
  /** `statfs(path)`, or `fstatfs(fd)` when given a number. */
  statfs(p: Process, pathOrFd: string | number): Sleepable<Statfs | number> {
    return this.call(p, () => sysStatfs(this.m, p, pathOrFd));
  }
  /** Every entry of a directory (`getdents64` to the end), `.` and `..` first. */
  readdir(p: Process, pathOrFd: string | number): Sleepable<Dirent[] | number> {
    return this.call(p, () => sysReaddir(this.m, p, pathOrFd));
  }
  /** ioctl(FICLONE) when `range` is `{ srcFd }`, ioctl(FICLONERANGE) otherwise. */
  clone(p: Process, destFd: number, range: FileCloneRange | { srcFd: number }): Sleepable<number> {
    return this.call(p, () => sysClone(this.m, p, destFd, range));
  }
  /** ioctl(FIDEDUPERANGE). */
  dedupeRange(p: Process, srcFd: number, srcOffset: number, srcLength: number, dests: readonly DedupeDest[]): Sleepable<DedupeInfo[] | number> {
    return this.call(p, () => sysDedupeRange(this.m, p, srcFd, srcOffset, srcLength, dests));
  }
  /** ioctl(FS_IOC_FIEMAP). */
  fiemap(p: Process, fd: number, start = 0, len?: number, flags?: number): Sleepable<FiemapExtent[] | number> {
    return this.call(p, () => sysFiemap(this.m, p, fd, start, len, flags));
  }
  /** ioctl(FS_IOC_FSGETXATTR). */
  fsGetXattr(p: Process, fd: number): Sleepable<XfsFsxattr | number> {
    return this.call(p, () => sysFsGetXattr(this.m, p, fd));
  }
  /** ioctl(FS_IOC_FSSETXATTR). */
  fsSetXattr(p: Process, fd: number, fa: { xflags: number; extsize?: number; cowextsize?: number }): Sleepable<number> {
    return this.call(p, () => sysFsSetXattr(this.m, p, fd, fa));
  }
  mmap(p: Process, req: MmapRequest): Sleepable<number> {
    return this.call(p, () => sysMmap(this.m, p, req));
  }
  munmap(p: Process, addr: number, len: number): Sleepable<number> {
    return this.call(p, () => sysMunmap(this.m, p, addr, len));
  }
  mprotect(p: Process, addr: number, len: number, prot: number): Sleepable<number> {
    return this.call(p, () => sysMprotectCall(this.m, p, addr, len, prot));
  }
  mremap(p: Process, addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): Sleepable<number> {
    return this.call(p, () => sysMremapCall(this.m, p, addr, oldLen, newLen, flags, newAddr));
  }
  msync(p: Process, addr: number, len: number, flags: number): Sleepable<number> {
    return this.call(p, () => sysMsync(this.m, p, addr, len, flags));
  }
  madvise(p: Process, addr: number, len: number, advice: number): Sleepable<number> {
    return this.call(p, () => sysMadvise(this.m, p, addr, len, advice));
  }
  fork(p: Process, comm?: string): Sleepable<Process | number> {
    return this.call(p, () => sysFork(this.m, p, comm));
  }
  exit(p: Process, code = 0): Sleepable<number> {
    return this.call(p, () => sysExit(this.m, p, code));
  }
  kill(p: Process, pid: number, sig: number): Sleepable<number> {
    return this.call(p, () => sysKill(this.m, p, pid, sig));
  }
  prctl(p: Process, option: number, arg2 = 0, arg3 = 0): Sleepable<number> {
    return this.call(p, () => sysPrctl(this.m, p, option, arg2, arg3));
  }
  /** A user load through the process's mappings (not a syscall: faults deliver SIGSEGV/SIGBUS). */
  *load(p: Process, addr: number, len: number): Sleepable<AccessOutcome> {
    const r = yield* userLoad(this.m, p, addr, len);
    yield* this.m.reap(p);
    this.m.monitors.samplePins();
    return r;
  }
  /** A user store through the process's mappings. */
  *store(p: Process, addr: number, bytes: Uint8Array): Sleepable<AccessOutcome> {
    const r = yield* userStore(this.m, p, addr, bytes);
    yield* this.m.reap(p);
    this.m.monitors.samplePins();
    return r;
  }
}

type Method = Exclude<keyof Syscalls, "m">;
/** The calls of one process, run to completion. */
export type SyncCalls = {
  [K in Method]: Syscalls[K] extends (p: Process, ...a: infer A) => Sleepable<infer R> ? (...a: A) => R : never;
};

/** `Syscalls` bound to `p` and run with `runSync` as `p`'s task. */
export function callsOf(sys: Syscalls, p: Process): SyncCalls {
  return new Proxy({} as SyncCalls, {
    get(_t, name: string) {
      const fn = (sys as unknown as Record<string, (p: Process, ...a: unknown[]) => Sleepable<unknown>>)[name];
      if (typeof fn !== "function") return undefined;
      return (...a: unknown[]) => runSync(fn.call(sys, p, ...a), p.task);
    },
  });
}
