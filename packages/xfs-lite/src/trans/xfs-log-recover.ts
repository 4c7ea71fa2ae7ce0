/**
 * Log recovery at mount: find the head, follow the record chain from the tail it names,
 * and replay every complete record's buffer regions onto the disk.
 *
 * @see fs/xfs/xfs_log_recover.c xlog_find_head(), xlog_find_tail(), xlog_do_recover(),
 *      xlog_recover_process(), xlog_check_unmount_rec(); fs/xfs/xfs_buf_item_recover.c
 *      xlog_recover_do_reg_buffer(), xlog_recover_buf_cancelled() (cancel table)
 *
 * The head is the valid record with the highest LSN whose tail record is present; its
 * tail LSN says where replay starts. Records are accepted while each names the previous one (`prevLsn`) and has an
 * intact checksum; the first torn or missing record ends the log. Replay is two-pass like
 * the kernel's: a block cancelled by record j is not replayed from records up to j. The
 * replayed blocks get their checksums recomputed by their write verifiers and are written
 * and flushed before the log is reused. Replay is idempotent, so replaying records whose
 * buffers had already been written back is harmless.
 */
import { KernelError } from "@pagelab/mm-core";
import { BBSIZE, daddr, type BlockDevice, type Daddr } from "../blockdev.js";
import { xfsFindBufOps } from "./buf-ops-registry.js";
import { decodeOps, type XlogBufOp } from "./log-ops.js";
import {
  XLOG_HEADER_MAGIC_NUM,
  XLOG_OP_BUF,
  XLOG_OP_BUF_CANCEL,
  XLOG_REC_UNMOUNT,
  blockLsn,
  cycleLsn,
  decodeRecord,
  xlogAssignLsn,
  type XfsLsn,
  type XlogRecHeader,
} from "./xfs-log.js";

export interface XlogRecoverResult {
  /** The log ended with a clean-unmount record: nothing needed replaying. */
  clean: boolean;
  /** Transaction records replayed. */
  recordsReplayed: number;
  /** Blocks written by replay. */
  buffersReplayed: number;
  /** Where the next record goes (a fresh cycle at block 0). */
  head: { cycle: number; block: number; lastLsn: XfsLsn };
}

interface Rec {
  hdr: XlogRecHeader;
  payload: Uint8Array;
  nBB: number;
}

/** Read the log region and decide what to replay, without writing anything. */
export function xlogFindRecords(dev: BlockDevice, logStart: Daddr, logBBsize: number): { chain: Rec[]; maxCycle: number; clean: boolean } {
  const area = new Uint8Array(logBBsize * BBSIZE);
  dev.read(logStart, area);
  const dv = new DataView(area.buffer);
  const valid = new Map<number, Rec>();
  let maxCycle = 0;
  for (let b = 0; b < logBBsize; b++) {
    if (dv.getUint32(b * BBSIZE) !== XLOG_HEADER_MAGIC_NUM) continue;
    maxCycle = Math.max(maxCycle, dv.getUint32(b * BBSIZE + 4));
    const r = decodeRecord(area, b * BBSIZE);
    if (r === undefined || blockLsn(r.hdr.lsn) !== b || cycleLsn(r.hdr.lsn) !== r.hdr.cycle) continue;
    valid.set(b, r);
  }
  if (valid.size === 0) return { chain: [], maxCycle, clean: true };
  // The head is the newest record whose tail is still there: a record whose tail record is
  // gone was never durable (a flush would have persisted the tail first).
  const byLsn = [...valid.values()].sort((a, b) => b.hdr.lsn - a.hdr.lsn);
  let tail: Rec | undefined;
  for (const head of byLsn) {
    const t = valid.get(blockLsn(head.hdr.tailLsn));
    if (t !== undefined && t.hdr.lsn === head.hdr.tailLsn) {
      tail = t;
      break;
    }
  }
  if (tail === undefined) throw new KernelError("EUCLEAN", "log recovery: no record names a tail that is still in the log");
  const chain: Rec[] = [tail];
  for (;;) {
    const cur = chain[chain.length - 1]!;
    const at = blockLsn(cur.hdr.lsn) + cur.nBB;
    const cyc = cycleLsn(cur.hdr.lsn);
    const follows = (r: Rec | undefined, c: number, b: number): r is Rec =>
      r !== undefined && r.hdr.lsn === xlogAssignLsn(c, b) && r.hdr.prevLsn === cur.hdr.lsn;
    const same = valid.get(at);
    const wrapped = valid.get(0);
    if (at < logBBsize && follows(same, cyc, at)) chain.push(same);
    else if (follows(wrapped, cyc + 1, 0)) chain.push(wrapped);
    else break;
  }
  const last = chain[chain.length - 1]!;
  return { chain, maxCycle, clean: chain.length === 1 && last.hdr.type === XLOG_REC_UNMOUNT };
}

/** `xlog_recover()`: replay the log onto the device and flush. */
export function xlogRecover(dev: BlockDevice, logStart: Daddr, logBBsize: number): XlogRecoverResult {
  const { chain, maxCycle, clean } = xlogFindRecords(dev, logStart, logBBsize);
  const lastLsn = chain.length > 0 ? chain[chain.length - 1]!.hdr.lsn : 0;
  const head = { cycle: maxCycle + 1, block: 0, lastLsn };
  if (clean) return { clean: true, recordsReplayed: 0, buffersReplayed: 0, head };

  const records = chain.map((r) => decodeOps(r.payload));
  const cancelledUpTo = new Map<number, number>();
  records.forEach((ops, i) => {
    for (const op of ops) if (op.kind === XLOG_OP_BUF_CANCEL) cancelledUpTo.set(op.daddr, i);
  });

  const blocks = new Map<number, { data: Uint8Array; type: number }>();
  let recordsReplayed = 0;
  records.forEach((ops, i) => {
    let any = false;
    for (const op of ops) {
      if (op.kind !== XLOG_OP_BUF) continue;
      if ((cancelledUpTo.get(op.daddr) ?? -1) >= i) continue;
      applyBufOp(dev, blocks, op);
      any = true;
    }
    if (any) recordsReplayed++;
  });

  for (const [d, { data, type }] of blocks) {
    const magic = new DataView(data.buffer).getUint32(0);
    xfsFindBufOps(type, magic).verifyWrite(data, daddr(d));
    dev.write(d, data);
  }
  dev.flush();
  return { clean: false, recordsReplayed, buffersReplayed: blocks.size, head };
}

function applyBufOp(dev: BlockDevice, blocks: Map<number, { data: Uint8Array; type: number }>, op: XlogBufOp): void {
  let b = blocks.get(op.daddr);
  if (b === undefined || b.data.length !== op.len * BBSIZE) {
    const data = new Uint8Array(op.len * BBSIZE);
    dev.read(op.daddr, data);
    b = { data, type: op.type };
    blocks.set(op.daddr, b);
  }
  b.type = op.type;
  for (const r of op.regions) b.data.set(r.data, r.off);
}
