/**
 * Transactions: every metadata change is made to buffers joined to a transaction, and
 * commit writes the logged byte ranges to the log as one record, atomically.
 *
 * @see fs/xfs/xfs_trans.c xfs_trans_alloc(), xfs_trans_alloc_empty(), xfs_trans_reserve(),
 *      xfs_trans_mod_sb(), xfs_trans_commit(), xfs_trans_cancel(), xfs_trans_roll();
 *      fs/xfs/xfs_trans_buf.c xfs_trans_read_buf(), xfs_trans_get_buf(),
 *      xfs_trans_log_buf(), xfs_trans_binval(), xfs_trans_brelse(), xfs_trans_bjoin();
 *      fs/xfs/xfs_buf_item.c (dirty bitmap in XFS_BLF_CHUNK units)
 *
 * A transaction is a plain synchronous object: nothing inside it sleeps or switches
 * tasks, so buffer locks are taken but never contended; the file layer takes the real
 * sleeping inode locks around it. Departures from XFS:
 * - `cancel()` of a dirty transaction restores the pre-image of every buffer it joined
 *   (taken at join time) instead of shutting the file system down, so a failed operation
 *   leaves nothing behind;
 * - no log reservation: commit pushes the AIL when the log lacks room for the record;
 * - a committed buffer that was not logged but whose bytes changed is a bug (checked);
 * - superblock counters are lazy (XFS_SB_VERSION2_LAZYSBCOUNTBIT): deltas reach the
 *   in-core counters at commit and the superblock on unmount;
 * - `roll()` commits and starts a new transaction with the unused block reservation, but
 *   does not keep buffers joined (callers read them again).
 */
import { KernelBug, KernelError } from "@pagelab/mm-core";
import type { Daddr } from "../blockdev.js";
import {
  XBF_DONE,
  XBF_STALE,
  xfsBufGet,
  xfsBufRead,
  xfsBufRelse,
  xfsBufRele,
  xfsBufStale,
  xfsBufUnlock,
  type XfsBuf,
  type XfsBufOps,
} from "../buf/xfs-buf.js";
import type { XfsMount } from "../mount/xfs-mount.js";
import { xfsRegisterBufOps } from "./buf-ops-registry.js";
import { XFS_BLF_CHUNK, encodeOps, opsSize, type XlogOp } from "./log-ops.js";
import { XLOG_OP_BUF, XLOG_OP_BUF_CANCEL, XLOG_REC_TRANS, type XfsLsn } from "./xfs-log.js";
import { xfsAilPushAll } from "./xfs-trans-ail.js";

/** `struct xfs_buf_log_item`, reduced to what this model logs. */
export class XfsBufLogItem {
  readonly tid: number;
  /** Contents when joined (null for an empty transaction or a buffer not yet read). */
  preImage: Uint8Array | null;
  readonly flagsAtJoin: number;
  /** One byte per XFS_BLF_CHUNK: 1 when logged (`blf_data_map`). */
  dirty: Uint8Array | null = null;
  stale = false;

  constructor(tid: number, bp: XfsBuf, copy: boolean) {
    this.tid = tid;
    this.flagsAtJoin = bp.bFlags;
    this.preImage = copy && bp.bFlags & XBF_DONE ? bp.bAddr.slice() : null;
  }
}

export const XFS_TRANS_SB_FDBLOCKS = "fdblocks";
export const XFS_TRANS_SB_ICOUNT = "icount";
export const XFS_TRANS_SB_IFREE = "ifree";
export type XfsTransSbField = typeof XFS_TRANS_SB_FDBLOCKS | typeof XFS_TRANS_SB_ICOUNT | typeof XFS_TRANS_SB_IFREE;

export interface XfsTransStats {
  commits: number;
  cancels: number;
  emptyCommits: number;
  syncCommits: number;
}

/** A freed extent that must not be reused before the record freeing it is durable. */
export interface XfsBusyExtent {
  agno: number;
  bno: number;
  len: number;
}

export class XfsTrans {
  readonly tMountp: XfsMount;
  readonly tTid: number;
  /** An empty transaction only reads (`xfs_trans_alloc_empty()`). */
  readonly tEmpty: boolean;
  /** Blocks reserved up front (`t_blk_res`). */
  tBlkRes = 0;
  /** Blocks allocated so far (`t_blk_res_used`). */
  tBlkResUsed = 0;
  tFdblocksFreed = 0;
  tIcountDelta = 0;
  tIfreeDelta = 0;
  /** Extents freed by this transaction (`t_busy`). */
  readonly tBusy: XfsBusyExtent[] = [];
  private readonly items = new Map<XfsBuf, XfsBufLogItem>();
  private readonly byDaddr = new Map<number, XfsBuf>();
  private readonly commitHooks: ((lsn: XfsLsn | undefined) => void)[] = [];
  private readonly cancelHooks: (() => void)[] = [];
  private done = false;

