/**
 * Record and key encodings of every on-disk btree: the free-space btrees (by block and by
 * size), the inode btree, the reverse-mapping btree (overlapping), the refcount btree and
 * the block-map btree.
 *
 * @see fs/xfs/libxfs/xfs_format.h struct xfs_alloc_rec, struct xfs_inobt_rec,
 *      struct xfs_rmap_rec / xfs_rmap_key, struct xfs_refcount_rec / xfs_refcount_key,
 *      struct xfs_bmbt_rec / xfs_bmbt_key, XFS_ABTB_CRC_MAGIC, XFS_ABTC_CRC_MAGIC,
 *      XFS_IBT_CRC_MAGIC, XFS_RMAP_CRC_MAGIC, XFS_REFC_CRC_MAGIC, XFS_BMAP_CRC_MAGIC;
 *      fs/xfs/libxfs/xfs_alloc_btree.c, xfs_ialloc_btree.c, xfs_rmap_btree.c,
 *      xfs_refcount_btree.c, xfs_bmap_btree.c (init_key_from_rec,
 *      init_high_key_from_rec, diff_two_keys); fs/xfs/libxfs/xfs_bmap_btree.c
 *      xfs_bmbt_disk_set_all() (the 128-bit packed extent record)
 *
 * In-core records use the file layer's types (`XfsRmapIrec`, `XfsRefcountIrec`,
 * `XfsBmbtIrec`). Special rmap owners (negative here) are the kernel's top-bit-set 64-bit
 * values on disk; refcount CoW staging records carry XFS_REFC_COWFLAG in the on-disk
 * start block, so they sort after the shared domain as in the kernel.
 */
import { XFS_EXT_NORM, XFS_EXT_UNWRITTEN, type XfsBmbtIrec } from "../iext/types.js";
import { refcountDecodeStartblock, refcountDiskStartblock, type XfsRefcountIrec } from "../refcount/types.js";
import {
  XFS_RMAP_ATTR_FORK,
  XFS_RMAP_BMBT_BLOCK,
  XFS_RMAP_UNWRITTEN,
  rmapCompare,
  xfsRmapNonInodeOwner,
  type XfsRmapIrec,
} from "../rmap/types.js";
import type { XfsBtreeOps } from "./xfs-btree.js";

export const XFS_ABTB_CRC_MAGIC = 0x41423342; // 'AB3B'
export const XFS_ABTC_CRC_MAGIC = 0x41423343; // 'AB3C'
export const XFS_IBT_CRC_MAGIC = 0x49414233; // 'IAB3'
export const XFS_RMAP_CRC_MAGIC = 0x524d4233; // 'RMB3'
export const XFS_REFC_CRC_MAGIC = 0x52334643; // 'R3FC'
export const XFS_BMAP_CRC_MAGIC = 0x424d4133; // 'BMA3'

type Small = { readonly leaf: number; readonly node: number } | undefined;
function withSmall<T extends object>(ops: T, small: Small): T {
  return small === undefined ? ops : { ...ops, maxRecsOverride: small };
}

// ---- free space: bnobt and cntbt -----------------------------------------------------

/** `struct xfs_alloc_rec_incore`. */
export interface XfsAllocRec {
  arStartblock: number;
  arBlockcount: number;
}

const allocCodec = {
  recLen: 8,
  keyLen: 8,
  longPtrs: false,
  overlapping: false,
  decodeRec: (dv: DataView, off: number): XfsAllocRec => ({ arStartblock: dv.getUint32(off), arBlockcount: dv.getUint32(off + 4) }),
  encodeRec: (dv: DataView, off: number, r: XfsAllocRec): void => {
    dv.setUint32(off, r.arStartblock);
    dv.setUint32(off + 4, r.arBlockcount);
  },
  keyFromRec: (r: XfsAllocRec): XfsAllocRec => ({ arStartblock: r.arStartblock, arBlockcount: r.arBlockcount }),
};

