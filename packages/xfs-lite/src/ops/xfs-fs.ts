/**
 * The file-system API the kernel package calls: namespace operations, read/write, setattr
 * size, fallocate, remap_file_range (clone / dedupe), FIEMAP, statx, the inode flags, and
 * eviction.
 *
 * @see fs/xfs/xfs_file.c xfs_file_fallocate(), xfs_file_remap_range(), xfs_file_fsync(),
 *      xfs_break_layouts(); fs/xfs/xfs_iops.c xfs_setattr_size(), xfs_vn_getattr(),
 *      xfs_vn_fiemap(); fs/xfs/xfs_bmap_util.c xfs_alloc_file_space(),
 *      xfs_free_file_space(), xfs_collapse_file_space(), xfs_insert_file_space();
 *      fs/xfs/xfs_reflink.c xfs_reflink_remap_prep(), xfs_reflink_unshare();
 *      fs/xfs/xfs_inode.c xfs_inactive(), xfs_itruncate_extents(); fs/xfs/xfs_ioctl.c
 *      xfs_fileattr_set(); fs/open.c vfs_fallocate(); fs/remap_range.c
 *
 * Locks: read takes i_rwsem shared, write exclusive; truncate, fallocate, clone and dedupe
 * take i_rwsem and the MMAPLOCK exclusive (both inodes in inode-number order) and call the
 * layout-break hook before touching extents.
 *
 * Data: with a page cache (`pageCache: VmContext`), regular non-DAX inodes read and write
 * through it (xfs_file_buffered_read() / xfs_file_buffered_write(), see xfs-aops.ts) and
 * every extent-changing operation writes back and drops the affected pages first; DAX
 * inodes, and every inode without a page cache, move data straight to blocks. For DAX
 * inodes the same places call the installed `daxOps` (DAX writeback, then unmap and delete
 * the DAX entries), as xfs_flush_unmap_range() does through the DAX address space.
 *
 * S_DAX follows `daxMode` (xfs-dax-mode.ts): set at create and iget, changed by
 * FS_XFLAG_DAX only after the inode's last reference is dropped (I_DONTCACHE).
 */
import {
  AS_DAX,
  KernelError,
  filemapRead,
  genericPerformWrite,
  type AddressSpace,
  type Sleepable,
  type VmContext,
  vmBugOn,
} from "@pagelab/mm-core";
import { xfsBmapHoleBlocks, xfsBmapiWrite, xfsBmapMapExtent, xfsBmapUnmapExtent, xfsBunmapi } from "../bmap/bmap.js";
import { forEachAgPiece, xfsAgbToFsb, type XfsSpace } from "../bmap/space.js";
import { XFS_RMAP_BMBT_BLOCK, XFS_RMAP_UNWRITTEN, xfsRmapNonInodeOwner } from "../rmap/types.js";
import type { XfsFsBackend } from "./backend.js";
import { XFS_DATA_FORK, XFS_EXT_UNWRITTEN, XFS_MAX_BMBT_EXTLEN } from "../iext/types.js";
import {
  FS_XFLAG_APPEND,
  FS_XFLAG_COWEXTSIZE,
  FS_XFLAG_DAX,
  FS_XFLAG_EXTSIZE,
  FS_XFLAG_EXTSZINHERIT,
  FS_XFLAG_IMMUTABLE,
  S_IFDIR,
  S_IFREG,
  XFS_DIFLAG2_COWEXTSIZE,
  XFS_DIFLAG2_DAX,
  XFS_DIFLAG_APPEND,
  XFS_DIFLAG_EXTSIZE,
  XFS_DIFLAG_EXTSZINHERIT,
  XFS_DIFLAG_IMMUTABLE,
  XfsInode,
  xfsIlock2IoMmap,
  xfsIlockIoMmap,
  xfsIunlock2IoMmap,
  xfsIunlockIoMmap,
} from "../inode/inode.js";
import {
  xfsReflinkCancelCowRange,
  xfsReflinkRemapBlocks,
  xfsReflinkSetInodeFlag,
  xfsReflinkTryClearInodeFlag,
} from "../reflink/reflink.js";
import type { XfsDataDevice } from "./data-dev.js";
import { xfsFileReadRange, xfsFileUnshareRange, xfsFileWriteRange, xfsFileZeroRange, type XfsFileIoEnv } from "./file-io.js";
import { IOMAP_F_SHARED, IOMAP_HOLE, IOMAP_UNWRITTEN, IOMAP_WRITE, type Iomap } from "./iomap.js";
import { xfsReadIomapBegin, xfsWriteIomapBegin, xfsWriteIomapEnd } from "./xfs-iomap.js";
import {
  xfsFlushUnmapRange,
  xfsInodeMapping,
  xfsPageSpan,
  xfsTruncatePagecacheFinal,
  xfsWriteAndWaitRange,
  type XfsPagecacheStats,
} from "./xfs-aops.js";
import { xfsInodeShouldEnableDax, type XfsDaxMode, type XfsDaxOps } from "./xfs-dax-mode.js";

export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_NO_HIDE_STALE = 0x04;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;

export const REMAP_FILE_DEDUP = 1 << 0;
export const REMAP_FILE_CAN_SHORTEN = 1 << 1;

export const FIEMAP_EXTENT_LAST = 0x1;
export const FIEMAP_EXTENT_UNWRITTEN = 0x800;
export const FIEMAP_EXTENT_SHARED = 0x2000;

export const STATX_ATTR_DAX = 0x00200000;

export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;
export const O_APPEND = 0o2000;

/** `MAX_LFS_FILESIZE` on 64-bit. */
export const MAX_LFS_FILESIZE = 2 ** 63 - 1;
const NAME_MAX = 255;
/** A byte length that reaches the end of any file. */
const WHOLE = Number.MAX_SAFE_INTEGER;

/** An open file description, as far as this layer cares. */
export interface XfsFile {
  readonly ip: XfsInode;
  readonly fmode: number;
  readonly flags: number;
  /** The file system the file belongs to (EXDEV across file systems). */
  readonly fs: XfsFileSystem;
}

export interface FiemapExtent {
  feLogical: number;
  fePhysical: number;
  feLength: number;
  feFlags: number;
}

/** One owner of a failed block range (what notify_failure reports upward). */
export interface XfsFailureOwner {
  /** Inode number, or an XFS_RMAP_OWN_* value for metadata. */
  owner: number;
  metadata: boolean;
  /** First affected fs block and how many. */
  fsb: number;
  count: number;
  /** File offset in blocks of `fsb` in the owning file. */
  offset: number;
  unwritten: boolean;
}

export interface XfsStatx {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  /** 512-byte units, shared blocks counted in full, CoW staging blocks included. */
  blocks: number;
  blksize: number;
  attributes: number;
}