  constructor(mp: XfsMount, empty: boolean) {
    this.tMountp = mp;
    this.tTid = mp.mNextTid++;
    this.tEmpty = empty;
  }

  /** Buffers joined to this transaction. */
  get bufCount(): number {
    return this.items.size;
  }

  private checkOpen(): void {
    if (this.done) throw new KernelBug(`xfs_trans ${this.tTid}: used after commit or cancel`);
  }

  private join(bp: XfsBuf): XfsBuf {
    const bli = new XfsBufLogItem(this.tTid, bp, !this.tEmpty);
    bp.bLogItem = bli;
    this.items.set(bp, bli);
    this.byDaddr.set(bp.bRhashKey, bp);
    if (this.tEmpty) xfsBufUnlock(bp);
    return bp;
  }

  /** The log item of a buffer joined here. */
  item(bp: XfsBuf): XfsBufLogItem {
    const bli = this.items.get(bp);
    if (bli === undefined) throw new KernelBug(`xfs_trans ${this.tTid}: buffer ${bp.bRhashKey} not joined`);
    return bli;
  }

  /** `xfs_trans_read_buf()`: read (or find in this transaction) a verified buffer. */
  readBuf(d: Daddr, len: number, ops: XfsBufOps | null): XfsBuf {
    this.checkOpen();
    const have = this.byDaddr.get(d);
    if (have !== undefined) {
      if (have.bFlags & XBF_STALE) throw new KernelBug(`xfs_trans_read_buf: daddr ${d} was invalidated in this transaction`);
      if (have.bLength !== len) throw new KernelBug(`xfs_trans_read_buf: daddr ${d} joined with length ${have.bLength}`);
      return have;
    }
    return this.join(xfsBufRead(this.tMountp.mBtp, d, len, ops));
  }

  /**
   * `xfs_trans_get_buf()`: a buffer for a block about to be initialised, not read. A new
   * buffer is zeroed; one invalidated earlier in this transaction is revived.
   */
  getBuf(d: Daddr, len: number, ops: XfsBufOps | null): XfsBuf {
    this.checkOpen();
    if (this.tEmpty) throw new KernelBug("xfs_trans_get_buf on an empty transaction");
    let bp = this.byDaddr.get(d);
    if (bp !== undefined) {
      const bli = this.item(bp);
      if (bli.stale) {
        bli.stale = false;
        bp.bFlags &= ~XBF_STALE;
      }
    } else {
      bp = this.join(xfsBufGet(this.tMountp.mBtp, d, len));
    }
    if (!(bp.bFlags & XBF_DONE)) bp.bAddr.fill(0);
    bp.bOps = ops;
    return bp;
  }

  /** `xfs_trans_bjoin()`: join a buffer the caller holds locked; the transaction now owns that hold. */
  bjoin(bp: XfsBuf): void {
    this.checkOpen();
    if (this.items.has(bp)) throw new KernelBug(`xfs_trans_bjoin: ${bp.bRhashKey} already joined`);
    this.join(bp);
  }

  /** `xfs_trans_log_buf()`: bytes [first, last] of `bp` changed and go into the log. */
  logBuf(bp: XfsBuf, first: number, last: number): void {
    this.checkOpen();
    if (this.tEmpty) throw new KernelBug("xfs_trans_log_buf on an empty transaction");
    const bli = this.item(bp);
    if (bli.stale) throw new KernelBug(`xfs_trans_log_buf: ${bp.bRhashKey} is invalidated`);
    if (bp.bOps === null) throw new KernelBug(`xfs_trans_log_buf: ${bp.bRhashKey} has no buffer ops`);
    if (first < 0 || last < first || last >= bp.bAddr.length) throw new KernelBug(`xfs_trans_log_buf: bad range ${first}..${last}`);
    bli.dirty ??= new Uint8Array(Math.ceil(bp.bAddr.length / XFS_BLF_CHUNK));
    const lo = Math.floor(first / XFS_BLF_CHUNK);
    const hi = Math.floor(last / XFS_BLF_CHUNK);
    for (let c = lo; c <= hi; c++) bli.dirty[c] = 1;
    bp.bFlags |= XBF_DONE;
  }

  /** `xfs_trans_binval()`: the block is no longer metadata; log a cancel instead of contents. */
  binval(bp: XfsBuf): void {
    this.checkOpen();
    const bli = this.item(bp);
    bli.stale = true;
    bli.dirty = null;
    xfsBufStale(bp);
  }

