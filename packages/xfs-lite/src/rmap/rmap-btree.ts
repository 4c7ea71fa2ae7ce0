/**
 * The reverse-mapping btree of one allocation group, as the rmap logic sees it: records
 * keyed by (start block, owner, offset, flags) whose block ranges may overlap (reflink),
 * with a query for every record overlapping a block range.
 *
 * @see fs/xfs/libxfs/xfs_rmap.c xfs_rmap_query_range(), xfs_rmap_insert(),
 *      xfs_rmap_delete(); fs/xfs/libxfs/xfs_btree.c xfs_btree_overlapped_query_range()
 *
 * `XfsRmapMemBtree` keeps the records in memory and answers overlap queries by walking
 * back from the end of the range no further than the longest record it holds (the
 * kernel's overlapping btree keeps high keys in its nodes instead).
 */
import { SortedRecords } from "../iext/sorted-records.js";
import type { XfsAgblock } from "../refcount/types.js";
import { rmapCompare, type XfsRmapIrec } from "./types.js";

export interface XfsRmapBtree {
  /** Every record overlapping [agbno, agbno + len), in key order. */
  queryRange(agbno: XfsAgblock, len: number): XfsRmapIrec[];
  insert(irec: XfsRmapIrec): void;
  /** Delete the record with exactly this key. */
  delete(irec: XfsRmapIrec): void;
  records(): Iterable<XfsRmapIrec>;
}

export class XfsRmapMemBtree implements XfsRmapBtree {
  private readonly recs = new SortedRecords<XfsRmapIrec>(rmapCompare);
  private maxLen = 0;

  get size(): number {
    return this.recs.size;
  }

  queryRange(agbno: XfsAgblock, len: number): XfsRmapIrec[] {
    const out: XfsRmapIrec[] = [];
    const key: XfsRmapIrec = { rmStartblock: agbno + len, rmOwner: 0, rmOffset: -1, rmFlags: 0, rmBlockcount: 0 };
    for (const r of this.recs.walkBackFrom(key)) {
      if (r.rmStartblock + this.maxLen <= agbno) break;
      if (rmapCompare(r, key) >= 0) continue;
      if (r.rmStartblock + r.rmBlockcount > agbno) out.push({ ...r });
    }
    return out.reverse();
  }

  insert(irec: XfsRmapIrec): void {
    this.maxLen = Math.max(this.maxLen, irec.rmBlockcount);
    this.recs.insert({ ...irec });
  }

  delete(irec: XfsRmapIrec): void {
    if (this.recs.delete(irec) === undefined) {
      throw new RangeError(`rmapbt delete: no record ${irec.rmStartblock}/${irec.rmOwner}/${irec.rmOffset}`);
    }
  }

  *records(): Generator<XfsRmapIrec> {
    for (const r of this.recs.all()) yield { ...r };
  }
}
