/**
 * Error numbers and the two ways things fail: an expected failure (`KernelError`, the
 * errno a system call would return) and a broken invariant (`KernelBug`, like BUG_ON /
 * VM_BUG_ON_PAGE: the model itself is wrong).
 *
 * @see include/uapi/asm-generic/errno-base.h, include/uapi/asm-generic/errno.h,
 *      include/linux/errno.h (kernel-internal ERESTARTSYS, EIOCBQUEUED…)
 */

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EOVERFLOW: 75,
  EBADE: 52,
  EOPNOTSUPP: 95,
  ESTALE: 116,
  EUCLEAN: 117,
  EDQUOT: 122,
  EHWPOISON: 133,
  // kernel-internal, never seen by user space
  ERESTARTSYS: 512,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const ERRNO_NAMES = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, n]) => [n, name]),
);

/** The name of an errno number (`errnoName(28) === "ENOSPC"`). */
export function errnoName(errno: number): ErrnoName | undefined {
  return ERRNO_NAMES.get(Math.abs(errno));
}

const STRERROR: Partial<Record<ErrnoName, string>> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EINTR: "Interrupted system call",
  EIO: "Input/output error",
  ENXIO: "No such device or address",
  EBADF: "Bad file descriptor",
  EAGAIN: "Resource temporarily unavailable",
  ENOMEM: "Cannot allocate memory",
  EACCES: "Permission denied",
  EFAULT: "Bad address",
  EBUSY: "Device or resource busy",
  EEXIST: "File exists",
  EXDEV: "Invalid cross-device link",
  ENODEV: "No such device",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EINVAL: "Invalid argument",
  ENOTTY: "Inappropriate ioctl for device",
  ETXTBSY: "Text file busy",
  EFBIG: "File too large",
  ENOSPC: "No space left on device",
  ESPIPE: "Illegal seek",
  EROFS: "Read-only file system",
  ERANGE: "Numerical result out of range",
  EDEADLK: "Resource deadlock avoided",
  ENAMETOOLONG: "File name too long",
  ENOSYS: "Function not implemented",
  ENOTEMPTY: "Directory not empty",
  ENODATA: "No data available",
  EOVERFLOW: "Value too large for defined data type",
  EBADE: "Invalid exchange",
  EOPNOTSUPP: "Operation not supported",
  ESTALE: "Stale file handle",
  EUCLEAN: "Structure needs cleaning",
  EDQUOT: "Disk quota exceeded",
  EHWPOISON: "Memory page has hardware error",
};

/** glibc's strerror() text, as xfs_io and the shell print it. */
export function strerror(code: ErrnoName): string {
  return STRERROR[code] ?? `Unknown error ${ERRNO[code]}`;
}

/** An expected failure: what a system call returns as -errno. */
export class KernelError extends Error {
  override readonly name = "KernelError";
  readonly errno: number;
  constructor(
    readonly code: ErrnoName,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.errno = ERRNO[code];
  }
}

export function isKernelError(e: unknown, code?: ErrnoName): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}

/** A broken invariant: the kernel would BUG(); the model has a bug. */
export class KernelBug extends Error {
  override readonly name = "KernelBug";
  constructor(
    message: string,
    readonly dump?: string,
  ) {
    super(dump ? `${message}\n${dump}` : message);
  }
}

/** `VM_BUG_ON()` / `VM_BUG_ON_PAGE()`: throw with an optional dump when `cond` holds. */
export function vmBugOn(cond: boolean, message: string, dump?: () => string): void {
  if (cond) throw new KernelBug(message, dump?.());
}
