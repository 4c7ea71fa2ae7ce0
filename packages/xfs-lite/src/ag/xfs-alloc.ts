/**
 * The extent allocator: free space kept in two btrees per AG (by block and by size) that
 * always agree, the AG free list, and the reverse mapping of what was allocated.
 *
 * @see fs/xfs/libxfs/xfs_alloc.c xfs_alloc_vextent_exact_bno(),
 *      xfs_alloc_vextent_near_bno(), xfs_alloc_vextent_this_ag(),
 *      xfs_alloc_vextent_start_ag(), xfs_alloc_vextent_first_ag(),
 *      xfs_alloc_ag_vextent_exact(), xfs_alloc_ag_vextent_near(),
 *      xfs_alloc_ag_vextent_size(), xfs_alloc_fixup_trees(), xfs_alloc_fix_freelist(),
 *      xfs_alloc_min_freelist(), xfs_alloc_space_available(), xfs_free_ag_extent(),
 *      xfs_free_extent(); fs/xfs/libxfs/xfs_rmap.c xfs_rmap_alloc(), xfs_rmap_free()
 *
 * Allocation modes: exact (at `agbno` or nothing), near (the free extent closest to
 * `agbno`, searching the by-block btree both ways), thisAg (by size: the smallest extent
 * of at least `maxlen`, else the largest of at least `minlen`), startBno (near in `agno`,
 * then by size in the other AGs) and firstAg (by size from AG 0). `alignment` aligns the
 * AG block number. An allocation never leaves an AG with fewer free blocks than its AGFL
 * may need (the kernel's set-aside), so the free list can always be refilled.
 * With rmapbt, the allocation is recorded for `oinfo` through the file layer's rmap logic
 * (`xfsRmapMap`); `oinfo: null` is XFS_RMAP_OINFO_SKIP_UPDATE (the caller maps it).
 * Every free extent a search looks at is first trimmed of busy extents (freed space
 * whose freeing is not yet durable, `xfs_alloc_compute_aligned()` → `xfs_extent_busy_trim()`);
 * only when that leaves nothing in the AG is the log forced and the search repeated
 * (`xfs_extent_busy_flush()`), and blocks this very transaction freed are reused only
 * after that.
 * Simplified: no per-AG reservations (xfs_ag_resv), no minleft/total, no cntbt-first
 * search for near allocations.
 */
import { KernelBug, KernelError } from "@pagelab/mm-core";
import { xfsAgbToFsb, xfsFsbToAgbno, xfsFsbToAgno } from "../mount/xfs-mount.js";
import type { XfsFsblock } from "../iext/types.js";
import type { XfsAgblock, XfsAgnumber } from "../refcount/types.js";
import { xfsRmapMap, xfsRmapUnmap } from "../rmap/rmap.js";
import { XFS_RMAP_OWN_AG, type XfsOwnerInfo } from "../rmap/types.js";
import { XFS_LOOKUP_EQ, XFS_LOOKUP_GE, XFS_LOOKUP_LE, type XfsBtreeCur } from "../btree/xfs-btree.js";
import { XFS_BTREE_MAXLEVELS } from "../btree/xfs-btree-format.js";
import type { XfsAllocRec } from "../btree/xfs-btree-records.js";
import type { XfsBusyExtent, XfsTrans } from "../trans/xfs-trans.js";
import { AGF } from "./xfs-format.js";
import { hdrAdd, hdrGet, hdrSet, xfsAllocGetFreelist, xfsAllocPutFreelist, xfsAllocReadAgf } from "./xfs-ag-headers.js";
import { xfsBnobtCur, xfsCntbtCur } from "./xfs-ag-btrees.js";
import { xfsRmapbtAdapter } from "./xfs-ag-adapters.js";

export type XfsAllocType = "exact" | "near" | "thisAg" | "startBno" | "firstAg";

/** `struct xfs_alloc_arg`, the part callers fill in. */
export interface XfsAllocArgs {
  type: XfsAllocType;
  agno: XfsAgnumber;
  /** Target (exact / near / startBno) AG block. */
  agbno?: XfsAgblock;
  minlen: number;
  maxlen: number;
  /** Align the start AG block to a multiple of this (default 1). */
  alignment?: number;
  /** Owner for the rmapbt; null skips the rmap update (the caller records it). */
  oinfo: XfsOwnerInfo | null;
}

