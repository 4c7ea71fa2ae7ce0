/**
 * File system calls: open/close, read/write and their positional forms, lseek,
 * ftruncate, fallocate, fsync/fdatasync, unlink, rename, statx.
 *
 * @see fs/open.c do_sys_openat2(), do_dentry_open(), vfs_fallocate(), do_sys_ftruncate();
 *      fs/read_write.c ksys_read(), ksys_write(), ksys_pread64(), ksys_pwrite64(),
 *      vfs_llseek(), generic_file_llseek_size(); fs/sync.c do_fsync();
 *      fs/namei.c do_unlinkat(), do_renameat2(); fs/stat.c do_statx();
 *      fs/xfs/xfs_file.c xfs_file_open(), xfs_file_read_iter(), xfs_file_write_iter()
 *      (O_DSYNC/O_SYNC → generic_write_sync())
 *
 * Simplified: buffers are kernel-side Uint8Arrays (no user pointers, so no EFAULT from
 * copy_to_user); O_DIRECT on a non-DAX file goes through the page cache and writes the
 * range back and drops it before returning (what the kernel's direct path leaves too).
 * SEEK_DATA/SEEK_HOLE report from FIEMAP (unwritten extents count as data).
 */
import { KernelError, type Sleepable } from "@pagelab/mm-core";
import {
  FMODE_READ,
  FMODE_WRITE,
  MAX_LFS_FILESIZE,
  O_APPEND as XFS_O_APPEND,
  S_IFREG,
  type XfsStatx,
  xfsFileReadRange,
  xfsFlushUnmapRange,
  xfsWriteAndWaitRange,
} from "@pagelab/xfs-lite";
import type { Machine } from "../machine.js";
import {
  O_ACCMODE,
  O_APPEND,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_DSYNC,
  O_EXCL,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  OpenFile,
} from "../vfs/file.js";
import { lookupParent, lookupPath } from "../vfs/path.js";
import type { Process } from "../vfs/process.js";
import { checkUint } from "./errno.js";

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** The 512-byte logical block size of pmem0: O_DIRECT alignment on non-DAX files. */
const DIO_ALIGN = 512;

export function* sysOpen(m: Machine, p: Process, path: string, flags: number, mode = 0o644): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const acc = flags & O_ACCMODE;
  if (acc === O_ACCMODE) throw new KernelError("EINVAL");
  const fs = kfs.fs;
  let ip;
  if (flags & O_CREAT) {
    if (flags & O_DIRECTORY) throw new KernelError("EINVAL");
    const { dir, name } = lookupParent(fs, path);
    ip = yield* fs.create(dir, name, S_IFREG | (mode & 0o7777), (flags & O_EXCL) !== 0);
    if (ip.isDir()) throw new KernelError("EISDIR", path);
    m.monitors.shadow.created(ip);
  } else {
    ip = lookupPath(fs, path);
  }
  if (flags & O_DIRECTORY && !ip.isDir()) throw new KernelError("ENOTDIR", path);
  if (ip.isDir() && acc !== O_RDONLY) throw new KernelError("EISDIR", path);
  const fmode = (acc !== O_WRONLY ? FMODE_READ : 0) | (acc !== O_RDONLY ? FMODE_WRITE : 0);
  const xfile = kfs.open(ip, fmode, flags & O_APPEND ? XFS_O_APPEND : 0);
  try {
    if (flags & O_TRUNC && acc !== O_RDONLY && ip.isReg() && ip.size > 0) {
      yield* fs.truncate(ip, 0);
      m.monitors.shadow.truncate(ip, 0);
    }
  } catch (e) {
    yield* kfs.release(xfile);
    throw e;
  }
  return p.files.install(new OpenFile(xfile, flags, path));
}

/** Drop one reference of a description; the last one releases the inode. */
export function* fput(m: Machine, f: OpenFile): Sleepable {
  if (--f.refs > 0) return;
  if (m.mounted) yield* m.kfs.release(f.xfile);
}

export function* sysClose(m: Machine, p: Process, fd: number): Sleepable<number> {
  const f = p.files.remove(fd);
  yield* fput(m, f);
  return 0;
}

function readableFile(p: Process, fd: number): OpenFile {
  const f = p.files.get(fd);
  if (!f.readable) throw new KernelError("EBADF");
  if (f.ip.isDir()) throw new KernelError("EISDIR");
  return f;
}

function writableFile(p: Process, fd: number): OpenFile {
  const f = p.files.get(fd);
  if (!f.writable) throw new KernelError("EBADF");
  return f;
}

function checkDirect(m: Machine, f: OpenFile, pos: number, len: number): boolean {
  if (!(f.flags & O_DIRECT) || m.kfs.isDax(f.ip)) return false;
  if (pos % DIO_ALIGN !== 0 || len % DIO_ALIGN !== 0) throw new KernelError("EINVAL", "O_DIRECT alignment");
  return true;
}

function* readAt(m: Machine, f: OpenFile, pos: number, buf: Uint8Array): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  if (pos + buf.length > MAX_LFS_FILESIZE) throw new KernelError("EINVAL");
  let data: Uint8Array;
  if (checkDirect(m, f, pos, buf.length)) {
    // iomap_dio_rw(): the cached range is written back first, then the blocks are read
    yield* xfsWriteAndWaitRange(kfs.vm, f.ip, pos, buf.length);
    data = new Uint8Array(Math.max(0, Math.min(buf.length, f.ip.size - pos)));
    xfsFileReadRange(kfs.fs, f.ip, pos, data);
  } else {
    data = yield* kfs.read(f.ip, pos, buf.length);
  }
  buf.set(data);
  return data.length;
}