/** By-block free space btree ops (`xfs_bnobt_ops`): keyed by start block. */
export function xfsBnobtOps(small?: Small): XfsBtreeOps<XfsAllocRec, XfsAllocRec> {
  return withSmall(
    {
      name: "bnobt",
      magic: XFS_ABTB_CRC_MAGIC,
      ...allocCodec,
      decodeKey: allocCodec.decodeRec,
      encodeKey: allocCodec.encodeRec,
      highKeyFromRec: (r: XfsAllocRec) => ({ arStartblock: r.arStartblock + r.arBlockcount - 1, arBlockcount: 0 }),
      cmpKeys: (a: XfsAllocRec, b: XfsAllocRec) => a.arStartblock - b.arStartblock,
    },
    small,
  );
}

/** By-size free space btree ops (`xfs_cntbt_ops`): keyed by (length, start block). */
export function xfsCntbtOps(small?: Small): XfsBtreeOps<XfsAllocRec, XfsAllocRec> {
  return withSmall(
    {
      name: "cntbt",
      magic: XFS_ABTC_CRC_MAGIC,
      ...allocCodec,
      decodeKey: allocCodec.decodeRec,
      encodeKey: allocCodec.encodeRec,
      cmpKeys: (a: XfsAllocRec, b: XfsAllocRec) => a.arBlockcount - b.arBlockcount || a.arStartblock - b.arStartblock,
    },
    small,
  );
}

// ---- inode btree ---------------------------------------------------------------------

/** `struct xfs_inobt_rec_incore` (sparse-inode layout). */
export interface XfsInobtRec {
  irStartino: number;
  irHolemask: number;
  irCount: number;
  irFreecount: number;
  /** Free mask of the 64 inodes of the chunk. */
  irFree: bigint;
}

export const XFS_INODES_PER_CHUNK = 64;

/** Inode btree ops (`xfs_inobt_ops`): keyed by the chunk's first AG inode number. */
export function xfsInobtOps(small?: Small): XfsBtreeOps<XfsInobtRec, number> {
  return withSmall(
    {
      name: "inobt",
      magic: XFS_IBT_CRC_MAGIC,
      recLen: 16,
      keyLen: 4,
      longPtrs: false,
      overlapping: false,
      decodeRec: (dv: DataView, off: number): XfsInobtRec => ({
        irStartino: dv.getUint32(off),
        irHolemask: dv.getUint16(off + 4),
        irCount: dv.getUint8(off + 6),
        irFreecount: dv.getUint8(off + 7),
        irFree: dv.getBigUint64(off + 8),
      }),
      encodeRec: (dv: DataView, off: number, r: XfsInobtRec): void => {
        dv.setUint32(off, r.irStartino);
        dv.setUint16(off + 4, r.irHolemask);
        dv.setUint8(off + 6, r.irCount);
        dv.setUint8(off + 7, r.irFreecount);
        dv.setBigUint64(off + 8, r.irFree);
      },
      decodeKey: (dv: DataView, off: number) => dv.getUint32(off),
      encodeKey: (dv: DataView, off: number, k: number) => dv.setUint32(off, k),
      keyFromRec: (r: XfsInobtRec) => r.irStartino,
      highKeyFromRec: (r: XfsInobtRec) => r.irStartino + XFS_INODES_PER_CHUNK - 1,
      cmpKeys: (a: number, b: number) => a - b,
    },
    small,
  );
}

// ---- reverse mapping btree -----------------------------------------------------------

function writeOwner(dv: DataView, off: number, owner: number): void {
  if (owner < 0) {
    dv.setUint32(off, 0xffffffff);
    dv.setUint32(off + 4, 2 ** 32 + owner);
  } else {
    dv.setUint32(off, Math.floor(owner / 2 ** 32));
    dv.setUint32(off + 4, owner % 2 ** 32);
  }
}

function readOwner(dv: DataView, off: number): number {
  const hi = dv.getUint32(off);
  const lo = dv.getUint32(off + 4);
  if (hi === 0xffffffff && lo >= 2 ** 32 - 64) return lo - 2 ** 32;
  return hi * 2 ** 32 + lo;
}

