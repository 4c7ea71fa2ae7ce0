/**
 * The persistent per-AG btrees behind the interfaces the file layer's logic uses
 * (`XfsRmapBtree`, `XfsRefcountBtree`, `XfsSpace`), inside one transaction.
 *
 * @see fs/xfs/libxfs/xfs_rmap.c xfs_rmap_query_range(), xfs_rmap_insert(),
 *      xfs_rmap_delete(); fs/xfs/libxfs/xfs_refcount.c xfs_refcount_lookup_le(),
 *      xfs_refcount_lookup_ge(), xfs_refcount_insert(), xfs_refcount_update(),
 *      xfs_refcount_delete(); fs/xfs/libxfs/xfs_alloc.c xfs_alloc_vextent_start_ag(),
 *      xfs_free_extent()
 *
 * Every rmapbt change first runs `xfsAllocFixFreelist()`, because rmapbt blocks come from
 * the AGFL (the kernel fixes the free list before its deferred rmap updates).
 */
import { xfsFsbToAgbno, xfsFsbToAgno } from "../mount/xfs-mount.js";
import type { XfsFsblock } from "../iext/types.js";
import type { XfsAllocAttempt, XfsSpace } from "../bmap/space.js";
import type { XfsRefcountBtree } from "../refcount/refcount-btree.js";
import type { XfsAgblock, XfsAgnumber, XfsRefcDomain, XfsRefcountIrec } from "../refcount/types.js";
import { refcountDiskStartblock } from "../refcount/types.js";
import type { XfsRmapBtree } from "../rmap/rmap-btree.js";
import type { XfsRmapIrec } from "../rmap/types.js";
import { XFS_LOOKUP_EQ, XFS_LOOKUP_GE, XFS_LOOKUP_LE } from "../btree/xfs-btree.js";
import { xfsRmapRangeKeys } from "../btree/xfs-btree-records.js";
import type { XfsTrans } from "../trans/xfs-trans.js";
import { xfsBnobtCur, xfsRefcountbtCur, xfsRmapbtCur } from "./xfs-ag-btrees.js";
import { xfsAllocFixFreelist, xfsAllocLongestFreeExtent, xfsAllocVextent, xfsFreeExtent } from "./xfs-alloc.js";
import { KernelBug, isKernelError } from "@pagelab/mm-core";

/** The rmapbt of AG `agno` as an `XfsRmapBtree`. */
export function xfsRmapbtAdapter(tp: XfsTrans, agno: XfsAgnumber): XfsRmapBtree {
  return {
    queryRange(agbno: XfsAgblock, len: number): XfsRmapIrec[] {
      const out: XfsRmapIrec[] = [];
      if (len <= 0) return out;
      const { low, high } = xfsRmapRangeKeys(agbno, len);
      xfsRmapbtCur(tp, agno).queryRange(low, high, (r) => {
        out.push(r);
      });
      return out;
    },
    insert(irec: XfsRmapIrec): void {
      xfsAllocFixFreelist(tp, agno);
      xfsRmapbtCur(tp, agno).insert({ ...irec });
    },
    delete(irec: XfsRmapIrec): void {
      xfsAllocFixFreelist(tp, agno);
      xfsRmapbtCur(tp, agno).deleteKey({ ...irec, rmBlockcount: 0 });
    },
    records(): Iterable<XfsRmapIrec> {
      return xfsRmapbtCur(tp, agno).records();
    },
  };
}

function refcKey(domain: XfsRefcDomain, agbno: XfsAgblock): number {
  return refcountDiskStartblock({ rcStartblock: agbno, rcDomain: domain, rcBlockcount: 0, rcRefcount: 0 });
}

/** The refcountbt of AG `agno` as an `XfsRefcountBtree`. */
export function xfsRefcountbtAdapter(tp: XfsTrans, agno: XfsAgnumber): XfsRefcountBtree {
  const cur = () => xfsRefcountbtCur(tp, agno);
  return {
    lookupLe(domain, agbno) {
      const c = cur();
      if (!c.lookup(XFS_LOOKUP_LE, refcKey(domain, agbno))) return undefined;
      const r = c.get()!;
      return r.rcDomain === domain ? r : undefined;
    },
    lookupGe(domain, agbno) {
      const c = cur();
      if (!c.lookup(XFS_LOOKUP_GE, refcKey(domain, agbno))) return undefined;
      const r = c.get()!;
      return r.rcDomain === domain ? r : undefined;
    },
    insert(irec: XfsRefcountIrec) {
      cur().insert({ ...irec });
    },
    update(oldStart: XfsAgblock, irec: XfsRefcountIrec) {
      const c = cur();
      if (!c.lookup(XFS_LOOKUP_EQ, refcKey(irec.rcDomain, oldStart))) {
        throw new KernelBug(`refcountbt update: AG ${agno} has no record at ${oldStart}`);
      }
      c.update({ ...irec });
    },
    delete(domain, agbno) {
      cur().deleteKey(refcKey(domain, agbno));
    },
    records() {
      return cur().records();
    },
  };
}