  /**
   * `xfs_trans_brelse()`: give back a buffer this transaction read but did not change.
   * Releasing a logged or invalidated buffer is a no-op (commit handles it).
   */
  brelse(bp: XfsBuf): void {
    this.checkOpen();
    const bli = this.item(bp);
    if (bli.dirty !== null || bli.stale) return;
    this.checkUnchanged(bp, bli);
    this.items.delete(bp);
    this.byDaddr.delete(bp.bRhashKey);
    bp.bLogItem = null;
    if (this.tEmpty) xfsBufRele(bp);
    else xfsBufRelse(bp);
  }

  /** `xfs_trans_reserve()`: reserve free blocks up front, ENOSPC before anything is dirty. */
  reserve(blocks: number): void {
    this.checkOpen();
    const mp = this.tMountp;
    if (blocks < 0) throw new KernelBug(`xfs_trans_reserve: ${blocks} blocks`);
    if (mp.mFdblocks < blocks) throw new KernelError("ENOSPC", `xfs_trans_reserve: ${blocks} blocks, ${mp.mFdblocks} free`);
    mp.mFdblocks -= blocks;
    this.tBlkRes += blocks;
  }

  /** `xfs_trans_mod_sb()`: a superblock counter delta (negative fdblocks = allocated). */
  modSb(field: XfsTransSbField, delta: number): void {
    this.checkOpen();
    if (field === XFS_TRANS_SB_FDBLOCKS) {
      if (delta < 0) this.tBlkResUsed -= delta;
      else this.tFdblocksFreed += delta;
    } else if (field === XFS_TRANS_SB_ICOUNT) this.tIcountDelta += delta;
    else this.tIfreeDelta += delta;
  }

  /** Free blocks the rest of this transaction may still use without ENOSPC. */
  get blocksAvailable(): number {
    return this.tMountp.mFdblocks + Math.max(0, this.tBlkRes - this.tBlkResUsed);
  }

  /** Record an extent freed here; it stays busy until this transaction is durable. */
  busyExtent(agno: number, bno: number, len: number): void {
    this.tBusy.push({ agno, bno, len });
  }

  /** Run `fn` after a successful commit (with the record's LSN, undefined if nothing was logged). */
  onCommit(fn: (lsn: XfsLsn | undefined) => void): void {
    this.commitHooks.push(fn);
  }

  /** Run `fn` if the transaction is cancelled (restore in-core state that lives outside buffers). */
  onCancel(fn: () => void): void {
    this.cancelHooks.push(fn);
  }

  /** The committed contents of a buffer joined here (for an AIL push during commit). */
  committedImage(bp: XfsBuf): Uint8Array | undefined {
    const bli = this.items.get(bp);
    return bli?.preImage ?? undefined;
  }

  private checkUnchanged(bp: XfsBuf, bli: XfsBufLogItem): void {
    const pre = bli.preImage;
    if (pre === null || this.tEmpty || bp.bFlags & XBF_STALE) return;
    const a = bp.bAddr;
    const words = a.length >> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wp = new Uint32Array(pre.buffer, pre.byteOffset, words);
    for (let i = 0; i < words; i++) {
      if (wa[i] !== wp[i]) throw new KernelBug(`xfs_trans ${this.tTid}: buffer ${bp.bRhashKey} changed near byte ${i * 4} but not logged`);
    }
  }

  private buildOps(): XlogOp[] {
    const ops: XlogOp[] = [];
    for (const [bp, bli] of this.items) {
      if (bli.stale) {
        ops.push({ kind: XLOG_OP_BUF_CANCEL, daddr: bp.bRhashKey, len: bp.bLength });
        continue;
      }
      if (bli.dirty === null) {
        this.checkUnchanged(bp, bli);
        continue;
      }
      const regions: { off: number; data: Uint8Array }[] = [];
      const d = bli.dirty;
      for (let c = 0; c < d.length; c++) {
        if (!d[c]) continue;
        let e = c;
        while (e + 1 < d.length && d[e + 1]) e++;
        const off = c * XFS_BLF_CHUNK;
        const end = Math.min((e + 1) * XFS_BLF_CHUNK, bp.bAddr.length);
        regions.push({ off, data: bp.bAddr.slice(off, end) });
        c = e;
      }
      xfsRegisterBufOps(bp.bOps!);
      ops.push({ kind: XLOG_OP_BUF, type: bp.bOps!.type, daddr: bp.bRhashKey, len: bp.bLength, regions });
    }
    return ops;
  }

