/**
 * The file system on a device: the file layers over the infrastructure's transactions,
 * btrees and log. Inodes live in inode chunks, directories in short-form inodes or logged
 * directory blocks, file data in device blocks; mount reads the namespace back and does
 * what XFS log recovery and mount do for the file layers.
 *
 * @see fs/xfs/xfs_super.c xfs_fs_fill_super(); fs/xfs/xfs_mount.c xfs_mountfs();
 *      fs/xfs/xfs_inode_item.c / xfs_trans_log_inode() (an inode changed in a transaction
 *      is logged with it); fs/xfs/xfs_icache.c xfs_iget(); fs/xfs/libxfs/xfs_inode_fork.c
 *      xfs_iformat_data_fork(), xfs_iflush_fork(); fs/xfs/xfs_reflink.c
 *      xfs_reflink_recover_cow(); fs/xfs/xfs_log_recover.c xlog_recover_process_iunlinks();
 *      fs/xfs/xfs_file.c xfs_file_fsync()
 *
 * Simplified: every inode reachable from the root is read at mount (no inode cache
 * eviction); an inode with more extents than fit in its literal area keeps them in a bmbt
 * that is brought in line with the in-core extent list when the inode is logged (the
 * kernel edits the bmbt record by record as it edits the extent list); unlinked inodes
 * are found at mount by walking the inode btree (the kernel keeps AGI unlinked lists).
 */
import { KernelError, runSync, type VmContext } from "@pagelab/mm-core";
import { xfsAllocVextent, xfsFreeExtent } from "../ag/xfs-alloc.js";
import { xfsTransSpace } from "../ag/xfs-ag-adapters.js";
import { xfsLogSb } from "../ag/xfs-ag-headers.js";
import { NULLFSINO } from "../ag/xfs-format.js";
import type { BlockDevice } from "../blockdev.js";
import { XfsBtreeCur } from "../btree/xfs-btree.js";
import { NULLPTR } from "../btree/xfs-btree-format.js";
import { xfsBmbtOps } from "../btree/xfs-btree-records.js";
import { xfsBmapiWrite, xfsBunmapi } from "../bmap/bmap.js";
import { xfsBmapiRead } from "../bmap/fork.js";
import { xfsAgbToFsb, xfsFsbToAgno, xfsRefcountFreeCowExtent, type XfsGeometry, type XfsSpace } from "../bmap/space.js";
import { xfsDirBlockRead, xfsDirBlockWrite, xfsDirBufOps, xfsDirDecode, xfsDirEncode, XFS_DIR_BLOCK_PAYLOAD } from "../dir/dir.js";
import { XFS_DATA_FORK, XFS_EXT_NORM, isHole, type XfsBmbtIrec } from "../iext/types.js";
import {
  XFS_DINODE_FMT_BTREE,
  XFS_DINODE_FMT_EXTENTS,
  XFS_DINODE_FMT_LOCAL,
  XFS_DINODE_LITERAL,
  XFS_DINODE_MAX_EXTENTS,
  xfsDinodeReadBmbtRoot,
  xfsDinodeReadCore,
  xfsDinodeReadExtents,
  xfsDinodeReadLocal,
  xfsDinodeWriteBmbtRoot,
  xfsDinodeWriteCore,
  xfsDinodeWriteExtents,
  xfsDinodeWriteLocal,
  xfsInodeBufOps,
} from "../inode/dinode.js";
import { xfsAllocatedInodes, xfsDialloc, xfsDifree, xfsImap } from "../inode/ialloc.js";
import { S_IFREG, XfsInode } from "../inode/inode.js";
import { xfsLogForce, xfsMount, xfsUnmount } from "../mount/xfs-mount-ops.js";
import { xfsFsbToDaddr, type XfsMount } from "../mount/xfs-mount.js";
import { xfsRefcountCowLeftovers } from "../refcount/refcount.js";
import { XFS_RMAP_BMBT_BLOCK } from "../rmap/types.js";
import { xfsTransAlloc, xfsTransAllocEmpty, type XfsTrans } from "../trans/xfs-trans.js";
import type { XfsFsBackend } from "./backend.js";
import type { XfsDataDevice } from "./data-dev.js";
import type { XfsDaxMode } from "./xfs-dax-mode.js";
import { XfsFileSystem } from "./xfs-fs.js";

/** Blocks every transaction reserves on top of its own need, for btree splits. */
const XFS_TRANS_BTREE_SLACK = 16;

