/**
 * On-disk formats of the superblock and the allocation group headers (AGF, AGI, AGFL):
 * field offsets, magic numbers, feature bits, verifiers.
 *
 * @see fs/xfs/libxfs/xfs_format.h struct xfs_dsb, struct xfs_agf, struct xfs_agi,
 *      struct xfs_agfl, XFS_SB_MAGIC, XFS_AGF_MAGIC, XFS_AGI_MAGIC, XFS_AGFL_MAGIC,
 *      XFS_SB_FEAT_*, XFS_SB_DADDR, XFS_AGF_DADDR, XFS_AGI_DADDR, XFS_AGFL_DADDR,
 *      XFS_BNO_BLOCK, XFS_CNT_BLOCK, XFS_IBT_BLOCK; fs/xfs/libxfs/xfs_sb.c
 *      xfs_sb_to_disk(), xfs_sb_from_disk(), xfs_sb_read_verify(); fs/xfs/libxfs/xfs_alloc.c
 *      xfs_agf_verify(), xfs_agfl_verify(); fs/xfs/libxfs/xfs_ialloc.c xfs_agi_verify()
 *
 * Offsets are the kernel's. The sector size is 4096 (what mkfs.xfs picks on a pmem
 * device), so each AG starts with four header blocks: a superblock copy (the primary in
 * AG 0), the AGF, the AGI and the AGFL, each a one-sector buffer. Fields the model never
 * uses (realtime, quota, stripe geometry) are written as zero. No finobt (its root block
 * is reserved so the layout matches mkfs.xfs).
 */
import { KernelError } from "@pagelab/mm-core";
import type { Daddr } from "../blockdev.js";
import { xfsUpdateCksum, xfsVerifyCksum } from "../buf/cksum.js";
import { XFS_BLFT_AGFL_BUF, XFS_BLFT_AGF_BUF, XFS_BLFT_AGI_BUF, XFS_BLFT_SB_BUF, type XfsBufOps } from "../buf/xfs-buf.js";
import { readU64, writeU64 } from "../trans/xfs-log.js";

export const XFS_SB_MAGIC = 0x58465342; // 'XFSB'
export const XFS_AGF_MAGIC = 0x58414746; // 'XAGF'
export const XFS_AGI_MAGIC = 0x58414749; // 'XAGI'
export const XFS_AGFL_MAGIC = 0x5841464c; // 'XAFL'
export const XFS_AGF_VERSION = 1;
export const XFS_AGI_VERSION = 1;

export const XFS_SB_VERSION_5 = 5;
export const XFS_SB_VERSION_NLINKBIT = 0x0020;
export const XFS_SB_VERSION_ALIGNBIT = 0x0080;
export const XFS_SB_VERSION_DALIGNBIT = 0x0100;
export const XFS_SB_VERSION_DIRV2BIT = 0x2000;
export const XFS_SB_VERSION_MOREBITSBIT = 0x8000;
export const XFS_SB_VERSION2_LAZYSBCOUNTBIT = 0x2;
export const XFS_SB_VERSION2_ATTR2BIT = 0x8;
export const XFS_SB_VERSION2_PROJID32BIT = 0x80;
export const XFS_SB_VERSION2_CRCBIT = 0x100;
export const XFS_SB_VERSION2_FTYPE = 0x200;
export const XFS_SB_FEAT_RO_COMPAT_FINOBT = 1 << 0;
export const XFS_SB_FEAT_RO_COMPAT_RMAPBT = 1 << 1;
export const XFS_SB_FEAT_RO_COMPAT_REFLINK = 1 << 2;
export const XFS_SB_FEAT_INCOMPAT_FTYPE = 1 << 0;
export const XFS_SB_FEAT_INCOMPAT_BIGTIME = 1 << 3;

/** `sb_sectsize`, and the header buffer length in basic blocks. */
export const XFS_SECTSIZE = 4096;
export const XFS_HDR_BBS = XFS_SECTSIZE / 512;
/** Basic-block offsets of the AG headers inside an AG (`XFS_AGF_DADDR(mp)`…, 4096-byte sectors). */
export const XFS_SB_DADDR = 0;
export const XFS_AGF_DADDR = XFS_HDR_BBS;
export const XFS_AGI_DADDR = 2 * XFS_HDR_BBS;
export const XFS_AGFL_DADDR = 3 * XFS_HDR_BBS;

