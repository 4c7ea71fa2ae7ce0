/**
 * The in-core extent record and the fork/state vocabulary shared by the iext tree,
 * bmap, reflink and the file operations.
 *
 * @see fs/xfs/libxfs/xfs_types.h (xfs_exntst_t), fs/xfs/libxfs/xfs_format.h
 *      (struct xfs_bmbt_irec, XFS_MAX_BMBT_EXTLEN), fs/xfs/libxfs/xfs_inode_fork.h
 *      (XFS_DATA_FORK, XFS_COW_FORK)
 *
 * File offsets and block numbers are file-system blocks (4 KiB). Attribute forks are not
 * modelled.
 */

/** `xfs_fileoff_t`: a file offset in file-system blocks. */
export type XfsFileoff = number;
/** `xfs_fsblock_t`: a file-system block number (AG number and AG block packed). */
export type XfsFsblock = number;
/** `xfs_filblks_t`: a length in file-system blocks. */
export type XfsFilblks = number;

export const XFS_EXT_NORM = 0;
export const XFS_EXT_UNWRITTEN = 1;
/** `xfs_exntst_t`. */
export type XfsExntst = typeof XFS_EXT_NORM | typeof XFS_EXT_UNWRITTEN;

export const XFS_DATA_FORK = 0;
export const XFS_ATTR_FORK = 1;
export const XFS_COW_FORK = 2;
/** The forks this model keeps: data and CoW (no extended attributes). */
export type XfsWhichfork = typeof XFS_DATA_FORK | typeof XFS_COW_FORK;

/** Longest extent one bmbt record may describe (21-bit length field). */
export const XFS_MAX_BMBT_EXTLEN = 2 ** 21 - 1;
/** `HOLESTARTBLOCK`: what xfs_bmapi_read() returns as the start block of a hole. */
export const HOLESTARTBLOCK = -2;

/** `struct xfs_bmbt_irec`. */
export interface XfsBmbtIrec {
  brStartoff: XfsFileoff;
  brStartblock: XfsFsblock;
  brBlockcount: XfsFilblks;
  brState: XfsExntst;
}

export function irecEnd(irec: XfsBmbtIrec): XfsFileoff {
  return irec.brStartoff + irec.brBlockcount;
}

export function isHole(irec: XfsBmbtIrec): boolean {
  return irec.brStartblock === HOLESTARTBLOCK;
}