export interface XfsAllocResult {
  agno: XfsAgnumber;
  agbno: XfsAgblock;
  len: number;
  fsbno: XfsFsblock;
}

export const XFS_RMAP_OINFO_AG: XfsOwnerInfo = { oiOwner: XFS_RMAP_OWN_AG, oiOffset: 0, oiFlags: 0 };

/**
 * `xfs_alloc_min_freelist()`: AGFL blocks for a split of every AGFL-fed btree (levels + 1
 * each). Test geometries with tiny blocks can split twice in one allocation, so they
 * keep twice as many.
 */
export function xfsAllocMinFreelist(tp: XfsTrans, agno: XfsAgnumber): number {
  const agf = xfsAllocReadAgf(tp, agno);
  const k = tp.tMountp.mBtreeSmall === undefined ? 1 : 2;
  const per = (levelOff: number): number => k * Math.min(hdrGet(agf, levelOff) + 1, XFS_BTREE_MAXLEVELS);
  return per(AGF.bnoLevel) + per(AGF.cntLevel) + (tp.tMountp.hasRmapbt ? per(AGF.rmapLevel) : 0);
}

/**
 * `xfs_alloc_longest_free_extent()`: the longest extent an allocation in AG `agno` can get,
 * after the free list has taken what it still lacks (from the longest extent, at worst)
 * and with the set-aside for later refills left free.
 */
export function xfsAllocLongestFreeExtent(tp: XfsTrans, agno: XfsAgnumber): number {
  const agf = xfsAllocReadAgf(tp, agno);
  const need = xfsAllocMinFreelist(tp, agno);
  const flcount = hdrGet(agf, AGF.flcount);
  const delta = need > flcount ? need - flcount : 0;
  const longest = hdrGet(agf, AGF.longest);
  const usable = hdrGet(agf, AGF.freeblks) - delta - need;
  if (longest > delta) return Math.max(0, Math.min(longest - delta, usable));
  return 0;
}

const fixing = new Set<string>();

/**
 * `xfs_alloc_fix_freelist()`: bring the AGFL to exactly the minimum, refilling from free
 * space (owned by XFS_RMAP_OWN_AG) or returning surplus blocks to it. Re-entry from the
 * rmap update of its own refill is a no-op.
 */
export function xfsAllocFixFreelist(tp: XfsTrans, agno: XfsAgnumber): void {
  const key = `${tp.tTid}/${agno}`;
  if (fixing.has(key)) return;
  fixing.add(key);
  try {
    const agf = xfsAllocReadAgf(tp, agno);
    // The target is computed once, as the kernel does: trimming or refilling can change
    // btree heights, and chasing the moving target could oscillate.
    const need = xfsAllocMinFreelist(tp, agno);
    for (let guard = 0; hdrGet(agf, AGF.flcount) > need && guard < 64; guard++) {
      const bno = xfsAllocGetFreelist(tp, agno);
      freeAgExtent(tp, agno, bno, 1, XFS_RMAP_OINFO_AG);
    }
    for (let guard = 0; hdrGet(agf, AGF.flcount) < need && guard < 64; guard++) {
      const want = need - hdrGet(agf, AGF.flcount);
      const got = allocAgBusy(tp, agno, { type: "thisAg", agno, minlen: 1, maxlen: want, oinfo: XFS_RMAP_OINFO_AG }, 0);
      if (got === undefined) return;
      for (let i = 0; i < got.len; i++) xfsAllocPutFreelist(tp, agno, got.agbno + i);
    }
  } finally {
    fixing.delete(key);
  }
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}
function alignDown(v: number, a: number): number {
  return Math.floor(v / a) * a;
}

interface Candidate {
  rec: XfsAllocRec;
  bno: number;
  len: number;
}

/**
 * How a search treats busy extents: `own` are the calling transaction's freed extents
 * (null: trim nothing, the last resort); `seen` records that trimming cut something.
 */
