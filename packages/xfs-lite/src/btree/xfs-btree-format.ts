/**
 * The on-disk btree block: header, record / key / pointer layout, and the verifier.
 *
 * @see fs/xfs/libxfs/xfs_format.h struct xfs_btree_block (bb_magic, bb_level,
 *      bb_numrecs, bb_u.s / bb_u.l: leftsib, rightsib, blkno, lsn, uuid, owner, crc),
 *      XFS_BTREE_SBLOCK_CRC_LEN (56), XFS_BTREE_LBLOCK_CRC_LEN (72);
 *      fs/xfs/libxfs/xfs_btree.h XFS_BTREE_REC_ADDR(), XFS_BTREE_KEY_ADDR(),
 *      XFS_BTREE_PTR_ADDR(); fs/xfs/libxfs/xfs_btree.c xfs_btree_sblock_verify(),
 *      xfs_btree_lblock_verify(), xfs_btree_sblock_calc_crc()
 *
 * A leaf holds records after the header; a node holds `maxrecs` key slots, then the
 * pointers. An overlapping btree's key slot is a low key followed by a high key.
 */
import { KernelError } from "@pagelab/mm-core";
import type { Daddr } from "../blockdev.js";
import { xfsUpdateCksum, xfsVerifyCksum } from "../buf/cksum.js";
import { XFS_BLFT_BTREE_BUF, type XfsBufOps } from "../buf/xfs-buf.js";
import { readU64 } from "../trans/xfs-log.js";

export const XFS_BTREE_SBLOCK_CRC_LEN = 56;
export const XFS_BTREE_LBLOCK_CRC_LEN = 72;
export const XFS_BTREE_SBLOCK_CRC_OFF = 52;
export const XFS_BTREE_LBLOCK_CRC_OFF = 64;
/** `XFS_BTREE_MAXLEVELS`-like bound on tree height. */
export const XFS_BTREE_MAXLEVELS = 9;
/** A null block pointer (NULLAGBLOCK / NULLFSBLOCK). */
export const NULLPTR = -1;

/** Record, key and pointer geometry of one btree type. */
export interface XfsBtreeGeometry {
  readonly magic: number;
  /** 64-bit fs block pointers (bmbt) instead of 32-bit AG block pointers. */
  readonly longPtrs: boolean;
  /** Nodes carry a high key per pointer (`XFS_BTGEO_OVERLAPPING`). */
  readonly overlapping: boolean;
  readonly recLen: number;
  readonly keyLen: number;
  /** Force small blocks (tests): at most this many records per leaf / entries per node. */
  readonly maxRecsOverride?: { readonly leaf: number; readonly node: number };
}

export const BLOCK_SIZE = 4096;

export function hdrLen(g: XfsBtreeGeometry): number {
  return g.longPtrs ? XFS_BTREE_LBLOCK_CRC_LEN : XFS_BTREE_SBLOCK_CRC_LEN;
}
export function ptrLen(g: XfsBtreeGeometry): number {
  return g.longPtrs ? 8 : 4;
}
export function keySlotLen(g: XfsBtreeGeometry): number {
  return g.overlapping ? 2 * g.keyLen : g.keyLen;
}
/** `xfs_btree_maxrecs()` for leaves (level 0) and nodes. */
export function maxRecs(g: XfsBtreeGeometry, level: number): number {
  const room = BLOCK_SIZE - hdrLen(g);
  const disk = level === 0 ? Math.floor(room / g.recLen) : Math.floor(room / (keySlotLen(g) + ptrLen(g)));
  const o = g.maxRecsOverride;
  return o === undefined ? disk : Math.min(disk, level === 0 ? o.leaf : o.node);
}
/** Node layout uses the node maxrecs of the geometry. */
export function recOff(g: XfsBtreeGeometry, i: number): number {
  return hdrLen(g) + i * g.recLen;
}
export function keyOff(g: XfsBtreeGeometry, i: number): number {
  return hdrLen(g) + i * keySlotLen(g);
}
export function highKeyOff(g: XfsBtreeGeometry, i: number): number {
  return keyOff(g, i) + g.keyLen;
}
export function ptrOff(g: XfsBtreeGeometry, i: number): number {
  return hdrLen(g) + maxRecs(g, 1) * keySlotLen(g) + i * ptrLen(g);
}

