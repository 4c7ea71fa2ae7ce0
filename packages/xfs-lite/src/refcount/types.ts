/**
 * Refcount btree records: the in-core form and the on-disk encoding of the domain.
 *
 * @see fs/xfs/libxfs/xfs_format.h struct xfs_refcount_rec, XFS_REFC_COWFLAG,
 *      MAXREFCOUNT, MAXREFCEXTLEN; fs/xfs/libxfs/xfs_types.h enum xfs_refc_domain
 */

/** An AG-relative block number (`xfs_agblock_t`). */
export type XfsAgblock = number;
/** An allocation group number (`xfs_agnumber_t`). */
export type XfsAgnumber = number;

export const XFS_REFC_DOMAIN_SHARED = 0;
export const XFS_REFC_DOMAIN_COW = 1;
export type XfsRefcDomain = typeof XFS_REFC_DOMAIN_SHARED | typeof XFS_REFC_DOMAIN_COW;

/** Set in the on-disk `rc_startblock` of CoW staging records. */
export const XFS_REFC_COWFLAG = 2 ** 31;
export const MAXREFCOUNT = 2 ** 32 - 1;
/** Longest extent one refcount record may describe (`MAXREFCEXTLEN`, 31 bits). */
export const MAXREFCEXTLEN = 2 ** 31 - 1;

export const XFS_REFCOUNT_ADJUST_INCREASE = 1;
export const XFS_REFCOUNT_ADJUST_DECREASE = -1;

/** `struct xfs_refcount_irec`. */
export interface XfsRefcountIrec {
  rcStartblock: XfsAgblock;
  rcBlockcount: number;
  rcRefcount: number;
  rcDomain: XfsRefcDomain;
}

/** The on-disk `rc_startblock` (domain folded into the top bit). */
export function refcountDiskStartblock(irec: XfsRefcountIrec): number {
  return irec.rcDomain === XFS_REFC_DOMAIN_COW ? irec.rcStartblock + XFS_REFC_COWFLAG : irec.rcStartblock;
}

/** Decode an on-disk `rc_startblock` into (agbno, domain). */
export function refcountDecodeStartblock(raw: number): { agbno: XfsAgblock; domain: XfsRefcDomain } {
  return raw >= XFS_REFC_COWFLAG
    ? { agbno: raw - XFS_REFC_COWFLAG, domain: XFS_REFC_DOMAIN_COW }
    : { agbno: raw, domain: XFS_REFC_DOMAIN_SHARED };
}