/** Per-inode on-disk state that has no in-core XfsInode field. */
interface XfsInodeDisk {
  bmbtRoot: number;
  bmbtLevels: number;
  /** What the bmbt holds, by start offset (to log only the differences). */
  bmbtShadow: Map<number, string>;
  /** A short-form directory's encoded entries. */
  dirLocal: Uint8Array | null;
}

/** File data straight to the device's blocks. */
class XfsDevDataDevice implements XfsDataDevice {
  readonly blockSize = 4096;
  constructor(
    private readonly mp: XfsMount,
    private readonly dev: BlockDevice,
  ) {}
  readBlock(fsb: number, dst: Uint8Array): void {
    this.dev.read(xfsFsbToDaddr(this.mp, fsb), dst);
  }
  writeBlock(fsb: number, src: Uint8Array): void {
    this.dev.write(xfsFsbToDaddr(this.mp, fsb), src);
  }
}

export class XfsMountedBackend implements XfsFsBackend {
  private tp: XfsTrans | null = null;
  private readonly disk = new WeakMap<XfsInode, XfsInodeDisk>();
  /** Inodes logged since the last log force. */
  private pinned = new WeakSet<XfsInode>();

  constructor(
    readonly mp: XfsMount,
    readonly dev: BlockDevice,
  ) {}

  get geo(): XfsGeometry {
    return this.mp.geo;
  }
  get hasReflink(): boolean {
    return this.mp.hasReflink;
  }
  get hasRmapbt(): boolean {
    return this.mp.hasRmapbt;
  }

  diskState(ip: XfsInode): XfsInodeDisk {
    let d = this.disk.get(ip);
    if (d === undefined) {
      d = { bmbtRoot: NULLPTR, bmbtLevels: 0, bmbtShadow: new Map(), dirLocal: null };
      this.disk.set(ip, d);
    }
    return d;
  }

  private curTp(): XfsTrans {
    if (this.tp === null) throw new KernelError("EINVAL", "not inside a transaction");
    return this.tp;
  }

  trans<T>(resblks: number, inodes: readonly XfsInode[], fn: (sp: XfsSpace) => T): T {
    if (this.tp !== null) {
      // already inside one (e.g. eviction from a namespace change): join it
      const r = fn(xfsTransSpace(this.tp));
      for (const ip of inodes) this.logInode(this.tp, ip);
      return r;
    }
    if (this.mp.mShutdown) throw new KernelError("EIO", "file system shut down");
    let tp: XfsTrans;
    try {
      tp = xfsTransAlloc(this.mp, { blocks: resblks + XFS_TRANS_BTREE_SLACK });
    } catch (e) {
      if (!(e instanceof KernelError && e.code === "ENOSPC")) throw e;
      tp = xfsTransAlloc(this.mp, { blocks: resblks });
    }
    this.tp = tp;
    let committing = false;
    try {
      const r = fn(xfsTransSpace(tp));
      for (const ip of inodes) this.logInode(tp, ip);
      committing = true;
      tp.commit();
      return r;
    } catch (e) {
      // a commit that failed (the device died under the log write) is not cancellable
      if (!committing) tp.cancel();
      throw e;
    } finally {
      this.tp = null;
    }
  }

  readSpace<T>(fn: (sp: XfsSpace) => T): T {
    if (this.tp !== null) return fn(xfsTransSpace(this.tp));
    const tp = xfsTransAllocEmpty(this.mp);
    try {
      return fn(xfsTransSpace(tp));
    } finally {
      tp.cancel();
    }
  }

  freeBlocks(): number {
    return this.mp.mFdblocks;
  }

  ialloc(): number {
    const tp = this.curTp();
    const ino = xfsDialloc(tp);
    if (this.mp.mSb.sbRootino === NULLFSINO) {
      this.mp.mSb.sbRootino = ino;
      // mkfs's realtime bitmap and summary inodes come next, empty regular files without a
      // name, even with no realtime device: the first file is root + 3 as on Linux
      const sb = this.mp.mSb;
      sb.sbRbmino = this.iallocMeta(tp);
      sb.sbRsumino = this.iallocMeta(tp);
      xfsLogSb(tp);
    }
    return ino;
  }

  private iallocMeta(tp: XfsTrans): number {
    const ip = new XfsInode(xfsDialloc(tp), S_IFREG);
    this.logInode(tp, ip);
    this.pinned.delete(ip);
    this.disk.delete(ip);
    return ip.ino;
  }

  ifree(ip: XfsInode): void {
    const tp = this.curTp();
    if (ip.isDir()) this.invalidateDirBlocks(tp, ip);
    xfsDifree(tp, ip.ino);
  }