/** On-disk `rm_offset`: flags in bits 63/62/61, file offset in bits 0-53. */
function writeRmapOffset(dv: DataView, off: number, offset: number, flags: number): void {
  let hi = Math.floor(offset / 2 ** 32);
  if (flags & XFS_RMAP_ATTR_FORK) hi += 2 ** 31;
  if (flags & XFS_RMAP_BMBT_BLOCK) hi += 2 ** 30;
  if (flags & XFS_RMAP_UNWRITTEN) hi += 2 ** 29;
  dv.setUint32(off, hi);
  dv.setUint32(off + 4, offset % 2 ** 32);
}

function readRmapOffset(dv: DataView, off: number): { offset: number; flags: number } {
  const hi = dv.getUint32(off);
  const lo = dv.getUint32(off + 4);
  let flags = 0;
  if (hi & 0x80000000) flags |= XFS_RMAP_ATTR_FORK;
  if (hi & 0x40000000) flags |= XFS_RMAP_BMBT_BLOCK;
  if (hi & 0x20000000) flags |= XFS_RMAP_UNWRITTEN;
  return { offset: (hi & 0x3fffff) * 2 ** 32 + lo, flags };
}

/** The rmapbt key is a record with the block count ignored. */
export type XfsRmapKey = XfsRmapIrec;

/** Reverse-mapping btree ops (`xfs_rmapbt_ops`): overlapping, keyed by (block, owner, offset, flags). */
export function xfsRmapbtOps(small?: Small): XfsBtreeOps<XfsRmapIrec, XfsRmapKey> {
  return withSmall(
    {
      name: "rmapbt",
      magic: XFS_RMAP_CRC_MAGIC,
      recLen: 24,
      keyLen: 20,
      longPtrs: false,
      overlapping: true,
      decodeRec: (dv: DataView, off: number): XfsRmapIrec => {
        const o = readRmapOffset(dv, off + 16);
        return {
          rmStartblock: dv.getUint32(off),
          rmBlockcount: dv.getUint32(off + 4),
          rmOwner: readOwner(dv, off + 8),
          rmOffset: o.offset,
          rmFlags: o.flags,
        };
      },
      encodeRec: (dv: DataView, off: number, r: XfsRmapIrec): void => {
        dv.setUint32(off, r.rmStartblock);
        dv.setUint32(off + 4, r.rmBlockcount);
        writeOwner(dv, off + 8, r.rmOwner);
        writeRmapOffset(dv, off + 16, r.rmOffset, r.rmFlags);
      },
      decodeKey: (dv: DataView, off: number): XfsRmapKey => {
        const o = readRmapOffset(dv, off + 12);
        return { rmStartblock: dv.getUint32(off), rmBlockcount: 0, rmOwner: readOwner(dv, off + 4), rmOffset: o.offset, rmFlags: o.flags };
      },
      encodeKey: (dv: DataView, off: number, k: XfsRmapKey): void => {
        dv.setUint32(off, k.rmStartblock);
        writeOwner(dv, off + 4, k.rmOwner);
        writeRmapOffset(dv, off + 12, k.rmOffset, k.rmFlags);
      },
      keyFromRec: (r: XfsRmapIrec): XfsRmapKey => ({ ...r, rmBlockcount: 0 }),
      highKeyFromRec: (r: XfsRmapIrec): XfsRmapKey => ({
        rmStartblock: r.rmStartblock + r.rmBlockcount - 1,
        rmBlockcount: 0,
        rmOwner: r.rmOwner,
        rmOffset: xfsRmapNonInodeOwner(r.rmOwner) || r.rmFlags & XFS_RMAP_BMBT_BLOCK ? r.rmOffset : r.rmOffset + r.rmBlockcount - 1,
        rmFlags: r.rmFlags,
      }),
      cmpKeys: rmapCompare,
    },
    small,
  );
}

/** The lowest and highest rmapbt keys of AG blocks [agbno, agbno + len). */
export function xfsRmapRangeKeys(agbno: number, len: number): { low: XfsRmapKey; high: XfsRmapKey } {
  return {
    low: { rmStartblock: agbno, rmBlockcount: 0, rmOwner: 0, rmOffset: 0, rmFlags: 0 },
    high: { rmStartblock: agbno + len - 1, rmBlockcount: 0, rmOwner: -1, rmOffset: 2 ** 54, rmFlags: 7 },
  };
}