/** Header field offsets. */
export const BB_MAGIC = 0;
export const BB_LEVEL = 4;
export const BB_NUMRECS = 6;
export const BB_LEFTSIB = 8;

export function crcOff(g: XfsBtreeGeometry): number {
  return g.longPtrs ? XFS_BTREE_LBLOCK_CRC_OFF : XFS_BTREE_SBLOCK_CRC_OFF;
}
export function rightsibOff(g: XfsBtreeGeometry): number {
  return g.longPtrs ? 16 : 12;
}
export function blknoOff(g: XfsBtreeGeometry): number {
  return g.longPtrs ? 24 : 16;
}
export function uuidOff(g: XfsBtreeGeometry): number {
  return g.longPtrs ? 40 : 32;
}
export function ownerOff(g: XfsBtreeGeometry): number {
  return g.longPtrs ? 56 : 48;
}

export function readPtr(dv: DataView, off: number, long: boolean): number {
  if (!long) {
    const v = dv.getUint32(off);
    return v === 0xffffffff ? NULLPTR : v;
  }
  if (dv.getUint32(off) === 0xffffffff && dv.getUint32(off + 4) === 0xffffffff) return NULLPTR;
  return readU64(dv, off);
}

export function writePtr(dv: DataView, off: number, long: boolean, v: number): void {
  if (!long) {
    dv.setUint32(off, v === NULLPTR ? 0xffffffff : v);
    return;
  }
  if (v === NULLPTR) {
    dv.setUint32(off, 0xffffffff);
    dv.setUint32(off + 4, 0xffffffff);
    return;
  }
  dv.setUint32(off, Math.floor(v / 2 ** 32));
  dv.setUint32(off + 4, v % 2 ** 32);
}

const opsCache = new Map<string, XfsBufOps>();
const byGeometry = new WeakMap<XfsBtreeGeometry, XfsBufOps>();

/**
 * The verifier of one btree type's blocks (`xfs_*btree_buf_ops`): magic, checksum, level,
 * record count and self address.
 */
export function xfsBtreeBufOps(name: string, g: XfsBtreeGeometry): XfsBufOps {
  const known = byGeometry.get(g);
  if (known !== undefined) return known;
  const key = `${name}/${g.magic}/${g.longPtrs}/${g.overlapping}/${g.recLen}/${g.keyLen}/${g.maxRecsOverride?.leaf}/${g.maxRecsOverride?.node}`;
  const cached = opsCache.get(key);
  if (cached !== undefined) {
    byGeometry.set(g, cached);
    return cached;
  }
  const bad = (d: Daddr, why: string): never => {
    throw new KernelError("EUCLEAN", `${name} block at daddr ${d}: ${why}`);
  };
  const ops: XfsBufOps = {
    name: `xfs_${name}_buf_ops`,
    type: XFS_BLFT_BTREE_BUF,
    magic: [g.magic],
    verifyRead(data, d) {
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      if (dv.getUint32(BB_MAGIC) !== g.magic) bad(d, `bad magic 0x${dv.getUint32(BB_MAGIC).toString(16)}`);
      if (!xfsVerifyCksum(data, BLOCK_SIZE, crcOff(g))) bad(d, "bad checksum (EFSBADCRC)");
      const level = dv.getUint16(BB_LEVEL);
      if (level >= XFS_BTREE_MAXLEVELS) bad(d, `level ${level}`);
      if (dv.getUint16(BB_NUMRECS) > maxRecs(g, level)) bad(d, `numrecs ${dv.getUint16(BB_NUMRECS)} > maxrecs`);
      if (readU64(dv, blknoOff(g)) !== d) bad(d, `bb_blkno ${readU64(dv, blknoOff(g))}`);
    },
    verifyWrite(data) {
      xfsUpdateCksum(data, BLOCK_SIZE, crcOff(g));
    },
  };
  opsCache.set(key, ops);
  byGeometry.set(g, ops);
  return ops;
}
