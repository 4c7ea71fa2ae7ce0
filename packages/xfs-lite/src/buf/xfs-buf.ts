/**
 * The metadata buffer cache: `struct xfs_buf` indexed by disk address.
 *
 * @see fs/xfs/xfs_buf.c xfs_buf_get_map(), xfs_buf_lookup(), xfs_buf_find_insert(),
 *      xfs_buf_read_map(), xfs_buf_rele(), xfs_buf_stale(), xfs_buf_delwri_queue(),
 *      xfs_buf_delwri_submit(), xfs_bwrite(), xfs_buftarg_isolate() (LRU with b_lru_ref);
 *      fs/xfs/xfs_buf.h XBF_* flags, struct xfs_buf_ops
 *
 * One hash per buftarg (the 2026 "switch back to a per-buftarg buffer hash" shape) rather
 * than per-AG hashes. I/O is synchronous. The buffer lock (`b_sema`) is a flag: every
 * transaction and btree operation runs without a switch point, so a buffer lock is never
 * contended, and taking a held lock is a bug. Dirty buffers are held by the AIL (see
 * trans/), so the LRU only ever evicts clean buffers. Discontiguous buffers are not
 * modelled.
 */
import { KernelBug, KernelError } from "@pagelab/mm-core";
import { BBSIZE, type BlockDevice, type Daddr } from "../blockdev.js";

export const XBF_READ = 1 << 0;
export const XBF_WRITE = 1 << 1;
export const XBF_READ_AHEAD = 1 << 2;
export const XBF_ASYNC = 1 << 4;
export const XBF_DONE = 1 << 5;
export const XBF_STALE = 1 << 6;
export const XBF_WRITE_FAIL = 1 << 7;
export const _XBF_LOGRECOVERY = 1 << 18;
export const _XBF_DELWRI_Q = 1 << 22;
export const XBF_INCORE = 1 << 29;
export const XBF_TRYLOCK = 1 << 30;

/** Buffer types carried in the log (`enum xfs_blft`, fs/xfs/libxfs/xfs_log_format.h). */
export const XFS_BLFT_UNKNOWN_BUF = 0;
export const XFS_BLFT_BTREE_BUF = 4;
export const XFS_BLFT_AGF_BUF = 5;
export const XFS_BLFT_AGFL_BUF = 6;
export const XFS_BLFT_AGI_BUF = 7;
export const XFS_BLFT_DINO_BUF = 8;
export const XFS_BLFT_SYMLINK_BUF = 9;
export const XFS_BLFT_DIR_BLOCK_BUF = 10;
export const XFS_BLFT_DIR_DATA_BUF = 11;
export const XFS_BLFT_SB_BUF = 18;

/**
 * `struct xfs_buf_ops`: verifiers run on the bytes after a read and before a write. A read
 * verifier throws `KernelError("EUCLEAN")` (the kernel's EFSCORRUPTED / EFSBADCRC) on a
 * bad magic or checksum; a write verifier updates the checksum.
 */
export interface XfsBufOps {
  readonly name: string;
  /** `enum xfs_blft` value logged with the buffer, so recovery finds the verifier again. */
  readonly type: number;
  /** Magic numbers (first four bytes, big-endian) this verifier accepts; used by recovery. */
  readonly magic?: readonly number[];
  verifyRead(data: Uint8Array, daddr: Daddr): void;
  verifyWrite(data: Uint8Array, daddr: Daddr): void;
}

/** The log item of a buffer joined to a transaction (owned by trans/). */
export interface XfsBufLogItemLike {
  readonly tid: number;
}

export class XfsBuf {
  /** `b_rhash_key`. */
  readonly bRhashKey: Daddr;
  /** `b_length` in basic blocks. */
  readonly bLength: number;
  bHold = 1;
  bLruRef = 1;
  bFlags = 0;
  bOps: XfsBufOps | null = null;
  /** `b_addr`. */
  readonly bAddr: Uint8Array;
  /** Whether `b_sema` is held. */
  bLocked = false;
  bError: KernelError | null = null;
  /** `b_log_item`: set while the buffer is joined to a transaction. */
  bLogItem: XfsBufLogItemLike | null = null;
  readonly bTarget: XfsBuftarg;
  private dv: DataView | null = null;

  constructor(btp: XfsBuftarg, daddr: Daddr, length: number) {
    this.bTarget = btp;
    this.bRhashKey = daddr;
    this.bLength = length;
    this.bAddr = new Uint8Array(length * BBSIZE);
  }

  /** A big-endian view of the buffer contents. */
  get view(): DataView {
    return (this.dv ??= new DataView(this.bAddr.buffer, this.bAddr.byteOffset, this.bAddr.byteLength));
  }

  get daddr(): Daddr {
    return this.bRhashKey;
  }
}

export interface XfsBufStats {
  lookups: number;
  hits: number;
  misses: number;
  reads: number;
  writes: number;
  evictions: number;
  verifyFailures: number;
}

export interface XfsBuftargOptions {
  /** Most unheld buffers kept on the LRU (default 4096). */
  lruLimit?: number;
}

