/**
 * Busy extents: space freed by a transaction whose log record is not yet durable. Reusing
 * it before then could let new contents reach the disk while, after a crash, the old owner
 * still owns the blocks.
 *
 * @see fs/xfs/xfs_extent_busy.c xfs_extent_busy_insert(), xfs_extent_busy_search(),
 *      xfs_extent_busy_trim(), xfs_extent_busy_flush(), xfs_extent_busy_clear()
 *
 * The allocator trims each free extent it looks at down to a part clear of busy extents
 * (`trim`) and, only when nothing usable is left anywhere it looked, forces the log
 * (`flush`), after which every committed busy extent is reusable, and looks again.
 * Simplified: an extent stops being busy when its transaction's LSN is durable (the
 * kernel clears it when the CIL checkpoint holding it completes); no busy generations or
 * waiting, no discard; the extents a transaction freed itself become busy at its commit
 * (the kernel inserts them at free time), so the allocator passes them in to `trim`.
 */
import type { XfsBusyExtent } from "../trans/xfs-trans.js";
import type { XfsLsn, Xlog } from "../trans/xfs-log.js";

export interface XfsExtentBusyStats {
  inserted: number;
  /** Log forces to make busy space reusable. */
  flushes: number;
  /** Free extents found and trimmed (or refused) because part of them was busy. */
  trims: number;
}

/** What `trim` left of a free extent; `len` 0 when no part of at least `minlen` is clear. */
export interface XfsBusyTrim {
  bno: number;
  len: number;
  /** Whether a busy extent overlapped the free extent. */
  busy: boolean;
}

export class XfsExtentBusy {
  private readonly list: (XfsBusyExtent & { lsn: XfsLsn })[] = [];
  readonly stats: XfsExtentBusyStats = { inserted: 0, flushes: 0, trims: 0 };

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

  /**
   * `xfs_extent_busy_trim()`: cut the busy parts out of free extent [bno, bno + len) of
   * `agno` (also those in `own`, the extents the calling transaction freed). A busy
   * extent at one end shortens it; one in the middle keeps the lower part when it holds
   * `maxlen` (forward allocation), the upper part when that holds four times `maxlen`, else
   * the lower part if it holds `minlen`.
   */
  trim(agno: number, bno: number, len: number, minlen: number, maxlen: number, own: readonly XfsBusyExtent[] = []): XfsBusyTrim {
    this.prune();
    const busy = [...this.list, ...own].filter((e) => e.agno === agno && e.bno < bno + len && bno < e.bno + e.len).sort((x, y) => x.bno - y.bno);
    if (busy.length === 0) return { bno, len, busy: false };
    this.stats.trims++;
    let fbno = bno;
    let fend = bno + len;
    for (const b of busy) {
      if (fend - fbno < minlen) break;
      const bend = b.bno + b.len;
      if (fend <= b.bno || fbno >= bend) continue;
      if (b.bno <= fbno) {
        if (fend <= bend) return { bno: fbno, len: 0, busy: true };
        fbno = bend;
      } else if (bend >= fend) {
        fend = b.bno;
      } else if (b.bno - fbno >= maxlen) {
        fend = b.bno;
      } else if (fend - bend >= maxlen * 4) {
        fbno = bend;
      } else if (b.bno - fbno >= minlen) {
        fend = b.bno;
      } else {
        return { bno: fbno, len: 0, busy: true };
      }
    }
    return { bno: fbno, len: Math.max(0, fend - fbno), busy: true };
  }

  /** `xfs_extent_busy_flush()`: force the log so that committed busy extents clear. */
  flush(): void {
    this.log.force();
    this.stats.flushes++;
    this.prune();
  }

  get length(): number {
    this.prune();
    return this.list.length;
  }
}
