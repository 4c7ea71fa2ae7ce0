/**
 * Inode allocation on disk: inode numbers, inode chunks and the inode btree.
 *
 * @see fs/xfs/libxfs/xfs_ialloc.c xfs_dialloc(), xfs_ialloc_ag_alloc(),
 *      xfs_dialloc_ag_inobt(), xfs_difree(), xfs_difree_inobt(), xfs_imap();
 *      fs/xfs/libxfs/xfs_format.h XFS_INO_TO_AGNO(), XFS_AGINO_TO_AGBNO(),
 *      XFS_INODES_PER_CHUNK
 *
 * A chunk is 64 inodes of 512 bytes in 8 aligned blocks owned by XFS_RMAP_OWN_INODES;
 * its inobt record's free mask tracks which are in use. Simplified: chunks are searched
 * from AG 0 on, never freed, and there is no free-inode btree (finobt).
 */
import { KernelError } from "@pagelab/mm-core";
import { daddr, type Daddr } from "../blockdev.js";
import { xfsInobtCur } from "../ag/xfs-ag-btrees.js";
import { hdrAdd, xfsIallocReadAgi } from "../ag/xfs-ag-headers.js";
import { AGI } from "../ag/xfs-format.js";
import { xfsAllocVextent } from "../ag/xfs-alloc.js";
import { XFS_LOOKUP_EQ, XFS_LOOKUP_LE } from "../btree/xfs-btree.js";
import { XFS_INODES_PER_CHUNK, type XfsInobtRec } from "../btree/xfs-btree-records.js";
import { xfsAgbToDaddr, type XfsMount } from "../mount/xfs-mount.js";
import { XFS_RMAP_OWN_INODES } from "../rmap/types.js";
import type { XfsTrans } from "../trans/xfs-trans.js";
import { XFS_DINODE_FMT_EXTENTS, XFS_DINODE_SIZE, XFS_INOPBLOG, xfsDinodeWriteCore, xfsInodeBufOps } from "./dinode.js";

const CHUNK_BLOCKS = XFS_INODES_PER_CHUNK >> XFS_INOPBLOG;
const ALL_FREE = (1n << 64n) - 1n;

/** `XFS_INO_TO_AGNO()` / `XFS_INO_TO_AGINO()`. */
export function xfsInoSplit(mp: XfsMount, ino: number): { agno: number; agino: number } {
  const per = 2 ** (mp.agblklog + XFS_INOPBLOG);
  return { agno: Math.floor(ino / per), agino: ino % per };
}

export function xfsAginoToIno(mp: XfsMount, agno: number, agino: number): number {
  return agno * 2 ** (mp.agblklog + XFS_INOPBLOG) + agino;
}

/** `xfs_imap()`: the 512-byte sector holding inode `ino`. */
export function xfsImap(mp: XfsMount, ino: number): Daddr {
  const { agno, agino } = xfsInoSplit(mp, ino);
  return daddr(xfsAgbToDaddr(mp, agno, agino >> XFS_INOPBLOG) + (agino & ((1 << XFS_INOPBLOG) - 1)));
}

