/**
 * The infrastructure layer of xfs-lite, listed by name for src/index.ts: block device,
 * buffer cache, transactions and log, the generic btree and its record formats, AG headers
 * and the extent allocator, mkfs and mount. See README.md.
 */
export { BBSHIFT, BBSIZE, RamDisk, daddr } from "./blockdev.js";
export type { BlockDevice, Daddr, RamDiskOptions, RamDiskStats } from "./blockdev.js";

export { crc32c, xfsUpdateCksum, xfsVerifyCksum } from "./buf/cksum.js";
export {
  XBF_ASYNC,
  XBF_DONE,
  XBF_INCORE,
  XBF_READ,
  XBF_STALE,
  XBF_TRYLOCK,
  XBF_WRITE,
  XBF_WRITE_FAIL,
  _XBF_DELWRI_Q,
  XFS_BLFT_AGFL_BUF,
  XFS_BLFT_AGF_BUF,
  XFS_BLFT_AGI_BUF,
  XFS_BLFT_BTREE_BUF,
  XFS_BLFT_DINO_BUF,
  XFS_BLFT_DIR_BLOCK_BUF,
  XFS_BLFT_DIR_DATA_BUF,
  XFS_BLFT_SB_BUF,
  XFS_BLFT_SYMLINK_BUF,
  XFS_BLFT_UNKNOWN_BUF,
  XfsBuf,
  XfsBuftarg,
  xfsBufDelwriQueue,
  xfsBufDelwriSubmit,
  xfsBufGet,
  xfsBufHold,
  xfsBufIncore,
  xfsBufRead,
  xfsBufRele,
  xfsBufRelse,
  xfsBufSetRef,
  xfsBufStale,
  xfsBuftargDrain,
  xfsBwrite,
} from "./buf/xfs-buf.js";
export type { XfsBufOps, XfsBufStats, XfsBuftargOptions } from "./buf/xfs-buf.js";

export { xfsRegisterBufOps } from "./trans/buf-ops-registry.js";
export { XFS_BLF_CHUNK } from "./trans/log-ops.js";
export { Xlog, XLOG_HEADER_MAGIC_NUM, blockLsn, cycleLsn, xlogAssignLsn } from "./trans/xfs-log.js";
export type { XfsLsn, XlogStats } from "./trans/xfs-log.js";
export { xlogFindRecords, xlogRecover } from "./trans/xfs-log-recover.js";
export type { XlogRecoverResult } from "./trans/xfs-log-recover.js";
export { XfsAil, xfsAilPushAll } from "./trans/xfs-trans-ail.js";
export {
  XFS_TRANS_SB_FDBLOCKS,
  XFS_TRANS_SB_ICOUNT,
  XFS_TRANS_SB_IFREE,
  XfsBufLogItem,
  XfsTrans,
  xfsTransAlloc,
  xfsTransAllocEmpty,
} from "./trans/xfs-trans.js";
export type { XfsBusyExtent, XfsTransSbField } from "./trans/xfs-trans.js";

export { XFS_LOOKUP_EQ, XFS_LOOKUP_GE, XFS_LOOKUP_LE, XfsBtreeCur } from "./btree/xfs-btree.js";
export type { XfsBtreeOps, XfsBtreeRoot, XfsBtreeStats, XfsLookup } from "./btree/xfs-btree.js";
export { NULLPTR, XFS_BTREE_MAXLEVELS, maxRecs, xfsBtreeBufOps } from "./btree/xfs-btree-format.js";
export type { XfsBtreeGeometry } from "./btree/xfs-btree-format.js";
export {
  XFS_ABTB_CRC_MAGIC,
  XFS_ABTC_CRC_MAGIC,
  XFS_BMAP_CRC_MAGIC,
  XFS_IBT_CRC_MAGIC,
  XFS_INODES_PER_CHUNK,
  XFS_REFC_CRC_MAGIC,
  XFS_RMAP_CRC_MAGIC,
  xfsBmbtOps,
  xfsBnobtOps,
  xfsCntbtOps,
  xfsInobtOps,
  xfsRefcountbtOps,
  xfsRmapRangeKeys,
  xfsRmapbtOps,
} from "./btree/xfs-btree-records.js";
export type { XfsAllocRec, XfsInobtRec, XfsRmapKey } from "./btree/xfs-btree-records.js";

export {
  AGF,
  AGFL,
  AGI,
  NULLAGBLOCK,
  NULLAGINO,
  NULLFSINO,
  SB,
  XFS_AGFL_SIZE,
  XFS_AGF_MAGIC,
  XFS_AGI_MAGIC,
  XFS_AGFL_MAGIC,
  XFS_SB_MAGIC,
  xfsAgfBufOps,
  xfsAgflBufOps,
  xfsAgiBufOps,
  xfsSbBufOps,
  xfsSbFromDisk,
  xfsSbToDisk,
} from "./ag/xfs-format.js";
export type { XfsSb } from "./ag/xfs-format.js";
export { hdrAdd, hdrGet, hdrSet, xfsAgflBlocks, xfsAllocReadAgf, xfsAllocReadAgfl, xfsIallocReadAgi, xfsLogSb } from "./ag/xfs-ag-headers.js";
export { xfsBnobtCur, xfsCntbtCur, xfsInobtCur, xfsRefcountbtCur, xfsRmapbtCur } from "./ag/xfs-ag-btrees.js";
export {
  XFS_RMAP_OINFO_AG,
  xfsAllocAgFreeSpace,
  xfsAllocFixFreelist,
  xfsAllocMinFreelist,
  xfsAllocVextent,
  xfsFreeAgExtentRmap,
  xfsFreeExtent,
} from "./ag/xfs-alloc.js";
export type { XfsAllocArgs, XfsAllocResult, XfsAllocType } from "./ag/xfs-alloc.js";
export { XfsExtentBusy } from "./ag/xfs-extent-busy.js";
export { xfsRefcountbtAdapter, xfsRmapbtAdapter, xfsTransSpace } from "./ag/xfs-ag-adapters.js";

export { XFS_BB_PER_FSB, XFS_BLOCKSIZE, XfsMount, xfsAgDaddr, xfsAgbToDaddr, xfsDaddrToFsb, xfsFsbToDaddr } from "./mount/xfs-mount.js";
export type { XfsMountStats } from "./mount/xfs-mount.js";
export { xfsMkfs } from "./mount/xfs-mkfs.js";
export type { XfsMkfsOptions, XfsMkfsResult } from "./mount/xfs-mkfs.js";
export {
  xfsAilPush,
  xfsInitializePeragData,
  xfsLogForce,
  xfsLogIsClean,
  xfsMount,
  xfsReadSb,
  xfsRemount,
  xfsSyncFs,
  xfsUnmount,
} from "./mount/xfs-mount-ops.js";
export type { XfsMountOptions } from "./mount/xfs-mount-ops.js";
