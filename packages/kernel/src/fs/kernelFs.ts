/**
 * The mounted filesystem as the kernel layer sees it: xfs-lite on pmem0 wired to DAX the
 * way XFS is — DAX inodes mapped with `daxMmap` over xfs-lite's iomap, read and written
 * with `daxIomapRw`, `xfs_break_layouts()` filled with the busy-page wait, the dax holder
 * whose `->notify_failure` walks the rmapbt, forced shutdown, and the final iput that
 * waits for pinned pages before the blocks go. Non-DAX inodes use xfs-lite's page cache.
 *
 * @see fs/xfs/xfs_file.c xfs_file_dax_read(), xfs_file_dax_write(), xfs_file_mmap(),
 *      xfs_break_dax_layouts(), xfs_break_layouts(), xfs_file_fsync();
 *      fs/xfs/xfs_notify_failure.c xfs_dax_notify_failure(), xfs_dax_failure_fn();
 *      fs/xfs/xfs_super.c xfs_fs_evict_inode() (6.15's dax_break_layout_final());
 *      fs/xfs/xfs_buf.c xfs_alloc_buftarg() (fs_dax_get_by_bdev with the holder ops)
 *
 * xfs-lite decides S_DAX from the mount's dax mode; where an extent change would write
 * back and drop page-cache pages it calls `fs.daxOps` for DAX inodes: writeback is
 * `dax_writeback_mapping_range()` of the range, invalidate is `truncate_pagecache_range()`
 * on a DAX mapping (unmap, CoWed private pages included, then delete the entries).
 */
import {
  type DaxContext,
  type DaxFileOps,
  type DaxMountMode,
  type IomapOps,
  daxBreakLayouts,
  daxDeleteMappingRange,
  daxIomapRw,
  daxMmap,
  daxWritebackMappingRange,
  fsDaxGetByBdev,
  fsPutDax,
  mfDaxKillProcs,
} from "@pagelab/dax";
import {
  type AddressSpace,
  KERN_INFO,
  KernelError,
  MAP_SYNC,
  MF_MEM_PRE_REMOVE,
  PAGECACHE_TAG_DIRTY,
  PAGE_SIZE,
  type Sleepable,
  type VmAreaStruct,
  type VmContext,
  type VmFile,
  type VmOperationsStruct,
  ERRNO,
  genericFileVmOps,
  isKernelError,
  XA_MAX_INDEX,
  thpGetUnmappedArea,
  unmapMappingPages,
} from "@pagelab/mm-core";
import {
  FMODE_WRITE,
  MAX_LFS_FILESIZE,
  O_APPEND,
  type XfsFile,
  type XfsFileSystem,
  type XfsInode,
  type XfsMountedFs,
  xfsAgbToFsb,
  xfsInodeMapping,
  xfsWriteAndWaitRange,
} from "@pagelab/xfs-lite";
import { xfsDaxIomapOps } from "./iomapOps.js";
import {
  NOTIFY_DDEV_FAILURE_CORRUPT,
  NOTIFY_DDEV_FAILURE_REMOVE,
  SHUTDOWN_CORRUPT_ONDISK,
  SHUTDOWN_FORCE_UMOUNT,
  logForceShutdown,
} from "./shutdown.js";

/** From here on a byte range reaches every page a file can have (xfs-lite rounds "to EOF" down to a page). */
const WHOLE_FILE_LAST_BYTE = Math.floor(Number.MAX_SAFE_INTEGER / PAGE_SIZE) * PAGE_SIZE - 1;

/** One owner reached by a notify_failure walk. */
export interface FailureOwnerReport {
  readonly ino: number;
  readonly metadata: boolean;
  /** File page offset and page count (0 for metadata). */
  readonly pgoff: number;
  readonly count: number;
}

export interface FailureReport {
  readonly offset: number;
  readonly len: number;
  readonly mfFlags: number;
  readonly owners: readonly FailureOwnerReport[];
  readonly ret: number;
}

export interface KernelFsInit {
  readonly mounted: XfsMountedFs;
  readonly dax: DaxContext;
  readonly vm: VmContext;
  readonly mode: DaxMountMode;
  readonly rmapbt: boolean;
  readonly devName: string;
  /** Historic bug: truncate and punch do not wait for pinned DAX pages (before 4.17). */
  readonly noBusyWait: boolean;
}