/** `xfs_ialloc_ag_alloc()`: a new chunk of free inodes in `agno`, or false without space. */
function xfsIallocAgAlloc(tp: XfsTrans, agno: number): boolean {
  const mp = tp.tMountp;
  // a stripe-aligned chunk first (ialloc_align), then one merely chunk-aligned
  const aligns = mp.iallocAlign > 0 ? [mp.iallocAlign, CHUNK_BLOCKS] : [CHUNK_BLOCKS];
  let got;
  for (const alignment of aligns) {
    try {
      got = xfsAllocVextent(tp, {
        type: "near",
        agno,
        agbno: 0,
        minlen: CHUNK_BLOCKS,
        maxlen: CHUNK_BLOCKS,
        alignment,
        oinfo: { oiOwner: XFS_RMAP_OWN_INODES, oiOffset: 0, oiFlags: 0 },
      });
      break;
    } catch (e) {
      if (!(e instanceof KernelError && e.code === "ENOSPC")) throw e;
    }
  }
  if (got === undefined) return false;
  const startino = got.agbno << XFS_INOPBLOG;
  // xfs_ialloc_inode_init(): every inode of the chunk gets a valid, free core
  for (let i = 0; i < XFS_INODES_PER_CHUNK; i++) {
    const ino = xfsAginoToIno(mp, agno, startino + i);
    const bp = tp.getBuf(xfsImap(mp, ino), 1, xfsInodeBufOps);
    bp.bAddr.fill(0, 0, XFS_DINODE_SIZE);
    xfsDinodeWriteCore(bp.bAddr, {
      mode: 0, format: XFS_DINODE_FMT_EXTENTS, nlink: 0, size: 0, nblocks: 0, nextents: 0, diflags: 0, diflags2: 0, cowextsize: 0, gen: 0, ino,
    });
    tp.logBuf(bp, 0, XFS_DINODE_SIZE - 1);
  }
  xfsInobtCur(tp, agno).insert({ irStartino: startino, irHolemask: 0, irCount: XFS_INODES_PER_CHUNK, irFreecount: XFS_INODES_PER_CHUNK, irFree: ALL_FREE });
  const agi = xfsIallocReadAgi(tp, agno);
  hdrAdd(tp, agi, AGI.count, XFS_INODES_PER_CHUNK);
  hdrAdd(tp, agi, AGI.freecount, XFS_INODES_PER_CHUNK);
  tp.modSb("icount", XFS_INODES_PER_CHUNK);
  tp.modSb("ifree", XFS_INODES_PER_CHUNK);
  return true;
}

function firstFree(rec: XfsInobtRec): number {
  for (let i = 0; i < XFS_INODES_PER_CHUNK; i++) if ((rec.irFree >> BigInt(i)) & 1n) return i;
  return -1;
}

/** `xfs_dialloc()`: a free inode number, taking a new chunk when none is free. */
export function xfsDialloc(tp: XfsTrans): number {
  const mp = tp.tMountp;
  for (let pass = 0; pass < 2; pass++) {
    for (let agno = 0; agno < mp.agcount; agno++) {
      const cur = xfsInobtCur(tp, agno);
      const rec = cur.records().find((r) => r.irFreecount > 0);
      if (rec === undefined) {
        if (pass === 1 && xfsIallocAgAlloc(tp, agno)) return xfsDialloc(tp);
        continue;
      }
      const i = firstFree(rec);
      cur.lookup(XFS_LOOKUP_EQ, rec.irStartino);
      cur.update({ ...rec, irFree: rec.irFree & ~(1n << BigInt(i)), irFreecount: rec.irFreecount - 1 });
      hdrAdd(tp, xfsIallocReadAgi(tp, agno), AGI.freecount, -1);
      tp.modSb("ifree", -1);
      return xfsAginoToIno(mp, agno, rec.irStartino + i);
    }
  }
  throw new KernelError("ENOSPC", "no inodes");
}

/** `xfs_difree()`: mark inode `ino` free in its chunk's inobt record. */
export function xfsDifree(tp: XfsTrans, ino: number): void {
  const mp = tp.tMountp;
  const { agno, agino } = xfsInoSplit(mp, ino);
  const cur = xfsInobtCur(tp, agno);
  if (!cur.lookup(XFS_LOOKUP_LE, agino)) throw new KernelError("EUCLEAN", `xfs_difree: no chunk for inode ${ino}`);
  const rec = cur.get()!;
  const i = agino - rec.irStartino;
  if (i >= XFS_INODES_PER_CHUNK || (rec.irFree >> BigInt(i)) & 1n) {
    throw new KernelError("EUCLEAN", `xfs_difree: inode ${ino} is not allocated`);
  }
  cur.update({ ...rec, irFree: rec.irFree | (1n << BigInt(i)), irFreecount: rec.irFreecount + 1 });
  hdrAdd(tp, xfsIallocReadAgi(tp, agno), AGI.freecount, 1);
  tp.modSb("ifree", 1);
}

/** Every allocated inode number (an inobt walk, for mount-time recovery and the checker). */
export function xfsAllocatedInodes(tp: XfsTrans): number[] {
  const mp = tp.tMountp;
  const out: number[] = [];
  for (let agno = 0; agno < mp.agcount; agno++) {
    for (const rec of xfsInobtCur(tp, agno).records()) {
      for (let i = 0; i < XFS_INODES_PER_CHUNK; i++) {
        if (!((rec.irFree >> BigInt(i)) & 1n)) out.push(xfsAginoToIno(mp, agno, rec.irStartino + i));
      }
    }
  }
  return out;
}