interface BusyCtx {
  own: readonly XfsBusyExtent[] | null;
  seen: boolean;
}

/** The part of free extent `rec` clear of busy extents, as a record (length 0: none). */
function trimBusy(tp: XfsTrans, agno: XfsAgnumber, rec: XfsAllocRec, minlen: number, maxlen: number, busy: BusyCtx): XfsAllocRec {
  if (busy.own === null) return rec;
  const t = tp.tMountp.mExtentBusy.trim(agno, rec.arStartblock, rec.arBlockcount, minlen, maxlen, busy.own);
  if (t.busy) busy.seen = true;
  return { arStartblock: t.bno, arBlockcount: t.len };
}

/**
 * Placement inside one free extent for a near allocation (`xfs_alloc_compute_diff()`): as
 * long as the usable length allows, at the target; an extent wholly below the target gives
 * its last blocks, one above it its first.
 */
function placeNear(rec: XfsAllocRec, usable: XfsAllocRec, target: number, minlen: number, maxlen: number, align: number): Candidate | undefined {
  const s = usable.arStartblock;
  const e = s + usable.arBlockcount;
  const lo = alignUp(s, align);
  if (lo + minlen > e) return undefined;
  const rlen = Math.min(maxlen, e - lo);
  let bno: number;
  if (lo >= target) bno = lo;
  else if (e >= target + rlen) {
    bno = alignUp(target, align);
    if (bno + rlen > e) bno = alignDown(e - rlen, align);
  } else bno = alignDown(e - rlen, align);
  const len = Math.min(rlen, e - bno);
  return len >= minlen ? { rec, bno, len } : undefined;
}

function searchExact(tp: XfsTrans, agno: XfsAgnumber, target: number, minlen: number, maxlen: number, busy: BusyCtx): Candidate | undefined {
  const bno = xfsBnobtCur(tp, agno);
  if (!bno.lookup(XFS_LOOKUP_LE, { arStartblock: target, arBlockcount: 0 })) return undefined;
  const rec = bno.get()!;
  if (rec.arStartblock + rec.arBlockcount < target + minlen) return undefined;
  const usable = trimBusy(tp, agno, rec, minlen, maxlen, busy);
  const end = usable.arStartblock + usable.arBlockcount;
  if (usable.arStartblock > target || end < target + minlen) return undefined;
  return { rec, bno: target, len: Math.min(maxlen, end - target) };
}

function searchNear(tp: XfsTrans, agno: XfsAgnumber, target: number, minlen: number, maxlen: number, align: number, busy: BusyCtx): Candidate | undefined {
  const left = xfsBnobtCur(tp, agno);
  const right = xfsBnobtCur(tp, agno);
  const key = { arStartblock: target, arBlockcount: 0 };
  let lok = left.lookup(XFS_LOOKUP_LE, key);
  let rok = right.lookup(XFS_LOOKUP_GE, key);
  if (lok && rok && left.get()!.arStartblock === right.get()!.arStartblock) rok = right.increment();
  let best: Candidate | undefined;
  let bestDist = Infinity;
  const consider = (c: Candidate | undefined): void => {
    if (c === undefined) return;
    const d = Math.abs(c.bno - target);
    if (d < bestDist || (d === bestDist && best !== undefined && c.len > best.len)) {
      best = c;
      bestDist = d;
    }
  };
  while (lok || rok) {
    if (lok) {
      const r = left.get()!;
      if (target - (r.arStartblock + r.arBlockcount) >= bestDist) lok = false;
      else {
        consider(placeNear(r, trimBusy(tp, agno, r, minlen, maxlen, busy), target, minlen, maxlen, align));
        lok = left.decrement();
      }
    }
    if (rok) {
      const r = right.get()!;
      if (r.arStartblock - target >= bestDist) rok = false;
      else {
        consider(placeNear(r, trimBusy(tp, agno, r, minlen, maxlen, busy), target, minlen, maxlen, align));
        rok = right.increment();
      }
    }
  }
  return best;
}

/** How many of the largest free extents a by-size search trims before settling. */
const SIZE_SEARCH_FALLBACK = 16;

