/**
 * mkfs: lay out the superblock, every AG's headers and empty btrees, the free space and
 * the internal log, and record every used block in the rmapbt.
 *
 * @see xfsprogs mkfs/xfs_mkfs.c (calculate_initial_ag_geometry(), align_internal_log(),
 *      initialise_ag_headers()); fs/xfs/libxfs/xfs_ag.c xfs_ag_init_headers(),
 *      xfs_agfblock_init(), xfs_agiblock_init(), xfs_agflblock_init(), xfs_btroot_init(),
 *      xfs_rmaproot_init() (OWN_FS / OWN_AG / OWN_INOBT / OWN_REFC / OWN_LOG records)
 *
 * Layout as mkfs.xfs 6.1 on a pmem device (4096-byte sectors), so block numbers match
 * the real kernel's: AG blocks 0-3 sb/AGF/AGI/AGFL, 4 bnobt, 5 cntbt, 6 inobt, 7 (finobt,
 * reserved), then rmapbt and refcountbt roots when enabled, then the AGFL preload
 * (`xfs_alloc_min_freelist()`: 6 blocks with rmapbt, 4 without), then free space. 4 AGs
 * once the device holds 64 MiB; v5 with crc, reflink and rmapbt on. The log is smaller
 * than mkfs.xfs makes it (1/128 of the device, 64..4096 blocks) and sits at the start of
 * the free space of the middle AG, as mkfs.xfs places it.
 * The root directory is the file layer's: `sb_rootino` stays NULLFSINO until it logs one
 * (`mp.mSb.sbRootino = ino; xfsLogSb(tp)`). The initial rmap records are inserted by a
 * transaction on a first mount, so small test geometries split the rmapbt like any other.
 */
import { KernelError } from "@pagelab/mm-core";
import { BBSIZE, daddr, type BlockDevice } from "../blockdev.js";
import { xfsBtreeBufOps, BB_LEVEL, BB_MAGIC, BB_NUMRECS, BB_LEFTSIB, blknoOff, ownerOff, recOff, rightsibOff, uuidOff, writePtr, NULLPTR } from "../btree/xfs-btree-format.js";
import { xfsBnobtOps, xfsCntbtOps, xfsInobtOps, xfsRefcountbtOps, xfsRmapbtOps, type XfsAllocRec } from "../btree/xfs-btree-records.js";
import type { XfsBtreeOps } from "../btree/xfs-btree.js";
import {
  AGF,
  AGFL,
  AGI,
  NULLAGBLOCK,
  NULLAGINO,
  NULLFSINO,
  XFS_AGFL_DADDR,
  XFS_AGFL_MAGIC,
  XFS_AGF_DADDR,
  XFS_AGFL_BLOCK,
  XFS_AGFL_SIZE,
  XFS_FIBT_BLOCK,
  XFS_SECTSIZE,
  XFS_AGF_MAGIC,
  XFS_AGF_VERSION,
  XFS_AGI_DADDR,
  XFS_AGI_MAGIC,
  XFS_AGI_UNLINKED_BUCKETS,
  XFS_AGI_VERSION,
  XFS_BNO_BLOCK,
  XFS_CNT_BLOCK,
  XFS_IBT_BLOCK,
  XFS_SB_FEAT_INCOMPAT_BIGTIME,
  XFS_SB_FEAT_INCOMPAT_FTYPE,
  XFS_SB_FEAT_RO_COMPAT_REFLINK,
  XFS_SB_FEAT_RO_COMPAT_RMAPBT,
  XFS_SB_VERSION2_ATTR2BIT,
  XFS_SB_VERSION2_CRCBIT,
  XFS_SB_VERSION2_FTYPE,
  XFS_SB_VERSION2_LAZYSBCOUNTBIT,
  XFS_SB_VERSION2_PROJID32BIT,
  XFS_SB_VERSION_5,
  XFS_SB_VERSION_ALIGNBIT,
  XFS_SB_VERSION_DALIGNBIT,
  XFS_SB_VERSION_DIRV2BIT,
  XFS_SB_VERSION_MOREBITSBIT,
  XFS_SB_VERSION_NLINKBIT,
  xfsAgfBufOps,
  xfsAgflBufOps,
  xfsAgiBufOps,
  xfsSbBufOps,
  xfsSbToDisk,
  type XfsSb,
} from "../ag/xfs-format.js";
import { xfsRmapbtCur } from "../ag/xfs-ag-btrees.js";
import { XFS_RMAP_OWN_AG, XFS_RMAP_OWN_FS, XFS_RMAP_OWN_INOBT, XFS_RMAP_OWN_LOG, XFS_RMAP_OWN_REFC } from "../rmap/types.js";
import { XLOG_REC_UNMOUNT, encodeRecHeader, xlogAssignLsn } from "../trans/xfs-log.js";
import { xfsTransAlloc } from "../trans/xfs-trans.js";
import { XFS_BB_PER_FSB, XFS_BLOCKSIZE, xfsAgbToDaddr, xfsAgbToFsb } from "./xfs-mount.js";
import { xfsMount, xfsUnmount } from "./xfs-mount-ops.js";