// ---- refcount btree ------------------------------------------------------------------

/** Refcount btree ops (`xfs_refcountbt_ops`): keyed by the on-disk start block (domain in bit 31). */
export function xfsRefcountbtOps(small?: Small): XfsBtreeOps<XfsRefcountIrec, number> {
  return withSmall(
    {
      name: "refcountbt",
      magic: XFS_REFC_CRC_MAGIC,
      recLen: 12,
      keyLen: 4,
      longPtrs: false,
      overlapping: false,
      decodeRec: (dv: DataView, off: number): XfsRefcountIrec => {
        const s = refcountDecodeStartblock(dv.getUint32(off));
        return { rcStartblock: s.agbno, rcDomain: s.domain, rcBlockcount: dv.getUint32(off + 4), rcRefcount: dv.getUint32(off + 8) };
      },
      encodeRec: (dv: DataView, off: number, r: XfsRefcountIrec): void => {
        dv.setUint32(off, refcountDiskStartblock(r));
        dv.setUint32(off + 4, r.rcBlockcount);
        dv.setUint32(off + 8, r.rcRefcount);
      },
      decodeKey: (dv: DataView, off: number) => dv.getUint32(off),
      encodeKey: (dv: DataView, off: number, k: number) => dv.setUint32(off, k),
      keyFromRec: (r: XfsRefcountIrec) => refcountDiskStartblock(r),
      highKeyFromRec: (r: XfsRefcountIrec) => refcountDiskStartblock(r) + r.rcBlockcount - 1,
      cmpKeys: (a: number, b: number) => a - b,
    },
    small,
  );
}

// ---- block map btree -----------------------------------------------------------------

const M21 = (1n << 21n) - 1n;
const M52 = (1n << 52n) - 1n;
const M54 = (1n << 54n) - 1n;

/** Block-map btree ops (`xfs_bmbt_ops`): 64-bit pointers, keyed by file offset. */
export function xfsBmbtOps(small?: Small): XfsBtreeOps<XfsBmbtIrec, number> {
  return withSmall(
    {
      name: "bmbt",
      magic: XFS_BMAP_CRC_MAGIC,
      recLen: 16,
      keyLen: 8,
      longPtrs: true,
      overlapping: false,
      decodeRec: (dv: DataView, off: number): XfsBmbtIrec => {
        const l0 = dv.getBigUint64(off);
        const l1 = dv.getBigUint64(off + 8);
        return {
          brState: l0 >> 63n ? XFS_EXT_UNWRITTEN : XFS_EXT_NORM,
          brStartoff: Number((l0 >> 9n) & M54),
          brStartblock: Number(((l0 & 0x1ffn) << 43n) | (l1 >> 21n)),
          brBlockcount: Number(l1 & M21),
        };
      },
      encodeRec: (dv: DataView, off: number, r: XfsBmbtIrec): void => {
        const sb = BigInt(r.brStartblock) & M52;
        const l0 = (BigInt(r.brState === XFS_EXT_UNWRITTEN ? 1 : 0) << 63n) | ((BigInt(r.brStartoff) & M54) << 9n) | (sb >> 43n);
        const l1 = ((sb & ((1n << 43n) - 1n)) << 21n) | (BigInt(r.brBlockcount) & M21);
        dv.setBigUint64(off, l0);
        dv.setBigUint64(off + 8, l1);
      },
      decodeKey: (dv: DataView, off: number) => Number(dv.getBigUint64(off)),
      encodeKey: (dv: DataView, off: number, k: number) => dv.setBigUint64(off, BigInt(k)),
      keyFromRec: (r: XfsBmbtIrec) => r.brStartoff,
      highKeyFromRec: (r: XfsBmbtIrec) => r.brStartoff + r.brBlockcount - 1,
      cmpKeys: (a: number, b: number) => a - b,
    },
    small,
  );
}
