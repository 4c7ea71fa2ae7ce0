/**
 * Reverse-mapping records and owners.
 *
 * @see fs/xfs/libxfs/xfs_format.h struct xfs_rmap_rec, XFS_RMAP_OFF_ATTR_FORK,
 *      XFS_RMAP_OFF_BMBT_BLOCK, XFS_RMAP_OFF_UNWRITTEN, XFS_RMAP_OWN_*;
 *      fs/xfs/libxfs/xfs_rmap.h struct xfs_rmap_irec, XFS_RMAP_ATTR_FORK, XFS_RMAP_BMBT_BLOCK,
 *      XFS_RMAP_UNWRITTEN, struct xfs_owner_info
 *
 * Special owners are the kernel's 64-bit values with the top bit set, written here as the
 * small negative numbers they are when read as signed (`XFS_RMAP_OWN_COW` is -9).
 */
import type { XfsAgblock } from "../refcount/types.js";

export const XFS_RMAP_OWN_NULL = -1;
export const XFS_RMAP_OWN_UNKNOWN = -2;
export const XFS_RMAP_OWN_FS = -3;
export const XFS_RMAP_OWN_LOG = -4;
export const XFS_RMAP_OWN_AG = -5;
export const XFS_RMAP_OWN_INOBT = -6;
export const XFS_RMAP_OWN_INODES = -7;
export const XFS_RMAP_OWN_REFC = -8;
export const XFS_RMAP_OWN_COW = -9;
export const XFS_RMAP_OWN_MIN = -10;

/** In-core flags (`rm_flags`). */
export const XFS_RMAP_ATTR_FORK = 1 << 0;
export const XFS_RMAP_BMBT_BLOCK = 1 << 1;
export const XFS_RMAP_UNWRITTEN = 1 << 2;

/** On-disk `rm_offset` flag bits (63, 62, 61) and the offset mask (bits 0-53). */
export const XFS_RMAP_OFF_ATTR_FORK = 2n ** 63n;
export const XFS_RMAP_OFF_BMBT_BLOCK = 2n ** 62n;
export const XFS_RMAP_OFF_UNWRITTEN = 2n ** 61n;
export const XFS_RMAP_OFF_MASK = 2n ** 54n - 1n;
/** Longest extent one rmap record may describe (32-bit length). */
export const XFS_RMAP_LEN_MAX = 2 ** 32 - 1;

/** `XFS_RMAP_NON_INODE_OWNER()`. */
export function xfsRmapNonInodeOwner(owner: number): boolean {
  return owner < 0;
}

/** `struct xfs_rmap_irec`. */
export interface XfsRmapIrec {
  rmStartblock: XfsAgblock;
  rmBlockcount: number;
  /** An inode number, or one of XFS_RMAP_OWN_*. */
  rmOwner: number;
  /** File offset in blocks (0 for non-inode owners). */
  rmOffset: number;
  rmFlags: number;
}

/** `struct xfs_owner_info`. */
export interface XfsOwnerInfo {
  oiOwner: number;
  oiOffset: number;
  oiFlags: number;
}

/** The on-disk `rm_offset` of a record (offset plus flag bits). */
export function rmapDiskOffset(irec: XfsRmapIrec): bigint {
  let v = BigInt(irec.rmOffset) & XFS_RMAP_OFF_MASK;
  if (irec.rmFlags & XFS_RMAP_ATTR_FORK) v |= XFS_RMAP_OFF_ATTR_FORK;
  if (irec.rmFlags & XFS_RMAP_BMBT_BLOCK) v |= XFS_RMAP_OFF_BMBT_BLOCK;
  if (irec.rmFlags & XFS_RMAP_UNWRITTEN) v |= XFS_RMAP_OFF_UNWRITTEN;
  return v;
}

/** Key order of the rmapbt: start block, owner (unsigned: special owners last), offset, flags. */
export function rmapCompare(a: XfsRmapIrec, b: XfsRmapIrec): number {
  return (
    a.rmStartblock - b.rmStartblock ||
    (a.rmOwner < 0 ? 1 : 0) - (b.rmOwner < 0 ? 1 : 0) ||
    a.rmOwner - b.rmOwner ||
    a.rmOffset - b.rmOffset ||
    a.rmFlags - b.rmFlags
  );
}