  writeDir(dir: XfsInode, entries: ReadonlyMap<string, number>): void {
    const tp = this.curTp();
    const bytes = xfsDirEncode(entries);
    const d = this.diskState(dir);
    if (bytes.length <= XFS_DINODE_LITERAL && dir.dataFork.nextents === 0) {
      d.dirLocal = bytes;
      return;
    }
    d.dirLocal = null;
    const nblocks = Math.max(1, Math.ceil(bytes.length / XFS_DIR_BLOCK_PAYLOAD));
    const sp = xfsTransSpace(tp);
    xfsBmapiWrite(sp, dir, XFS_DATA_FORK, 0, nblocks, XFS_EXT_NORM);
    let i = 0;
    for (const m of xfsBmapiRead(dir.dataFork, 0, nblocks)) {
      for (let b = 0; b < m.brBlockcount; b++, i++) {
        const bp = tp.getBuf(xfsFsbToDaddr(this.mp, m.brStartblock + b), 8, xfsDirBufOps);
        xfsDirBlockWrite(bp.bAddr, bytes.subarray(i * XFS_DIR_BLOCK_PAYLOAD, (i + 1) * XFS_DIR_BLOCK_PAYLOAD));
        tp.logBuf(bp, 0, 4095);
      }
    }
    // blocks past the end keep an empty payload
    for (const m of xfsBmapiRead(dir.dataFork, nblocks, Number.MAX_SAFE_INTEGER - nblocks)) {
      if (isHole(m)) continue;
      for (let b = 0; b < m.brBlockcount; b++) {
        const bp = tp.getBuf(xfsFsbToDaddr(this.mp, m.brStartblock + b), 8, xfsDirBufOps);
        xfsDirBlockWrite(bp.bAddr, new Uint8Array(0));
        tp.logBuf(bp, 0, 4095);
      }
    }
  }

  /** Directory blocks stop being metadata before they are freed (`xfs_trans_binval`). */
  private invalidateDirBlocks(tp: XfsTrans, dir: XfsInode): void {
    for (const m of dir.dataFork.tree.records()) {
      for (let b = 0; b < m.brBlockcount; b++) {
        tp.binval(tp.getBuf(xfsFsbToDaddr(this.mp, m.brStartblock + b), 8, xfsDirBufOps));
      }
    }
  }

  sync(): void {
    // data first, then the log (whose writes flush the device cache ahead of them)
    this.dev.flush();
    xfsLogForce(this.mp);
    this.dev.flush();
    this.pinned = new WeakSet();
  }

  inodeNeedsSync(ip: XfsInode): boolean {
    return this.pinned.has(ip);
  }

  // ---- inodes on disk ------------------------------------------------------------

  private bmbtCursor(tp: XfsTrans, ip: XfsInode): XfsBtreeCur<XfsBmbtIrec, number> {
    const d = this.diskState(ip);
    const mp = this.mp;
    const oinfo = { oiOwner: ip.ino, oiOffset: 0, oiFlags: XFS_RMAP_BMBT_BLOCK };
    return new XfsBtreeCur(tp, xfsBmbtOps(), {
      getRoot: () => ({ ptr: d.bmbtRoot, levels: d.bmbtLevels }),
      setRoot: (ptr, levels) => {
        d.bmbtRoot = ptr;
        d.bmbtLevels = levels;
      },
      allocBlock: (hint) => {
        const agno = Math.min(xfsFsbToAgno(mp.geo, hint >= 0 ? hint : 0), mp.agcount - 1);
        const r = xfsAllocVextent(tp, { type: "near", agno, agbno: 0, minlen: 1, maxlen: 1, oinfo });
        ip.bmbtBlocks++;
        return r.fsbno;
      },
      freeBlock: (ptr) => {
        xfsFreeExtent(tp, ptr, 1, oinfo);
        ip.bmbtBlocks--;
      },
      ptrToDaddr: (ptr) => xfsFsbToDaddr(mp, ptr),
      owner: ip.ino,
      freeEmptyRoot: true,
    });
  }

  /** Bring the bmbt in line with the in-core extent list (only the differences). */
  private syncBmbt(tp: XfsTrans, ip: XfsInode, keep: boolean): void {
    const d = this.diskState(ip);
    const want = new Map<number, string>();
    const recs = new Map<number, XfsBmbtIrec>();
    if (keep) {
      for (const r of ip.dataFork.tree.records()) {
        want.set(r.brStartoff, JSON.stringify(r));
        recs.set(r.brStartoff, r);
      }
    }
    const cur = this.bmbtCursor(tp, ip);
    for (const [off, s] of d.bmbtShadow) {
      if (want.get(off) !== s) {
        cur.deleteKey(off);
        d.bmbtShadow.delete(off);
      }
    }
    for (const [off, s] of want) {
      if (d.bmbtShadow.get(off) === s) continue;
      cur.insert(recs.get(off)!);
      d.bmbtShadow.set(off, s);
    }
  }

