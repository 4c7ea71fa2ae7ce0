/**
 * What xfs_io and the pagelab-* helpers need from one process of the machine: the system
 * calls they make, synchronous, failing with `KernelError` (the errno the call returns).
 * machine/ adapts @pagelab/kernel's syscalls to it.
 */
import type { FiemapExtent } from "./format.js";

export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECT = 0o40000;
export const O_SYNC = 0o4010000;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_SYNC = 0x80000;

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;

export const FS_XFLAG_EXTSIZE = 0x800;
export const FS_XFLAG_DAX = 0x8000;
export const FS_XFLAG_COWEXTSIZE = 0x10000;

export const SIGBUS = 7;
export const SIGSEGV = 11;

export type Access = { readonly ok: true; readonly data: Uint8Array } | { readonly ok: false; readonly signo: number };

export interface Fsxattr {
  readonly xflags: number;
  readonly extsize: number;
  readonly cowextsize: number;
  readonly nextents: number;
  readonly projid: number;
}

export interface StatxInfo {
  readonly ino: number;
  readonly size: number;
  readonly blocks: number;
  readonly blksize: number;
  readonly nlink: number;
  readonly mode: number;
  readonly attributes: number;
  readonly attributesMask: number;
}

export interface ProcessSys {
  readonly pid: number;
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  pread(fd: number, buf: Uint8Array, offset: number): number;
  pwrite(fd: number, data: Uint8Array, offset: number): number;
  ftruncate(fd: number, length: number): void;
  fallocate(fd: number, mode: number, offset: number, len: number): void;
  fsync(fd: number, datasync: boolean): void;
  mmap(len: number, prot: number, flags: number, fd: number, offset: number): number;
  munmap(addr: number, len: number): void;
  msync(addr: number, len: number, flags: number): void;
  madvise(addr: number, len: number, advice: number): void;
  load(addr: number, len: number): Access;
  store(addr: number, data: Uint8Array): Access;
  /** FICLONE without `range`, FICLONERANGE with it. */
  clone(destFd: number, srcFd: number, range?: { srcOffset: number; srcLength: number; destOffset: number }): void;
  /** FIDEDUPERANGE with one destination: `status` 0 same, 1 differs, or -errno. */
  dedupe(srcFd: number, srcOffset: number, len: number, destFd: number, destOffset: number): { status: number; bytesDeduped: number };
  fiemap(fd: number): FiemapExtent[];
  fsgetxattr(fd: number): Fsxattr;
  fssetxattr(fd: number, fa: { xflags: number; extsize?: number; cowextsize?: number }): void;
  statx(fd: number): StatxInfo;
  /** Simulated seconds since boot (timing lines). */
  now(): number;
  exit(code: number): void;
}