function searchSize(tp: XfsTrans, agno: XfsAgnumber, minlen: number, maxlen: number, align: number, busy: BusyCtx): Candidate | undefined {
  const cnt = xfsCntbtCur(tp, agno);
  const fit = (r: XfsAllocRec): Candidate | undefined => {
    const u = trimBusy(tp, agno, r, minlen, maxlen, busy);
    const bno = alignUp(u.arStartblock, align);
    const len = Math.min(maxlen, u.arStartblock + u.arBlockcount - bno);
    return len >= minlen ? { rec: r, bno, len } : undefined;
  };
  // the smallest extent that holds maxlen once trimmed, else the longest trimmed piece
  // among the largest extents
  let best: Candidate | undefined;
  if (cnt.lookup(XFS_LOOKUP_GE, { arBlockcount: maxlen, arStartblock: 0 })) {
    do {
      const c = fit(cnt.get()!);
      if (c !== undefined && c.len >= maxlen) return c;
      if (c !== undefined && (best === undefined || c.len > best.len)) best = c;
    } while (cnt.increment());
  }
  if (best !== undefined) return best;
  const recs = cnt.records();
  for (let i = recs.length - 1; i >= Math.max(0, recs.length - SIZE_SEARCH_FALLBACK); i--) {
    const c = fit(recs[i]!);
    if (c !== undefined && (best === undefined || c.len > best.len)) best = c;
  }
  return best;
}

/** `xfs_alloc_fixup_trees()`: carve [bno, bno + len) out of free extent `rec` in both btrees. */
function fixupTrees(tp: XfsTrans, agno: XfsAgnumber, rec: XfsAllocRec, bno: number, len: number): void {
  const cnt = xfsCntbtCur(tp, agno);
  const bnoCur = xfsBnobtCur(tp, agno);
  if (!cnt.lookup(XFS_LOOKUP_EQ, rec)) throw new KernelBug(`xfs_alloc_fixup_trees: AG ${agno} cntbt lacks ${rec.arStartblock}+${rec.arBlockcount}`);
  cnt.delete();
  if (!bnoCur.lookup(XFS_LOOKUP_EQ, rec)) throw new KernelBug(`xfs_alloc_fixup_trees: AG ${agno} bnobt lacks ${rec.arStartblock}`);
  const rend = rec.arStartblock + rec.arBlockcount;
  const pieces: XfsAllocRec[] = [];
  if (bno > rec.arStartblock) pieces.push({ arStartblock: rec.arStartblock, arBlockcount: bno - rec.arStartblock });
  if (bno + len < rend) pieces.push({ arStartblock: bno + len, arBlockcount: rend - bno - len });
  if (pieces.length === 0) bnoCur.delete();
  else {
    bnoCur.update(pieces[0]!);
    if (pieces[1] !== undefined) bnoCur.insert(pieces[1]);
  }
  for (const p of pieces) cnt.insert(p);
}

function updateLongest(tp: XfsTrans, agno: XfsAgnumber): void {
  const agf = xfsAllocReadAgf(tp, agno);
  const longest = xfsCntbtCur(tp, agno).last()?.arBlockcount ?? 0;
  if (hdrGet(agf, AGF.longest) !== longest) hdrSet(tp, agf, AGF.longest, longest);
}

/**
 * One AG, busy extents avoided as long as possible: trimmed around; if that leaves
 * nothing, the log is forced (`xfs_extent_busy_flush()`) and the search repeated; only
 * then may blocks this transaction freed itself be reused.
 */
function allocAgBusy(tp: XfsTrans, agno: XfsAgnumber, args: XfsAllocArgs, reserve: number): { agbno: number; len: number } | undefined {
  const busy: BusyCtx = { own: tp.tBusy, seen: false };
  const got = allocAg(tp, agno, args, reserve, busy);
  if (got !== undefined || !busy.seen) return got;
  tp.tMountp.mExtentBusy.flush();
  busy.seen = false;
  const again = allocAg(tp, agno, args, reserve, busy);
  if (again !== undefined || !busy.seen) return again;
  return allocAg(tp, agno, args, reserve, { own: null, seen: false });
}

