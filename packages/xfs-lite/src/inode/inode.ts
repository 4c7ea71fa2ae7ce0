/**
 * The in-core inode: VFS attributes, the XFS on-disk core fields the file layers use, the
 * data and CoW forks, and the two sleeping locks (i_rwsem = IOLOCK, invalidate_lock =
 * MMAPLOCK).
 *
 * @see fs/xfs/xfs_inode.h struct xfs_inode, xfs_ilock(), xfs_ilock2_io_mmap(),
 *      xfs_is_reflink_inode(), xfs_get_cowextsz_hint(); fs/xfs/libxfs/xfs_format.h
 *      XFS_DIFLAG_*, XFS_DIFLAG2_*; include/uapi/linux/fs.h FS_XFLAG_*
 *
 * The inode is its page cache's host (`MappingHost`): `mapping.host === ip`.
 *
 * S_DAX (`sDax`) is the in-core flag `xfs_diflags_to_iflags(ip, true)` sets; the file
 * system decides it (xfs-dax-mode.ts).
 *
 * Simplified: no ILOCK (metadata changes are atomic between sleeping points here), no
 * attribute fork, timestamps or ownership.
 */
import { RwSemaphore, type AddressSpace, type Sleepable } from "@pagelab/mm-core";
import { XfsIfork } from "../bmap/fork.js";

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export const XFS_DIFLAG_IMMUTABLE = 1 << 3;
export const XFS_DIFLAG_APPEND = 1 << 4;
export const XFS_DIFLAG_EXTSIZE = 1 << 11;
export const XFS_DIFLAG_EXTSZINHERIT = 1 << 12;
export const XFS_DIFLAG2_DAX = 1 << 0;
export const XFS_DIFLAG2_REFLINK = 1 << 1;
export const XFS_DIFLAG2_COWEXTSIZE = 1 << 2;

export const FS_XFLAG_IMMUTABLE = 0x00000008;
export const FS_XFLAG_APPEND = 0x00000010;
export const FS_XFLAG_EXTSIZE = 0x00000800;
export const FS_XFLAG_EXTSZINHERIT = 0x00001000;
export const FS_XFLAG_COWEXTSIZE = 0x00010000;
export const FS_XFLAG_DAX = 0x00008000;
export const FS_XFLAG_HASATTR = 0x80000000;

/** `XFS_DEFAULT_COWEXTSZ_HINT`: blocks of CoW preallocation when no hint is set. */
export const XFS_DEFAULT_COWEXTSZ_HINT = 32;

export class XfsInode {
  mode: number;
  nlink = 1;
  private iSizeBytes = 0;
  /** `i_disk_size` while a buffered write has moved `i_size` past it; null when equal. */
  private diskSizeLag: number | null = null;
  /** `i_nblocks`: blocks mapped by the data fork (shared ones counted in full). */
  nblocks = 0;
  /** Blocks of the data fork's bmbt (counted in `di_nblocks` on disk). */
  bmbtBlocks = 0;
  /** `i_delayed_blks`: CoW staging blocks held in the CoW fork. */
  delayedBlks = 0;
  diflags = 0;
  diflags2 = 0;
  /** `i_cowextsize` in blocks (0: the default hint). */
  cowextsize = 0;
  /** `i_extsize` in blocks: the extent size hint (XFS_DIFLAG_EXTSIZE / EXTSZINHERIT). */
  extsize = 0;
  generation = 0;
  readonly dataFork = new XfsIfork();
  /** `i_cowfp`: created on first CoW, in-core only as in XFS. */
  cowFork: XfsIfork | null = null;
  /** `i_rwsem` (XFS_IOLOCK). */
  readonly iRwsem: RwSemaphore;
  /** XFS_MMAPLOCK, which is `i_mapping->invalidate_lock`: the mapping made for this inode shares it. */
  readonly mmapLock: RwSemaphore;
  /** Open file descriptions (`i_count` beyond the dentry's). */
  openCount = 0;
  /** `i_writecount` < 0 denies writes (an executing or swap file). */
  writecount = 0;
  /** S_SWAPFILE. */
  swapfile = false;
  /** Set when the inode has been evicted and its blocks freed. */
  freed = false;
  /** `i_mapping`: the page cache, made on first buffered I/O when the fs has one. */
  mapping: AddressSpace | null = null;
  /**
   * S_DAX in `i_flags`: decided when the inode is set up (create, iget at mount) from the
   * mount's dax mode and the on-disk flag, never changed while the inode stays in core.
   */
  sDax = false;
  /** I_DONTCACHE: the DAX flag changed; the last reference evicts the in-core inode. */
  dontcache = false;

  constructor(
    readonly ino: number,
    mode: number,
  ) {
    this.mode = mode;
    this.iRwsem = new RwSemaphore(`xfs_iolock:${ino}`);
    this.mmapLock = new RwSemaphore(`xfs_mmaplock:${ino}`);
  }

  /**
   * `i_size` in bytes. Setting it (inside a metadata transaction) sets the on-disk size
   * too, as truncate, fallocate and reflink do.
   */
  get size(): number {
    return this.iSizeBytes;
  }
  set size(v: number) {
    this.iSizeBytes = v;
    this.diskSizeLag = null;
  }

