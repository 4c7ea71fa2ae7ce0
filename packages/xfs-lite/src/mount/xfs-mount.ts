/**
 * `struct xfs_mount`: a mounted file system's geometry, in-core superblock and counters,
 * buffer cache, log and AIL.
 *
 * @see fs/xfs/xfs_mount.h struct xfs_mount (m_sb, m_ddev_targp, m_log, m_ail,
 *      m_fdblocks, m_icount, m_ifree, m_features); fs/xfs/libxfs/xfs_format.h
 *      XFS_AGB_TO_DADDR(), XFS_FSB_TO_DADDR(), XFS_FSB_TO_AGNO(), XFS_FSB_TO_AGBNO(),
 *      XFS_AGB_TO_FSB(), XFS_AG_DADDR()
 *
 * Per-cpu counters are plain numbers. Fs block numbers pack the AG number above
 * `sb_agblklog` bits as XFS does, so they are sparse when agblocks is not a power of two;
 * disk addresses are linear (`agno * agblocks + agbno` blocks).
 */
import { daddr, type BlockDevice, type Daddr } from "../blockdev.js";
import type { XfsBuftarg } from "../buf/xfs-buf.js";
import type { XfsExtentBusy } from "../ag/xfs-extent-busy.js";
import type { XfsSb } from "../ag/xfs-format.js";
import type { XfsFsblock } from "../iext/types.js";
import type { XfsAgblock, XfsAgnumber } from "../refcount/types.js";
import type { XfsAil } from "../trans/xfs-trans-ail.js";
import type { Xlog } from "../trans/xfs-log.js";
import type { XfsTrans } from "../trans/xfs-trans.js";
import type { XlogRecoverResult } from "../trans/xfs-log-recover.js";

export const XFS_BLOCKSIZE = 4096;
export const XFS_BLOCKLOG = 12;
/** Basic blocks per file-system block. */
export const XFS_BB_PER_FSB = XFS_BLOCKSIZE / 512;

export interface XfsMountStats {
  commits: number;
  emptyCommits: number;
  syncCommits: number;
  cancels: number;
}

export class XfsMount {
  readonly mDev: BlockDevice;
  readonly mBtp: XfsBuftarg;
  readonly mLog: Xlog;
  readonly mAil: XfsAil;
  readonly mExtentBusy: XfsExtentBusy;
  /** The in-core superblock (`m_sb`); counters below are the live ones. */
  readonly mSb: XfsSb;
  readonly blockSize = XFS_BLOCKSIZE;
  readonly agcount: number;
  readonly agblocks: number;
  readonly agblklog: number;
  /** `m_fdblocks`: free blocks not reserved by a transaction. */
  mFdblocks: number;
  mIcount: number;
  mIfree: number;
  mShutdown = false;
  mReadonly = false;
  mNextTid = 1;
  mActiveTrans: XfsTrans | null = null;
  /** Tests: at most this many records per btree leaf / entries per node (mkfs and mount must agree). */
  mBtreeSmall: { leaf: number; node: number } | undefined = undefined;
  /** What log recovery did at mount. */
  mRecovery: XlogRecoverResult | null = null;
  readonly mStats: XfsMountStats = { commits: 0, emptyCommits: 0, syncCommits: 0, cancels: 0 };

  constructor(args: { dev: BlockDevice; btp: XfsBuftarg; log: Xlog; ail: XfsAil; busy: XfsExtentBusy; sb: XfsSb }) {
    this.mDev = args.dev;
    this.mBtp = args.btp;
    this.mLog = args.log;
    this.mAil = args.ail;
    this.mExtentBusy = args.busy;
    this.mSb = args.sb;
    this.agcount = args.sb.sbAgcount;
    this.agblocks = args.sb.sbAgblocks;
    this.agblklog = args.sb.sbAgblklog;
    this.mFdblocks = args.sb.sbFdblocks;
    this.mIcount = args.sb.sbIcount;
    this.mIfree = args.sb.sbIfree;
  }

  /** `xfs_has_reflink()`. */
  get hasReflink(): boolean {
    return (this.mSb.sbFeaturesRoCompat & 4) !== 0;
  }
  /** `xfs_has_rmapbt()`. */
  get hasRmapbt(): boolean {
    return (this.mSb.sbFeaturesRoCompat & 2) !== 0;
  }
  /** The geometry the file layers use (`XfsGeometry`). */
  get geo(): { blockSize: number; agblklog: number; agcount: number; agblocks: number; dalign: number } {
    return this;
  }
  /** `m_dalign`: the stripe unit file data is aligned to, in blocks (0: none). */
  get dalign(): number {
    return this.mSb.sbUnit;
  }
  /**
   * `igeo->ialloc_align` (`xfs_ialloc_setup_geometry()`): inode chunks go on stripe-unit
   * boundaries when the stripe unit is a multiple of the inode alignment.
   */
  get iallocAlign(): number {
    const inoalign = this.mSb.sbInoalignmt;
    return this.mSb.sbUnit > 0 && inoalign > 0 && this.mSb.sbUnit % inoalign === 0 ? this.mSb.sbUnit : 0;
  }
  /** Blocks in AG `agno` (the last AG may be shorter). */
  agSize(agno: XfsAgnumber): number {
    return agno < this.agcount - 1 ? this.agblocks : this.mSb.sbDblocks - agno * this.agblocks;
  }
}

/** `XFS_AGB_TO_DADDR()`. */
export function xfsAgbToDaddr(mp: { agblocks: number }, agno: XfsAgnumber, agbno: XfsAgblock): Daddr {
  return daddr((agno * mp.agblocks + agbno) * XFS_BB_PER_FSB);
}
/** `XFS_AG_DADDR()`: a sector inside the AG header block. */
export function xfsAgDaddr(mp: { agblocks: number }, agno: XfsAgnumber, d: number): Daddr {
  return daddr(agno * mp.agblocks * XFS_BB_PER_FSB + d);
}
/** `XFS_FSB_TO_AGNO()`. */
export function xfsFsbToAgno(mp: { agblklog: number }, fsb: XfsFsblock): XfsAgnumber {
  return Math.floor(fsb / 2 ** mp.agblklog);
}
/** `XFS_FSB_TO_AGBNO()`. */
export function xfsFsbToAgbno(mp: { agblklog: number }, fsb: XfsFsblock): XfsAgblock {
  return fsb % 2 ** mp.agblklog;
}
/** `XFS_AGB_TO_FSB()`. */
export function xfsAgbToFsb(mp: { agblklog: number }, agno: XfsAgnumber, agbno: XfsAgblock): XfsFsblock {
  return agno * 2 ** mp.agblklog + agbno;
}
/** `XFS_FSB_TO_DADDR()`. */
export function xfsFsbToDaddr(mp: { agblklog: number; agblocks: number }, fsb: XfsFsblock): Daddr {
  return xfsAgbToDaddr(mp, xfsFsbToAgno(mp, fsb), xfsFsbToAgbno(mp, fsb));
}
/** `XFS_DADDR_TO_FSB()`. */
export function xfsDaddrToFsb(mp: { agblklog: number; agblocks: number }, d: Daddr): XfsFsblock {
  const blk = Math.floor(d / XFS_BB_PER_FSB);
  return xfsAgbToFsb(mp, Math.floor(blk / mp.agblocks), blk % mp.agblocks);
}