export interface XfsFsxattr {
  xflags: number;
  extsize: number;
  cowextsize: number;
  nextents: number;
}

/**
 * `xfs_break_layouts()`: called with i_rwsem and the MMAPLOCK held before extents change;
 * DAX plugs its busy-page wait in here. `pos`/`len` are the bytes about to change (the
 * kernel's dax_layout_busy_page() waits on the whole file; a hook may do the same).
 */
export type XfsLayoutBreakHook = (ip: XfsInode, pos: number, len: number) => Sleepable;

export interface XfsFileSystemOptions {
  readonly backend: XfsFsBackend;
  readonly dev: XfsDataDevice;
  /** An existing namespace (mount): the root, every inode and every directory's entries. */
  readonly loaded?: { root: XfsInode; inodes: Map<number, XfsInode>; dirents: Map<number, Map<string, number>> };
  /** DRAM for a page cache: regular non-DAX files then read and write through it. */
  readonly pageCache?: VmContext;
  /** `-o dax=`: "inode" (the kernel's default) unless told. */
  readonly daxMode?: XfsDaxMode;
  /** The data device has a dax_device (`bt_daxdev`); default true. */
  readonly daxCapable?: boolean;
}

export class XfsFileSystem implements XfsFileIoEnv {
  readonly blockSize: number;
  readonly backend: XfsFsBackend;
  readonly dev: XfsDataDevice;
  readonly inodes: Map<number, XfsInode>;
  readonly root: XfsInode;
  layoutBreak: XfsLayoutBreakHook | undefined;
  /** The DAX code's writeback and invalidation of DAX inodes (none: DAX entries are not tracked). */
  daxOps: XfsDaxOps | undefined;
  readonly daxMode: XfsDaxMode;
  readonly daxCapable: boolean;
  /** The VmContext whose DRAM holds the page cache, if the fs has one. */
  readonly pageCache: VmContext | undefined;
  readonly pagecacheStats: XfsPagecacheStats = { readFolio: 0, writepage: 0, writeErrors: 0 };
  private readonly dirents: Map<number, Map<string, number>>;

  constructor(opts: XfsFileSystemOptions) {
    this.backend = opts.backend;
    this.dev = opts.dev;
    this.pageCache = opts.pageCache;
    this.blockSize = opts.backend.geo.blockSize;
    this.daxMode = opts.daxMode ?? "inode";
    this.daxCapable = opts.daxCapable ?? true;
    if (opts.loaded !== undefined) {
      this.root = opts.loaded.root;
      this.inodes = opts.loaded.inodes;
      this.dirents = opts.loaded.dirents;
      for (const ip of this.inodes.values()) this.setupInode(ip);
    } else {
      this.inodes = new Map();
      this.dirents = new Map();
      const logged: XfsInode[] = [];
      this.root = this.backend.trans(1, logged, () => {
        const root = this.ialloc(S_IFDIR | 0o755);
        root.nlink = 2;
        logged.push(root);
        this.backend.writeDir(root, this.entries(root));
        return root;
      });
    }
  }

  /** Run one metadata change as a transaction reserving `resblks`, logging `inodes`. */
  trans<T>(resblks: number, fn: (sp: XfsSpace) => T, ...inodes: XfsInode[]): T {
    return this.backend.trans(resblks, inodes, fn);
  }

  readSpace<T>(fn: (sp: XfsSpace) => T): T {
    return this.backend.readSpace(fn);
  }

  zeroBlocks(fsb: number, count: number): void {
    const zero = new Uint8Array(this.blockSize);
    for (let i = 0; i < count; i++) this.dev.writeBlock(fsb + i, zero);
  }

  inodeNeedsSync(ip: XfsInode): boolean {
    return this.backend.inodeNeedsSync(ip);
  }

  // ---- inodes and the namespace -------------------------------------------------

  /** `xfs_setup_inode()` → `xfs_diflags_to_iflags(ip, true)`: S_DAX for a new in-core inode. */
  setupInode(ip: XfsInode): void {
    ip.sDax = xfsInodeShouldEnableDax(ip, this.daxMode, this.blockSize, this.daxCapable);
    ip.dontcache = false;
  }

  /** Inside a transaction: a new in-core inode with an on-disk number. */
  private ialloc(mode: number): XfsInode {
    const ip = new XfsInode(this.backend.ialloc(), mode);
    this.inodes.set(ip.ino, ip);
    if (ip.isDir()) this.dirents.set(ip.ino, new Map());
    return ip;
  }

  private entries(dir: XfsInode): Map<string, number> {
    const d = this.dirents.get(dir.ino);
    if (d === undefined) throw new KernelError("ENOTDIR");
    return d;
  }

  /** `xfs_lookup()`. */
  lookup(dir: XfsInode, name: string): XfsInode {
    const ino = this.entries(dir).get(name);
    if (ino === undefined) throw new KernelError("ENOENT", name);
    return this.inodes.get(ino)!;
  }

  /** Names in a directory (readdir order = creation order). */
  readdir(dir: XfsInode): string[] {
    return [...this.entries(dir).keys()];
  }

  /** `xfs_create()`; with `exclusive` false an existing regular file is returned (O_CREAT). */
  *create(dir: XfsInode, name: string, mode = S_IFREG | 0o644, exclusive = false): Sleepable<XfsInode> {
    if (name.length > NAME_MAX) throw new KernelError("ENAMETOOLONG");
    yield* dir.iRwsem.downWrite();
    try {
      const d = this.entries(dir);
      const old = d.get(name);
      if (old !== undefined) {
        if (exclusive) throw new KernelError("EEXIST", name);
        return this.inodes.get(old)!;
      }
      const logged: XfsInode[] = [dir];
      return this.backend.trans(1, logged, () => {
        const ip = this.ialloc(mode);
        logged.push(ip);
        d.set(name, ip.ino);
        if (ip.isDir()) {
          ip.nlink = 2;
          dir.nlink++;
          this.backend.writeDir(ip, this.entries(ip));
        }
        // new files inherit the DAX flag and the CoW extent size hint from the directory
        ip.diflags2 |= dir.diflags2 & (XFS_DIFLAG2_DAX | XFS_DIFLAG2_COWEXTSIZE);
        ip.cowextsize = dir.cowextsize;
        // xfs_inode_inherit_flags(): EXTSZINHERIT gives files a hint, directories the flag
        if (dir.diflags & XFS_DIFLAG_EXTSZINHERIT && dir.extsize > 0) {
          ip.diflags |= ip.isDir() ? XFS_DIFLAG_EXTSZINHERIT : XFS_DIFLAG_EXTSIZE;
          ip.extsize = dir.extsize;
        }
        this.setupInode(ip);
        this.backend.writeDir(dir, d);
        return ip;
      });
    } finally {
      dir.iRwsem.upWrite();
    }
  }