/** AG blocks preallocated by mkfs: header blocks 0-3, then the btree roots. */
export const XFS_AGFL_BLOCK = 3;
export const XFS_BNO_BLOCK = 4;
export const XFS_CNT_BLOCK = 5;
export const XFS_IBT_BLOCK = 6;
export const XFS_FIBT_BLOCK = 7;

export const NULLAGBLOCK = 0xffffffff;
export const NULLAGINO = 0xffffffff;
export const NULLFSINO = -1;
export const XFS_AGI_UNLINKED_BUCKETS = 64;

/** Superblock byte offsets (`struct xfs_dsb`). */
export const SB = {
  magicnum: 0,
  blocksize: 4,
  dblocks: 8,
  uuid: 32,
  logstart: 48,
  rootino: 56,
  rbmino: 64,
  rsumino: 72,
  agblocks: 84,
  agcount: 88,
  logblocks: 96,
  versionnum: 100,
  sectsize: 102,
  inodesize: 104,
  inopblock: 106,
  fname: 108,
  blocklog: 120,
  sectlog: 121,
  inodelog: 122,
  inopblog: 123,
  agblklog: 124,
  icount: 128,
  ifree: 136,
  fdblocks: 144,
  inoalignmt: 180,
  unit: 184,
  width: 188,
  features2: 200,
  badFeatures2: 204,
  featuresCompat: 208,
  featuresRoCompat: 212,
  featuresIncompat: 216,
  featuresLogIncompat: 220,
  crc: 224,
  lsn: 240,
  metaUuid: 248,
} as const;
export const XFS_SB_CRC_OFF = SB.crc;

/** AGF byte offsets (`struct xfs_agf`). */
export const AGF = {
  magicnum: 0,
  versionnum: 4,
  seqno: 8,
  length: 12,
  bnoRoot: 16,
  cntRoot: 20,
  rmapRoot: 24,
  bnoLevel: 28,
  cntLevel: 32,
  rmapLevel: 36,
  flfirst: 40,
  fllast: 44,
  flcount: 48,
  freeblks: 52,
  longest: 56,
  btreeblks: 60,
  uuid: 64,
  rmapBlocks: 80,
  refcountBlocks: 84,
  refcountRoot: 88,
  refcountLevel: 92,
  lsn: 208,
  crc: 216,
  size: 224,
} as const;

/** AGI byte offsets (`struct xfs_agi`). */
export const AGI = {
  magicnum: 0,
  versionnum: 4,
  seqno: 8,
  length: 12,
  count: 16,
  root: 20,
  level: 24,
  freecount: 28,
  newino: 32,
  dirino: 36,
  unlinked: 40,
  uuid: 296,
  crc: 312,
  lsn: 320,
  freeRoot: 328,
  freeLevel: 332,
  iblocks: 336,
  fblocks: 340,
  size: 344,
} as const;

/** AGFL byte offsets (`struct xfs_agfl`) and `XFS_AGFL_SIZE` for 4096-byte sectors. */
export const AGFL = { magicnum: 0, seqno: 4, uuid: 8, lsn: 24, crc: 32, bno: 36 } as const;
export const XFS_AGFL_SIZE = (XFS_SECTSIZE - AGFL.bno) / 4;

/** The in-core superblock (`struct xfs_sb`), the fields this model uses. */
export interface XfsSb {
  sbBlocksize: number;
  sbDblocks: number;
  sbUuid: Uint8Array;
  sbLogstart: number;
  sbRootino: number;
  /** `sb_rbmino` / `sb_rsumino`: the realtime bitmap and summary inodes mkfs always makes. */
  sbRbmino: number;
  sbRsumino: number;
  sbAgblocks: number;
  sbAgcount: number;
  sbLogblocks: number;
  sbVersionnum: number;
  sbSectsize: number;
  sbInodesize: number;
  sbInopblock: number;
  sbFname: string;
  sbBlocklog: number;
  sbSectlog: number;
  sbInodelog: number;
  sbInopblog: number;
  sbAgblklog: number;
  sbIcount: number;
  sbIfree: number;
  sbFdblocks: number;
  /** `sb_inoalignmt`: inode chunk alignment in blocks. */
  sbInoalignmt: number;
  /** `sb_unit` / `sb_width`: data stripe unit and width in blocks (0: none). */
  sbUnit: number;
  sbWidth: number;
  sbFeatures2: number;
  sbFeaturesCompat: number;
  sbFeaturesRoCompat: number;
  sbFeaturesIncompat: number;
  sbFeaturesLogIncompat: number;
  sbLsn: number;
}