/** One AG, no free-list fixing; undefined when nothing fits. `reserve` blocks must stay free. */
function allocAg(tp: XfsTrans, agno: XfsAgnumber, args: XfsAllocArgs, reserve: number, busy: BusyCtx): { agbno: number; len: number } | undefined {
  const align = args.alignment ?? 1;
  const agf = xfsAllocReadAgf(tp, agno);
  const free = hdrGet(agf, AGF.freeblks);
  if (free < args.minlen + reserve) return undefined;
  const maxlen = Math.min(args.maxlen, free - reserve);
  let c: Candidate | undefined;
  if (args.type === "exact") c = searchExact(tp, agno, args.agbno ?? 0, args.minlen, maxlen, busy);
  else if (args.type === "near" || (args.type === "startBno" && agno === args.agno)) {
    c = searchNear(tp, agno, args.agbno ?? 0, args.minlen, maxlen, align, busy);
  } else c = searchSize(tp, agno, args.minlen, maxlen, align, busy);
  if (c === undefined || c.len < args.minlen) return undefined;
  fixupTrees(tp, agno, c.rec, c.bno, c.len);
  hdrAdd(tp, agf, AGF.freeblks, -c.len);
  updateLongest(tp, agno);
  tp.modSb("fdblocks", -c.len);
  if (args.oinfo !== null && tp.tMountp.hasRmapbt) xfsRmapMap({ agno, bt: xfsRmapbtAdapter(tp, agno) }, c.bno, c.len, args.oinfo);
  return { agbno: c.bno, len: c.len };
}

function tryAg(tp: XfsTrans, agno: XfsAgnumber, args: XfsAllocArgs): XfsAllocResult | undefined {
  xfsAllocFixFreelist(tp, agno);
  const got = allocAgBusy(tp, agno, args, xfsAllocMinFreelist(tp, agno));
  if (got === undefined) return undefined;
  return { agno, agbno: got.agbno, len: got.len, fsbno: xfsAgbToFsb(tp.tMountp, agno, got.agbno) };
}

/**
 * `xfs_alloc_vextent_*()`: allocate between `minlen` and `maxlen` contiguous blocks.
 * Throws ENOSPC when no AG the mode allows has room.
 */
export function xfsAllocVextent(tp: XfsTrans, args: XfsAllocArgs): XfsAllocResult {
  const mp = tp.tMountp;
  if (args.minlen < 1 || args.maxlen < args.minlen) throw new KernelBug(`xfs_alloc_vextent: bad lengths ${args.minlen}..${args.maxlen}`);
  if (args.agno < 0 || args.agno >= mp.agcount) throw new KernelBug(`xfs_alloc_vextent: AG ${args.agno}`);
  let order: XfsAgnumber[];
  if (args.type === "startBno") order = Array.from({ length: mp.agcount }, (_, i) => (args.agno + i) % mp.agcount);
  else if (args.type === "firstAg") order = Array.from({ length: mp.agcount }, (_, i) => i);
  else order = [args.agno];
  for (const agno of order) {
    const r = tryAg(tp, agno, args);
    if (r !== undefined) return r;
  }
  throw new KernelError("ENOSPC", `xfs_alloc_vextent: ${args.type} ${args.minlen}..${args.maxlen} blocks`);
}