export interface XfsMkfsOptions {
  reflink?: boolean;
  rmapbt?: boolean;
  agcount?: number;
  /** Log size in file-system blocks (`-l size=`). */
  logBlocks?: number;
  /** Data stripe unit in blocks (`-d sunit=` in blocks, or `su=` bytes / 4096): `sb_unit`. */
  sunit?: number;
  /** Data stripe width in blocks (`-d swidth=`, or `sw=` × the stripe unit): `sb_width`. */
  swidth?: number;
  label?: string;
  uuid?: Uint8Array;
  /** Tests: small btree blocks (mount with the same value). */
  btreeSmall?: { leaf: number; node: number };
}

/** What mkfs laid out (what `mkfs.xfs` prints, roughly). */
export interface XfsMkfsResult {
  dblocks: number;
  agcount: number;
  agblocks: number;
  /** `sb_unit` / `sb_width` in blocks. */
  sunit: number;
  swidth: number;
  logstart: number;
  logblocks: number;
  /** Free blocks after mkfs (`sb_fdblocks`). */
  fdblocks: number;
}

/** XFS_AG_MIN_BLOCKS-like floor used for the default AG count (16 MiB). */
const AG_DEFAULT_MIN_BLOCKS = 4096;
const AG_MIN_BLOCKS = 64;

function defaultUuid(): Uint8Array {
  const u = new Uint8Array(16);
  for (let i = 0; i < 16; i++) u[i] = Math.floor(Math.random() * 256);
  return u;
}

function leafImage<R, K>(ops: XfsBtreeOps<R, K>, blockDaddr: number, agno: number, uuid: Uint8Array, recs: readonly R[]): Uint8Array {
  const data = new Uint8Array(XFS_BLOCKSIZE);
  const dv = new DataView(data.buffer);
  dv.setUint32(BB_MAGIC, ops.magic);
  dv.setUint16(BB_LEVEL, 0);
  dv.setUint16(BB_NUMRECS, recs.length);
  writePtr(dv, BB_LEFTSIB, ops.longPtrs, NULLPTR);
  writePtr(dv, rightsibOff(ops), ops.longPtrs, NULLPTR);
  dv.setUint32(blknoOff(ops), Math.floor(blockDaddr / 2 ** 32));
  dv.setUint32(blknoOff(ops) + 4, blockDaddr % 2 ** 32);
  data.set(uuid, uuidOff(ops));
  dv.setUint32(ownerOff(ops), agno);
  recs.forEach((r, i) => ops.encodeRec(dv, recOff(ops, i), r));
  xfsBtreeBufOps(ops.name, ops).verifyWrite(data, daddr(blockDaddr));
  return data;
}

