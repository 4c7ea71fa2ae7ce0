/**
 * The on-disk log: a circular region of basic blocks holding log records, each a header
 * sector plus a payload of buffer changes, chained by LSN.
 *
 * @see fs/xfs/xfs_log.c xlog_write(), xfs_log_force(), xlog_space_left(),
 *      xlog_assign_tail_lsn(), xfs_log_unmount_write(); fs/xfs/xfs_log_priv.h
 *      (LSN = cycle << 32 | block, XLOG_HEADER_MAGIC_NUM); fs/xfs/libxfs/xfs_log_format.h
 *      (xlog_rec_header: h_cycle, h_lsn, h_tail_lsn, h_prev_block, h_len, h_num_logops,
 *      h_crc; XLOG_UNMOUNT_TYPE)
 *
 * Physical logging, simplified: one record per transaction commit, holding the byte
 * regions of every buffer it logged (no CIL, no in-core log buffers, no relogging; a
 * record never wraps: it starts over at block 0 of the next cycle instead). A record is
 * written when its transaction commits and is durable after `force()` (a device flush).
 * The tail that frees log space is the one carried by the last durable record, so space
 * is reused only once a record saying so survives a power loss. Each record names the LSN
 * of its predecessor, so recovery follows the chain and stops at the first torn record.
 */
import { KernelBug } from "@pagelab/mm-core";
import { BBSIZE, daddr, type BlockDevice, type Daddr } from "../blockdev.js";
import { crc32c } from "../buf/cksum.js";

/** `XLOG_HEADER_MAGIC_NUM`. */
export const XLOG_HEADER_MAGIC_NUM = 0xfeedbabe;
export const XLOG_VERSION_2 = 2;
/** Record types: a transaction, a clean unmount, or a tail-moving dummy (log covering). */
export const XLOG_REC_TRANS = 1;
export const XLOG_REC_UNMOUNT = 2;
export const XLOG_REC_DUMMY = 3;

/** Log operation kinds in a record payload. */
export const XLOG_OP_BUF = 1;
/** A buffer cancel (`XFS_BLF_CANCEL`): earlier records for this block must not be replayed. */
export const XLOG_OP_BUF_CANCEL = 2;

export const XLOG_HDR_CRC_OFF = 48;

/** `xfs_lsn_t`: cycle in the high 32 bits, block in the low, as a double. */
export type XfsLsn = number;
export const NULLCOMMITLSN = 0;

export function xlogAssignLsn(cycle: number, block: number): XfsLsn {
  return cycle * 2 ** 32 + block;
}
export function cycleLsn(lsn: XfsLsn): number {
  return Math.floor(lsn / 2 ** 32);
}
export function blockLsn(lsn: XfsLsn): number {
  return lsn % 2 ** 32;
}

export interface XlogRecHeader {
  cycle: number;
  type: number;
  lsn: XfsLsn;
  prevLsn: XfsLsn;
  tailLsn: XfsLsn;
  len: number;
  numOps: number;
  tid: number;
}

export function writeU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, Math.floor(v / 2 ** 32));
  dv.setUint32(off + 4, v % 2 ** 32);
}
export function readU64(dv: DataView, off: number): number {
  return dv.getUint32(off) * 2 ** 32 + dv.getUint32(off + 4);
}

export function encodeRecHeader(h: XlogRecHeader, payload: Uint8Array): Uint8Array {
  const rec = new Uint8Array(BBSIZE + Math.ceil(payload.length / BBSIZE) * BBSIZE);
  const dv = new DataView(rec.buffer);
  dv.setUint32(0, XLOG_HEADER_MAGIC_NUM);
  dv.setUint32(4, h.cycle);
  dv.setUint32(8, XLOG_VERSION_2);
  dv.setUint32(12, h.type);
  writeU64(dv, 16, h.lsn);
  writeU64(dv, 24, h.prevLsn);
  writeU64(dv, 32, h.tailLsn);
  dv.setUint32(40, payload.length);
  dv.setUint32(44, h.numOps);
  dv.setUint32(52, h.tid);
  rec.set(payload, BBSIZE);
  dv.setUint32(XLOG_HDR_CRC_OFF, recordCrc(rec, payload.length));
  return rec;
}

function recordCrc(rec: Uint8Array, payloadLen: number): number {
  let c = crc32c(rec, 0, XLOG_HDR_CRC_OFF);
  c = crc32c(new Uint8Array(4), 0, 4, c);
  c = crc32c(rec, XLOG_HDR_CRC_OFF + 4, BBSIZE, c);
  return crc32c(rec, BBSIZE, BBSIZE + payloadLen, c);
}

/**
 * Decode the record starting at `off` of `area` (a copy of the log), or undefined if it
 * is not a complete record with a good checksum.
 */
export function decodeRecord(area: Uint8Array, off: number): { hdr: XlogRecHeader; payload: Uint8Array; nBB: number } | undefined {
  if (off + BBSIZE > area.length) return undefined;
  const dv = new DataView(area.buffer, area.byteOffset + off);
  if (dv.getUint32(0) !== XLOG_HEADER_MAGIC_NUM || dv.getUint32(8) !== XLOG_VERSION_2) return undefined;
  const len = dv.getUint32(40);
  const nBB = 1 + Math.ceil(len / BBSIZE);
  if (off + nBB * BBSIZE > area.length) return undefined;
  const rec = area.subarray(off, off + nBB * BBSIZE);
  if (recordCrc(rec, len) !== dv.getUint32(XLOG_HDR_CRC_OFF)) return undefined;
  const hdr: XlogRecHeader = {
    cycle: dv.getUint32(4),
    type: dv.getUint32(12),
    lsn: readU64(dv, 16),
    prevLsn: readU64(dv, 24),
    tailLsn: readU64(dv, 32),
    len,
    numOps: dv.getUint32(44),
    tid: dv.getUint32(52),
  };
  return { hdr, payload: rec.subarray(BBSIZE, BBSIZE + len), nBB };
}