export class KernelFs {
  readonly mounted: XfsMountedFs;
  readonly fs: XfsFileSystem;
  readonly dax: DaxContext;
  readonly vm: VmContext;
  readonly mode: DaxMountMode;
  readonly devName: string;
  readonly fops: DaxFileOps<XfsInode>;
  readonly readOps: IomapOps<XfsInode>;
  readonly writeOps: IomapOps<XfsInode>;
  readonly failureReports: FailureReport[] = [];
  shutdown = false;
  /** Inodes whose last VMA went away while unlinked: evicted at the end of the syscall (task work). */
  private readonly deferredIputs: XfsFile[] = [];
  /** VMA references per inode, each holding one xfs-lite open reference. */
  private readonly vmaRefs = new Map<XfsInode, { count: number; file: XfsFile }>();

  constructor(private readonly init: KernelFsInit) {
    this.mounted = init.mounted;
    this.fs = init.mounted.fs;
    this.dax = init.dax;
    this.vm = init.vm;
    this.mode = init.mode;
    this.devName = init.devName;
    const ops = xfsDaxIomapOps(this.fs, this.mounted.mp);
    this.readOps = ops.readOps;
    this.writeOps = ops.writeOps;
    const kfs = this;
    this.fops = {
      readOps: this.readOps,
      writeOps: this.writeOps,
      *fsync(ip: XfsInode, start: number, end: number): Sleepable<number> {
        try {
          yield* kfs.fsyncRange(ip, start, end);
          return 0;
        } catch (e) {
          if (isKernelError(e)) return -e.errno;
          throw e;
        }
      },
    };
    this.fs.layoutBreak = (ip) => this.breakLayouts(ip);
    this.fs.daxOps = {
      writeback: (ip, pos, len) => this.daxWritebackRange(ip, pos, len),
      invalidate: (ip, pos, len) => this.daxInvalidateRange(ip, pos, len),
    };
    fsDaxGetByBdev(this.dax.dev, this, { notifyFailure: (_dev, offset, len, flags) => this.notifyFailure(offset, len, flags) });
  }

  /** -EIO for everything once the filesystem shut down. */
  checkAlive(): void {
    if (this.shutdown) throw new KernelError("EIO", `XFS (${this.devName}) is shut down`);
  }

  /** IS_DAX(inode): xfs-lite's in-core S_DAX. */
  isDax(ip: XfsInode): boolean {
    return ip.isDax();
  }

  /** `inode->i_mapping` (AS_DAX following IS_DAX). */
  mapping(ip: XfsInode): AddressSpace {
    return xfsInodeMapping(this.fs, this.vm, ip, this.fs.pagecacheStats);
  }

  /**
   * `xfs_break_layouts()` for DAX (`xfs_break_dax_layouts()`): sleep with the MMAPLOCK
   * dropped until no page of the file is pinned (6.12's dax_layout_busy_page() covers
   * the whole file, whatever range is about to change).
   */
  private *breakLayouts(ip: XfsInode): Sleepable {
    const m = ip.mapping;
    if (m === null || !m.isDax || this.init.noBusyWait) return;
    yield* daxBreakLayouts(this.dax, m, 0, XA_MAX_INDEX, {
      unlock: () => ip.mmapLock.upWrite(),
      relock: () => ip.mmapLock.downWrite(),
    });
  }

  /**
   * `filemap_fdatawrite_wbc()` → `->writepages` = `dax_writeback_mapping_range()` for bytes
   * [start, end]: nothing at all (not even the tracepoints) unless some entry is tagged dirty.
   */
  private *daxFdatawrite(m: AddressSpace, start: number, end: number): Sleepable {
    if (!m.iPages.anyMarked(PAGECACHE_TAG_DIRTY)) return;
    yield* daxWritebackMappingRange(this.dax, m, start, end);
  }