  /** `i_size_read()`, what the page cache (MappingHost) checks. */
  get iSize(): number {
    return this.iSizeBytes;
  }

  /** `ip->i_disk_size`: the size an inode log item records. */
  get diskSize(): number {
    return this.diskSizeLag ?? this.iSizeBytes;
  }

  /**
   * `i_size_write()` by a buffered write past EOF: the in-core size only; the on-disk size
   * follows when writeback reaches the data (`xfsSetfilesize`).
   */
  iSizeWrite(v: number): void {
    if (this.diskSizeLag === null) this.diskSizeLag = this.iSizeBytes;
    this.iSizeBytes = v;
  }

  /**
   * `xfs_setfilesize()` / `xfs_new_eof()`: written data now ends at `end`; returns whether
   * the on-disk size grew (the caller logs the inode).
   */
  xfsSetfilesize(end: number): boolean {
    if (this.diskSizeLag === null || end <= this.diskSizeLag) return false;
    this.diskSizeLag = end >= this.iSizeBytes ? null : end;
    return true;
  }

  isDir(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isReg(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  /** `xfs_is_reflink_inode()`. */
  isReflink(): boolean {
    return (this.diflags2 & XFS_DIFLAG2_REFLINK) !== 0;
  }
  /** IS_DAX(): S_DAX, what the data path and statx follow. */
  isDax(): boolean {
    return this.sDax;
  }
  /** The on-disk XFS_DIFLAG2_DAX (FS_XFLAG_DAX), which IS_DAX follows only from the next iget. */
  flagDax(): boolean {
    return (this.diflags2 & XFS_DIFLAG2_DAX) !== 0;
  }
  isImmutable(): boolean {
    return (this.diflags & XFS_DIFLAG_IMMUTABLE) !== 0;
  }
  isAppend(): boolean {
    return (this.diflags & XFS_DIFLAG_APPEND) !== 0;
  }

  /** `xfs_get_extsz_hint()` in blocks (0: none). */
  extszHint(): number {
    return this.diflags & XFS_DIFLAG_EXTSIZE && this.extsize > 0 ? this.extsize : 0;
  }

  /** `xfs_get_cowextsz_hint()` in blocks: the larger of the two hints, else the default. */
  cowextszHint(): number {
    const a = this.diflags2 & XFS_DIFLAG2_COWEXTSIZE && this.cowextsize > 0 ? this.cowextsize : 0;
    const b = Math.max(a, this.extszHint());
    return b > 0 ? b : XFS_DEFAULT_COWEXTSZ_HINT;
  }

  /** `xfs_ip2xflags()`: FS_XFLAG_* as FS_IOC_FSGETXATTR reports them. */
  xflags(): number {
    let f = 0;
    if (this.diflags & XFS_DIFLAG_IMMUTABLE) f |= FS_XFLAG_IMMUTABLE;
    if (this.diflags & XFS_DIFLAG_APPEND) f |= FS_XFLAG_APPEND;
    if (this.diflags & XFS_DIFLAG_EXTSIZE) f |= FS_XFLAG_EXTSIZE;
    if (this.diflags & XFS_DIFLAG_EXTSZINHERIT) f |= FS_XFLAG_EXTSZINHERIT;
    if (this.diflags2 & XFS_DIFLAG2_DAX) f |= FS_XFLAG_DAX;
    if (this.diflags2 & XFS_DIFLAG2_COWEXTSIZE) f |= FS_XFLAG_COWEXTSIZE;
    return f;
  }
}

/** `xfs_ilock(ip, XFS_IOLOCK_EXCL | XFS_MMAPLOCK_EXCL)`: i_rwsem first, then MMAPLOCK. */
export function* xfsIlockIoMmap(ip: XfsInode): Sleepable {
  yield* ip.iRwsem.downWrite();
  yield* ip.mmapLock.downWrite();
}

export function xfsIunlockIoMmap(ip: XfsInode): void {
  ip.mmapLock.upWrite();
  ip.iRwsem.upWrite();
}

/**
 * `xfs_ilock2_io_mmap()`: both inodes' IOLOCK then both MMAPLOCKs, each pair in inode
 * number order (one set when both are the same inode).
 */
export function* xfsIlock2IoMmap(a: XfsInode, b: XfsInode): Sleepable {
  if (a === b) {
    yield* xfsIlockIoMmap(a);
    return;
  }
  const [first, second] = a.ino < b.ino ? [a, b] : [b, a];
  yield* first.iRwsem.downWrite();
  yield* second.iRwsem.downWrite();
  yield* first.mmapLock.downWrite();
  yield* second.mmapLock.downWrite();
}

export function xfsIunlock2IoMmap(a: XfsInode, b: XfsInode): void {
  if (a === b) {
    xfsIunlockIoMmap(a);
    return;
  }
  a.mmapLock.upWrite();
  b.mmapLock.upWrite();
  a.iRwsem.upWrite();
  b.iRwsem.upWrite();
}
