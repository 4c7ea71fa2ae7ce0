/**
 * The Active Item List: buffers whose committed changes are in the log but not yet
 * written in place, ordered by the LSN of the first record that dirtied them. Its head is
 * the log tail.
 *
 * @see fs/xfs/xfs_trans_ail.c xfs_trans_ail_update(), xfs_ail_min_lsn(),
 *      xfs_ail_push_all_sync(), xfs_ail_delete(); fs/xfs/xfs_log.c xfs_log_cover()
 *
 * Pushing writes every item (write-ahead: the log is forced first), flushes, and then
 * writes and forces a dummy record that carries the new tail, so the freed log space is
 * reusable only once a durable record says so (the kernel's log covering). An item whose
 * buffer is joined to the running transaction is written as its pre-image: the last
 * committed contents, never the uncommitted ones. Partial pushes are not modelled.
 */
import { XBF_DONE, xfsBufHold, xfsBufRele, xfsBufWriteData, type XfsBuf } from "../buf/xfs-buf.js";
import { XLOG_REC_DUMMY, type XfsLsn, type Xlog } from "./xfs-log.js";

export interface XfsAilStats {
  pushes: number;
  itemsWritten: number;
}

export class XfsAil {
  /** Buffer → LSN of the first record that dirtied it since it was last written. */
  readonly items = new Map<XfsBuf, XfsLsn>();
  readonly stats: XfsAilStats = { pushes: 0, itemsWritten: 0 };

  /** `xfs_trans_ail_update()`: the AIL holds a reference while the buffer is dirty. */
  insert(bp: XfsBuf, lsn: XfsLsn): void {
    if (this.items.has(bp)) return;
    xfsBufHold(bp);
    this.items.set(bp, lsn);
  }

  /** `xfs_ail_delete()` without writing (the buffer was invalidated). */
  remove(bp: XfsBuf): void {
    if (!this.items.delete(bp)) return;
    xfsBufRele(bp);
  }

  /** `xfs_ail_min_lsn()`: the log tail, or undefined when nothing is dirty. */
  minLsn(): XfsLsn | undefined {
    for (const lsn of this.items.values()) return lsn;
    return undefined;
  }

  get length(): number {
    return this.items.size;
  }
}

/**
 * `xfs_ail_push_all_sync()` + log covering: write back every dirty buffer and move the
 * durable log tail to the head. `committedImage(bp)` returns the bytes to write for a
 * buffer joined to an open transaction (its pre-image), or undefined.
 */
export function xfsAilPushAll(ail: XfsAil, log: Xlog, committedImage: (bp: XfsBuf) => Uint8Array | undefined = () => undefined): void {
  log.force();
  if (ail.items.size === 0 && log.lTailLsn === log.headLsn) return;
  ail.stats.pushes++;
  const bufs = [...ail.items.keys()].sort((a, b) => a.bRhashKey - b.bRhashKey);
  for (const bp of bufs) {
    const image = committedImage(bp);
    xfsBufWriteData(bp, image === undefined ? bp.bAddr : image.slice());
    ail.stats.itemsWritten++;
  }
  if (bufs.length > 0) log.lDev.flush();
  for (const bp of bufs) {
    bp.bFlags |= XBF_DONE;
    ail.remove(bp);
  }
  log.writeRecord(XLOG_REC_DUMMY, 0, 0, new Uint8Array(0), undefined);
  log.force();
}