  /** `daxOps.writeback`: `filemap_write_and_wait_range()` on a DAX mapping. */
  private *daxWritebackRange(ip: XfsInode, pos: number, len: number): Sleepable {
    const m = ip.mapping;
    if (m === null || !m.isDax) return;
    // xfs-lite's "to EOF" is its last page-aligned byte: the kernel's LLONG_MAX
    const end = pos + len - 1 >= WHOLE_FILE_LAST_BYTE ? Number.MAX_SAFE_INTEGER : pos + len - 1;
    yield* this.daxFdatawrite(m, pos, end);
  }

  /**
   * `daxOps.invalidate`: `truncate_pagecache_range()` on a DAX mapping — every PTE of the
   * range unmapped (private CoW copies too, `even_cows`), then each entry deleted.
   */
  private *daxInvalidateRange(ip: XfsInode, pos: number, len: number): Sleepable {
    const m = ip.mapping;
    if (m === null || !m.isDax) return;
    const first = Math.floor(pos / PAGE_SIZE);
    const whole = pos + len - 1 >= WHOLE_FILE_LAST_BYTE;
    const last = whole ? XA_MAX_INDEX : Math.floor((pos + len - 1) / PAGE_SIZE);
    unmapMappingPages(m, first, whole ? 0 : last - first + 1, true);
    yield* daxDeleteMappingRange(this.dax, m, first, last);
  }

  // ---- data -------------------------------------------------------------------

  /** `xfs_file_read_iter()`: DAX, or the page cache / direct path of xfs-lite. */
  *read(ip: XfsInode, pos: number, len: number): Sleepable<Uint8Array> {
    this.checkAlive();
    if (ip.isDir()) throw new KernelError("EISDIR");
    if (!this.isDax(ip)) return yield* this.fs.read(ip, pos, len);
    yield* ip.iRwsem.downRead();
    try {
      const n = Math.max(0, Math.min(len, ip.size - pos));
      const buf = new Uint8Array(n);
      const done = yield* daxIomapRw(this.dax, this.mapping(ip), pos, buf, false, this.readOps);
      return buf.subarray(0, done);
    } finally {
      ip.iRwsem.upRead();
    }
  }

  /** `xfs_file_write_iter()`: returns bytes written at `pos` (at EOF for O_APPEND). */
  *write(file: XfsFile, pos: number, data: Uint8Array): Sleepable<number> {
    this.checkAlive();
    const ip = file.ip;
    if (!this.isDax(ip)) return yield* this.fs.write(file, pos, data);
    if (!(file.fmode & FMODE_WRITE)) throw new KernelError("EBADF");
    if (ip.isImmutable()) throw new KernelError("EPERM");
    if (pos < 0) throw new KernelError("EINVAL");
    yield* ip.iRwsem.downWrite();
    try {
      const at = file.flags & O_APPEND ? ip.size : pos;
      if (at + data.length > MAX_LFS_FILESIZE) throw new KernelError("EFBIG");
      const n = yield* daxIomapRw(this.dax, this.mapping(ip), at, data, true, this.writeOps);
      if (at + n > ip.size) this.fs.trans(0, () => void (ip.size = at + n), ip);
      return n;
    } finally {
      ip.iRwsem.upWrite();
    }
  }

  /** `xfs_file_fsync()` over [start, end]: DAX entries flushed (or dirty pages written), then the log forced. */
  *fsyncRange(ip: XfsInode, start = 0, end = Number.MAX_SAFE_INTEGER): Sleepable {
    this.checkAlive();
    const m = ip.mapping;
    if (m !== null && m.isDax) yield* this.daxFdatawrite(m, start, end);
    else if (m !== null) yield* xfsWriteAndWaitRange(this.vm, ip, start, end - start + 1);
    yield* this.fs.fsync(ip);
  }

  /** `filemap_write_and_wait()` of the whole file (FIEMAP_FLAG_SYNC): data only, no log force. */
  *writeAndWait(ip: XfsInode): Sleepable {
    this.checkAlive();
    const m = ip.mapping;
    if (m !== null && m.isDax) yield* this.daxFdatawrite(m, 0, Number.MAX_SAFE_INTEGER);
    else if (m !== null) yield* xfsWriteAndWaitRange(this.vm, ip, 0, Number.MAX_SAFE_INTEGER);
  }

