/**
 * Mount, unmount, remount and sync: read the superblock, recover the log, set up the
 * buffer cache, log and counters; at the end write everything back and a clean-unmount
 * record.
 *
 * @see fs/xfs/xfs_mount.c xfs_mountfs(), xfs_unmountfs(), xfs_initialize_perag_data()
 *      (counters rebuilt from the AG headers after an unclean shutdown),
 *      xfs_log_sbcount(); fs/xfs/xfs_log.c xfs_log_mount(), xfs_log_unmount_write(),
 *      xfs_log_quiesce(), xfs_log_force(); fs/xfs/xfs_super.c xfs_fs_reconfigure()
 *      (ro/rw), xfs_fs_sync_fs()
 *
 * Mount registers the verifiers of every infrastructure buffer type for recovery; the file
 * layer passes its own (`bufOps`). After recovery the log restarts at block 0 of a new
 * cycle, so no stale record can ever be mistaken for a successor.
 */
import { KernelBug, KernelError } from "@pagelab/mm-core";
import { daddr, type BlockDevice } from "../blockdev.js";
import { XfsBuftarg, xfsBuftargDrain, type XfsBufOps } from "../buf/xfs-buf.js";
import { XfsExtentBusy } from "../ag/xfs-extent-busy.js";
import { AGF, AGI, XFS_SB_DADDR, XFS_SECTSIZE, xfsAgfBufOps, xfsAgflBufOps, xfsAgiBufOps, xfsSbBufOps, xfsSbFromDisk } from "../ag/xfs-format.js";
import { hdrGet, xfsAllocReadAgf, xfsIallocReadAgi, xfsLogSb } from "../ag/xfs-ag-headers.js";
import { xfsBtreeBufOps } from "../btree/xfs-btree-format.js";
import { xfsBmbtOps, xfsBnobtOps, xfsCntbtOps, xfsInobtOps, xfsRefcountbtOps, xfsRmapbtOps } from "../btree/xfs-btree-records.js";
import { xfsRegisterBufOps } from "../trans/buf-ops-registry.js";
import { XLOG_REC_UNMOUNT, Xlog } from "../trans/xfs-log.js";
import { xlogFindRecords, xlogRecover } from "../trans/xfs-log-recover.js";
import { XfsAil, xfsAilPushAll } from "../trans/xfs-trans-ail.js";
import { xfsTransAlloc, xfsTransAllocEmpty } from "../trans/xfs-trans.js";
import { XFS_BB_PER_FSB, XfsMount, xfsFsbToDaddr } from "./xfs-mount.js";

export interface XfsMountOptions {
  /** Verifiers of the caller's own buffer types, so recovery can replay them. */
  bufOps?: readonly XfsBufOps[];
  /** Buffers kept on the LRU when unheld. */
  lruLimit?: number;
  readonly?: boolean;
  /** Tests: small btree blocks (must match what mkfs used). */
  btreeSmall?: { leaf: number; node: number };
}

/** Register the verifiers of every infrastructure buffer type. */
export function xfsRegisterInfraBufOps(small?: { leaf: number; node: number }): void {
  for (const ops of [xfsSbBufOps, xfsAgfBufOps, xfsAgiBufOps, xfsAgflBufOps]) xfsRegisterBufOps(ops);
  for (const make of [xfsBnobtOps, xfsCntbtOps, xfsInobtOps, xfsRmapbtOps, xfsRefcountbtOps, xfsBmbtOps]) {
    const o = make(small);
    xfsRegisterBufOps(xfsBtreeBufOps(o.name, o));
  }
}

/** Read and verify the primary superblock straight from the device. */
export function xfsReadSb(dev: BlockDevice): ReturnType<typeof xfsSbFromDisk> {
  const data = new Uint8Array(XFS_SECTSIZE);
  dev.read(XFS_SB_DADDR, data);
  xfsSbBufOps.verifyRead(data, daddr(XFS_SB_DADDR));
  return xfsSbFromDisk(data);
}