function dvOf(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/** `xfs_sb_to_disk()`. */
export function xfsSbToDisk(data: Uint8Array, sb: XfsSb): void {
  const dv = dvOf(data);
  dv.setUint32(SB.magicnum, XFS_SB_MAGIC);
  dv.setUint32(SB.blocksize, sb.sbBlocksize);
  writeU64(dv, SB.dblocks, sb.sbDblocks);
  data.set(sb.sbUuid, SB.uuid);
  writeU64(dv, SB.logstart, sb.sbLogstart);
  if (sb.sbRootino < 0) {
    dv.setUint32(SB.rootino, 0xffffffff);
    dv.setUint32(SB.rootino + 4, 0xffffffff);
  } else writeU64(dv, SB.rootino, sb.sbRootino);
  for (const [off, ino] of [[SB.rbmino, sb.sbRbmino], [SB.rsumino, sb.sbRsumino]] as const) {
    if (ino < 0) {
      dv.setUint32(off, 0xffffffff);
      dv.setUint32(off + 4, 0xffffffff);
    } else writeU64(dv, off, ino);
  }
  dv.setUint32(SB.agblocks, sb.sbAgblocks);
  dv.setUint32(SB.agcount, sb.sbAgcount);
  dv.setUint32(SB.logblocks, sb.sbLogblocks);
  dv.setUint16(SB.versionnum, sb.sbVersionnum);
  dv.setUint16(SB.sectsize, sb.sbSectsize);
  dv.setUint16(SB.inodesize, sb.sbInodesize);
  dv.setUint16(SB.inopblock, sb.sbInopblock);
  data.fill(0, SB.fname, SB.fname + 12);
  for (let i = 0; i < Math.min(12, sb.sbFname.length); i++) data[SB.fname + i] = sb.sbFname.charCodeAt(i) & 0x7f;
  dv.setUint8(SB.blocklog, sb.sbBlocklog);
  dv.setUint8(SB.sectlog, sb.sbSectlog);
  dv.setUint8(SB.inodelog, sb.sbInodelog);
  dv.setUint8(SB.inopblog, sb.sbInopblog);
  dv.setUint8(SB.agblklog, sb.sbAgblklog);
  writeU64(dv, SB.icount, sb.sbIcount);
  writeU64(dv, SB.ifree, sb.sbIfree);
  writeU64(dv, SB.fdblocks, sb.sbFdblocks);
  dv.setUint32(SB.inoalignmt, sb.sbInoalignmt);
  dv.setUint32(SB.unit, sb.sbUnit);
  dv.setUint32(SB.width, sb.sbWidth);
  dv.setUint32(SB.features2, sb.sbFeatures2);
  dv.setUint32(SB.badFeatures2, sb.sbFeatures2);
  dv.setUint32(SB.featuresCompat, sb.sbFeaturesCompat);
  dv.setUint32(SB.featuresRoCompat, sb.sbFeaturesRoCompat);
  dv.setUint32(SB.featuresIncompat, sb.sbFeaturesIncompat);
  dv.setUint32(SB.featuresLogIncompat, sb.sbFeaturesLogIncompat);
  writeU64(dv, SB.lsn, sb.sbLsn);
  data.set(sb.sbUuid, SB.metaUuid);
}

/** `xfs_sb_from_disk()`. */
export function xfsSbFromDisk(data: Uint8Array): XfsSb {
  const dv = dvOf(data);
  const rootino = readU64(dv, SB.rootino);
  const nameBytes = data.subarray(SB.fname, SB.fname + 12);
  const nul = nameBytes.indexOf(0);
  return {
    sbBlocksize: dv.getUint32(SB.blocksize),
    sbDblocks: readU64(dv, SB.dblocks),
    sbUuid: data.slice(SB.uuid, SB.uuid + 16),
    sbLogstart: readU64(dv, SB.logstart),
    sbRootino: rootino >= 2 ** 63 ? NULLFSINO : rootino,
    sbRbmino: readU64(dv, SB.rbmino) >= 2 ** 63 ? NULLFSINO : readU64(dv, SB.rbmino),
    sbRsumino: readU64(dv, SB.rsumino) >= 2 ** 63 ? NULLFSINO : readU64(dv, SB.rsumino),
    sbAgblocks: dv.getUint32(SB.agblocks),
    sbAgcount: dv.getUint32(SB.agcount),
    sbLogblocks: dv.getUint32(SB.logblocks),
    sbVersionnum: dv.getUint16(SB.versionnum),
    sbSectsize: dv.getUint16(SB.sectsize),
    sbInodesize: dv.getUint16(SB.inodesize),
    sbInopblock: dv.getUint16(SB.inopblock),
    sbFname: String.fromCharCode(...(nul < 0 ? nameBytes : nameBytes.subarray(0, nul))),
    sbBlocklog: dv.getUint8(SB.blocklog),
    sbSectlog: dv.getUint8(SB.sectlog),
    sbInodelog: dv.getUint8(SB.inodelog),
    sbInopblog: dv.getUint8(SB.inopblog),
    sbAgblklog: dv.getUint8(SB.agblklog),
    sbIcount: readU64(dv, SB.icount),
    sbIfree: readU64(dv, SB.ifree),
    sbFdblocks: readU64(dv, SB.fdblocks),
    sbInoalignmt: dv.getUint32(SB.inoalignmt),
    sbUnit: dv.getUint32(SB.unit),
    sbWidth: dv.getUint32(SB.width),
    sbFeatures2: dv.getUint32(SB.features2),
    sbFeaturesCompat: dv.getUint32(SB.featuresCompat),
    sbFeaturesRoCompat: dv.getUint32(SB.featuresRoCompat),
    sbFeaturesIncompat: dv.getUint32(SB.featuresIncompat),
    sbFeaturesLogIncompat: dv.getUint32(SB.featuresLogIncompat),
    sbLsn: readU64(dv, SB.lsn),
  };
}

function corrupt(what: string, d: Daddr, why: string): never {
  throw new KernelError("EUCLEAN", `${what} at daddr ${d}: ${why}`);
}

function headerOps(name: string, type: number, magic: number, crcOff: number, len: number, check?: (dv: DataView, d: Daddr) => void): XfsBufOps {
  return {
    name,
    type,
    magic: [magic],
    verifyRead(data, d) {
      const dv = dvOf(data);
      if (dv.getUint32(0) !== magic) corrupt(name, d, `bad magic 0x${dv.getUint32(0).toString(16)}`);
      if (!xfsVerifyCksum(data, len, crcOff)) corrupt(name, d, "bad checksum (EFSBADCRC)");
      check?.(dv, d);
    },
    verifyWrite(data) {
      xfsUpdateCksum(data, len, crcOff);
    },
  };
}

/** `xfs_sb_buf_ops`. */
export const xfsSbBufOps = headerOps("xfs_sb", XFS_BLFT_SB_BUF, XFS_SB_MAGIC, SB.crc, XFS_SECTSIZE, (dv, d) => {
  if (dv.getUint32(SB.blocksize) !== 4096) corrupt("xfs_sb", d, "block size is not 4096");
  if ((dv.getUint16(SB.versionnum) & 0xf) !== XFS_SB_VERSION_5) corrupt("xfs_sb", d, "not a v5 superblock");
});
/** `xfs_agf_buf_ops`. */
export const xfsAgfBufOps = headerOps("xfs_agf", XFS_BLFT_AGF_BUF, XFS_AGF_MAGIC, AGF.crc, XFS_SECTSIZE, (dv, d) => {
  if (dv.getUint32(AGF.flcount) > XFS_AGFL_SIZE) corrupt("xfs_agf", d, "flcount beyond the AGFL");
  if (dv.getUint32(AGF.freeblks) > dv.getUint32(AGF.length)) corrupt("xfs_agf", d, "freeblks beyond the AG");
});
/** `xfs_agi_buf_ops`. */
export const xfsAgiBufOps = headerOps("xfs_agi", XFS_BLFT_AGI_BUF, XFS_AGI_MAGIC, AGI.crc, XFS_SECTSIZE);
/** `xfs_agfl_buf_ops`. */
export const xfsAgflBufOps = headerOps("xfs_agfl", XFS_BLFT_AGFL_BUF, XFS_AGFL_MAGIC, AGFL.crc, XFS_SECTSIZE);
