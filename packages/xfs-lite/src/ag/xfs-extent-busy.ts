/**
 * Busy extents: space freed by a transaction whose log record is not yet durable. Reusing
 * it before then could let new contents reach the disk while, after a crash, the old owner
 * still owns the blocks.
 *
 * @see fs/xfs/xfs_extent_busy.c xfs_extent_busy_insert(), xfs_extent_busy_search(),
 *      xfs_extent_busy_flush(), xfs_extent_busy_clear()
 *
 * Simplified: instead of trimming a candidate extent around busy ranges, an allocation
 * that overlaps one forces the log (which makes every busy extent reusable) and proceeds.
 */
import type { XfsBusyExtent } from "../trans/xfs-trans.js";
import type { XfsLsn, Xlog } from "../trans/xfs-log.js";

export interface XfsExtentBusyStats {
  inserted: number;
  flushes: number;
}

export class XfsExtentBusy {
  private readonly list: (XfsBusyExtent & { lsn: XfsLsn })[] = [];
  readonly stats: XfsExtentBusyStats = { inserted: 0, flushes: 0 };

  constructor(private readonly log: Xlog) {}

  /** `xfs_extent_busy_insert()` for the extents of a committed transaction. */
  insert(extents: readonly XfsBusyExtent[], lsn: XfsLsn): void {
    for (const e of extents) this.list.push({ ...e, lsn });
    this.stats.inserted += extents.length;
  }

  private prune(): void {
    let w = 0;
    for (const e of this.list) if (!this.log.isDurable(e.lsn)) this.list[w++] = e;
    this.list.length = w;
  }

  /** `xfs_extent_busy_search()`: whether [bno, bno + len) of `agno` overlaps a busy extent. */
  isBusy(agno: number, bno: number, len: number): boolean {
    this.prune();
    return this.list.some((e) => e.agno === agno && e.bno < bno + len && bno < e.bno + e.len);
  }

  /** `xfs_extent_busy_flush()` before reusing busy space: force the log. */
  reuse(agno: number, bno: number, len: number): void {
    if (!this.isBusy(agno, bno, len)) return;
    this.log.force();
    this.stats.flushes++;
    this.prune();
  }

  get length(): number {
    this.prune();
    return this.list.length;
  }
}