/** `xfs_free_ag_extent()` without free-list fixing. */
function freeAgExtent(tp: XfsTrans, agno: XfsAgnumber, bno: XfsAgblock, len: number, oinfo: XfsOwnerInfo | null): void {
  const mp = tp.tMountp;
  if (len <= 0 || bno + len > mp.agSize(agno)) throw new KernelBug(`xfs_free_ag_extent: AG ${agno} ${bno}+${len}`);
  if (oinfo !== null && mp.hasRmapbt) xfsRmapUnmap({ agno, bt: xfsRmapbtAdapter(tp, agno) }, bno, len, oinfo);
  const bcur = xfsBnobtCur(tp, agno);
  const ccur = xfsCntbtCur(tp, agno);
  let left: XfsAllocRec | undefined;
  let right: XfsAllocRec | undefined;
  if (bcur.lookup(XFS_LOOKUP_LE, { arStartblock: bno, arBlockcount: 0 })) {
    left = bcur.get()!;
    if (left.arStartblock + left.arBlockcount > bno) {
      throw new KernelError("EUCLEAN", `xfs_free_ag_extent: AG ${agno} ${bno}+${len} overlaps free ${left.arStartblock}+${left.arBlockcount}`);
    }
    if (left.arStartblock + left.arBlockcount !== bno) left = undefined;
  }
  if (bcur.lookup(XFS_LOOKUP_GE, { arStartblock: bno, arBlockcount: 0 })) {
    right = bcur.get()!;
    if (right.arStartblock < bno + len) {
      throw new KernelError("EUCLEAN", `xfs_free_ag_extent: AG ${agno} ${bno}+${len} overlaps free ${right.arStartblock}+${right.arBlockcount}`);
    }
    if (right.arStartblock !== bno + len) right = undefined;
  }
  let nbno = bno;
  let nlen = len;
  if (left !== undefined) {
    ccur.lookup(XFS_LOOKUP_EQ, left);
    ccur.delete();
    nbno = left.arStartblock;
    nlen += left.arBlockcount;
  }
  if (right !== undefined) {
    ccur.lookup(XFS_LOOKUP_EQ, right);
    ccur.delete();
    nlen += right.arBlockcount;
  }
  const merged = { arStartblock: nbno, arBlockcount: nlen };
  if (left !== undefined) {
    if (right !== undefined) {
      bcur.lookup(XFS_LOOKUP_EQ, right);
      bcur.delete();
    }
    bcur.lookup(XFS_LOOKUP_EQ, left);
    bcur.update(merged);
  } else if (right !== undefined) {
    bcur.lookup(XFS_LOOKUP_EQ, right);
    bcur.update(merged);
  } else bcur.insert(merged);
  ccur.insert(merged);
  const agf = xfsAllocReadAgf(tp, agno);
  hdrAdd(tp, agf, AGF.freeblks, len);
  updateLongest(tp, agno);
  tp.modSb("fdblocks", len);
  tp.busyExtent(agno, bno, len);
}

/** `xfs_free_ag_extent()` with `xfs_alloc_fix_freelist()`: free AG blocks and drop their rmap. */
export function xfsFreeAgExtentRmap(tp: XfsTrans, agno: XfsAgnumber, agbno: XfsAgblock, len: number, oinfo: XfsOwnerInfo | null): void {
  xfsAllocFixFreelist(tp, agno);
  freeAgExtent(tp, agno, agbno, len, oinfo);
}

/** `xfs_free_extent()`: free [fsbno, fsbno + len) (one AG) owned by `oinfo` (null: no rmap update). */
export function xfsFreeExtent(tp: XfsTrans, fsbno: XfsFsblock, len: number, oinfo: XfsOwnerInfo | null): void {
  const mp = tp.tMountp;
  const agno = xfsFsbToAgno(mp, fsbno);
  const agbno = xfsFsbToAgbno(mp, fsbno);
  if (agno >= mp.agcount || agbno + len > mp.agSize(agno)) throw new KernelBug(`xfs_free_extent: ${fsbno}+${len} outside the file system`);
  xfsFreeAgExtentRmap(tp, agno, agbno, len, oinfo);
}

/** Free blocks of AG `agno` per its AGF, and the by-block and by-size btrees for checking. */
export function xfsAllocAgFreeSpace(tp: XfsTrans, agno: XfsAgnumber): { freeblks: number; longest: number; bno: XfsAllocRec[]; cnt: XfsAllocRec[] } {
  const agf = xfsAllocReadAgf(tp, agno);
  const bno: XfsBtreeCur<XfsAllocRec, XfsAllocRec> = xfsBnobtCur(tp, agno);
  return {
    freeblks: hdrGet(agf, AGF.freeblks),
    longest: hdrGet(agf, AGF.longest),
    bno: bno.records(),
    cnt: xfsCntbtCur(tp, agno).records(),
  };
}
