/**
 * Cursors on the per-AG btrees, with their roots where XFS keeps them and their blocks
 * from where XFS takes them.
 *
 * @see fs/xfs/libxfs/xfs_alloc_btree.c xfs_allocbt_init_cursor(), xfs_allocbt_alloc_block()
 *      (from the AGFL), xfs_allocbt_set_root() (agf_bno_root/agf_cnt_root);
 *      fs/xfs/libxfs/xfs_rmap_btree.c xfs_rmapbt_init_cursor(), xfs_rmapbt_alloc_block()
 *      (AGFL; agf_rmap_blocks); fs/xfs/libxfs/xfs_refcount_btree.c
 *      xfs_refcountbt_alloc_block() (allocator, XFS_RMAP_OINFO_REFC; agf_refcount_root);
 *      fs/xfs/libxfs/xfs_ialloc_btree.c xfs_inobt_alloc_block() (allocator,
 *      XFS_RMAP_OINFO_INOBT; agi_root)
 *
 * Blocks of the free-space and rmap btrees come from and return to the AGFL (they stay
 * owned by XFS_RMAP_OWN_AG); refcount and inode btree blocks come from the allocator and
 * carry their own rmap owners. Free-space btree block counts go to agf_btreeblks.
 * A mount's `mBtreeSmall` (a mkfs/mount option) shrinks blocks for tests.
 */
import { xfsAgbToDaddr } from "../mount/xfs-mount.js";
import type { XfsAgnumber } from "../refcount/types.js";
import { XFS_RMAP_OWN_INOBT, XFS_RMAP_OWN_REFC } from "../rmap/types.js";
import type { XfsTrans } from "../trans/xfs-trans.js";
import { XfsBtreeCur, type XfsBtreeOps, type XfsBtreeRoot } from "../btree/xfs-btree.js";
import {
  xfsBnobtOps,
  xfsCntbtOps,
  xfsInobtOps,
  xfsRefcountbtOps,
  xfsRmapbtOps,
  type XfsAllocRec,
  type XfsInobtRec,
  type XfsRmapKey,
} from "../btree/xfs-btree-records.js";
import type { XfsRefcountIrec } from "../refcount/types.js";
import type { XfsRmapIrec } from "../rmap/types.js";
import { AGF, AGI } from "./xfs-format.js";
import { hdrAdd, hdrGet, hdrSet, xfsAllocGetFreelist, xfsAllocPutFreelist, xfsAllocReadAgf, xfsIallocReadAgi } from "./xfs-ag-headers.js";
import { xfsAllocFixFreelist, xfsAllocVextent, xfsFreeAgExtentRmap } from "./xfs-alloc.js";

/** Small-block geometry per btree type for tests (`maxRecsOverride`). */
export interface XfsBtreeSmallGeometry {
  leaf: number;
  node: number;
}

function agfRoot(tp: XfsTrans, agno: XfsAgnumber, rootOff: number, levelOff: number, rmap: boolean): XfsBtreeRoot {
  const mp = tp.tMountp;
  return {
    owner: agno,
    uuid: mp.mSb.sbUuid,
    getRoot: () => {
      const agf = xfsAllocReadAgf(tp, agno);
      return { ptr: hdrGet(agf, rootOff), levels: hdrGet(agf, levelOff) };
    },
    setRoot: (ptr, levels) => {
      const agf = xfsAllocReadAgf(tp, agno);
      hdrSet(tp, agf, rootOff, ptr);
      hdrSet(tp, agf, levelOff, levels);
    },
    allocBlock: () => {
      const bno = xfsAllocGetFreelist(tp, agno);
      const agf = xfsAllocReadAgf(tp, agno);
      hdrAdd(tp, agf, AGF.btreeblks, 1);
      if (rmap) hdrAdd(tp, agf, AGF.rmapBlocks, 1);
      return bno;
    },
    freeBlock: (ptr) => {
      xfsAllocPutFreelist(tp, agno, ptr);
      const agf = xfsAllocReadAgf(tp, agno);
      hdrAdd(tp, agf, AGF.btreeblks, -1);
      if (rmap) hdrAdd(tp, agf, AGF.rmapBlocks, -1);
    },
    ptrToDaddr: (ptr) => xfsAgbToDaddr(mp, agno, ptr),
  };
}