/** `struct xfs_buftarg`: the device, the buffer hash and the LRU of unheld buffers. */
export class XfsBuftarg {
  readonly btDev: BlockDevice;
  readonly stats: XfsBufStats = { lookups: 0, hits: 0, misses: 0, reads: 0, writes: 0, evictions: 0, verifyFailures: 0 };
  lruLimit: number;
  /** `bt_hash`. */
  readonly btHash = new Map<number, XfsBuf>();
  /** `bt_lru`, oldest first. */
  readonly btLru = new Set<XfsBuf>();

  constructor(dev: BlockDevice, opts: XfsBuftargOptions = {}) {
    this.btDev = dev;
    this.lruLimit = opts.lruLimit ?? 4096;
  }

  /** Buffers in the cache (held or on the LRU). */
  get size(): number {
    return this.btHash.size;
  }
}

function lookup(btp: XfsBuftarg, daddr: Daddr, len: number): XfsBuf | undefined {
  btp.stats.lookups++;
  const bp = btp.btHash.get(daddr);
  if (bp === undefined) return undefined;
  if (bp.bLength !== len) {
    if (!(bp.bFlags & XBF_STALE)) {
      throw new KernelBug(`xfs_buf_lookup: daddr ${daddr} cached with length ${bp.bLength}, asked for ${len}`);
    }
    if (bp.bHold > 0) throw new KernelBug(`xfs_buf_lookup: stale daddr ${daddr} of another length is still held`);
    removeFromCache(bp);
    return undefined;
  }
  return bp;
}

function removeFromCache(bp: XfsBuf): void {
  const btp = bp.bTarget;
  btp.btLru.delete(bp);
  if (btp.btHash.get(bp.bRhashKey) === bp) btp.btHash.delete(bp.bRhashKey);
}

/** `xfs_buf_hold()`. */
export function xfsBufHold(bp: XfsBuf): void {
  if (bp.bHold === 0) bp.bTarget.btLru.delete(bp);
  bp.bHold++;
}

/** `xfs_buf_lock()`: never contended in this model (see the module comment). */
export function xfsBufLock(bp: XfsBuf): void {
  if (bp.bLocked) throw new KernelBug(`xfs_buf_lock: daddr ${bp.bRhashKey} already locked (no switch points inside a transaction)`);
  bp.bLocked = true;
}

export function xfsBufUnlock(bp: XfsBuf): void {
  if (!bp.bLocked) throw new KernelBug(`xfs_buf_unlock: daddr ${bp.bRhashKey} not locked`);
  bp.bLocked = false;
}

/**
 * `xfs_buf_get()`: the cached buffer for [daddr, daddr + len) or a new one, held and
 * locked, contents not read. A stale buffer is reset (no ops, not DONE). With XBF_INCORE
 * only a cached buffer is returned (undefined otherwise); with XBF_TRYLOCK a locked one
 * fails with EAGAIN.
 */
export function xfsBufGet(btp: XfsBuftarg, daddr: Daddr, len: number, flags = 0): XfsBuf {
  let bp = lookup(btp, daddr, len);
  if (bp !== undefined) {
    if (bp.bLocked && flags & XBF_TRYLOCK) throw new KernelError("EAGAIN", `xfs_buf ${daddr} locked`);
    btp.stats.hits++;
    xfsBufHold(bp);
    xfsBufLock(bp);
    if (bp.bFlags & XBF_STALE) {
      bp.bFlags &= ~(XBF_STALE | XBF_DONE);
      bp.bOps = null;
    }
    return bp;
  }
  btp.stats.misses++;
  bp = new XfsBuf(btp, daddr, len);
  bp.bLocked = true;
  btp.btHash.set(daddr, bp);
  return bp;
}

/** `xfs_buf_incore()`: the cached buffer, held and locked, or undefined. */
export function xfsBufIncore(btp: XfsBuftarg, daddr: Daddr, len: number): XfsBuf | undefined {
  const bp = lookup(btp, daddr, len);
  if (bp === undefined || bp.bFlags & XBF_STALE) return undefined;
  btp.stats.hits++;
  xfsBufHold(bp);
  xfsBufLock(bp);
  return bp;
}

function readFromDisk(bp: XfsBuf): void {
  const btp = bp.bTarget;
  btp.stats.reads++;
  btp.btDev.read(bp.bRhashKey, bp.bAddr);
}

function verify(bp: XfsBuf, ops: XfsBufOps): void {
  try {
    ops.verifyRead(bp.bAddr, bp.bRhashKey);
  } catch (e) {
    bp.bTarget.stats.verifyFailures++;
    bp.bFlags &= ~XBF_DONE;
    bp.bError = e instanceof KernelError ? e : new KernelError("EUCLEAN", String(e));
    xfsBufRelse(bp);
    throw e;
  }
}

/**
 * `xfs_buf_read()`: the buffer with its contents read from disk (unless cached and DONE)
 * and checked by `ops.verifyRead`. On a verifier failure the buffer is released and the
 * error thrown.
 */