/**
 * `xfs_bmap_btalloc_select_lengths()` + `xfs_bmap_select_minlen()`: a file allocation asks
 * for all of `maxlen` in one piece whenever some AG (from the target's on) still has a
 * free extent that long, else for the longest there is. So a write, or a CoW fork's
 * cowextsize-rounded preallocation, skips free extents too short for it even when they
 * lie nearer the target (the CoW of d3 in scenarios/dedupe_punch_truncate goes past the
 * 8-block hole at 208..271 to 288..).
 */
function xfsBmapSelectMinlen(tp: XfsTrans, startAg: XfsAgnumber, minlen: number, maxlen: number): number {
  const mp = tp.tMountp;
  let blen = 0;
  for (let i = 0; i < mp.agcount && blen < maxlen; i++) {
    blen = Math.max(blen, xfsAllocLongestFreeExtent(tp, (startAg + i) % mp.agcount));
  }
  if (blen < minlen) return minlen;
  return Math.min(blen, maxlen);
}

/**
 * `XfsSpace` for one transaction on a mounted file system: allocation near a hint
 * (startBno mode, no rmap: the caller maps), freeing without rmap, and the per-AG
 * persistent refcount and rmap btrees.
 */
export function xfsTransSpace(tp: XfsTrans): XfsSpace {
  const mp = tp.tMountp;
  return {
    geo: mp.geo,
    hasReflink: mp.hasReflink,
    hasRmapbt: mp.hasRmapbt,
    allocExtent(hint: XfsFsblock, minlen: number, maxlen: number) {
      const agno = Math.min(xfsFsbToAgno(mp, hint), mp.agcount - 1);
      const agbno = Math.min(xfsFsbToAgbno(mp, hint), mp.agSize(agno) - 1);
      const want = xfsBmapSelectMinlen(tp, agno, minlen, maxlen);
      try {
        const r = xfsAllocVextent(tp, { type: "startBno", agno, agbno, minlen: want, maxlen, oinfo: null });
        return { fsb: r.fsbno, len: r.len };
      } catch (e) {
        if (want === minlen || !isKernelError(e, "ENOSPC")) throw e;
      }
      // xfs_bmap_btalloc_low_space(): settle for the caller's minimum, from the first AG
      const r = xfsAllocVextent(tp, { type: "firstAg", agno: 0, minlen, maxlen, oinfo: null });
      return { fsb: r.fsbno, len: r.len };
    },
    tryAllocExtent(hint: XfsFsblock, minlen: number, maxlen: number, opts: XfsAllocAttempt) {
      const agno = Math.min(xfsFsbToAgno(mp, hint), mp.agcount - 1);
      const agbno = Math.min(xfsFsbToAgbno(mp, hint), mp.agSize(agno) - 1);
      try {
        const r = opts.exact === true
          ? xfsAllocVextent(tp, { type: "exact", agno, agbno, minlen, maxlen, oinfo: null })
          : xfsAllocVextent(tp, {
              type: "startBno",
              agno,
              agbno,
              minlen: xfsBmapSelectMinlen(tp, agno, minlen, maxlen),
              maxlen,
              alignment: opts.alignment ?? 1,
              oinfo: null,
            });
        return { fsb: r.fsbno, len: r.len };
      } catch (e) {
        if (isKernelError(e, "ENOSPC")) return undefined;
        throw e;
      }
    },
    freeExtent(fsb: XfsFsblock, len: number) {
      xfsFreeExtent(tp, fsb, len, null);
    },
    freeBlocks() {
      return tp.blocksAvailable;
    },
    freeExtents(agno: XfsAgnumber) {
      return xfsBnobtCur(tp, agno)
        .records()
        .map((r) => ({ bno: r.arStartblock, len: r.arBlockcount }));
    },
    refcountbt: (agno: XfsAgnumber) => xfsRefcountbtAdapter(tp, agno),
    rmapbt: (agno: XfsAgnumber) => xfsRmapbtAdapter(tp, agno),
  };
}