  private releaseAll(): void {
    for (const [bp] of this.items) {
      bp.bLogItem = null;
      if (this.tEmpty) xfsBufRele(bp);
      else xfsBufRelse(bp);
    }
    this.items.clear();
    this.byDaddr.clear();
    this.done = true;
    if (this.tMountp.mActiveTrans === this) this.tMountp.mActiveTrans = null;
  }

  /**
   * `xfs_trans_commit()`: write the record (pushing the AIL first if the log is full),
   * move logged buffers to the AIL, apply counter deltas. With `sync` the log is forced
   * before returning, so the transaction survives a power loss. Returns the record's LSN.
   */
  commit(opts: { sync?: boolean } = {}): XfsLsn | undefined {
    this.checkOpen();
    const mp = this.tMountp;
    let lsn: XfsLsn | undefined;
    try {
      if (mp.mShutdown) throw new KernelError("EIO", "xfs_trans_commit: file system shut down");
      const ops = this.tEmpty ? [] : this.buildOps();
      if (ops.length > 0) {
        if (mp.mReadonly) throw new KernelBug("xfs_trans_commit: dirty transaction on a read-only mount");
        const size = opsSize(ops);
        if (!mp.mLog.hasSpaceFor(size, 1)) xfsAilPushAll(mp.mAil, mp.mLog, (bp) => this.committedImage(bp));
        lsn = mp.mLog.writeRecord(XLOG_REC_TRANS, this.tTid, ops.length, encodeOps(ops), mp.mAil.minLsn());
        for (const [bp, bli] of this.items) {
          if (bli.stale) mp.mAil.remove(bp);
          else if (bli.dirty !== null) mp.mAil.insert(bp, lsn);
        }
        mp.mStats.commits++;
      } else {
        mp.mStats.emptyCommits++;
      }
    } catch (e) {
      if (e instanceof KernelError && e.code === "EIO") mp.mShutdown = true;
      this.abort();
      throw e;
    }
    mp.mFdblocks += this.tBlkRes - this.tBlkResUsed + this.tFdblocksFreed;
    mp.mIcount += this.tIcountDelta;
    mp.mIfree += this.tIfreeDelta;
    if (this.tBusy.length > 0) mp.mExtentBusy.insert(this.tBusy, lsn ?? mp.mLog.lLastLsn);
    this.releaseAll();
    if (opts.sync && lsn !== undefined) {
      mp.mLog.force();
      mp.mStats.syncCommits++;
    }
    for (const fn of this.commitHooks) fn(lsn);
    return lsn;
  }

  /** Undo in memory: restore every joined buffer as it was at join time. */
  private abort(): void {
    const mp = this.tMountp;
    for (const [bp, bli] of this.items) {
      if (bli.preImage !== null) {
        bp.bAddr.set(bli.preImage);
        bp.bFlags = bli.flagsAtJoin;
      } else if (!this.tEmpty && !(bli.flagsAtJoin & XBF_DONE)) {
        xfsBufStale(bp);
      }
    }
    mp.mFdblocks += this.tBlkRes;
    this.releaseAll();
  }

  /** `xfs_trans_cancel()`: forget every change; buffers return to their pre-images. */
  cancel(): void {
    this.checkOpen();
    this.abort();
    this.tMountp.mStats.cancels++;
    for (const fn of this.cancelHooks.reverse()) fn();
  }

  /** `xfs_trans_roll()`: commit and continue in a new transaction with the unused reservation. */
  roll(): XfsTrans {
    const left = Math.max(0, this.tBlkRes - this.tBlkResUsed);
    this.tBlkRes -= left;
    this.commit();
    const ntp = new XfsTrans(this.tMountp, false);
    ntp.tBlkRes = left;
    this.tMountp.mActiveTrans = ntp;
    return ntp;
  }
}

/**
 * `xfs_trans_alloc()`: a transaction with `blocks` reserved (ENOSPC now if they are not
 * free). One transaction runs at a time.
 */
export function xfsTransAlloc(mp: XfsMount, opts: { blocks?: number } = {}): XfsTrans {
  if (mp.mShutdown) throw new KernelError("EIO", "xfs_trans_alloc: file system shut down");
  if (mp.mReadonly) throw new KernelError("EROFS", "xfs_trans_alloc: read-only mount");
  if (mp.mActiveTrans !== null) throw new KernelBug(`xfs_trans_alloc: transaction ${mp.mActiveTrans.tTid} still open`);
  const tp = new XfsTrans(mp, false);
  if (opts.blocks) tp.reserve(opts.blocks);
  mp.mActiveTrans = tp;
  return tp;
}

/** `xfs_trans_alloc_empty()`: a read-only transaction for walking metadata. */
export function xfsTransAllocEmpty(mp: XfsMount): XfsTrans {
  return new XfsTrans(mp, true);
}