  /** `xfs_trans_log_inode()`: write the in-core inode into its buffer and log it. */
  logInode(tp: XfsTrans, ip: XfsInode): void {
    this.pinned.add(ip);
    const d = this.diskState(ip);
    const bp = tp.readBuf(xfsImap(this.mp, ip.ino), 1, xfsInodeBufOps);
    const n = ip.dataFork.nextents;
    let format = XFS_DINODE_FMT_EXTENTS;
    if (ip.freed) {
      if (d.bmbtShadow.size > 0) this.syncBmbt(tp, ip, false);
    } else if (ip.isDir() && n === 0 && d.dirLocal !== null) {
      format = XFS_DINODE_FMT_LOCAL;
    } else if (n > XFS_DINODE_MAX_EXTENTS) {
      format = XFS_DINODE_FMT_BTREE;
      this.syncBmbt(tp, ip, true);
    } else if (d.bmbtShadow.size > 0) {
      this.syncBmbt(tp, ip, false);
    }
    xfsDinodeWriteCore(bp.bAddr, {
      mode: ip.freed ? 0 : ip.mode,
      format,
      nlink: ip.freed ? 0 : ip.nlink,
      size: ip.diskSize,
      nblocks: ip.nblocks + ip.bmbtBlocks,
      nextents: n,
      diflags: ip.diflags,
      diflags2: ip.diflags2,
      cowextsize: ip.cowextsize,
      extsize: ip.extsize,
      gen: ip.generation,
      ino: ip.ino,
    });
    if (format === XFS_DINODE_FMT_LOCAL) xfsDinodeWriteLocal(bp.bAddr, d.dirLocal!);
    else if (format === XFS_DINODE_FMT_BTREE) xfsDinodeWriteBmbtRoot(bp.bAddr, d.bmbtRoot, d.bmbtLevels);
    else xfsDinodeWriteExtents(bp.bAddr, ip.freed ? [] : ip.dataFork.tree.records());
    tp.logBuf(bp, 0, 511);
  }

  /** `xfs_iget()` from disk: core, data fork and (for directories) the entries. */
  readInode(tp: XfsTrans, ino: number): { ip: XfsInode; entries: Map<string, number> | null } {
    const bp = tp.readBuf(xfsImap(this.mp, ino), 1, xfsInodeBufOps);
    const c = xfsDinodeReadCore(bp.bAddr);
    if (c.ino !== ino) throw new KernelError("EUCLEAN", `inode ${ino}: core says ${c.ino}`);
    const ip = new XfsInode(ino, c.mode);
    ip.nlink = c.nlink;
    ip.size = c.size;
    ip.diflags = c.diflags;
    ip.diflags2 = c.diflags2;
    ip.cowextsize = c.cowextsize;
    ip.extsize = c.extsize ?? 0;
    ip.generation = c.gen;
    const d = this.diskState(ip);
    let recs: XfsBmbtIrec[] = [];
    if (c.format === XFS_DINODE_FMT_EXTENTS) {
      recs = xfsDinodeReadExtents(bp.bAddr, c.nextents);
    } else if (c.format === XFS_DINODE_FMT_BTREE) {
      const root = xfsDinodeReadBmbtRoot(bp.bAddr);
      d.bmbtRoot = root.ptr;
      d.bmbtLevels = root.levels;
      const cur = this.bmbtCursor(tp, ip);
      recs = cur.records();
      ip.bmbtBlocks = cur.blocks().length;
      for (const r of recs) d.bmbtShadow.set(r.brStartoff, JSON.stringify(r));
    }
    // the fork as the kernel loads it: records in order, never merged further
    for (const r of recs) {
      const cur = { leaf: 0, pos: 0 };
      ip.dataFork.tree.endCursor(cur);
      ip.dataFork.tree.insert(cur, r);
      ip.nblocks += r.brBlockcount;
    }
    let entries: Map<string, number> | null = null;
    if (ip.isDir()) {
      if (c.format === XFS_DINODE_FMT_LOCAL) {
        d.dirLocal = xfsDinodeReadLocal(bp.bAddr);
        entries = xfsDirDecode(d.dirLocal);
      } else {
        const parts: Uint8Array[] = [];
        for (const m of recs) {
          for (let b = 0; b < m.brBlockcount; b++) {
            const db = tp.readBuf(xfsFsbToDaddr(this.mp, m.brStartblock + b), 8, xfsDirBufOps);
            parts.push(xfsDirBlockRead(db.bAddr));
          }
        }
        const all = new Uint8Array(parts.reduce((x, p) => x + p.length, 0));
        let off = 0;
        for (const p of parts) {
          all.set(p, off);
          off += p.length;
        }
        entries = all.length > 0 ? xfsDirDecode(all) : new Map();
      }
    }
    return { ip, entries };
  }
}