  *mkdir(dir: XfsInode, name: string): Sleepable<XfsInode> {
    return yield* this.create(dir, name, S_IFDIR | 0o755, true);
  }

  /** `xfs_remove()` for a file: the last link and last open reference free the inode. */
  *unlink(dir: XfsInode, name: string): Sleepable {
    yield* dir.iRwsem.downWrite();
    try {
      const ip = this.lookup(dir, name);
      if (ip.isDir()) throw new KernelError("EISDIR", name);
      if (ip.isImmutable() || ip.isAppend()) throw new KernelError("EPERM", name);
      this.trans(0, () => {
        this.entries(dir).delete(name);
        ip.nlink--;
        this.backend.writeDir(dir, this.entries(dir));
      }, dir, ip);
      yield* this.iput(ip);
    } finally {
      dir.iRwsem.upWrite();
    }
  }

  *rmdir(dir: XfsInode, name: string): Sleepable {
    yield* dir.iRwsem.downWrite();
    try {
      const ip = this.lookup(dir, name);
      if (!ip.isDir()) throw new KernelError("ENOTDIR", name);
      if (this.entries(ip).size > 0) throw new KernelError("ENOTEMPTY", name);
      this.trans(0, () => {
        this.entries(dir).delete(name);
        dir.nlink--;
        ip.nlink = 0;
        this.backend.writeDir(dir, this.entries(dir));
      }, dir, ip);
      this.dirents.delete(ip.ino);
      this.iputMaybeEvict(ip);
    } finally {
      dir.iRwsem.upWrite();
    }
  }

  /** `xfs_rename()`: replaces an existing target file. */
  *rename(odir: XfsInode, oname: string, ndir: XfsInode, nname: string): Sleepable {
    if (nname.length > NAME_MAX) throw new KernelError("ENAMETOOLONG");
    const [a, b] = odir.ino <= ndir.ino ? [odir, ndir] : [ndir, odir];
    yield* a.iRwsem.downWrite();
    if (b !== a) yield* b.iRwsem.downWrite();
    try {
      const ip = this.lookup(odir, oname);
      const target = this.entries(ndir).get(nname);
      if (target === ip.ino) return;
      const t = target === undefined ? undefined : this.inodes.get(target)!;
      if (t !== undefined) {
        if (t.isDir() !== ip.isDir()) throw new KernelError(t.isDir() ? "EISDIR" : "ENOTDIR", nname);
        if (t.isDir() && this.entries(t).size > 0) throw new KernelError("ENOTEMPTY", nname);
      }
      this.trans(0, () => {
        if (t !== undefined) t.nlink = t.isDir() ? 0 : t.nlink - 1;
        this.entries(odir).delete(oname);
        this.entries(ndir).set(nname, ip.ino);
        this.backend.writeDir(odir, this.entries(odir));
        if (ndir !== odir) this.backend.writeDir(ndir, this.entries(ndir));
      }, ...[odir, ndir, ...(t ? [t] : [])].filter((x, i, a) => a.indexOf(x) === i));
      if (t !== undefined) yield* this.iput(t);
    } finally {
      if (b !== a) b.iRwsem.upWrite();
      a.iRwsem.upWrite();
    }
  }

  /** Open a file (`iget` + FMODE bits). */
  open(ip: XfsInode, fmode = FMODE_READ | FMODE_WRITE, flags = 0): XfsFile {
    if (ip.freed) throw new KernelError("ESTALE");
    if (fmode & FMODE_WRITE && ip.isDir()) throw new KernelError("EISDIR");
    if (fmode & FMODE_WRITE && ip.isImmutable()) throw new KernelError("EPERM");
    if (fmode & FMODE_WRITE && ip.isAppend() && !(flags & O_APPEND)) throw new KernelError("EPERM");
    if (fmode & FMODE_WRITE && ip.writecount < 0) throw new KernelError("ETXTBSY");
    ip.openCount++;
    return { ip, fmode, flags, fs: this };
  }

  /**
   * Close (`iput`) where the caller cannot sleep: an unlinked inode is evicted at its last
   * close; an I_DONTCACHE inode is set up again only if nothing of it is cached (else that
   * waits for a `release()` or the next mount). A DAX inode whose entries the DAX code
   * still holds must go through `release()`.
   */
  close(file: XfsFile): void {
    file.ip.openCount--;
    this.iputMaybeEvict(file.ip);
  }

  /**
   * `fput()` → `iput()`: the last reference of an unlinked inode evicts it (a DAX inode's
   * entries deleted through `daxOps` first, as `truncate_inode_pages_final()` does); the
   * last reference of an I_DONTCACHE inode evicts the in-core inode (cached data written
   * back and dropped) and the next lookup finds it set up again, S_DAX decided anew.
   */
  *release(file: XfsFile): Sleepable {
    file.ip.openCount--;
    yield* this.iput(file.ip);
  }

  private *iput(ip: XfsInode): Sleepable {
    if (ip.openCount > 0 || ip.freed) return;
    if (ip.nlink > 0) {
      if (ip.dontcache) yield* this.reloadInode(ip);
      return;
    }
    if (ip.isDax() && this.daxOps !== undefined) yield* this.daxOps.invalidate(ip, 0, WHOLE);
    this.evict(ip);
  }

  private iputMaybeEvict(ip: XfsInode): void {
    if (ip.openCount > 0 || ip.freed) return;
    const cached = (ip.mapping?.nrpages ?? 0) > 0;
    if (ip.nlink > 0) {
      if (ip.dontcache && !cached) this.reinitInode(ip);
      return;
    }
    vmBugOn(ip.isDax() && this.daxOps !== undefined && cached, `xfs: inode ${ip.ino} evicted with DAX entries by close(); use release()`);
    this.evict(ip);
  }

  /**
   * `iput_final()` of an I_DONTCACHE inode — `write_inode_now()`, then `evict()` drops the
   * cache (page cache, or the DAX entries through `daxOps`) — and the `xfs_iget()` that
   * reads it back: the same object, set up again.
   */
  private *reloadInode(ip: XfsInode): Sleepable {
    yield* xfsIlockIoMmap(ip);
    try {
      if (!ip.dontcache || ip.openCount > 0) return;
      yield* this.writeAndWait(ip, 0, WHOLE);
      if (ip.isDax()) {
        if (this.daxOps !== undefined) yield* this.daxOps.invalidate(ip, 0, WHOLE);
      } else if (this.pageCache !== undefined) {
        xfsTruncatePagecacheFinal(this.pageCache, ip);
      }
      this.reinitInode(ip);
    } finally {
      xfsIunlockIoMmap(ip);
    }
  }

