/**
 * Reading and logging the AG headers inside a transaction, and the AG free list (AGFL).
 *
 * @see fs/xfs/libxfs/xfs_alloc.c xfs_alloc_read_agf(), xfs_alloc_log_agf(),
 *      xfs_alloc_get_freelist(), xfs_alloc_put_freelist(), xfs_alloc_read_agfl();
 *      fs/xfs/libxfs/xfs_ialloc.c xfs_ialloc_read_agi(), xfs_ialloc_log_agi();
 *      fs/xfs/libxfs/xfs_sb.c xfs_log_sb()
 *
 * Header fields are read and written in the buffer itself (no in-core perag copies), so
 * a cancelled transaction leaves nothing stale behind.
 */
import { KernelBug } from "@pagelab/mm-core";
import type { XfsBuf } from "../buf/xfs-buf.js";
import { xfsAgDaddr, type XfsMount } from "../mount/xfs-mount.js";
import type { XfsAgblock, XfsAgnumber } from "../refcount/types.js";
import type { XfsTrans } from "../trans/xfs-trans.js";
import {
  AGF,
  AGFL,
  XFS_AGFL_DADDR,
  XFS_AGFL_SIZE,
  XFS_AGF_DADDR,
  XFS_AGI_DADDR,
  XFS_HDR_BBS,
  XFS_SB_DADDR,
  xfsAgfBufOps,
  xfsAgflBufOps,
  xfsAgiBufOps,
  xfsSbBufOps,
  xfsSbToDisk,
} from "./xfs-format.js";

/** `xfs_alloc_read_agf()`. */
export function xfsAllocReadAgf(tp: XfsTrans, agno: XfsAgnumber): XfsBuf {
  return tp.readBuf(xfsAgDaddr(tp.tMountp, agno, XFS_AGF_DADDR), XFS_HDR_BBS, xfsAgfBufOps);
}

/** `xfs_ialloc_read_agi()`. */
export function xfsIallocReadAgi(tp: XfsTrans, agno: XfsAgnumber): XfsBuf {
  return tp.readBuf(xfsAgDaddr(tp.tMountp, agno, XFS_AGI_DADDR), XFS_HDR_BBS, xfsAgiBufOps);
}

/** `xfs_alloc_read_agfl()`. */
export function xfsAllocReadAgfl(tp: XfsTrans, agno: XfsAgnumber): XfsBuf {
  return tp.readBuf(xfsAgDaddr(tp.tMountp, agno, XFS_AGFL_DADDR), XFS_HDR_BBS, xfsAgflBufOps);
}

/** A 32-bit header field. */
export function hdrGet(bp: XfsBuf, off: number): number {
  return bp.view.getUint32(off);
}

/** Set a 32-bit header field and log it (`xfs_alloc_log_agf()` / `xfs_ialloc_log_agi()`). */
export function hdrSet(tp: XfsTrans, bp: XfsBuf, off: number, v: number): void {
  bp.view.setUint32(off, v);
  tp.logBuf(bp, off, off + 3);
}

/** Add `delta` to a 32-bit header field and log it. */
export function hdrAdd(tp: XfsTrans, bp: XfsBuf, off: number, delta: number): void {
  const v = hdrGet(bp, off) + delta;
  if (v < 0 || v > 0xffffffff) throw new KernelBug(`AG header field at ${off} would become ${v}`);
  hdrSet(tp, bp, off, v);
}

/** `xfs_alloc_get_freelist()`: take a block off the AGFL (for a free-space or rmap btree). */
export function xfsAllocGetFreelist(tp: XfsTrans, agno: XfsAgnumber): XfsAgblock {
  const agf = xfsAllocReadAgf(tp, agno);
  const count = hdrGet(agf, AGF.flcount);
  if (count === 0) throw new KernelBug(`xfs_alloc_get_freelist: AG ${agno} free list empty`);
  const agfl = xfsAllocReadAgfl(tp, agno);
  const first = hdrGet(agf, AGF.flfirst);
  const bno = agfl.view.getUint32(AGFL.bno + first * 4);
  hdrSet(tp, agf, AGF.flfirst, (first + 1) % XFS_AGFL_SIZE);
  hdrSet(tp, agf, AGF.flcount, count - 1);
  return bno;
}

/** `xfs_alloc_put_freelist()`: give a block back to the AGFL. */
export function xfsAllocPutFreelist(tp: XfsTrans, agno: XfsAgnumber, bno: XfsAgblock): void {
  const agf = xfsAllocReadAgf(tp, agno);
  const count = hdrGet(agf, AGF.flcount);
  if (count >= XFS_AGFL_SIZE) throw new KernelBug(`xfs_alloc_put_freelist: AG ${agno} free list full`);
  const agfl = xfsAllocReadAgfl(tp, agno);
  const last = (hdrGet(agf, AGF.fllast) + 1) % XFS_AGFL_SIZE;
  agfl.view.setUint32(AGFL.bno + last * 4, bno);
  tp.logBuf(agfl, AGFL.bno + last * 4, AGFL.bno + last * 4 + 3);
  hdrSet(tp, agf, AGF.fllast, last);
  hdrSet(tp, agf, AGF.flcount, count + 1);
}

/** The blocks on the AGFL, first to last. */
export function xfsAgflBlocks(tp: XfsTrans, agno: XfsAgnumber): XfsAgblock[] {
  const agf = xfsAllocReadAgf(tp, agno);
  const agfl = xfsAllocReadAgfl(tp, agno);
  const out: XfsAgblock[] = [];
  const first = hdrGet(agf, AGF.flfirst);
  for (let i = 0; i < hdrGet(agf, AGF.flcount); i++) out.push(agfl.view.getUint32(AGFL.bno + ((first + i) % XFS_AGFL_SIZE) * 4));
  return out;
}

/**
 * `xfs_log_sb()`: copy the in-core superblock (with the live counters) into the primary
 * superblock buffer and log it.
 */
export function xfsLogSb(tp: XfsTrans): void {
  const mp: XfsMount = tp.tMountp;
  const bp = tp.readBuf(xfsAgDaddr(mp, 0, XFS_SB_DADDR), XFS_HDR_BBS, xfsSbBufOps);
  mp.mSb.sbFdblocks = mp.mFdblocks;
  mp.mSb.sbIcount = mp.mIcount;
  mp.mSb.sbIfree = mp.mIfree;
  xfsSbToDisk(bp.bAddr, mp.mSb);
  tp.logBuf(bp, 0, 263);
}
