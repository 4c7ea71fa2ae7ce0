/**
 * The payload of a log record: buffer log operations (a buffer's logged byte regions) and
 * buffer cancels.
 *
 * @see fs/xfs/libxfs/xfs_log_format.h struct xfs_buf_log_format (blf_type, blf_blkno,
 *      blf_len, blf_data_map, XFS_BLF_CHUNK, XFS_BLF_CANCEL)
 *
 * A region is an (offset, length) byte range of the buffer followed by its bytes; regions
 * are whole `XFS_BLF_CHUNK` (128-byte) chunks, as the kernel's dirty bitmap logs them.
 */
import { daddr, type Daddr } from "../blockdev.js";
import { XLOG_OP_BUF, XLOG_OP_BUF_CANCEL, readU64, writeU64 } from "./xfs-log.js";

export const XFS_BLF_CHUNK = 128;

export interface XlogBufOp {
  kind: typeof XLOG_OP_BUF;
  type: number;
  daddr: Daddr;
  len: number;
  regions: { off: number; data: Uint8Array }[];
}

export interface XlogCancelOp {
  kind: typeof XLOG_OP_BUF_CANCEL;
  daddr: Daddr;
  len: number;
}

export type XlogOp = XlogBufOp | XlogCancelOp;

const OP_HDR = 24;
const REGION_HDR = 8;

export function opsSize(ops: readonly XlogOp[]): number {
  let n = 0;
  for (const op of ops) {
    n += OP_HDR;
    if (op.kind === XLOG_OP_BUF) for (const r of op.regions) n += REGION_HDR + r.data.length;
  }
  return n;
}

export function encodeOps(ops: readonly XlogOp[]): Uint8Array {
  const out = new Uint8Array(opsSize(ops));
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const op of ops) {
    dv.setUint32(p, op.kind);
    dv.setUint32(p + 4, op.kind === XLOG_OP_BUF ? op.type : 0);
    writeU64(dv, p + 8, op.daddr);
    dv.setUint32(p + 16, op.len);
    dv.setUint32(p + 20, op.kind === XLOG_OP_BUF ? op.regions.length : 0);
    p += OP_HDR;
    if (op.kind !== XLOG_OP_BUF) continue;
    for (const r of op.regions) {
      dv.setUint32(p, r.off);
      dv.setUint32(p + 4, r.data.length);
      out.set(r.data, p + REGION_HDR);
      p += REGION_HDR + r.data.length;
    }
  }
  return out;
}

export function decodeOps(payload: Uint8Array): XlogOp[] {
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const ops: XlogOp[] = [];
  let p = 0;
  while (p < payload.length) {
    const kind = dv.getUint32(p);
    const type = dv.getUint32(p + 4);
    const d = daddr(readU64(dv, p + 8));
    const len = dv.getUint32(p + 16);
    const nregions = dv.getUint32(p + 20);
    p += OP_HDR;
    if (kind === XLOG_OP_BUF_CANCEL) {
      ops.push({ kind, daddr: d, len });
      continue;
    }
    const regions: XlogBufOp["regions"] = [];
    for (let i = 0; i < nregions; i++) {
      const off = dv.getUint32(p);
      const n = dv.getUint32(p + 4);
      regions.push({ off, data: payload.slice(p + REGION_HDR, p + REGION_HDR + n) });
      p += REGION_HDR + n;
    }
    ops.push({ kind: XLOG_OP_BUF, type, daddr: d, len, regions });
  }
  return ops;
}