  /** `sync(2)`: every file's data, then the log. */
  *syncFs(): Sleepable {
    this.checkAlive();
    for (const ip of [...this.fs.inodes.values()]) {
      const m = ip.mapping;
      if (m !== null && m.isDax) yield* this.daxFdatawrite(m, 0, Number.MAX_SAFE_INTEGER);
    }
    yield* this.fs.syncFs();
  }

  // ---- mmap ---------------------------------------------------------------------

  /**
   * `f_op` of an open file for mmap: `xfs_file_mmap()` — dax_file_vm_ops on DAX inodes
   * (MAP_SYNC allowed, PMD-aligned placement), the generic page-cache ops otherwise.
   * Every VMA holds an inode reference (`vma->vm_file`).
   */
  vmFile(ip: XfsInode, readable: boolean, writable: boolean): VmFile {
    const kfs = this;
    const dax = this.isDax(ip);
    const mapping = this.mapping(ip);
    const file: VmFile = {
      mapping,
      readable,
      writable,
      ...(dax ? { mmapSupportedFlags: MAP_SYNC, getUnmappedArea: thpGetUnmappedArea } : {}),
      mmap(vma: VmAreaStruct) {
        kfs.checkAlive();
        if (dax) daxMmap(kfs.dax, kfs.fops, vma);
        else vma.vmOps = genericFileVmOps;
        vma.vmOps = kfs.withFileRef(ip, vma.vmOps!);
        kfs.vmaGet(ip);
      },
    };
    return file;
  }

  private withFileRef(ip: XfsInode, ops: VmOperationsStruct): VmOperationsStruct {
    return {
      ...ops,
      open: (vma) => {
        ops.open?.(vma);
        this.vmaGet(ip);
      },
      close: (vma) => {
        ops.close?.(vma);
        this.vmaPut(ip);
      },
    };
  }

  private vmaGet(ip: XfsInode): void {
    const r = this.vmaRefs.get(ip);
    if (r) r.count++;
    else this.vmaRefs.set(ip, { count: 1, file: this.fs.open(ip, 0) });
  }

  private vmaPut(ip: XfsInode): void {
    const r = this.vmaRefs.get(ip)!;
    if (--r.count > 0) return;
    this.vmaRefs.delete(ip);
    // fput() of the last VMA runs as task work: an eviction or I_DONTCACHE drop may sleep there
    if ((ip.nlink === 0 || ip.dontcache) && ip.openCount === 1) this.deferredIputs.push(r.file);
    else this.fs.close(r.file);
  }

  /** Inodes mapped by some VMA. */
  mappedInodes(): XfsInode[] {
    return [...this.vmaRefs.keys()];
  }

  // ---- references ---------------------------------------------------------------

  /** Open an inode for a file description (`xfs_file_open` + iget reference). */
  open(ip: XfsInode, fmode: number, flags: number): XfsFile {
    this.checkAlive();
    return this.fs.open(ip, fmode, flags);
  }

  /**
   * `iput()` of one reference (xfs-lite's sleeping `release`): the last one of an
   * unlinked inode evicts it — after waiting until no page of it is pinned (6.15's
   * `dax_break_layout_final()`; 6.12 freed the blocks under the pin) — and the last one
   * of an I_DONTCACHE inode writes back, drops its cache and re-decides S_DAX.
   */
  *release(file: XfsFile): Sleepable {
    const ip = file.ip;
    if (ip.nlink === 0 && ip.openCount === 1) yield* this.breakLayoutFinal(ip);
    yield* this.fs.release(file);
  }

  private *breakLayoutFinal(ip: XfsInode): Sleepable {
    const m = ip.mapping;
    if (m === null || !m.isDax || this.init.noBusyWait) return;
    yield* daxBreakLayouts(this.dax, m, 0, XA_MAX_INDEX);
  }

  /** `fput()` from a context that cannot sleep: released by the next task work. */
  deferRelease(file: XfsFile): void {
    this.deferredIputs.push(file);
  }

  /** Run the deferred final iputs (task work at return to user space). */
  *runTaskWork(): Sleepable {
    while (this.deferredIputs.length > 0) yield* this.release(this.deferredIputs.shift()!);
  }

