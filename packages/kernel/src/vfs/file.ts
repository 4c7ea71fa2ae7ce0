/**
 * Open file descriptions and per-process file descriptor tables.
 *
 * @see include/linux/fs.h struct file (f_flags, f_mode, f_pos); fs/file.c alloc_fd(),
 *      close_fd(), dup_fd() (fork shares descriptions); fs/file_table.c fput()
 *
 * Simplified: descriptors start at 3 (0-2 are taken by stdio); no O_CLOEXEC, dup or
 * RLIMIT_NOFILE beyond a fixed 1024.
 */
import { KernelError } from "@pagelab/mm-core";
import type { XfsFile, XfsInode } from "@pagelab/xfs-lite";

export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;

export const NR_OPEN = 1024;
const FIRST_FD = 3;

/** `struct file`. */
export class OpenFile {
  /** `f_pos`. */
  pos = 0;
  /** Descriptors (over all processes) that refer to this description. */
  refs = 1;
  constructor(
    readonly xfile: XfsFile,
    /** `f_flags` as given to open (access mode, O_APPEND, O_DIRECT, O_SYNC…). */
    readonly flags: number,
    readonly path: string,
  ) {}

  get ip(): XfsInode {
    return this.xfile.ip;
  }
  get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY;
  }
  get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY;
  }
}

/** `struct files_struct`. */
export class FdTable {
  private readonly fds = new Map<number, OpenFile>();

  get(fd: number): OpenFile {
    const f = Number.isInteger(fd) ? this.fds.get(fd) : undefined;
    if (f === undefined) throw new KernelError("EBADF", `fd ${fd}`);
    return f;
  }

  /** `alloc_fd()`: the lowest free descriptor. */
  install(file: OpenFile): number {
    for (let fd = FIRST_FD; fd < NR_OPEN; fd++) {
      if (!this.fds.has(fd)) {
        this.fds.set(fd, file);
        return fd;
      }
    }
    throw new KernelError("EMFILE");
  }

  /** `close_fd()`: the description, whose reference the caller now drops. */
  remove(fd: number): OpenFile {
    const f = this.get(fd);
    this.fds.delete(fd);
    return f;
  }

  /** `dup_fd()` at fork: the same descriptions, one more reference each. */
  dup(): FdTable {
    const t = new FdTable();
    for (const [fd, f] of this.fds) {
      f.refs++;
      t.fds.set(fd, f);
    }
    return t;
  }

  entries(): [number, OpenFile][] {
    return [...this.fds];
  }
}