function allocatedRoot(
  tp: XfsTrans,
  agno: XfsAgnumber,
  get: () => { ptr: number; levels: number },
  set: (ptr: number, levels: number) => void,
  owner: number,
  count: (delta: number) => void,
): XfsBtreeRoot {
  const mp = tp.tMountp;
  const oinfo = { oiOwner: owner, oiOffset: 0, oiFlags: 0 };
  return {
    owner: agno,
    uuid: mp.mSb.sbUuid,
    getRoot: get,
    setRoot: set,
    allocBlock: (hint) => {
      const r = xfsAllocVextent(tp, { type: "near", agno, agbno: hint < 0 ? 0 : hint, minlen: 1, maxlen: 1, oinfo });
      count(1);
      return r.agbno;
    },
    freeBlock: (ptr) => {
      xfsFreeAgExtentRmap(tp, agno, ptr, 1, oinfo);
      count(-1);
    },
    ptrToDaddr: (ptr) => xfsAgbToDaddr(mp, agno, ptr),
  };
}

const opsCache = new Map<unknown, Map<string, unknown>>();

/** One ops object per btree type and geometry (cursors are made per operation). */
function ops<R, K>(tp: XfsTrans, make: (small?: XfsBtreeSmallGeometry) => XfsBtreeOps<R, K>): XfsBtreeOps<R, K> {
  const small = tp.tMountp.mBtreeSmall;
  const key = small === undefined ? "" : `${small.leaf}/${small.node}`;
  let byGeo = opsCache.get(make);
  if (byGeo === undefined) opsCache.set(make, (byGeo = new Map()));
  let o = byGeo.get(key) as XfsBtreeOps<R, K> | undefined;
  if (o === undefined) byGeo.set(key, (o = make(small)));
  return o;
}

/** By-block free space btree of AG `agno` (`xfs_bnobt_init_cursor()`). */
export function xfsBnobtCur(tp: XfsTrans, agno: XfsAgnumber): XfsBtreeCur<XfsAllocRec, XfsAllocRec> {
  return new XfsBtreeCur(tp, ops(tp, xfsBnobtOps), agfRoot(tp, agno, AGF.bnoRoot, AGF.bnoLevel, false));
}

/** By-size free space btree of AG `agno` (`xfs_cntbt_init_cursor()`). */
export function xfsCntbtCur(tp: XfsTrans, agno: XfsAgnumber): XfsBtreeCur<XfsAllocRec, XfsAllocRec> {
  return new XfsBtreeCur(tp, ops(tp, xfsCntbtOps), agfRoot(tp, agno, AGF.cntRoot, AGF.cntLevel, false));
}

/**
 * Reverse-mapping btree of AG `agno` (`xfs_rmapbt_init_cursor()`). Raw cursor: callers
 * that insert or delete must run `xfsAllocFixFreelist()` first (the adapter does).
 */
export function xfsRmapbtCur(tp: XfsTrans, agno: XfsAgnumber): XfsBtreeCur<XfsRmapIrec, XfsRmapKey> {
  return new XfsBtreeCur(tp, ops(tp, xfsRmapbtOps), agfRoot(tp, agno, AGF.rmapRoot, AGF.rmapLevel, true));
}

/** Refcount btree of AG `agno` (`xfs_refcountbt_init_cursor()`). */
export function xfsRefcountbtCur(tp: XfsTrans, agno: XfsAgnumber): XfsBtreeCur<XfsRefcountIrec, number> {
  const root = allocatedRoot(
    tp,
    agno,
    () => {
      const agf = xfsAllocReadAgf(tp, agno);
      return { ptr: hdrGet(agf, AGF.refcountRoot), levels: hdrGet(agf, AGF.refcountLevel) };
    },
    (ptr, levels) => {
      const agf = xfsAllocReadAgf(tp, agno);
      hdrSet(tp, agf, AGF.refcountRoot, ptr);
      hdrSet(tp, agf, AGF.refcountLevel, levels);
    },
    XFS_RMAP_OWN_REFC,
    (d) => hdrAdd(tp, xfsAllocReadAgf(tp, agno), AGF.refcountBlocks, d),
  );
  return new XfsBtreeCur(tp, ops(tp, xfsRefcountbtOps), root);
}

/** Inode btree of AG `agno` (`xfs_inobt_init_cursor()`). */
export function xfsInobtCur(tp: XfsTrans, agno: XfsAgnumber): XfsBtreeCur<XfsInobtRec, number> {
  const root = allocatedRoot(
    tp,
    agno,
    () => {
      const agi = xfsIallocReadAgi(tp, agno);
      return { ptr: hdrGet(agi, AGI.root), levels: hdrGet(agi, AGI.level) };
    },
    (ptr, levels) => {
      const agi = xfsIallocReadAgi(tp, agno);
      hdrSet(tp, agi, AGI.root, ptr);
      hdrSet(tp, agi, AGI.level, levels);
    },
    XFS_RMAP_OWN_INOBT,
    (d) => hdrAdd(tp, xfsIallocReadAgi(tp, agno), AGI.iblocks, d),
  );
  return new XfsBtreeCur(tp, ops(tp, xfsInobtOps), root);
}

export { xfsAllocFixFreelist };