  private reinitInode(ip: XfsInode): void {
    this.setupInode(ip);
    if (ip.mapping === null) return;
    if (ip.isDax()) ip.mapping.setFlag(AS_DAX);
    else ip.mapping.clearFlag(AS_DAX);
  }

  /** `xfs_inactive()`: drop CoW staging blocks and every data block, then the inode. */
  private evict(ip: XfsInode): void {
    if (this.pageCache !== undefined) xfsTruncatePagecacheFinal(this.pageCache, ip);
    this.trans(0, (sp) => {
      // the backend sees the blocks before they go (directory buffers are invalidated)
      this.backend.ifree(ip);
      xfsReflinkCancelCowRange(sp, ip, 0, Number.MAX_SAFE_INTEGER, true);
      xfsBunmapi(sp, ip, XFS_DATA_FORK, 0, Number.MAX_SAFE_INTEGER);
      ip.size = 0;
      ip.freed = true;
    }, ip);
    this.inodes.delete(ip.ino);
  }

  /**
   * Drop the CoW fork preallocations of every inode, as inode eviction at unmount does
   * (what fstests' `_test_cycle_mount` achieves before comparing block counts).
   */
  cancelAllCowBlocks(): void {
    for (const ip of this.inodes.values()) {
      if ((ip.cowFork?.nextents ?? 0) === 0) continue;
      this.trans(0, (sp) => {
        xfsReflinkCancelCowRange(sp, ip, 0, Number.MAX_SAFE_INTEGER, true);
        xfsReflinkTryClearInodeFlag(sp, ip);
      }, ip);
    }
  }

  // ---- data ---------------------------------------------------------------------

  /**
   * The page cache of `ip` (made on first use), or null when its data bypasses one: no
   * page cache on this fs, a DAX inode (the DAX code owns its mapping), not a regular file.
   */
  pagecacheMapping(ip: XfsInode): AddressSpace | null {
    if (this.pageCache === undefined || !ip.isReg()) return null;
    const m = xfsInodeMapping(this, this.pageCache, ip, this.pagecacheStats);
    return m.isDax ? null : m;
  }

  /** `read()` at `pos`: at most up to EOF. */
  *read(ip: XfsInode, pos: number, len: number): Sleepable<Uint8Array> {
    if (ip.isDir()) throw new KernelError("EISDIR");
    if (pos < 0 || len < 0) throw new KernelError("EINVAL");
    yield* ip.iRwsem.downRead();
    try {
      const mapping = this.pagecacheMapping(ip);
      // xfs_file_buffered_read() → filemap_read()
      if (mapping !== null) return yield* filemapRead(this.pageCache!, mapping, pos, len);
      const n = Math.max(0, Math.min(len, ip.size - pos));
      const out = new Uint8Array(n);
      xfsFileReadRange(this, ip, pos, out);
      return out;
    } finally {
      ip.iRwsem.upRead();
    }
  }

  /** `write()` of `data` at `pos` (at EOF for an O_APPEND file); returns bytes written. */
  *write(file: XfsFile | XfsInode, pos: number, data: Uint8Array): Sleepable<number> {
    const f = file instanceof XfsInode ? undefined : file;
    const ip = f?.ip ?? (file as XfsInode);
    if (f !== undefined && !(f.fmode & FMODE_WRITE)) throw new KernelError("EBADF");
    if (ip.isDir()) throw new KernelError("EISDIR");
    if (ip.isImmutable()) throw new KernelError("EPERM");
    if (pos < 0) throw new KernelError("EINVAL");
    yield* ip.iRwsem.downWrite();
    try {
      const at = f !== undefined && f.flags & O_APPEND ? ip.size : pos;
      if (at + data.length > MAX_LFS_FILESIZE) throw new KernelError("EFBIG");
      const mapping = this.pagecacheMapping(ip);
      // xfs_file_buffered_write() → iomap_file_buffered_write(): dirty pages, blocks at writeback
      if (mapping !== null) {
        const n = yield* genericPerformWrite(this.pageCache!, mapping, at, data);
        // i_size_write(): the on-disk size moves when writeback gets there
        if (at + n > ip.size) ip.iSizeWrite(at + n);
        return n;
      }
      const n = xfsFileWriteRange(this, ip, at, data);
      // xfs_setfilesize() at I/O completion
      if (at + n > ip.size) this.trans(0, () => void (ip.size = at + n), ip);
      return n;
    } finally {
      ip.iRwsem.upWrite();
    }
  }

  /**
   * `fsync()` / `fdatasync()` (`xfs_file_fsync()`): write the dirty pages back and wait
   * (reporting a writeback error), then force the log.
   */
  *fsync(ip: XfsInode, _datasync = false): Sleepable {
    yield* ip.iRwsem.downRead();
    try {
      if (this.pageCache !== undefined) yield* xfsWriteAndWaitRange(this.pageCache, ip, 0, Number.MAX_SAFE_INTEGER);
      this.backend.sync();
    } finally {
      ip.iRwsem.upRead();
    }
  }

  /** `sync_filesystem()`: every inode's dirty pages written back, then the log forced. */
  *syncFs(): Sleepable {
    if (this.pageCache !== undefined) {
      for (const ip of [...this.inodes.values()]) {
        if (ip.mapping !== null) yield* xfsWriteAndWaitRange(this.pageCache, ip, 0, Number.MAX_SAFE_INTEGER);
      }
    }
    this.backend.sync();
  }

  /**
   * Inode eviction at unmount (`truncate_inode_pages_final()` for every inode): all cached
   * pages leave the page cache, dirty ones included — write them back first (`syncFs`).
   */
  dropPagecache(): void {
    if (this.pageCache === undefined) return;
    for (const ip of this.inodes.values()) xfsTruncatePagecacheFinal(this.pageCache, ip);
  }

  /**
   * `xfs_flush_unmap_range()`: write back and drop the cached data of the range (rounded
   * out to whole pages) — the page cache, or for a DAX inode the DAX code's entries.
   */
  private *flushUnmapRange(ip: XfsInode, pos: number, len: number): Sleepable {
    if (!ip.isDax()) {
      if (this.pageCache !== undefined) yield* xfsFlushUnmapRange(this.pageCache, ip, pos, len);
      return;
    }
    if (this.daxOps === undefined || len <= 0) return;
    const { start, last } = xfsPageSpan(pos, len);
    yield* this.daxOps.writeback(ip, start, last - start + 1);
    yield* this.daxOps.invalidate(ip, start, last - start + 1);
  }