export function xfsBufRead(btp: XfsBuftarg, daddr: Daddr, len: number, ops: XfsBufOps | null, flags = 0): XfsBuf {
  const bp = xfsBufGet(btp, daddr, len, flags);
  if (bp.bFlags & XBF_DONE) {
    if (ops !== null && bp.bOps === null) {
      bp.bOps = ops;
      verify(bp, ops);
    }
    return bp;
  }
  try {
    readFromDisk(bp);
  } catch (e) {
    xfsBufRelse(bp);
    throw e;
  }
  bp.bError = null;
  bp.bOps = ops;
  if (ops !== null) verify(bp, ops);
  bp.bFlags |= XBF_DONE;
  return bp;
}

/** `xfs_buf_rele()`: drop a hold; the last one puts the buffer on the LRU (or frees it). */
export function xfsBufRele(bp: XfsBuf): void {
  if (bp.bHold <= 0) throw new KernelBug(`xfs_buf_rele: daddr ${bp.bRhashKey} hold count ${bp.bHold}`);
  bp.bHold--;
  if (bp.bHold > 0) return;
  const btp = bp.bTarget;
  if (bp.bFlags & XBF_STALE || bp.bLruRef === 0 || !(bp.bFlags & XBF_DONE)) {
    removeFromCache(bp);
    return;
  }
  btp.btLru.add(bp);
  shrinkLru(btp);
}

/** `xfs_buftarg_isolate()` over the LRU: a buffer with `b_lru_ref` left rotates once more. */
function shrinkLru(btp: XfsBuftarg): void {
  let budget = btp.btLru.size * 2;
  while (btp.btLru.size > btp.lruLimit && budget-- > 0) {
    const victim = btp.btLru.values().next().value as XfsBuf;
    btp.btLru.delete(victim);
    if (victim.bLruRef > 0) {
      victim.bLruRef--;
      btp.btLru.add(victim);
      continue;
    }
    btp.btHash.delete(victim.bRhashKey);
    btp.stats.evictions++;
  }
}

/** `xfs_buf_relse()`: unlock and release. */
export function xfsBufRelse(bp: XfsBuf): void {
  xfsBufUnlock(bp);
  xfsBufRele(bp);
}

/** `xfs_buf_set_ref()`: how many LRU passes the buffer survives once unheld. */
export function xfsBufSetRef(bp: XfsBuf, ref: number): void {
  bp.bLruRef = ref;
}

/** `xfs_buf_stale()`: the contents are invalid; the buffer leaves the cache when released. */
export function xfsBufStale(bp: XfsBuf): void {
  bp.bFlags |= XBF_STALE;
  bp.bFlags &= ~(XBF_DONE | _XBF_DELWRI_Q);
  bp.bTarget.btLru.delete(bp);
}

/**
 * Write `data` (by default the buffer contents) at the buffer's address after running the
 * write verifier on it. Does not flush the device.
 */
export function xfsBufWriteData(bp: XfsBuf, data: Uint8Array = bp.bAddr): void {
  if (bp.bOps !== null) bp.bOps.verifyWrite(data, bp.bRhashKey);
  bp.bTarget.stats.writes++;
  try {
    bp.bTarget.btDev.write(bp.bRhashKey, data);
  } catch (e) {
    bp.bFlags |= XBF_WRITE_FAIL;
    throw e;
  }
  bp.bFlags &= ~XBF_WRITE_FAIL;
}

/** `xfs_bwrite()`: synchronous write of a locked buffer (not flushed). */
export function xfsBwrite(bp: XfsBuf): void {
  if (!bp.bLocked) throw new KernelBug(`xfs_bwrite: daddr ${bp.bRhashKey} not locked`);
  xfsBufWriteData(bp);
  bp.bFlags |= XBF_DONE;
}

/** `xfs_buf_delwri_queue()`: queue for a later write; the list holds a reference. */
export function xfsBufDelwriQueue(bp: XfsBuf, list: XfsBuf[]): boolean {
  if (bp.bFlags & _XBF_DELWRI_Q) return false;
  bp.bFlags |= _XBF_DELWRI_Q;
  xfsBufHold(bp);
  list.push(bp);
  return true;
}

/**
 * `xfs_buf_delwri_submit()`: write every queued buffer in disk order, flush the device,
 * and drop the list's references. Stale buffers are skipped.
 */
export function xfsBufDelwriSubmit(list: XfsBuf[]): number {
  list.sort((a, b) => a.bRhashKey - b.bRhashKey);
  let written = 0;
  let dev: BlockDevice | undefined;
  for (const bp of list.splice(0)) {
    if (bp.bFlags & _XBF_DELWRI_Q) {
      bp.bFlags &= ~_XBF_DELWRI_Q;
      xfsBufWriteData(bp);
      dev = bp.bTarget.btDev;
      written++;
    }
    xfsBufRele(bp);
  }
  dev?.flush();
  return written;
}

/** Drop every unheld buffer from the cache (`xfs_buftarg_drain()` for the clean ones). */
export function xfsBuftargDrain(btp: XfsBuftarg): void {
  for (const bp of [...btp.btLru]) removeFromCache(bp);
}