export interface XlogStats {
  records: number;
  bytes: number;
  forces: number;
  wraps: number;
}

/** `struct xlog`: where the head is, which tail is durable, what is not yet flushed. */
export class Xlog {
  readonly lDev: BlockDevice;
  /** First basic block of the log (`XFS_FSB_TO_DADDR(sb_logstart)`). */
  readonly lLogStart: Daddr;
  /** Log size in basic blocks. */
  readonly lLogBBsize: number;
  lCurrCycle: number;
  lCurrBlock: number;
  /** LSN of the last record written. */
  lLastLsn: XfsLsn;
  /** The tail carried by the last durable record: space behind it may be reused. */
  lTailLsn: XfsLsn;
  /** LSN of the last record known durable. */
  lLastSyncLsn: XfsLsn;
  readonly stats: XlogStats = { records: 0, bytes: 0, forces: 0, wraps: 0 };
  private unflushedTail: XfsLsn | undefined;

  constructor(dev: BlockDevice, logStart: Daddr, logBBsize: number, head: { cycle: number; block: number; lastLsn: XfsLsn }) {
    this.lDev = dev;
    this.lLogStart = logStart;
    this.lLogBBsize = logBBsize;
    this.lCurrCycle = head.cycle;
    this.lCurrBlock = head.block;
    this.lLastLsn = head.lastLsn;
    this.lTailLsn = xlogAssignLsn(head.cycle, head.block);
    this.lLastSyncLsn = head.lastLsn;
  }

  /** The LSN the next record will get if it fits before the end of the log. */
  get headLsn(): XfsLsn {
    return xlogAssignLsn(this.lCurrCycle, this.lCurrBlock);
  }

  /** `xlog_space_left()`: free basic blocks between the head and the durable tail. */
  spaceLeft(): number {
    const tc = cycleLsn(this.lTailLsn);
    const tb = blockLsn(this.lTailLsn);
    if (tc === this.lCurrCycle) return this.lLogBBsize - (this.lCurrBlock - tb);
    if (tc === this.lCurrCycle - 1) return tb - this.lCurrBlock;
    throw new KernelBug(`xlog_space_left: tail cycle ${tc} vs head cycle ${this.lCurrCycle}`);
  }

  /** Basic blocks a record with this payload occupies, counting a skip to block 0. */
  spaceNeeded(payloadBytes: number): number {
    const n = 1 + Math.ceil(payloadBytes / BBSIZE);
    return this.lCurrBlock + n > this.lLogBBsize ? n + (this.lLogBBsize - this.lCurrBlock) : n;
  }

  /**
   * Whether a record with this payload can be written without pushing the tail, keeping
   * `reserveBB` basic blocks for the dummy record a push writes.
   */
  hasSpaceFor(payloadBytes: number, reserveBB = 0): boolean {
    const n = 1 + Math.ceil(payloadBytes / BBSIZE);
    if (n + reserveBB + 2 >= this.lLogBBsize) {
      throw new KernelBug(`xlog_write: record of ${n} BBs does not fit a log of ${this.lLogBBsize} (roll the transaction)`);
    }
    return this.spaceNeeded(payloadBytes) + reserveBB < this.spaceLeft();
  }

  /** Write one record (not flushed). `tailLsn` undefined: the record itself is the tail. */
  writeRecord(type: number, tid: number, numOps: number, payload: Uint8Array, tailLsn: XfsLsn | undefined): XfsLsn {
    if (!this.hasSpaceFor(payload.length)) throw new KernelBug("xlog_write: no log space (the AIL was not pushed)");
    const n = 1 + Math.ceil(payload.length / BBSIZE);
    if (this.lCurrBlock + n > this.lLogBBsize) {
      this.lCurrCycle++;
      this.lCurrBlock = 0;
      this.stats.wraps++;
    }
    const lsn = this.headLsn;
    const tail = tailLsn ?? lsn;
    const rec = encodeRecHeader({ cycle: this.lCurrCycle, type, lsn, prevLsn: this.lLastLsn, tailLsn: tail, len: payload.length, numOps, tid }, payload);
    this.lDev.write(daddr(this.lLogStart + this.lCurrBlock), rec);
    this.lCurrBlock += n;
    this.lLastLsn = lsn;
    this.unflushedTail = tail;
    this.stats.records++;
    this.stats.bytes += rec.length;
    return lsn;
  }

  /** `xfs_log_force()`: make every written record durable. */
  force(): void {
    if (this.lLastSyncLsn === this.lLastLsn && this.unflushedTail === undefined) return;
    this.lDev.flush();
    this.stats.forces++;
    this.lLastSyncLsn = this.lLastLsn;
    if (this.unflushedTail !== undefined) this.lTailLsn = this.unflushedTail;
    this.unflushedTail = undefined;
  }

  /** Whether every record up to `lsn` is durable. */
  isDurable(lsn: XfsLsn): boolean {
    return lsn <= this.lLastSyncLsn;
  }
}