  /** `filemap_write_and_wait_range()`: dirty pages, or for a DAX inode dirty DAX entries. */
  private *writeAndWait(ip: XfsInode, pos: number, len: number): Sleepable {
    if (!ip.isDax()) {
      if (this.pageCache !== undefined) yield* xfsWriteAndWaitRange(this.pageCache, ip, pos, len);
      return;
    }
    if (this.daxOps === undefined || len <= 0) return;
    const { start, last } = xfsPageSpan(pos, len);
    yield* this.daxOps.writeback(ip, start, last - start + 1);
  }

  private *breakLayouts(ip: XfsInode, pos: number, len: number): Sleepable {
    if (this.layoutBreak !== undefined) yield* this.layoutBreak(ip, pos, len);
  }

  // ---- size -------------------------------------------------------------------

  /** `xfs_setattr_size()`: truncate or extend; a partial last block is zeroed past EOF. */
  *truncate(ip: XfsInode, size: number): Sleepable {
    if (ip.isDir()) throw new KernelError("EISDIR");
    if (size < 0) throw new KernelError("EINVAL");
    if (size > MAX_LFS_FILESIZE) throw new KernelError("EFBIG");
    if (ip.isImmutable() || ip.isAppend()) throw new KernelError("EPERM");
    yield* xfsIlockIoMmap(ip);
    try {
      yield* this.breakLayouts(ip, Math.min(size, ip.size), WHOLE);
      yield* this.flushUnmapRange(ip, Math.min(size, ip.size), WHOLE);
      this.setSizeLocked(ip, size);
    } finally {
      xfsIunlockIoMmap(ip);
    }
  }

  private setSizeLocked(ip: XfsInode, size: number): void {
    const bs = this.blockSize;
    if (size < ip.size) {
      // iomap_truncate_page(): zero the tail of the new EOF block (CoW if shared)
      if (size % bs !== 0) xfsFileZeroRange(this, ip, size, Math.min(bs - (size % bs), ip.size - size));
      const first = Math.ceil(size / bs);
      this.trans(0, (sp) => {
        xfsBunmapi(sp, ip, XFS_DATA_FORK, first, Number.MAX_SAFE_INTEGER - first);
        xfsReflinkCancelCowRange(sp, ip, first, Number.MAX_SAFE_INTEGER - first, true);
        ip.size = size;
      }, ip);
    }
    this.trans(0, () => void (ip.size = size), ip);
  }

  // ---- fallocate -----------------------------------------------------------------

