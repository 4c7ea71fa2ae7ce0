/**
 * The file layers of xfs-lite, listed by name for src/index.ts: in-core extent trees,
 * block mapping, refcount and reverse-mapping logic, reflink and copy-on-write, inodes
 * and directories on disk, the file-system API with iomap, and the checker.
 * See README.md.
 */
export { XfsIextTree, newIextCursor, SortedRecords } from "./iext/index.js";
export type { XfsIextCursor } from "./iext/index.js";
export {
  XFS_EXT_NORM,
  XFS_EXT_UNWRITTEN,
  XFS_DATA_FORK,
  XFS_ATTR_FORK,
  XFS_COW_FORK,
  XFS_MAX_BMBT_EXTLEN,
  HOLESTARTBLOCK,
  irecEnd,
  isHole,
} from "./iext/index.js";
export type { XfsBmbtIrec, XfsExntst, XfsFileoff, XfsFsblock, XfsFilblks, XfsWhichfork } from "./iext/index.js";

export { XfsIfork, xfsBmapiRead, xfsForkMapRange, xfsForkUnmapRange, xfsForkLookup } from "./bmap/fork.js";
export {
  xfsBmapiWrite,
  xfsBunmapi,
  xfsBmapConvert,
  xfsBmapMapExtent,
  xfsBmapUnmapExtent,
  xfsBmapHoleBlocks,
} from "./bmap/bmap.js";
export {
  xfsFsbToAgno,
  xfsFsbToAgbno,
  xfsAgbToFsb,
  forEachAgPiece,
  xfsRefcountIncreaseExtent,
  xfsRefcountDecreaseExtent,
  xfsRefcountAllocCowExtent,
  xfsRefcountFreeCowExtent,
  xfsRmapMapExtent,
  xfsRmapUnmapExtent,
  xfsRmapConvertExtent,
  xfsFindSharedExtent,
} from "./bmap/space.js";
export type { XfsGeometry, XfsSpace } from "./bmap/space.js";
export { XfsMemSpace } from "./bmap/mem-space.js";

export {
  XFS_REFC_DOMAIN_SHARED,
  XFS_REFC_DOMAIN_COW,
  XFS_REFC_COWFLAG,
  MAXREFCOUNT,
  MAXREFCEXTLEN,
  XFS_REFCOUNT_ADJUST_INCREASE,
  XFS_REFCOUNT_ADJUST_DECREASE,
  refcountDiskStartblock,
  refcountDecodeStartblock,
  XfsRefcountMemBtree,
  xfsRefcountAdjust,
  xfsRefcountIncrease,
  xfsRefcountDecrease,
  xfsRefcountAllocCow,
  xfsRefcountFreeCow,
  xfsRefcountFindShared,
  xfsRefcountOf,
  xfsRefcountCowLeftovers,
} from "./refcount/index.js";
export type { XfsAgblock, XfsAgnumber, XfsRefcDomain, XfsRefcountIrec, XfsRefcountBtree, XfsRefcountCtx } from "./refcount/index.js";

export {
  XFS_RMAP_OWN_NULL,
  XFS_RMAP_OWN_UNKNOWN,
  XFS_RMAP_OWN_FS,
  XFS_RMAP_OWN_LOG,
  XFS_RMAP_OWN_AG,
  XFS_RMAP_OWN_INOBT,
  XFS_RMAP_OWN_INODES,
  XFS_RMAP_OWN_REFC,
  XFS_RMAP_OWN_COW,
  XFS_RMAP_OWN_MIN,
  XFS_RMAP_ATTR_FORK,
  XFS_RMAP_BMBT_BLOCK,
  XFS_RMAP_UNWRITTEN,
  XFS_RMAP_OFF_ATTR_FORK,
  XFS_RMAP_OFF_BMBT_BLOCK,
  XFS_RMAP_OFF_UNWRITTEN,
  XFS_RMAP_OFF_MASK,
  XFS_RMAP_LEN_MAX,
  xfsRmapNonInodeOwner,
  rmapDiskOffset,
  rmapCompare,
  XfsRmapMemBtree,
  xfsRmapMap,
  xfsRmapUnmap,
  xfsRmapConvert,
  xfsRmapQueryRange,
} from "./rmap/index.js";
export type { XfsRmapIrec, XfsOwnerInfo, XfsRmapBtree, XfsRmapCtx } from "./rmap/index.js";

export {
  xfsReflinkTrimAroundShared,
  xfsReflinkCowReservation,
  xfsReflinkAllocateCow,
  xfsReflinkEndCow,
  xfsReflinkCancelCowRange,
  xfsReflinkRemapBlocks,
  xfsReflinkSetInodeFlag,
  xfsReflinkInodeHasSharedExtents,
  xfsReflinkTryClearInodeFlag,
  xfsReflinkSharedBlocks,
} from "./reflink/reflink.js";
export { FstestsEnv } from "./reflink/fstests-env.js";

