/**
 * Reference counts of shared extents and CoW staging extents in one allocation group.
 *
 * @see fs/xfs/libxfs/xfs_refcount.c xfs_refcount_adjust(), xfs_refcount_split_extent(),
 *      xfs_refcount_merge_extents(), xfs_refcount_adjust_extents(),
 *      xfs_refcount_adjust_cow(), xfs_refcount_find_shared(),
 *      xfs_refcount_recover_cow_leftovers()
 *
 * Rules kept from the kernel: only blocks with more than one owner have a record in the
 * shared domain (an absent record means "one owner"); a record whose count falls to 1 is
 * deleted and blocks whose count falls to 0 are freed; CoW staging extents are count-1
 * records in the CoW domain; records are split at the edges of an adjusted range and
 * neighbours with equal counts are merged back (up to MAXREFCEXTLEN); a count that reached
 * MAXREFCOUNT stays pinned there.
 * Simplified: the adjustment runs immediately rather than as a deferred intent item, and
 * merging happens after the adjustment rather than before it (the records end up the same).
 */
import { KernelBug } from "@pagelab/mm-core";
import type { XfsRefcountBtree } from "./refcount-btree.js";
import {
  MAXREFCEXTLEN,
  MAXREFCOUNT,
  XFS_REFC_DOMAIN_COW,
  XFS_REFC_DOMAIN_SHARED,
  type XfsAgblock,
  type XfsAgnumber,
  type XfsRefcDomain,
  type XfsRefcountIrec,
} from "./types.js";

/** What the refcount code needs for one AG inside one transaction. */
export interface XfsRefcountCtx {
  readonly agno: XfsAgnumber;
  readonly bt: XfsRefcountBtree;
  /** `xfs_free_extent_later()`: blocks whose last owner went away. */
  freeExtent(agbno: XfsAgblock, len: number): void;
}

function end(r: XfsRefcountIrec): XfsAgblock {
  return r.rcStartblock + r.rcBlockcount;
}

function corrupt(ctx: XfsRefcountCtx, what: string): never {
  throw new KernelBug(`xfs_refcount: AG ${ctx.agno}: ${what}`);
}

/** `xfs_refcount_split_extent()`: make `agbno` a record boundary. */
function splitExtent(ctx: XfsRefcountCtx, domain: XfsRefcDomain, agbno: XfsAgblock): void {
  const r = ctx.bt.lookupLe(domain, agbno);
  if (r === undefined || r.rcStartblock === agbno || end(r) <= agbno) return;
  ctx.bt.update(r.rcStartblock, { ...r, rcBlockcount: agbno - r.rcStartblock });
  ctx.bt.insert({ ...r, rcStartblock: agbno, rcBlockcount: end(r) - agbno });
}

/** Merge the records meeting at `agbno` when their counts agree. */
function mergeAt(ctx: XfsRefcountCtx, domain: XfsRefcDomain, agbno: XfsAgblock): void {
  if (agbno <= 0) return;
  const left = ctx.bt.lookupLe(domain, agbno - 1);
  if (left === undefined || end(left) !== agbno) return;
  const right = ctx.bt.lookupGe(domain, agbno);
  if (right === undefined || right.rcStartblock !== agbno) return;
  if (left.rcRefcount !== right.rcRefcount) return;
  if (left.rcBlockcount + right.rcBlockcount > MAXREFCEXTLEN) return;
  ctx.bt.delete(domain, right.rcStartblock);
  ctx.bt.update(left.rcStartblock, { ...left, rcBlockcount: left.rcBlockcount + right.rcBlockcount });
}

/**
 * `xfs_refcount_adjust()`: add `adj` (+1 or -1) to the count of every block in
 * [agbno, agbno + aglen) of the shared domain.
 */
export function xfsRefcountAdjust(ctx: XfsRefcountCtx, agbno: XfsAgblock, aglen: number, adj: 1 | -1): void {
  if (aglen <= 0) return;
  const stop = agbno + aglen;
  splitExtent(ctx, XFS_REFC_DOMAIN_SHARED, agbno);
  splitExtent(ctx, XFS_REFC_DOMAIN_SHARED, stop);
  let pos = agbno;
  while (pos < stop) {
    const r = ctx.bt.lookupGe(XFS_REFC_DOMAIN_SHARED, pos);
    const inRange = r !== undefined && r.rcStartblock < stop;
    const gapEnd = inRange ? r.rcStartblock : stop;
    if (gapEnd > pos) {
      // blocks without a record have exactly one owner
      if (adj > 0) {
        ctx.bt.insert({ rcStartblock: pos, rcBlockcount: gapEnd - pos, rcRefcount: 2, rcDomain: XFS_REFC_DOMAIN_SHARED });
      } else {
        ctx.freeExtent(pos, gapEnd - pos);
      }
      pos = gapEnd;
    }
    if (!inRange) continue;
    if (end(r) > stop) corrupt(ctx, `record ${r.rcStartblock}+${r.rcBlockcount} crosses split point ${stop}`);
    if (r.rcRefcount < 2) corrupt(ctx, `shared record ${r.rcStartblock} with count ${r.rcRefcount}`);
    if (r.rcRefcount !== MAXREFCOUNT) {
      const count = r.rcRefcount + adj;
      if (count === 1) ctx.bt.delete(XFS_REFC_DOMAIN_SHARED, r.rcStartblock);
      else ctx.bt.update(r.rcStartblock, { ...r, rcRefcount: count });
    }
    pos = end(r);
  }
  mergeAt(ctx, XFS_REFC_DOMAIN_SHARED, agbno);
  mergeAt(ctx, XFS_REFC_DOMAIN_SHARED, stop);
}