  /** `vfs_fallocate()` + `xfs_file_fallocate()`. */
  *fallocate(file: XfsFile | XfsInode, mode: number, offset: number, len: number): Sleepable {
    const f = file instanceof XfsInode ? undefined : file;
    const ip = f?.ip ?? (file as XfsInode);
    const known =
      FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE;
    if (offset < 0 || len <= 0) throw new KernelError("EINVAL");
    if (mode & ~known) throw new KernelError("EOPNOTSUPP");
    if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
      throw new KernelError("EOPNOTSUPP");
    }
    if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) throw new KernelError("EOPNOTSUPP");
    if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) && mode & ~(FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
      throw new KernelError("EINVAL");
    }
    if (mode === (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) throw new KernelError("EINVAL");
    if (f !== undefined && !(f.fmode & FMODE_WRITE)) throw new KernelError("EBADF");
    if (ip.isImmutable()) throw new KernelError("EPERM");
    if (ip.isAppend() && mode & ~FALLOC_FL_KEEP_SIZE) throw new KernelError("EPERM");
    if (ip.isDir()) throw new KernelError("EISDIR");
    if (!ip.isReg()) throw new KernelError("ENODEV");
    if (offset + len > MAX_LFS_FILESIZE) throw new KernelError("EFBIG");
    const bs = this.blockSize;
    yield* xfsIlockIoMmap(ip);
    try {
      yield* this.breakLayouts(ip, offset, mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) ? WHOLE : len);
      if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) {
        if (offset % bs !== 0 || len % bs !== 0) throw new KernelError("EINVAL");
        if (mode & FALLOC_FL_COLLAPSE_RANGE) {
          if (offset + len >= ip.size) throw new KernelError("EINVAL");
          yield* this.flushUnmapRange(ip, offset, Number.MAX_SAFE_INTEGER);
          this.collapseRange(ip, offset / bs, len / bs, ip.size - len);
        } else {
          if (offset >= ip.size) throw new KernelError("EINVAL");
          if (ip.size + len > MAX_LFS_FILESIZE) throw new KernelError("EFBIG");
          yield* this.flushUnmapRange(ip, offset, Number.MAX_SAFE_INTEGER);
          this.insertRange(ip, offset / bs, len / bs, ip.size + len);
        }
        return;
      }
      // punch, zero and unshare change blocks under cached pages: write back and drop them
      if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_UNSHARE_RANGE)) yield* this.flushUnmapRange(ip, offset, len);
      if (mode & FALLOC_FL_PUNCH_HOLE) {
        this.freeFileSpace(ip, offset, len);
        return;
      }
      if (mode & FALLOC_FL_UNSHARE_RANGE) {
        const end = Math.min(offset + len, ip.size);
        if (end > offset) xfsFileUnshareRange(this, ip, offset, end - offset);
        this.trans(0, (sp) => xfsReflinkTryClearInodeFlag(sp, ip), ip);
        // xfs_falloc_unshare_range(): then preallocate the holes like a plain fallocate
        this.allocFileSpace(ip, offset, len);
      } else if (mode & FALLOC_FL_ZERO_RANGE) {
        // xfs_zero_file_space(): free the whole blocks, zero the edges, preallocate unwritten
        this.freeFileSpace(ip, offset, len);
        this.allocFileSpace(ip, offset, len);
      } else {
        this.allocFileSpace(ip, offset, len);
      }
      if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > ip.size) this.trans(0, () => void (ip.size = offset + len), ip);
    } finally {
      xfsIunlockIoMmap(ip);
    }
  }

  /** `xfs_alloc_file_space()`: unwritten blocks for the holes of the range. */
  private allocFileSpace(ip: XfsInode, offset: number, len: number): void {
    const bs = this.blockSize;
    const off = Math.floor(offset / bs);
    const n = Math.ceil((offset + len) / bs) - off;
    const need = xfsBmapHoleBlocks(ip, XFS_DATA_FORK, off, n);
    this.trans(need, (sp) => xfsBmapiWrite(sp, ip, XFS_DATA_FORK, off, n, XFS_EXT_UNWRITTEN), ip);
  }

  /** `xfs_free_file_space()`: unmap the whole blocks, zero the partial ones inside EOF. */
  private freeFileSpace(ip: XfsInode, offset: number, len: number): void {
    const bs = this.blockSize;
    const first = Math.ceil(offset / bs);
    const last = Math.floor((offset + len) / bs);
    if (last > first) this.trans(0, (sp) => xfsBunmapi(sp, ip, XFS_DATA_FORK, first, last - first), ip);
    const zeroEdge = (from: number, to: number): void => {
      const end = Math.min(to, ip.size);
      if (end > from) xfsFileZeroRange(this, ip, from, end - from);
    };
    if (last < first) {
      zeroEdge(offset, offset + len);
    } else {
      zeroEdge(offset, first * bs);
      zeroEdge(last * bs, offset + len);
    }
  }

  /** `xfs_prepare_shift()`: CoW blocks past the shift point would land at the wrong offsets. */
  private prepareShift(sp: XfsSpace, ip: XfsInode, off: number): void {
    xfsReflinkCancelCowRange(sp, ip, off, Number.MAX_SAFE_INTEGER - off, true);
  }

  /** `xfs_collapse_file_space()`: free the range, then shift later extents down. */
  private collapseRange(ip: XfsInode, off: number, len: number, newSize: number): void {
    this.trans(0, (sp) => {
      this.prepareShift(sp, ip, off);
      xfsBunmapi(sp, ip, XFS_DATA_FORK, off, len);
      for (const p of xfsBmapUnmapExtent(sp, ip, off + len, Number.MAX_SAFE_INTEGER - off - len)) {
        xfsBmapMapExtent(sp, ip, { ...p, brStartoff: p.brStartoff - len });
      }
      ip.size = newSize;
    }, ip);
  }

  /** `xfs_insert_file_space()`: shift extents at and after `off` up, leaving a hole. */
  private insertRange(ip: XfsInode, off: number, len: number, newSize: number): void {
    this.trans(0, (sp) => {
      this.prepareShift(sp, ip, off);
      const moved = xfsBmapUnmapExtent(sp, ip, off, Number.MAX_SAFE_INTEGER - off);
      for (const p of moved.reverse()) xfsBmapMapExtent(sp, ip, { ...p, brStartoff: p.brStartoff + len });
      ip.size = newSize;
    }, ip);
  }

  // ---- remap_file_range ----------------------------------------------------------

  /**
   * `vfs_clone_file_range()` / `vfs_dedupe_file_range_one()` → `xfs_file_remap_range()`:
   * share [posIn, posIn + len) of `fin` at `posOut` of `fout`; `len` 0 clones to the source's
   * EOF. With REMAP_FILE_DEDUP the ranges must hold the same bytes (EBADE otherwise, and
   * nothing is shared). Returns the bytes remapped.
   */
  *remapFileRange(fin: XfsFile, posIn: number, fout: XfsFile, posOut: number, len: number, remapFlags = 0): Sleepable<number> {
    const dedup = (remapFlags & REMAP_FILE_DEDUP) !== 0;
    const src = fin.ip;
    const dst = fout.ip;
    if (posIn < 0 || posOut < 0 || len < 0) throw new KernelError("EINVAL");
    if (posIn + len > MAX_LFS_FILESIZE || posOut + len > MAX_LFS_FILESIZE) throw new KernelError("EINVAL");
    if (fin.fs !== fout.fs) throw new KernelError("EXDEV");
    if (dedup) {
      if (!(fin.fmode & FMODE_READ)) throw new KernelError("EINVAL");
      if (dst.isDir()) throw new KernelError("EISDIR");
      if (len === 0) return 0;
    } else {
      if (src.isDir() || dst.isDir()) throw new KernelError("EISDIR");
      if (!src.isReg() || !dst.isReg()) throw new KernelError("EINVAL");
      if (!(fin.fmode & FMODE_READ) || !(fout.fmode & FMODE_WRITE) || fout.flags & O_APPEND) throw new KernelError("EBADF");
    }
    if (!this.backend.hasReflink) throw new KernelError("EOPNOTSUPP");
    yield* xfsIlock2IoMmap(src, dst);
    try {
      const span = (pos: number) => (len === 0 ? WHOLE : Math.min(len, WHOLE - pos));
      yield* this.breakLayouts(src, posIn, span(posIn));
      if (dst !== src) yield* this.breakLayouts(dst, posOut, span(posOut));
      if (src.isDax() !== dst.isDax()) throw new KernelError("EINVAL", "Don't share DAX file data with non-DAX file");
      // __generic_remap_file_range_prep(): the blocks must hold what the caches hold
      yield* this.writeAndWait(src, posIn, span(posIn));
      yield* this.writeAndWait(dst, posOut, span(posOut));
      const count = yield* this.remapPrep(fin, posIn, fout, posOut, len, remapFlags);
      if (count === 0) return 0;
      // xfs_reflink_remap_prep(): the destination's pages would show the old blocks
      yield* this.flushUnmapRange(dst, posOut, count);
      const bs = this.blockSize;
      const nblocks = Math.ceil((posIn + count) / bs) - posIn / bs;
      this.trans(0, (sp) => {
        xfsReflinkSetInodeFlag(src);
        xfsReflinkSetInodeFlag(dst);
        xfsReflinkRemapBlocks(sp, src, posIn / bs, dst, posOut / bs, nblocks);
        // xfs_reflink_update_dest()
        if (posOut + count > dst.size) dst.size = posOut + count;
        if (posIn === 0 && posOut === 0 && count === src.size && src.diflags2 & XFS_DIFLAG2_COWEXTSIZE) {
          dst.cowextsize = src.cowextsize;
          dst.diflags2 |= XFS_DIFLAG2_COWEXTSIZE;
        }
      }, ...(src === dst ? [src] : [src, dst]));
      return count;
    } finally {
      xfsIunlock2IoMmap(src, dst);
    }
  }

  /** `__generic_remap_file_range_prep()` with `generic_remap_checks()` and `generic_remap_check_len()`. */
  private *remapPrep(fin: XfsFile, posIn: number, fout: XfsFile, posOut: number, reqLen: number, remapFlags: number): Sleepable<number> {
    const src = fin.ip;
    const dst = fout.ip;
    const dedup = (remapFlags & REMAP_FILE_DEDUP) !== 0;
    if (dst.isImmutable()) throw new KernelError("EPERM");
    if (src.swapfile || dst.swapfile) throw new KernelError("ETXTBSY");
    if (src.isDir() || dst.isDir()) throw new KernelError("EISDIR");
    if (!src.isReg() || !dst.isReg()) throw new KernelError("EINVAL");
    let len = reqLen;
    if (len === 0) {
      if (dedup || posIn === src.size) return 0;
      if (posIn > src.size) throw new KernelError("EINVAL");
      len = src.size - posIn;
    }
    // generic_remap_checks()
    const bs = this.blockSize;
    if (posIn % bs !== 0 || posOut % bs !== 0) throw new KernelError("EINVAL");
    const sizeIn = src.size;
    const sizeOut = dst.size;
    if (dedup && (posIn >= sizeIn || posIn + len > sizeIn || posOut >= sizeOut || posOut + len > sizeOut)) {
      throw new KernelError("EINVAL");
    }
    if (posIn >= sizeIn) throw new KernelError("EINVAL");
    let count = Math.min(len, sizeIn - posIn);
    let bcount: number;
    if (posIn + count === sizeIn && (!dedup || posOut + count === sizeOut)) {
      bcount = Math.ceil(sizeIn / bs) * bs - posIn;
    } else {
      if (count % bs !== 0) count -= count % bs;
      bcount = count;
    }
    if (src === dst && posOut + bcount > posIn && posOut < posIn + bcount) throw new KernelError("EINVAL");
    if (len !== count && !(remapFlags & REMAP_FILE_CAN_SHORTEN)) throw new KernelError("EINVAL");
    if (count === 0) return 0;
    if (dedup && !(yield* this.rangesEqual(src, posIn, dst, posOut, count))) throw new KernelError("EBADE");
    // generic_remap_check_len()
    if (count % bs !== 0) {
      let newLen = count;
      if (posOut + count < sizeOut) newLen -= count % bs;
      if (newLen !== count) {
        if (remapFlags & REMAP_FILE_CAN_SHORTEN) count = newLen;
        else throw new KernelError(dedup ? "EBADE" : "EINVAL");
      }
    }
    return count;
  }

  /** `vfs_dedupe_file_range_compare()`: through the page cache when the files have one. */
  private *rangesEqual(a: XfsInode, pa: number, b: XfsInode, pb: number, len: number): Sleepable<boolean> {
    const chunk = 64 * this.blockSize;
    const readChunk = function* (fs: XfsFileSystem, ip: XfsInode, pos: number, n: number): Sleepable<Uint8Array> {
      const mapping = fs.pagecacheMapping(ip);
      if (mapping !== null) return yield* filemapRead(fs.pageCache!, mapping, pos, n);
      const out = new Uint8Array(n);
      xfsFileReadRange(fs, ip, pos, out);
      return out;
    };
    for (let done = 0; done < len; done += chunk) {
      const n = Math.min(chunk, len - done);
      const x = yield* readChunk(this, a, pa + done, n);
      const y = yield* readChunk(this, b, pb + done, n);
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
    }
    return true;
  }

  /** FICLONE: the whole source file over the destination (`len` 0). */
  *clone(fin: XfsFile, fout: XfsFile): Sleepable<number> {
    return yield* this.remapFileRange(fin, 0, fout, 0, 0, 0);
  }

  /**
   * FIDEDUPERANGE for one destination: bytes deduped, or "differs" when the contents do not
   * match (FILE_DEDUPE_RANGE_DIFFERS; nothing is shared then).
   */
  *dedupeRange(fin: XfsFile, posIn: number, fout: XfsFile, posOut: number, len: number): Sleepable<number | "differs"> {
    if (!(fin.fmode & FMODE_READ)) throw new KernelError("EINVAL");
    if (posIn + len > fin.ip.size) throw new KernelError("EINVAL");
    const n = Math.min(len, 2 ** 30);
    try {
      yield* this.remapFileRange(fin, posIn, fout, posOut, n, REMAP_FILE_DEDUP | REMAP_FILE_CAN_SHORTEN);
      return n;
    } catch (e) {
      if (e instanceof KernelError && e.code === "EBADE") return "differs";
      throw e;
    }
  }

  // ---- queries ------------------------------------------------------------------

  /** FS_IOC_FIEMAP of the data fork (`iomap_fiemap()` with xfs_read_iomap_ops). */
  fiemap(ip: XfsInode, start = 0, len = MAX_LFS_FILESIZE): FiemapExtent[] {
    const out: FiemapExtent[] = [];
    const bs = this.blockSize;
    const stop = Math.min(start + len, Math.max(ip.size, this.lastMappedByte(ip)));
    let pos = start - (start % bs);
    while (pos < stop) {
      const map = xfsReadIomapBegin(this, ip, pos, stop - pos);
      if (map.type !== IOMAP_HOLE) {
        out.push({
          feLogical: map.offset,
          fePhysical: map.addr,
          feLength: map.length,
          feFlags: (map.type === IOMAP_UNWRITTEN ? FIEMAP_EXTENT_UNWRITTEN : 0) | (map.flags & IOMAP_F_SHARED ? FIEMAP_EXTENT_SHARED : 0),
        });
      }
      pos = map.offset + map.length;
    }
    const last = out.at(-1);
    if (last !== undefined) last.feFlags |= FIEMAP_EXTENT_LAST;
    return out;
  }

  private lastMappedByte(ip: XfsInode): number {
    const cur = { leaf: 0, pos: 0 };
    ip.dataFork.tree.last(cur);
    const r = ip.dataFork.tree.peek(cur);
    return r === undefined ? 0 : (r.brStartoff + r.brBlockcount) * this.blockSize;
  }

  /**
   * `xfs_dax_notify_failure()` → `xfs_rmap_query_range()` → `xfs_dax_failure_fn()`: every
   * owner of fs blocks [fsb, fsb + len): file owners with the file offset (in blocks) of
   * the first affected block, or metadata owners (XFS_RMAP_OWN_*, negative).
   */
  rmapQueryOwners(fsb: number, len: number): XfsFailureOwner[] {
    const out: XfsFailureOwner[] = [];
    const geo = this.backend.geo;
    this.readSpace((sp) => {
      forEachAgPiece(geo, fsb, len, (agno, agbno, n) => {
        for (const r of sp.rmapbt(agno).queryRange(agbno, n)) {
          const from = Math.max(agbno, r.rmStartblock);
          const to = Math.min(agbno + n, r.rmStartblock + r.rmBlockcount);
          const metadata = xfsRmapNonInodeOwner(r.rmOwner) || (r.rmFlags & XFS_RMAP_BMBT_BLOCK) !== 0;
          out.push({
            owner: r.rmOwner,
            metadata,
            fsb: xfsAgbToFsb(geo, agno, from),
            count: to - from,
            offset: metadata ? 0 : r.rmOffset + (from - r.rmStartblock),
            unwritten: (r.rmFlags & XFS_RMAP_UNWRITTEN) !== 0,
          });
        }
      });
    });
    return out;
  }

  /** `xfs_vn_getattr()`. */
  statx(ip: XfsInode): XfsStatx {
    return {
      ino: ip.ino,
      mode: ip.mode,
      nlink: ip.nlink,
      size: ip.size,
      blocks: ((ip.nblocks + ip.bmbtBlocks + ip.delayedBlks) * this.blockSize) / 512,
      blksize: this.blockSize,
      attributes: ip.isDax() ? STATX_ATTR_DAX : 0,
    };
  }

  /** FS_IOC_FSGETXATTR: hints in bytes. */
  getXattr(ip: XfsInode): XfsFsxattr {
    return {
      xflags: ip.xflags(),
      extsize: ip.extsize * this.blockSize,
      cowextsize: ip.cowextsize * this.blockSize,
      nextents: ip.dataFork.nextents,
    };
  }

  /**
   * FS_IOC_FSSETXATTR (`fileattr_set_prepare()` + `xfs_fileattr_set()`): DAX, immutable,
   * append, the extent size hint and the CoW extent size hint (both in bytes; left out,
   * they keep their value).
   */
  *setXattr(ip: XfsInode, fa: { xflags: number; extsize?: number; cowextsize?: number }): Sleepable {
    const supported = FS_XFLAG_DAX | FS_XFLAG_IMMUTABLE | FS_XFLAG_APPEND | FS_XFLAG_COWEXTSIZE | FS_XFLAG_EXTSIZE | FS_XFLAG_EXTSZINHERIT;
    if (fa.xflags & ~supported) throw new KernelError("EOPNOTSUPP");
    let xflags = fa.xflags;
    const extBytes = fa.extsize ?? ip.extsize * this.blockSize;
    // fileattr_set_prepare(): the flags' file types; a zero hint clears its flags
    if (xflags & FS_XFLAG_EXTSIZE && !ip.isReg()) throw new KernelError("EINVAL");
    if (xflags & FS_XFLAG_EXTSZINHERIT && !ip.isDir()) throw new KernelError("EINVAL");
    if (extBytes === 0) xflags &= ~(FS_XFLAG_EXTSIZE | FS_XFLAG_EXTSZINHERIT);
    this.checkExtsize(ip, xflags, extBytes);
    const cowBytes = fa.cowextsize ?? ip.cowextsize * this.blockSize;
    // xfs_ioctl_setattr_check_cowextsize()
    if (cowBytes !== 0) {
      if (!(xflags & FS_XFLAG_COWEXTSIZE) && !ip.isDir()) throw new KernelError("EINVAL");
      if (cowBytes % this.blockSize !== 0) throw new KernelError("EINVAL");
      const blocks = cowBytes / this.blockSize;
      if (blocks > XFS_MAX_BMBT_EXTLEN || blocks > this.backend.geo.agblocks / 2) throw new KernelError("EINVAL");
    } else if (xflags & FS_XFLAG_COWEXTSIZE && !ip.isDir() && fa.cowextsize !== undefined) {
      throw new KernelError("EINVAL");
    }
    yield* xfsIlockIoMmap(ip);
    try {
      // xfs_ioctl_setattr_prepare_dax(): under dax=inode a changed flag changes S_DAX only
      // when the inode is next read in; d_mark_dontcache() makes that the last iput
      if (!ip.isDir() && this.daxMode === "inode" && ip.flagDax() !== ((xflags & FS_XFLAG_DAX) !== 0)) ip.dontcache = true;
      this.trans(0, () => this.applyXflags(ip, xflags, extBytes, cowBytes), ip);
    } finally {
      xfsIunlockIoMmap(ip);
    }
    // the ioctl's own file reference ends here: with no other open, that is the last iput
    yield* this.iput(ip);
  }

  /**
   * `xfs_ioctl_setattr_check_extsize()` + `xfs_inode_validate_extsize()`: a file holding
   * data keeps its hint; a hint is whole blocks, at most XFS_MAX_BMBT_EXTLEN and half an
   * AG, and present exactly when one of its flags is.
   */
  private checkExtsize(ip: XfsInode, xflags: number, extBytes: number): void {
    const hasData = ip.dataFork.nextents > 0 || ip.delayedBlks > 0;
    if (ip.isReg() && hasData && extBytes !== ip.extsize * this.blockSize) throw new KernelError("EINVAL");
    if (extBytes % this.blockSize !== 0) throw new KernelError("EINVAL");
    const blocks = extBytes / this.blockSize;
    const flagged = (xflags & (FS_XFLAG_EXTSIZE | FS_XFLAG_EXTSZINHERIT)) !== 0;
    if (!flagged && blocks !== 0) throw new KernelError("EINVAL");
    if (blocks > XFS_MAX_BMBT_EXTLEN || blocks > this.backend.geo.agblocks / 2) throw new KernelError("EINVAL");
  }

  private applyXflags(ip: XfsInode, xflags: number, extBytes: number, cowBytes: number): void {
    ip.diflags = (ip.diflags & ~(XFS_DIFLAG_IMMUTABLE | XFS_DIFLAG_APPEND | XFS_DIFLAG_EXTSIZE | XFS_DIFLAG_EXTSZINHERIT)) |
      (xflags & FS_XFLAG_IMMUTABLE ? XFS_DIFLAG_IMMUTABLE : 0) |
      (xflags & FS_XFLAG_APPEND ? XFS_DIFLAG_APPEND : 0) |
      (xflags & FS_XFLAG_EXTSIZE ? XFS_DIFLAG_EXTSIZE : 0) |
      (xflags & FS_XFLAG_EXTSZINHERIT ? XFS_DIFLAG_EXTSZINHERIT : 0);
    ip.diflags2 = (ip.diflags2 & ~(XFS_DIFLAG2_DAX | XFS_DIFLAG2_COWEXTSIZE)) |
      (xflags & FS_XFLAG_DAX ? XFS_DIFLAG2_DAX : 0) |
      (xflags & FS_XFLAG_COWEXTSIZE ? XFS_DIFLAG2_COWEXTSIZE : 0);
    ip.extsize = extBytes / this.blockSize;
    ip.cowextsize = cowBytes / this.blockSize;
  }

  // ---- iomap ops for the page cache and DAX ----------------------------------------

  /** `xfs_read_iomap_ops` / `xfs_direct_write_iomap_ops`.iomap_begin. */
  iomapBegin(ip: XfsInode, pos: number, length: number, flags: number): { iomap: Iomap; srcmap: Iomap | undefined } {
    if (flags & IOMAP_WRITE) return xfsWriteIomapBegin(this, ip, pos, length, flags);
    return { iomap: xfsReadIomapBegin(this, ip, pos, length), srcmap: undefined };
  }

  /** iomap_end: finish a write (convert unwritten, remap or cancel CoW blocks). */
  iomapEnd(ip: XfsInode, pos: number, length: number, written: number, flags: number, iomap: Iomap): void {
    if (flags & IOMAP_WRITE) xfsWriteIomapEnd(this, ip, pos, length, written, iomap);
  }

  /** Blocks still free. */
  freeBlocks(): number {
    return this.backend.freeBlocks();
  }
}