  /** `unlink(2)` of `name` in `dir`: eviction, if this was the last reference, waits for pins. */
  *unlink(dir: XfsInode, name: string): Sleepable {
    this.checkAlive();
    const ip = this.fs.lookup(dir, name);
    if (ip.isDir()) throw new KernelError("EISDIR");
    const hold = this.fs.open(ip, 0);
    try {
      yield* this.fs.unlink(dir, name);
    } finally {
      yield* this.release(hold);
    }
  }

  // ---- notify_failure -------------------------------------------------------------

  /** `xfs_dax_notify_failure()`: bytes [offset, offset + len) of pmem0 failed or are going away. */
  notifyFailure(offset: number, len: number, mfFlags: number): number {
    const owners: FailureOwnerReport[] = [];
    const report = (ret: number): number => {
      this.failureReports.push({ offset, len, mfFlags, owners, ret });
      return ret;
    };
    if (this.shutdown) return report(-ERRNO.EIO);
    if (!this.init.rmapbt) return report(-ERRNO.EOPNOTSUPP);
    const preRemove = (mfFlags & MF_MEM_PRE_REMOVE) !== 0;
    const devBytes = this.dax.dev.nrPages * PAGE_SIZE;
    let off = offset;
    let n = len;
    if (off === 0 && n >= Number.MAX_SAFE_INTEGER) n = devBytes;
    if (off >= devBytes) return report(-ERRNO.ENXIO);
    if (off + n > devBytes) n = devBytes - off;
    const dmesg = this.vm.dmesg;
    if (preRemove) dmesg.printk(KERN_INFO, `XFS (${this.devName}): Device is about to be removed!`);
    // xfs_dax_notify_ddev_failure(): walk the rmapbt of every AG the range touches
    const mp = this.mounted.mp;
    const bs = this.fs.blockSize;
    const firstBlk = Math.floor(off / bs);
    const endBlk = Math.ceil((off + n) / bs);
    let wantShutdown = false;
    let error = 0;
    for (let blk = firstBlk; blk < endBlk && error === 0; ) {
      const agno = Math.floor(blk / mp.agblocks);
      const agbno = blk % mp.agblocks;
      const count = Math.min(endBlk - blk, mp.agblocks - agbno);
      const fsb = xfsAgbToFsb(mp.geo, agno, agbno);
      for (const o of this.fs.rmapQueryOwners(fsb, count)) {
        if (o.metadata) {
          owners.push({ ino: o.owner, metadata: true, pgoff: 0, count: 0 });
          if (!preRemove) wantShutdown = true;
          continue;
        }
        const ip = this.fs.inodes.get(o.owner);
        // xfs_iget(XFS_IGET_INCORE): files nobody has in use are skipped
        if (ip === undefined || ip.mapping === null) continue;
        owners.push({ ino: o.owner, metadata: false, pgoff: o.offset, count: o.count });
        const r = mfDaxKillProcs(this.dax, ip.mapping, o.offset, o.count, mfFlags);
        if (r) {
          error = r;
          break;
        }
      }
      blk += count;
    }
    if (error || wantShutdown) {
      this.forceShutdown(SHUTDOWN_CORRUPT_ONDISK);
      if (!error) error = -ERRNO.EUCLEAN; // -EFSCORRUPTED
    } else if (preRemove) {
      this.forceShutdown(SHUTDOWN_FORCE_UMOUNT);
    }
    return report(error);
  }

  /** `xfs_force_shutdown()`: log it once, refuse everything afterwards with EIO. */
  forceShutdown(flags: number): void {
    if (this.shutdown) return;
    this.shutdown = true;
    const site = flags & SHUTDOWN_FORCE_UMOUNT ? NOTIFY_DDEV_FAILURE_REMOVE : NOTIFY_DDEV_FAILURE_CORRUPT;
    logForceShutdown(this.vm.dmesg, this.devName, flags, site);
  }

  /** Unmount: DAX entries and page cache dropped, xfs-lite unmounted, the holder released. */
  unmountPrepare(): void {
    fsPutDax(this.dax.dev, this);
    this.fs.layoutBreak = undefined;
    this.fs.daxOps = undefined;
  }
}