export {
  XfsInode,
  S_IFMT,
  S_IFREG,
  S_IFDIR,
  S_IFCHR,
  S_IFIFO,
  XFS_DIFLAG_IMMUTABLE,
  XFS_DIFLAG_APPEND,
  XFS_DIFLAG_EXTSIZE,
  XFS_DIFLAG_EXTSZINHERIT,
  XFS_DIFLAG2_DAX,
  XFS_DIFLAG2_REFLINK,
  XFS_DIFLAG2_COWEXTSIZE,
  FS_XFLAG_IMMUTABLE,
  FS_XFLAG_APPEND,
  FS_XFLAG_COWEXTSIZE,
  FS_XFLAG_DAX,
  FS_XFLAG_EXTSIZE,
  FS_XFLAG_EXTSZINHERIT,
  FS_XFLAG_HASATTR,
  XFS_DEFAULT_COWEXTSZ_HINT,
  xfsIlockIoMmap,
  xfsIunlockIoMmap,
  xfsIlock2IoMmap,
  xfsIunlock2IoMmap,
} from "./inode/inode.js";
export {
  XFS_DINODE_MAGIC,
  XFS_DINODE_SIZE,
  XFS_DINODE_FMT_LOCAL,
  XFS_DINODE_FMT_EXTENTS,
  XFS_DINODE_FMT_BTREE,
  XFS_DINODE_MAX_EXTENTS,
  xfsInodeBufOps,
} from "./inode/dinode.js";
export { xfsDialloc, xfsDifree, xfsImap, xfsAllocatedInodes } from "./inode/ialloc.js";
export { xfsDirBufOps, xfsDirEncode, xfsDirDecode } from "./dir/dir.js";

export {
  IOMAP_HOLE,
  IOMAP_DELALLOC,
  IOMAP_MAPPED,
  IOMAP_UNWRITTEN,
  IOMAP_INLINE,
  IOMAP_F_NEW,
  IOMAP_F_DIRTY,
  IOMAP_F_SHARED,
  IOMAP_F_MERGED,
  IOMAP_WRITE,
  IOMAP_ZERO,
  IOMAP_REPORT,
  IOMAP_FAULT,
  IOMAP_DIRECT,
  IOMAP_NOWAIT,
  IOMAP_OVERWRITE_ONLY,
  IOMAP_UNSHARE,
  IOMAP_DAX,
  IOMAP_NULL_ADDR,
} from "./ops/iomap.js";
export type { Iomap, IomapType, IomapOps } from "./ops/iomap.js";
export { xfsReadIomapBegin, xfsWriteIomapBegin, xfsWriteIomapEnd, xfsBmbtToIomap } from "./ops/xfs-iomap.js";
export type { XfsIomapEnv } from "./ops/xfs-iomap.js";
export { xfsFileReadRange, xfsFileWriteRange, xfsFileZeroRange, xfsFileUnshareRange } from "./ops/file-io.js";
export {
  xfsAddressSpaceOperations,
  xfsInodeMapping,
  xfsFilemapCheckErrors,
  xfsWriteAndWaitRange,
  xfsFlushUnmapRange,
  xfsTruncatePagecacheFinal,
} from "./ops/xfs-aops.js";
export type { XfsPagecacheStats } from "./ops/xfs-aops.js";
export { xfsPageSpan } from "./ops/xfs-aops.js";
export { xfsInodeSupportsDax, xfsInodeShouldEnableDax } from "./ops/xfs-dax-mode.js";
export type { XfsDaxMode, XfsDaxOps } from "./ops/xfs-dax-mode.js";
export type { XfsFileIoEnv } from "./ops/file-io.js";
export { XfsMemDataDevice } from "./ops/data-dev.js";
export type { XfsDataDevice } from "./ops/data-dev.js";
export { XfsMemBackend } from "./ops/backend.js";
export type { XfsFsBackend } from "./ops/backend.js";
export {
  XfsFileSystem,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_NO_HIDE_STALE,
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_ZERO_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_UNSHARE_RANGE,
  REMAP_FILE_DEDUP,
  REMAP_FILE_CAN_SHORTEN,
  FIEMAP_EXTENT_LAST,
  FIEMAP_EXTENT_UNWRITTEN,
  FIEMAP_EXTENT_SHARED,
  STATX_ATTR_DAX,
  FMODE_READ,
  FMODE_WRITE,
  O_APPEND,
  MAX_LFS_FILESIZE,
} from "./ops/xfs-fs.js";
export type {
  XfsFile,
  FiemapExtent,
  XfsStatx,
  XfsFsxattr,
  XfsFailureOwner,
  XfsLayoutBreakHook,
  XfsFileSystemOptions,
} from "./ops/xfs-fs.js";
export { xfsMemFs } from "./ops/mem-fs.js";
export type { XfsMemFsOptions } from "./ops/mem-fs.js";
export { XfsMountedBackend, xfsFilesMount, xfsFilesUnmount } from "./ops/mounted-fs.js";
export type { XfsMountedFs, XfsFilesMountOptions } from "./ops/mounted-fs.js";

export { xfsCheck, xfsCheckFs } from "./check/check.js";
export type { XfsCheckInput } from "./check/check.js";