/** `xfs_mountfs()`: mount the file system on `dev`, replaying the log if it is dirty. */
export function xfsMount(dev: BlockDevice, opts: XfsMountOptions = {}): XfsMount {
  xfsRegisterInfraBufOps(opts.btreeSmall);
  for (const o of opts.bufOps ?? []) xfsRegisterBufOps(o);
  let sb = xfsReadSb(dev);
  if (sb.sbDblocks * XFS_BB_PER_FSB > dev.nrSectors) throw new KernelError("EINVAL", "xfs_mount: file system larger than the device");
  const geo = { agblocks: sb.sbAgblocks, agblklog: sb.sbAgblklog };
  const logStart = xfsFsbToDaddr(geo, sb.sbLogstart);
  const logBBs = sb.sbLogblocks * XFS_BB_PER_FSB;
  const recovery = xlogRecover(dev, logStart, logBBs);
  if (!recovery.clean) sb = xfsReadSb(dev);
  const btp = new XfsBuftarg(dev, opts.lruLimit === undefined ? {} : { lruLimit: opts.lruLimit });
  const log = new Xlog(dev, logStart, logBBs, recovery.head);
  const ail = new XfsAil();
  const mp = new XfsMount({ dev, btp, log, ail, busy: new XfsExtentBusy(log), sb });
  mp.mRecovery = recovery;
  mp.mBtreeSmall = opts.btreeSmall;
  if (!recovery.clean) xfsInitializePeragData(mp);
  mp.mReadonly = opts.readonly ?? false;
  return mp;
}

/** `xfs_initialize_perag_data()`: rebuild the lazy superblock counters from the AG headers. */
export function xfsInitializePeragData(mp: XfsMount): void {
  const tp = xfsTransAllocEmpty(mp);
  let free = 0;
  let icount = 0;
  let ifree = 0;
  for (let agno = 0; agno < mp.agcount; agno++) {
    free += hdrGet(xfsAllocReadAgf(tp, agno), AGF.freeblks);
    const agi = xfsIallocReadAgi(tp, agno);
    icount += hdrGet(agi, AGI.count);
    ifree += hdrGet(agi, AGI.freecount);
  }
  tp.commit();
  mp.mFdblocks = free;
  mp.mIcount = icount;
  mp.mIfree = ifree;
}

/** `xfs_log_force()`: every committed transaction becomes durable. */
export function xfsLogForce(mp: XfsMount): void {
  if (mp.mShutdown) throw new KernelError("EIO", "xfs_log_force: file system shut down");
  mp.mLog.force();
}

/** `xfs_ail_push_all_sync()`: write every dirty metadata buffer in place and move the log tail. */
export function xfsAilPush(mp: XfsMount): void {
  if (mp.mShutdown) throw new KernelError("EIO", "xfs_ail_push: file system shut down");
  if (mp.mActiveTrans !== null) throw new KernelBug("xfs_ail_push inside a transaction");
  xfsAilPushAll(mp.mAil, mp.mLog);
}

/** `xfs_fs_sync_fs()` with wait: force the log and write metadata back. */
export function xfsSyncFs(mp: XfsMount): void {
  xfsLogForce(mp);
  if (!mp.mReadonly) xfsAilPush(mp);
}

/** `xfs_log_quiesce()`: write back everything, then a clean-unmount record. */
function xfsLogQuiesce(mp: XfsMount): void {
  const tp = xfsTransAlloc(mp);
  xfsLogSb(tp);
  tp.commit();
  xfsAilPushAll(mp.mAil, mp.mLog);
  mp.mLog.writeRecord(XLOG_REC_UNMOUNT, 0, 0, new Uint8Array(0), undefined);
  mp.mLog.force();
}

/** `xfs_unmountfs()`: quiesce (unless read-only or shut down) and drop the buffer cache. */
export function xfsUnmount(mp: XfsMount): void {
  if (mp.mActiveTrans !== null) throw new KernelBug(`xfs_unmount: transaction ${mp.mActiveTrans.tTid} still open`);
  if (!mp.mReadonly && !mp.mShutdown) xfsLogQuiesce(mp);
  for (const bp of [...mp.mAil.items.keys()]) mp.mAil.remove(bp);
  xfsBuftargDrain(mp.mBtp);
  mp.mShutdown = true;
}

/** `xfs_fs_reconfigure()`: switch between read-only (log quiesced, clean) and read-write. */
export function xfsRemount(mp: XfsMount, opts: { readonly: boolean }): void {
  if (mp.mShutdown) throw new KernelError("EIO", "xfs_remount: file system shut down");
  if (opts.readonly && !mp.mReadonly) {
    xfsLogQuiesce(mp);
    mp.mReadonly = true;
  } else if (!opts.readonly) mp.mReadonly = false;
}

/** Whether the log on `dev` ends with a clean-unmount record (nothing to replay). */
export function xfsLogIsClean(dev: BlockDevice): boolean {
  const sb = xfsReadSb(dev);
  const geo = { agblocks: sb.sbAgblocks, agblklog: sb.sbAgblklog };
  return xlogFindRecords(dev, xfsFsbToDaddr(geo, sb.sbLogstart), sb.sbLogblocks * XFS_BB_PER_FSB).clean;
}