export interface XfsMountedFs {
  readonly fs: XfsFileSystem;
  readonly mp: XfsMount;
  readonly backend: XfsMountedBackend;
}

export interface XfsFilesMountOptions {
  /** DRAM for the page cache of regular non-DAX files (default: none, data goes to blocks). */
  pageCache?: VmContext;
  /** `-o dax=` (default "inode": S_DAX follows FS_XFLAG_DAX). S_DAX is decided at mount. */
  daxMode?: XfsDaxMode;
  /** Whether the device supports DAX (`bt_daxdev`; default true). */
  daxCapable?: boolean;
}

/**
 * Mount the file system on `dev` (made by `xfsMkfs`): log recovery (infrastructure), then
 * the namespace, CoW staging leftovers and unlinked inodes.
 */
export function xfsFilesMount(dev: BlockDevice, opts: XfsFilesMountOptions = {}): XfsMountedFs {
  const mp = xfsMount(dev, { bufOps: [xfsInodeBufOps, xfsDirBufOps] });
  const backend = new XfsMountedBackend(mp, dev);
  const data = new XfsDevDataDevice(mp, dev);
  const fsOpts = {
    ...(opts.pageCache !== undefined ? { pageCache: opts.pageCache } : {}),
    ...(opts.daxMode !== undefined ? { daxMode: opts.daxMode } : {}),
    ...(opts.daxCapable !== undefined ? { daxCapable: opts.daxCapable } : {}),
  };
  if (mp.mSb.sbRootino === NULLFSINO) {
    return { fs: new XfsFileSystem({ backend, dev: data, ...fsOpts }), mp, backend };
  }
  const inodes = new Map<number, XfsInode>();
  const dirents = new Map<number, Map<string, number>>();
  const tp = xfsTransAllocEmpty(mp);
  let root: XfsInode;
  let orphans: XfsInode[] = [];
  try {
    const queue = [mp.mSb.sbRootino];
    while (queue.length > 0) {
      const ino = queue.shift()!;
      if (inodes.has(ino)) continue;
      const { ip, entries } = backend.readInode(tp, ino);
      inodes.set(ino, ip);
      if (entries !== null) {
        dirents.set(ino, entries);
        queue.push(...entries.values());
      }
    }
    root = inodes.get(mp.mSb.sbRootino)!;
    // xlog_recover_process_iunlinks(): allocated inodes no directory names
    const meta = new Set([mp.mSb.sbRbmino, mp.mSb.sbRsumino]);
    orphans = xfsAllocatedInodes(tp)
      .filter((ino) => !inodes.has(ino) && !meta.has(ino))
      .map((ino) => backend.readInode(tp, ino).ip);
  } finally {
    tp.cancel();
  }
  const fs = new XfsFileSystem({ backend, dev: data, loaded: { root, inodes, dirents }, ...fsOpts });
  // xfs_reflink_recover_cow(): CoW staging extents do not survive a mount
  fs.trans(0, (sp) => {
    for (let agno = 0; agno < mp.agcount; agno++) {
      for (const r of xfsRefcountCowLeftovers(sp.refcountbt(agno))) {
        const fsb = xfsAgbToFsb(mp.geo, agno, r.rcStartblock);
        xfsRefcountFreeCowExtent(sp, fsb, r.rcBlockcount);
        sp.freeExtent(fsb, r.rcBlockcount);
      }
    }
  });
  for (const ip of orphans) {
    fs.trans(0, (sp) => {
      backend.ifree(ip);
      xfsBunmapi(sp, ip, XFS_DATA_FORK, 0, Number.MAX_SAFE_INTEGER);
      ip.size = 0;
      ip.freed = true;
    }, ip);
  }
  return { fs, mp, backend };
}

/**
 * Unmount: dirty pages written back (`sync_filesystem()`), the page cache dropped, every
 * inode's CoW preallocations gone, then the infrastructure unmount.
 */
export function xfsFilesUnmount(m: XfsMountedFs): void {
  runSync(m.fs.syncFs());
  m.fs.dropPagecache();
  m.fs.cancelAllCowBlocks();
  xfsUnmount(m.mp);
}