function* writeAt(m: Machine, f: OpenFile, pos: number, data: Uint8Array): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  if (f.ip.isDir()) throw new KernelError("EISDIR");
  const direct = checkDirect(m, f, pos, data.length);
  const at = f.flags & O_APPEND ? f.ip.size : pos;
  const n = yield* kfs.write(f.xfile, pos, data);
  m.monitors.shadow.write(f.ip, at, data.subarray(0, n));
  if (direct) yield* xfsFlushUnmapRange(kfs.vm, f.ip, at, n);
  // generic_write_sync(): O_SYNC and O_DSYNC make the write durable before returning
  if (f.flags & O_DSYNC) yield* kfs.fsyncRange(f.ip, at, at + n - 1);
  return n;
}

export function* sysRead(m: Machine, p: Process, fd: number, buf: Uint8Array): Sleepable<number> {
  const f = readableFile(p, fd);
  const n = yield* readAt(m, f, f.pos, buf);
  f.pos += n;
  return n;
}

export function* sysPread(m: Machine, p: Process, fd: number, buf: Uint8Array, offset: number): Sleepable<number> {
  const f = readableFile(p, fd);
  return yield* readAt(m, f, checkUint(offset), buf);
}

export function* sysWrite(m: Machine, p: Process, fd: number, data: Uint8Array): Sleepable<number> {
  const f = writableFile(p, fd);
  const n = yield* writeAt(m, f, f.pos, data);
  f.pos = f.flags & O_APPEND ? f.ip.size : f.pos + n;
  return n;
}

export function* sysPwrite(m: Machine, p: Process, fd: number, data: Uint8Array, offset: number): Sleepable<number> {
  const f = writableFile(p, fd);
  return yield* writeAt(m, f, checkUint(offset), data);
}

/** `vfs_llseek()` → `generic_file_llseek_size()`. */
export function* sysLseek(m: Machine, p: Process, fd: number, offset: number, whence: number): Sleepable<number> {
  const f = p.files.get(fd);
  m.kfs.checkAlive();
  if (!Number.isSafeInteger(offset)) throw new KernelError("EINVAL");
  const size = f.ip.size;
  let pos: number;
  switch (whence) {
    case SEEK_SET:
      pos = offset;
      break;
    case SEEK_CUR:
      pos = f.pos + offset;
      break;
    case SEEK_END:
      pos = size + offset;
      break;
    case SEEK_DATA:
    case SEEK_HOLE: {
      if (offset < 0 || offset >= size) throw new KernelError("ENXIO");
      const exts = m.kfs.fs.fiemap(f.ip);
      const inData = (x: number) => exts.some((e) => x >= e.feLogical && x < e.feLogical + e.feLength);
      const bs = m.kfs.fs.blockSize;
      pos = offset;
      if (whence === SEEK_DATA) {
        while (pos < size && !inData(pos)) pos = (Math.floor(pos / bs) + 1) * bs;
        if (pos >= size) throw new KernelError("ENXIO");
      } else {
        while (pos < size && inData(pos)) pos = (Math.floor(pos / bs) + 1) * bs;
        pos = Math.min(pos, size);
      }
      break;
    }
    default:
      throw new KernelError("EINVAL");
  }
  if (pos < 0 || pos > MAX_LFS_FILESIZE) throw new KernelError("EINVAL");
  f.pos = pos;
  yield* [];
  return pos;
}

export function* sysFtruncate(m: Machine, p: Process, fd: number, length: number): Sleepable<number> {
  const f = p.files.get(fd);
  m.kfs.checkAlive();
  if (!Number.isSafeInteger(length) || length < 0) throw new KernelError("EINVAL");
  if (!f.ip.isReg() || !f.writable) throw new KernelError("EINVAL");
  if (f.ip.isAppend()) throw new KernelError("EPERM");
  yield* m.kfs.fs.truncate(f.ip, length);
  m.monitors.shadow.truncate(f.ip, length);
  return 0;
}

export function* sysFallocate(m: Machine, p: Process, fd: number, mode: number, offset: number, len: number): Sleepable<number> {
  const f = p.files.get(fd);
  m.kfs.checkAlive();
  if (!f.writable) throw new KernelError("EBADF");
  yield* m.kfs.fs.fallocate(f.xfile, mode, offset, len);
  m.monitors.shadow.fallocate(f.ip, mode, offset, len);
  return 0;
}

export function* sysFsync(m: Machine, p: Process, fd: number, _datasync = false): Sleepable<number> {
  const f = p.files.get(fd);
  yield* m.kfs.fsyncRange(f.ip);
  return 0;
}

export function* sysSync(m: Machine): Sleepable<number> {
  yield* m.kfs.syncFs();
  return 0;
}

export function* sysUnlink(m: Machine, _p: Process, path: string): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const { dir, name } = lookupParent(kfs.fs, path);
  yield* kfs.unlink(dir, name);
  return 0;
}

export function* sysRename(m: Machine, _p: Process, oldPath: string, newPath: string): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const o = lookupParent(kfs.fs, oldPath);
  const n = lookupParent(kfs.fs, newPath);
  yield* kfs.fs.rename(o.dir, o.name, n.dir, n.name);
  return 0;
}

export function* sysMkdir(m: Machine, _p: Process, path: string): Sleepable<number> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const { dir, name } = lookupParent(kfs.fs, path);
  yield* kfs.fs.mkdir(dir, name);
  return 0;
}

/** `statx(AT_FDCWD, path)` (or of an open fd when `path` is a number). */
export function* sysStatx(m: Machine, p: Process, path: string | number): Sleepable<XfsStatx> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const ip = typeof path === "number" ? p.files.get(path).ip : lookupPath(kfs.fs, path);
  yield* [];
  return kfs.fs.statx(ip);
}
