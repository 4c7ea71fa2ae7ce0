/**
 * The file ioctls scripts use: FICLONE, FICLONERANGE, FIDEDUPERANGE, FS_IOC_FIEMAP,
 * FS_IOC_FSGETXATTR / FS_IOC_FSSETXATTR — as typed functions.
 *
 * @see fs/ioctl.c ioctl_file_clone(), ioctl_file_dedupe_range(), ioctl_fiemap(),
 *      ioctl_fsgetxattr(), ioctl_fssetxattr(); fs/remap_range.c vfs_clone_file_range(),
 *      vfs_dedupe_file_range(); fs/xfs/xfs_ioctl.c xfs_fileattr_set()
 *
 * Simplified: FIEMAP takes FIEMAP_FLAG_SYNC only (xattr fork mapping is refused) and
 * returns every extent; FIDEDUPERANGE reports per destination like the kernel's info array.
 */
import { KernelError, type Sleepable } from "@pagelab/mm-core";
import type { FiemapExtent, XfsFsxattr } from "@pagelab/xfs-lite";
import type { Machine } from "../machine.js";
import type { Process } from "../vfs/process.js";
import { checkUint } from "./errno.js";

export const FICLONE = 0x40049409;
export const FICLONERANGE = 0x4020940d;
export const FIDEDUPERANGE = 0xc0189436;
export const FS_IOC_FIEMAP = 0xc020660b;
export const FS_IOC_FSGETXATTR = 0x801c581f;
export const FS_IOC_FSSETXATTR = 0x401c5820;

/** `FIEMAP_FLAG_SYNC`: sync the file before mapping. */
export const FIEMAP_FLAG_SYNC = 0x1;

export const FILE_DEDUPE_RANGE_SAME = 0;
export const FILE_DEDUPE_RANGE_DIFFERS = 1;

export interface FileCloneRange {
  readonly srcFd: number;
  readonly srcOffset: number;
  readonly srcLength: number;
  readonly destOffset: number;
}

export interface DedupeDest {
  readonly destFd: number;
  readonly destOffset: number;
}

export interface DedupeInfo {
  bytesDeduped: number;
  /** FILE_DEDUPE_RANGE_SAME / _DIFFERS, or -errno. */
  status: number;
}

/** FICLONE / FICLONERANGE on `destFd`. */
export function* sysClone(m: Machine, p: Process, destFd: number, range: FileCloneRange | { srcFd: number }): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const dst = p.files.get(destFd);
  const src = p.files.get(range.srcFd);
  if ("srcOffset" in range) {
    const { srcOffset, srcLength, destOffset } = range;
    checkUint(srcOffset);
    checkUint(srcLength);
    checkUint(destOffset);
    yield* kfs.fs.remapFileRange(src.xfile, srcOffset, dst.xfile, destOffset, srcLength, 0);
    m.monitors.shadow.clone(src.ip, srcOffset, dst.ip, destOffset, srcLength);
  } else {
    yield* kfs.fs.clone(src.xfile, dst.xfile);
    m.monitors.shadow.clone(src.ip, 0, dst.ip, 0, 0);
  }
  return 0;
}

/** FIDEDUPERANGE on `srcFd`: one status per destination. */
export function* sysDedupeRange(m: Machine, p: Process, srcFd: number, srcOffset: number, srcLength: number, dests: readonly DedupeDest[]): Sleepable<DedupeInfo[]> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const src = p.files.get(srcFd);
  if (src.ip.isDir()) throw new KernelError("EISDIR");
  if (!src.ip.isReg()) throw new KernelError("EINVAL");
  checkUint(srcOffset);
  checkUint(srcLength);
  const out: DedupeInfo[] = [];
  for (const d of dests) {
    const info: DedupeInfo = { bytesDeduped: 0, status: 0 };
    out.push(info);
    try {
      const dst = p.files.get(d.destFd);
      if (!dst.writable) throw new KernelError("EINVAL");
      const r = yield* kfs.fs.dedupeRange(src.xfile, srcOffset, dst.xfile, checkUint(d.destOffset), srcLength);
      if (r === "differs") info.status = FILE_DEDUPE_RANGE_DIFFERS;
      else info.bytesDeduped = r;
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      info.status = -e.errno;
    }
  }
  return out;
}

/** FS_IOC_FIEMAP of [start, start + len); FIEMAP_FLAG_SYNC (xfs_io's default) writes the file back first. */
export function* sysFiemap(m: Machine, p: Process, fd: number, start = 0, len?: number, flags = FIEMAP_FLAG_SYNC): Sleepable<FiemapExtent[]> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const f = p.files.get(fd);
  checkUint(start);
  if (len !== undefined) checkUint(len);
  // the kernel answers EBADR, which mm-core's errno table lacks
  if (flags & ~FIEMAP_FLAG_SYNC) throw new KernelError("EINVAL", "unsupported FIEMAP flags");
  // fiemap_prep(): filemap_write_and_wait()
  if (flags & FIEMAP_FLAG_SYNC) yield* kfs.writeAndWait(f.ip);
  return len === undefined ? kfs.fs.fiemap(f.ip, start) : kfs.fs.fiemap(f.ip, start, len);
}

export function* sysFsGetXattr(m: Machine, p: Process, fd: number): Sleepable<XfsFsxattr> {
  m.kfs.checkAlive();
  const f = p.files.get(fd);
  yield* [];
  return m.kfs.fs.getXattr(f.ip);
}

export function* sysFsSetXattr(m: Machine, p: Process, fd: number, fa: { xflags: number; extsize?: number; cowextsize?: number }): Sleepable<number> {
  m.kfs.checkAlive();
  const f = p.files.get(fd);
  yield* m.kfs.fs.setXattr(f.ip, fa);
  return 0;
}
