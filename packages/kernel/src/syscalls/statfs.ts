/**
 * statfs(2) and getdents64(2): free space as `stat -f` shows it, directory entries as
 * `ls` reads them.
 *
 * @see fs/statfs.c user_statfs(), vfs_statfs(); fs/xfs/xfs_super.c xfs_fs_statfs();
 *      fs/xfs/xfs_mount.c xfs_alloc_set_aside(); fs/readdir.c getdents64();
 *      fs/xfs/xfs_dir2_readdir.c xfs_readdir() (`.` and `..` first)
 *
 * Simplified: no per-AG metadata reservations (xfs-lite keeps none), so `f_bfree` is the
 * free-block counter less the allocator's set-aside (`agcount * (XFS_ALLOCBT_AGFL_RESERVE
 * + 4)`); the inode limit uses mkfs's default `imaxpct` of 25; entries come in creation
 * order with `d_off` their position.
 */
import { KernelError, type Sleepable } from "@pagelab/mm-core";
import type { XfsInode } from "@pagelab/xfs-lite";
import type { Machine } from "../machine.js";
import { lookupPath } from "../vfs/path.js";
import type { Process } from "../vfs/process.js";

/** `XFS_SUPER_MAGIC` ("XFSB"). */
export const XFS_SUPER_MAGIC = 0x58465342;
const XFS_ALLOCBT_AGFL_RESERVE = 4;
const XFS_DEFAULT_IMAXPCT = 25;
const XFS_INODES_PER_CHUNK = 64;
const NAME_MAX = 255;

/** `struct statfs`. */
export interface Statfs {
  readonly fType: number;
  readonly fBsize: number;
  readonly fBlocks: number;
  readonly fBfree: number;
  readonly fBavail: number;
  readonly fFiles: number;
  readonly fFfree: number;
  readonly fNamelen: number;
  readonly fFrsize: number;
}

export const DT_DIR = 4;
export const DT_REG = 8;

/** One `struct linux_dirent64`. */
export interface Dirent {
  readonly dIno: number;
  readonly dOff: number;
  readonly dType: number;
  readonly dName: string;
}

function inodeOf(m: Machine, p: Process, pathOrFd: string | number): XfsInode {
  return typeof pathOrFd === "number" ? p.files.get(pathOrFd).ip : lookupPath(m.kfs.fs, pathOrFd);
}

/** `statfs(path)` / `fstatfs(fd)` → `xfs_fs_statfs()`. */
export function* sysStatfs(m: Machine, p: Process, pathOrFd: string | number): Sleepable<Statfs> {
  const kfs = m.kfs;
  kfs.checkAlive();
  inodeOf(m, p, pathOrFd);
  yield* [];
  const mp = kfs.mounted.mp;
  const sb = mp.mSb;
  const logBlocks = sb.sbLogstart ? sb.sbLogblocks : 0;
  const fBlocks = sb.sbDblocks - logBlocks;
  const fBfree = Math.max(0, mp.mFdblocks - mp.agcount * (XFS_ALLOCBT_AGFL_RESERVE + 4));
  const inopblog = sb.sbInopblog;
  const chunkBlocks = XFS_INODES_PER_CHUNK / 2 ** inopblog;
  const maxicount = Math.floor((sb.sbDblocks * XFS_DEFAULT_IMAXPCT) / 100 / chunkBlocks) * chunkBlocks * 2 ** inopblog;
  let fFiles = mp.mIcount + fBfree * 2 ** inopblog;
  if (maxicount) fFiles = Math.min(fFiles, maxicount);
  fFiles = Math.max(fFiles, sb.sbIcount);
  const fFfree = Math.max(0, fFiles - (mp.mIcount - mp.mIfree));
  return { fType: XFS_SUPER_MAGIC, fBsize: sb.sbBlocksize, fBlocks, fBfree, fBavail: fBfree, fFiles, fFfree, fNamelen: NAME_MAX, fFrsize: sb.sbBlocksize };
}

/** The entries of a directory (`getdents64` until it returns 0): `.`, `..`, then each name. */
export function* sysReaddir(m: Machine, p: Process, pathOrFd: string | number): Sleepable<Dirent[]> {
  const kfs = m.kfs;
  kfs.checkAlive();
  const dir = inodeOf(m, p, pathOrFd);
  if (!dir.isDir()) throw new KernelError("ENOTDIR");
  yield* dir.iRwsem.downRead();
  try {
    const parent = parentOf(m, dir);
    const out: Dirent[] = [
      { dIno: dir.ino, dOff: 1, dType: DT_DIR, dName: "." },
      { dIno: parent.ino, dOff: 2, dType: DT_DIR, dName: ".." },
    ];
    for (const name of kfs.fs.readdir(dir)) {
      const ip = kfs.fs.lookup(dir, name);
      out.push({ dIno: ip.ino, dOff: out.length + 1, dType: ip.isDir() ? DT_DIR : DT_REG, dName: name });
    }
    return out;
  } finally {
    dir.iRwsem.upRead();
  }
}

/** `..` of `dir`: the directory that names it (the root is its own parent). */
function parentOf(m: Machine, dir: XfsInode): XfsInode {
  const fs = m.kfs.fs;
  if (dir === fs.root) return dir;
  const stack = [fs.root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const name of fs.readdir(d)) {
      const ip = fs.lookup(d, name);
      if (ip === dir) return d;
      if (ip.isDir()) stack.push(ip);
    }
  }
  return fs.root;
}