/** `xfs_refcount_increase_extent()` for one AG. */
export function xfsRefcountIncrease(ctx: XfsRefcountCtx, agbno: XfsAgblock, aglen: number): void {
  xfsRefcountAdjust(ctx, agbno, aglen, 1);
}

/** `xfs_refcount_decrease_extent()` for one AG: blocks reaching zero owners are freed. */
export function xfsRefcountDecrease(ctx: XfsRefcountCtx, agbno: XfsAgblock, aglen: number): void {
  xfsRefcountAdjust(ctx, agbno, aglen, -1);
}

/** `xfs_refcount_alloc_cow_extent()`: record freshly allocated CoW staging blocks. */
export function xfsRefcountAllocCow(ctx: XfsRefcountCtx, agbno: XfsAgblock, aglen: number): void {
  const left = ctx.bt.lookupLe(XFS_REFC_DOMAIN_COW, agbno + aglen - 1);
  if (left !== undefined && end(left) > agbno) corrupt(ctx, `CoW staging overlap at ${agbno}`);
  ctx.bt.insert({ rcStartblock: agbno, rcBlockcount: aglen, rcRefcount: 1, rcDomain: XFS_REFC_DOMAIN_COW });
  mergeAt(ctx, XFS_REFC_DOMAIN_COW, agbno);
  mergeAt(ctx, XFS_REFC_DOMAIN_COW, agbno + aglen);
}

/** `xfs_refcount_free_cow_extent()`: forget CoW staging blocks (remapped or cancelled). */
export function xfsRefcountFreeCow(ctx: XfsRefcountCtx, agbno: XfsAgblock, aglen: number): void {
  const stop = agbno + aglen;
  splitExtent(ctx, XFS_REFC_DOMAIN_COW, agbno);
  splitExtent(ctx, XFS_REFC_DOMAIN_COW, stop);
  let pos = agbno;
  while (pos < stop) {
    const r = ctx.bt.lookupGe(XFS_REFC_DOMAIN_COW, pos);
    if (r === undefined || r.rcStartblock !== pos || end(r) > stop || r.rcRefcount !== 1) {
      corrupt(ctx, `no CoW staging record for ${pos}..${stop - 1}`);
    }
    ctx.bt.delete(XFS_REFC_DOMAIN_COW, pos);
    pos = end(r);
  }
}

/**
 * `xfs_refcount_find_shared()`: the first shared block in [agbno, agbno + aglen) and the
 * length of the shared run from there (the whole run with `findEndOfShared`, else only the
 * first record's part). `flen` 0 means nothing in the range is shared.
 */
export function xfsRefcountFindShared(
  bt: XfsRefcountBtree,
  agbno: XfsAgblock,
  aglen: number,
  findEndOfShared: boolean,
): { fbno: XfsAgblock; flen: number } {
  const stop = agbno + aglen;
  let r = bt.lookupLe(XFS_REFC_DOMAIN_SHARED, agbno);
  if (r === undefined || end(r) <= agbno) r = bt.lookupGe(XFS_REFC_DOMAIN_SHARED, agbno);
  if (r === undefined || r.rcStartblock >= stop) return { fbno: stop, flen: 0 };
  const fbno = Math.max(r.rcStartblock, agbno);
  let fend = Math.min(end(r), stop);
  while (findEndOfShared && fend < stop) {
    const n = bt.lookupGe(XFS_REFC_DOMAIN_SHARED, fend);
    if (n === undefined || n.rcStartblock !== fend) break;
    fend = Math.min(end(n), stop);
  }
  return { fbno, flen: fend - fbno };
}

/** The count of one block (1 when it has no record) — for the checker and tests. */
export function xfsRefcountOf(bt: XfsRefcountBtree, agbno: XfsAgblock): number {
  const r = bt.lookupLe(XFS_REFC_DOMAIN_SHARED, agbno);
  return r !== undefined && end(r) > agbno ? r.rcRefcount : 1;
}

/** CoW staging records left in the AG (`xfs_refcount_recover_cow_leftovers()` finds these at mount). */
export function xfsRefcountCowLeftovers(bt: XfsRefcountBtree): XfsRefcountIrec[] {
  return [...bt.records()].filter((r) => r.rcDomain === XFS_REFC_DOMAIN_COW);
}