/** `mkfs.xfs`: format `dev`. Returns the geometry; mount it with `xfsMount()`. */
export function xfsMkfs(dev: BlockDevice, opts: XfsMkfsOptions = {}): XfsMkfsResult {
  const reflink = opts.reflink ?? true;
  const rmapbt = opts.rmapbt ?? true;
  const small = opts.btreeSmall;
  const total = Math.floor(dev.nrSectors / XFS_BB_PER_FSB);
  const agcount = opts.agcount ?? (total >= 4 * AG_DEFAULT_MIN_BLOCKS ? 4 : Math.max(1, Math.floor(total / AG_DEFAULT_MIN_BLOCKS)));
  const sunit = opts.sunit ?? 0;
  const swidth = opts.swidth ?? sunit;
  // validate_dsunit_dswidth(): both or neither, the width a multiple of the unit
  if (sunit < 0 || swidth < 0 || (sunit === 0) !== (swidth === 0) || (sunit > 0 && swidth % sunit !== 0)) {
    throw new KernelError("EINVAL", `mkfs: stripe unit ${sunit} and width ${swidth} blocks`);
  }
  let agblocks = Math.floor(total / agcount);
  // align_ag_geometry(): AGs start on stripe-unit boundaries
  if (sunit > 0 && agblocks > sunit) agblocks -= agblocks % sunit;
  if (agcount < 1 || agblocks < AG_MIN_BLOCKS) throw new KernelError("EINVAL", `mkfs: ${total} blocks cannot hold ${agcount} AGs`);
  const dblocks = agblocks * agcount;
  const agblklog = Math.ceil(Math.log2(agblocks));
  const logBlocks = opts.logBlocks ?? Math.min(4096, Math.max(64, Math.floor(dblocks / 128)));
  const uuid = opts.uuid ?? defaultUuid();

  let next = XFS_FIBT_BLOCK + 1;
  const rmapBlock = rmapbt ? next++ : NULLAGBLOCK;
  const refcBlock = reflink ? next++ : NULLAGBLOCK;
  // xfs_alloc_min_freelist() with every btree one level high.
  const agflCount = (2 + 2 + (rmapbt ? 2 : 0)) * (small === undefined ? 1 : 2);
  const agflStart = next;
  const firstFree = agflStart + agflCount;
  const logAgno = Math.floor(agcount / 2);
  if (firstFree + logBlocks + 16 > agblocks) throw new KernelError("EINVAL", `mkfs: a ${logBlocks}-block log does not fit an AG of ${agblocks}`);
  const logstart = xfsAgbToFsb({ agblklog }, logAgno, firstFree);

  let fdblocks = 0;
  const rmapRecs: { agno: number; start: number; len: number; owner: number }[] = [];
  for (let agno = 0; agno < agcount; agno++) {
    const geo = { agblocks };
    const hdr = (s: number) => agno * agblocks * XFS_BB_PER_FSB + s;
    const freeStart = agno === logAgno ? firstFree + logBlocks : firstFree;
    const free: XfsAllocRec = { arStartblock: freeStart, arBlockcount: agblocks - freeStart };
    fdblocks += free.arBlockcount;

    const agf = new Uint8Array(XFS_SECTSIZE);
    const fv = new DataView(agf.buffer);
    fv.setUint32(AGF.magicnum, XFS_AGF_MAGIC);
    fv.setUint32(AGF.versionnum, XFS_AGF_VERSION);
    fv.setUint32(AGF.seqno, agno);
    fv.setUint32(AGF.length, agblocks);
    fv.setUint32(AGF.bnoRoot, XFS_BNO_BLOCK);
    fv.setUint32(AGF.cntRoot, XFS_CNT_BLOCK);
    fv.setUint32(AGF.rmapRoot, rmapbt ? rmapBlock : 0);
    fv.setUint32(AGF.bnoLevel, 1);
    fv.setUint32(AGF.cntLevel, 1);
    fv.setUint32(AGF.rmapLevel, rmapbt ? 1 : 0);
    fv.setUint32(AGF.flfirst, 0);
    fv.setUint32(AGF.fllast, agflCount - 1);
    fv.setUint32(AGF.flcount, agflCount);
    fv.setUint32(AGF.freeblks, free.arBlockcount);
    fv.setUint32(AGF.longest, free.arBlockcount);
    agf.set(uuid, AGF.uuid);
    fv.setUint32(AGF.rmapBlocks, rmapbt ? 1 : 0);
    fv.setUint32(AGF.refcountBlocks, reflink ? 1 : 0);
    fv.setUint32(AGF.refcountRoot, reflink ? refcBlock : 0);
    fv.setUint32(AGF.refcountLevel, reflink ? 1 : 0);
    xfsAgfBufOps.verifyWrite(agf, daddr(hdr(XFS_AGF_DADDR)));
    dev.write(hdr(XFS_AGF_DADDR), agf);

    const agi = new Uint8Array(XFS_SECTSIZE);
    const iv = new DataView(agi.buffer);
    iv.setUint32(AGI.magicnum, XFS_AGI_MAGIC);
    iv.setUint32(AGI.versionnum, XFS_AGI_VERSION);
    iv.setUint32(AGI.seqno, agno);
    iv.setUint32(AGI.length, agblocks);
    iv.setUint32(AGI.root, XFS_IBT_BLOCK);
    iv.setUint32(AGI.level, 1);
    iv.setUint32(AGI.newino, NULLAGINO);
    iv.setUint32(AGI.dirino, NULLAGINO);
    for (let i = 0; i < XFS_AGI_UNLINKED_BUCKETS; i++) iv.setUint32(AGI.unlinked + 4 * i, NULLAGINO);
    agi.set(uuid, AGI.uuid);
    iv.setUint32(AGI.iblocks, 1);
    xfsAgiBufOps.verifyWrite(agi, daddr(hdr(XFS_AGI_DADDR)));
    dev.write(hdr(XFS_AGI_DADDR), agi);

    const agfl = new Uint8Array(XFS_SECTSIZE);
    const lv = new DataView(agfl.buffer);
    lv.setUint32(AGFL.magicnum, XFS_AGFL_MAGIC);
    lv.setUint32(AGFL.seqno, agno);
    agfl.set(uuid, AGFL.uuid);
    for (let i = 0; i < XFS_AGFL_SIZE; i++) lv.setUint32(AGFL.bno + 4 * i, i < agflCount ? agflStart + i : NULLAGBLOCK);
    xfsAgflBufOps.verifyWrite(agfl, daddr(hdr(XFS_AGFL_DADDR)));
    dev.write(hdr(XFS_AGFL_DADDR), agfl);

    const root = (ops: XfsBtreeOps<unknown, unknown>, bno: number, recs: unknown[]): void => {
      const d = xfsAgbToDaddr(geo, agno, bno);
      dev.write(d, leafImage(ops, d, agno, uuid, recs));
    };
    root(xfsBnobtOps(small) as XfsBtreeOps<unknown, unknown>, XFS_BNO_BLOCK, [free]);
    root(xfsCntbtOps(small) as XfsBtreeOps<unknown, unknown>, XFS_CNT_BLOCK, [free]);
    root(xfsInobtOps(small) as XfsBtreeOps<unknown, unknown>, XFS_IBT_BLOCK, []);
    if (rmapbt) root(xfsRmapbtOps(small) as XfsBtreeOps<unknown, unknown>, rmapBlock, []);
    if (reflink) root(xfsRefcountbtOps(small) as XfsBtreeOps<unknown, unknown>, refcBlock, []);

    rmapRecs.push({ agno, start: 0, len: XFS_AGFL_BLOCK + 1, owner: XFS_RMAP_OWN_FS });
    rmapRecs.push({ agno, start: XFS_BNO_BLOCK, len: 2, owner: XFS_RMAP_OWN_AG });
    rmapRecs.push({ agno, start: XFS_IBT_BLOCK, len: 2, owner: XFS_RMAP_OWN_INOBT });
    if (rmapbt) rmapRecs.push({ agno, start: rmapBlock, len: 1, owner: XFS_RMAP_OWN_AG });
    if (reflink) rmapRecs.push({ agno, start: refcBlock, len: 1, owner: XFS_RMAP_OWN_REFC });
    rmapRecs.push({ agno, start: agflStart, len: agflCount, owner: XFS_RMAP_OWN_AG });
    if (agno === logAgno) rmapRecs.push({ agno, start: firstFree, len: logBlocks, owner: XFS_RMAP_OWN_LOG });
  }

  const sb: XfsSb = {
    sbBlocksize: XFS_BLOCKSIZE,
    sbDblocks: dblocks,
    sbUuid: uuid,
    sbLogstart: logstart,
    sbRootino: NULLFSINO,
    sbRbmino: NULLFSINO,
    sbRsumino: NULLFSINO,
    sbAgblocks: agblocks,
    sbAgcount: agcount,
    sbLogblocks: logBlocks,
    sbVersionnum:
      XFS_SB_VERSION_5 | XFS_SB_VERSION_NLINKBIT | XFS_SB_VERSION_ALIGNBIT | XFS_SB_VERSION_DIRV2BIT | XFS_SB_VERSION_MOREBITSBIT |
      (sunit > 0 ? XFS_SB_VERSION_DALIGNBIT : 0),
    sbSectsize: XFS_SECTSIZE,
    sbInodesize: 512,
    sbInopblock: XFS_BLOCKSIZE / 512,
    sbFname: opts.label ?? "",
    sbBlocklog: 12,
    sbSectlog: 12,
    sbInodelog: 9,
    sbInopblog: 3,
    sbAgblklog: agblklog,
    sbIcount: 0,
    sbIfree: 0,
    sbFdblocks: fdblocks,
    // sparse-inode mkfs: whole 64-inode chunks are the inode alignment
    sbInoalignmt: 8,
    sbUnit: sunit,
    sbWidth: swidth,
    sbFeatures2:
      XFS_SB_VERSION2_LAZYSBCOUNTBIT | XFS_SB_VERSION2_ATTR2BIT | XFS_SB_VERSION2_PROJID32BIT | XFS_SB_VERSION2_CRCBIT | XFS_SB_VERSION2_FTYPE,
    sbFeaturesCompat: 0,
    sbFeaturesRoCompat: (rmapbt ? XFS_SB_FEAT_RO_COMPAT_RMAPBT : 0) | (reflink ? XFS_SB_FEAT_RO_COMPAT_REFLINK : 0),
    sbFeaturesIncompat: XFS_SB_FEAT_INCOMPAT_FTYPE | XFS_SB_FEAT_INCOMPAT_BIGTIME,
    sbFeaturesLogIncompat: 0,
    sbLsn: 0,
  };
  for (let agno = 0; agno < agcount; agno++) {
    const data = new Uint8Array(XFS_SECTSIZE);
    xfsSbToDisk(data, sb);
    const d = agno * agblocks * XFS_BB_PER_FSB;
    xfsSbBufOps.verifyWrite(data, daddr(d));
    dev.write(d, data);
  }

  // A zeroed log holding one clean-unmount record at cycle 1, block 0.
  const logStartDaddr = xfsAgbToDaddr({ agblocks }, logAgno, firstFree);
  const chunk = new Uint8Array(256 * BBSIZE);
  for (let b = 0; b < logBlocks * XFS_BB_PER_FSB; b += 256) {
    const n = Math.min(256, logBlocks * XFS_BB_PER_FSB - b);
    dev.write(logStartDaddr + b, n === 256 ? chunk : chunk.subarray(0, n * BBSIZE));
  }
  const lsn = xlogAssignLsn(1, 0);
  dev.write(
    logStartDaddr,
    encodeRecHeader({ cycle: 1, type: XLOG_REC_UNMOUNT, lsn, prevLsn: 0, tailLsn: lsn, len: 0, numOps: 0, tid: 0 }, new Uint8Array(0)),
  );
  dev.flush();

  if (rmapbt) {
    const mp = xfsMount(dev, small === undefined ? {} : { btreeSmall: small });
    const tp = xfsTransAlloc(mp);
    for (const r of rmapRecs) {
      xfsRmapbtCur(tp, r.agno).insert({ rmStartblock: r.start, rmBlockcount: r.len, rmOwner: r.owner, rmOffset: 0, rmFlags: 0 });
    }
    tp.commit();
    xfsUnmount(mp);
  }
  return { dblocks, agcount, agblocks, sunit, swidth, logstart, logblocks: logBlocks, fdblocks };
}
