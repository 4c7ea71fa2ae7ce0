/**
 * A test fixture, not a filesystem: files as maps from file block to device block over a
 * DaxContext, enough to drive DAX the way XFS does — iomap read/write ops (holes,
 * allocation of zeroed blocks, IOMAP_F_SHARED for blocks owned by several files, CoW into
 * blocks taken from a free-block counter and remapped in iomap_end), a dax holder whose
 * notify_failure walks a reverse map, and truncate with layout breaking.
 *
 * @see fs/xfs/xfs_iomap.c xfs_read_iomap_begin(), xfs_dax_write_iomap_ops,
 *      xfs_dax_write_iomap_end(); fs/xfs/xfs_notify_failure.c xfs_dax_notify_failure();
 *      fs/xfs/xfs_iops.c xfs_setattr_size() (the shape of these, much reduced)
 *
 * One 4 KiB block per page, no metadata on the device, no journal. xfs-lite is the real
 * filesystem; dax cannot depend on it, so its own tests use this.
 */
import {
  AS_DAX,
  AddressSpace,
  type MappingHost,
  MAP_SYNC,
  MF_MEM_PRE_REMOVE,
  PAGE_SIZE,
  PMD_NR,
  type Sleepable,
  type VmAreaStruct,
  type VmFile,
  thpGetUnmappedArea,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { type DaxHolderOperations, fsDaxGetByBdev } from "../device/daxDevice.js";
import { daxDeleteMappingRange } from "../entry/invalidate.js";
import { type DaxFileOps, daxMmap } from "../fault/vmops.js";
import {
  IOMAP_F_DIRTY,
  IOMAP_F_NEW,
  IOMAP_F_SHARED,
  IOMAP_HOLE,
  IOMAP_MAPPED,
  IOMAP_NULL_ADDR,
  IOMAP_WRITE,
  type Iomap,
  type IomapOps,
} from "../iomap.js";
import { daxBreakLayouts } from "../layout/busy.js";
import { mfDaxKillProcs } from "../mf/memoryFailure.js";

export class FixtureInode implements MappingHost {
  iSize = 0;
  readonly mapping: AddressSpace;
  /** File block → device block. */
  readonly blocks = new Map<number, number>();
  /** Metadata changed since the last fsync (drives IOMAP_F_DIRTY for MAP_SYNC). */
  metaDirty = false;
  fsyncs = 0;

  constructor(
    readonly fs: FixtureFs,
    readonly ino: number,
    readonly name: string,
  ) {
    this.mapping = new AddressSpace(this, {}, name);
    this.mapping.setFlag(AS_DAX);
  }
}

/** An owner of a failed block, as the fixture's rmap reports it. */
export interface FixtureOwner {
  readonly inode: FixtureInode;
  /** File offset in bytes. */
  readonly offset: number;
}

export interface FixtureFsOptions {
  /** Whether notify_failure can walk a reverse map (XFS rmapbt=1); else EOPNOTSUPP. */
  readonly rmap?: boolean;
  /** First device block handed out by the allocator. */
  readonly firstBlock?: number;
}

export class FixtureFs {
  readonly inodes: FixtureInode[] = [];
  /** Free-block counter: blocks at and above this were never allocated. */
  nextBlock: number;
  readonly freed: number[] = [];
  /** Owners reported by each notify_failure, oldest first. */
  readonly failureReports: { offset: number; len: number; flags: number; owners: FixtureOwner[]; ret: number }[] = [];
  readonly fops: DaxFileOps<FixtureInode>;
  private readonly pendingCow = new Map<FixtureInode, Map<number, number>>();

  constructor(
    readonly dax: DaxContext,
    readonly opts: FixtureFsOptions = {},
  ) {
    this.nextBlock = opts.firstBlock ?? 0;
    const fs = this;
    const holder: DaxHolderOperations = { notifyFailure: (_dev, offset, len, flags) => fs.notifyFailure(offset, len, flags) };
    fsDaxGetByBdev(dax.dev, this, holder);
    this.fops = {
      readOps: this.iomapOps(false),
      writeOps: this.iomapOps(true),
      // eslint-disable-next-line require-yield
      *fsync(inode: FixtureInode): Sleepable<number> {
        inode.metaDirty = false;
        inode.fsyncs++;
        return 0;
      },
    };
  }

  create(name: string): FixtureInode {
    const inode = new FixtureInode(this, this.inodes.length + 1, name);
    this.inodes.push(inode);
    return inode;
  }

  private readonly refs = new Map<number, number>();

  /** How many file blocks (over all files) map device block `b` (the refcount btree). */
  refcount(b: number): number {
    return this.refs.get(b) ?? 0;
  }

  /** Point file block `blk` of `inode` at device block `b`, releasing what it held. */
  private setBlock(inode: FixtureInode, blk: number, b: number | undefined): void {
    const old = inode.blocks.get(blk);
    if (old === b) return;
    if (b !== undefined) {
      inode.blocks.set(blk, b);
      this.refs.set(b, this.refcount(b) + 1);
    } else inode.blocks.delete(blk);
    if (old !== undefined) {
      const n = this.refcount(old) - 1;
      if (n > 0) this.refs.set(old, n);
      else {
        this.refs.delete(old);
        this.freed.push(old);
      }
    }
  }

  /** Take `n` contiguous blocks, aligned to `align` blocks, from the free-block counter. */
  alloc(n: number, align = 1): number {
    if (n === 1 && this.freed.length) return this.freed.pop()!;
    const start = Math.ceil(this.nextBlock / align) * align;
    if (start + n > this.dax.dev.nrPages) throw new Error("fixture: device full");
    this.nextBlock = start + n;
    return start;
  }

  /** Write `data` at byte `pos` of a file, allocating blocks (a pwrite through the fs). */
  write(inode: FixtureInode, pos: number, data: Uint8Array, opts: { align?: number } = {}): void {
    const firstBlk = Math.floor(pos / PAGE_SIZE);
    const nblk = Math.ceil((pos + data.length) / PAGE_SIZE) - firstBlk;
    let missing = 0;
    for (let i = 0; i < nblk; i++) if (!inode.blocks.has(firstBlk + i)) missing++;
    if (missing === nblk) {
      const start = this.alloc(nblk, opts.align ?? 1);
      for (let i = 0; i < nblk; i++) this.setBlock(inode, firstBlk + i, start + i);
      this.dax.dev.zeroPageRange(start, nblk);
    } else {
      for (let i = 0; i < nblk; i++) {
        if (!inode.blocks.has(firstBlk + i)) {
          const b = this.alloc(1);
          this.dax.dev.zeroPageRange(b, 1);
          this.setBlock(inode, firstBlk + i, b);
        }
      }
    }
    for (let off = 0; off < data.length; ) {
      const p = pos + off;
      const blk = Math.floor(p / PAGE_SIZE);
      const n = Math.min(PAGE_SIZE - (p % PAGE_SIZE), data.length - off);
      this.dax.dev.write(inode.blocks.get(blk)! * PAGE_SIZE + (p % PAGE_SIZE), data.subarray(off, off + n));
      off += n;
    }
    inode.iSize = Math.max(inode.iSize, pos + data.length);
  }

  /** Share `count` blocks of `src` from `srcBlk` into `dst` at `dstBlk` (FICLONERANGE). */
  reflink(src: FixtureInode, srcBlk: number, dst: FixtureInode, dstBlk: number, count = 1): void {
    for (let i = 0; i < count; i++) {
      const b = src.blocks.get(srcBlk + i);
      if (b === undefined) throw new Error(`fixture: ${src.name} block ${srcBlk + i} is a hole`);
      this.setBlock(dst, dstBlk + i, b);
    }
    dst.iSize = Math.max(dst.iSize, (dstBlk + count) * PAGE_SIZE);
  }

  /** Read file bytes through the block map (what read(2) would return). */
  read(inode: FixtureInode, pos: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let off = 0; off < len; ) {
      const p = pos + off;
      const n = Math.min(PAGE_SIZE - (p % PAGE_SIZE), len - off);
      const b = inode.blocks.get(Math.floor(p / PAGE_SIZE));
      if (b !== undefined) this.dax.dev.read(b * PAGE_SIZE + (p % PAGE_SIZE), out.subarray(off, off + n));
      off += n;
    }
    return out;
  }

  /** An open file for mmap (MAP_SYNC allowed, as on a DAX file). */
  open(inode: FixtureInode, mode: "r" | "rw" = "rw"): VmFile {
    const dax = this.dax;
    const fops = this.fops;
    return {
      mapping: inode.mapping,
      readable: true,
      writable: mode === "rw",
      mmapSupportedFlags: MAP_SYNC,
      getUnmappedArea: thpGetUnmappedArea,
      mmap(vma: VmAreaStruct) {
        daxMmap(dax, fops, vma);
      },
    };
  }

  /** The extent of `inode` at file block `blk`: run of blocks contiguous on the device with the same sharedness. */
  private extentAt(inode: FixtureInode, blk: number, maxBlocks: number): { dev: number | undefined; count: number; shared: boolean } {
    const dev = inode.blocks.get(blk);
    const shared = dev !== undefined && this.refcount(dev) > 1;
    let count = 1;
    while (count < maxBlocks) {
      const next = inode.blocks.get(blk + count);
      if (dev === undefined ? next !== undefined : next !== dev + count || this.refcount(next) > 1 !== shared) break;
      count++;
    }
    return { dev, count, shared };
  }

  private iomapOps(write: boolean): IomapOps<FixtureInode> {
    const fs = this;
    return {
      iomapBegin(inode, pos, length, flags) {
        const blk = Math.floor(pos / PAGE_SIZE);
        const nblk = Math.max(1, Math.ceil((pos + length) / PAGE_SIZE) - blk);
        const ext = fs.extentAt(inode, blk, nblk);
        const offset = blk * PAGE_SIZE;
        const len = ext.count * PAGE_SIZE;
        const dirty = inode.metaDirty ? IOMAP_F_DIRTY : 0;
        if (ext.dev === undefined) {
          if (!(write && flags & IOMAP_WRITE)) {
            return { iomap: { addr: IOMAP_NULL_ADDR, offset, length: len, type: IOMAP_HOLE, flags: 0 }, srcmap: undefined };
          }
          const start = fs.alloc(ext.count, ext.count >= PMD_NR ? PMD_NR : 1);
          fs.dax.dev.zeroPageRange(start, ext.count);
          for (let i = 0; i < ext.count; i++) fs.setBlock(inode, blk + i, start + i);
          inode.metaDirty = true;
          const iomap: Iomap = { addr: start * PAGE_SIZE, offset, length: len, type: IOMAP_MAPPED, flags: IOMAP_F_NEW | IOMAP_F_DIRTY };
          return { iomap, srcmap: undefined };
        }
        const mapped: Iomap = { addr: ext.dev * PAGE_SIZE, offset, length: len, type: IOMAP_MAPPED, flags: 0 };
        if (!ext.shared) return { iomap: { ...mapped, flags: dirty }, srcmap: undefined };
        if (!(write && flags & IOMAP_WRITE)) return { iomap: { ...mapped, flags: IOMAP_F_SHARED }, srcmap: undefined };
        // Copy on write: new blocks now, remapped into the file in iomap_end.
        const start = fs.alloc(ext.count, ext.count >= PMD_NR ? PMD_NR : 1);
        let cow = fs.pendingCow.get(inode);
        if (!cow) fs.pendingCow.set(inode, (cow = new Map()));
        for (let i = 0; i < ext.count; i++) cow.set(blk + i, start + i);
        inode.metaDirty = true;
        const iomap: Iomap = { addr: start * PAGE_SIZE, offset, length: len, type: IOMAP_MAPPED, flags: IOMAP_F_SHARED | IOMAP_F_DIRTY };
        return { iomap, srcmap: mapped };
      },
      iomapEnd(inode, _pos, _length, written, _flags, iomap) {
        const cow = fs.pendingCow.get(inode);
        if (!cow) return;
        const blk = iomap.offset / PAGE_SIZE;
        for (let i = 0; i < iomap.length / PAGE_SIZE; i++) {
          const nb = cow.get(blk + i);
          if (nb === undefined) continue;
          cow.delete(blk + i);
          if (written > 0) fs.setBlock(inode, blk + i, nb);
          else fs.freed.push(nb);
        }
        if (cow.size === 0) fs.pendingCow.delete(inode);
      },
    };
  }

  /** `->notify_failure()`: find every (inode, offset) owning the failed bytes and kill their users. */
  notifyFailure(offset: number, len: number, flags: number): number {
    const owners: FixtureOwner[] = [];
    if (this.opts.rmap === false) {
      this.failureReports.push({ offset, len, flags, owners, ret: -95 });
      return -95;
    }
    const preRemove = (flags & MF_MEM_PRE_REMOVE) !== 0;
    const first = Math.floor(offset / PAGE_SIZE);
    const last = preRemove ? Number.MAX_SAFE_INTEGER : Math.ceil((offset + len) / PAGE_SIZE) - 1;
    let ret = 0;
    for (const inode of this.inodes) {
      const blks = [...inode.blocks.entries()].filter(([, b]) => b >= first && b <= last).sort((a, b) => a[0] - b[0]);
      for (const [fileBlk] of blks) {
        owners.push({ inode, offset: fileBlk * PAGE_SIZE });
        const r = mfDaxKillProcs(this.dax, inode.mapping, fileBlk, 1, flags);
        if (r) ret = r;
      }
    }
    this.failureReports.push({ offset, len, flags, owners, ret });
    return ret;
  }

  /**
   * truncate(2) to `size` (multiple of the block size): take MMAPLOCK, wait until no page
   * past `size` is pinned (the lock dropped while waiting), delete the entries, then free
   * the blocks.
   */
  *truncate(inode: FixtureInode, size: number): Sleepable<{ layoutSleeps: number }> {
    const lock = inode.mapping.invalidateLock;
    const first = Math.ceil(size / PAGE_SIZE);
    yield* lock.downWrite();
    try {
      const layoutSleeps = yield* daxBreakLayouts(this.dax, inode.mapping, first, Number.MAX_SAFE_INTEGER, {
        unlock: () => lock.upWrite(),
        relock: () => lock.downWrite(),
      });
      inode.iSize = size;
      yield* daxDeleteMappingRange(this.dax, inode.mapping, first);
      for (const [blk, b] of [...inode.blocks.entries()]) {
        if (blk < first) continue;
        void b;
        this.setBlock(inode, blk, undefined);
      }
      return { layoutSleeps };
    } finally {
      lock.upWrite();
    }
  }
}
