/**
 * The refcount btree of one allocation group, as the refcount logic sees it: ordered,
 * non-overlapping records per domain, looked up less-or-equal / greater-or-equal.
 *
 * @see fs/xfs/libxfs/xfs_refcount.c xfs_refcount_lookup_le(), xfs_refcount_lookup_ge(),
 *      xfs_refcount_insert(), xfs_refcount_update(), xfs_refcount_delete()
 *
 * `XfsRefcountMemBtree` keeps the records in memory; the persistent btree of the
 * infrastructure layer implements the same interface through an adapter.
 */
import { SortedRecords } from "../iext/sorted-records.js";
import type { XfsAgblock, XfsRefcDomain, XfsRefcountIrec } from "./types.js";

export interface XfsRefcountBtree {
  /** The record of `domain` with the greatest start block <= agbno. */
  lookupLe(domain: XfsRefcDomain, agbno: XfsAgblock): XfsRefcountIrec | undefined;
  /** The record of `domain` with the smallest start block >= agbno. */
  lookupGe(domain: XfsRefcDomain, agbno: XfsAgblock): XfsRefcountIrec | undefined;
  insert(irec: XfsRefcountIrec): void;
  /** Replace the record starting at `oldStart` in `irec.rcDomain` by `irec`. */
  update(oldStart: XfsAgblock, irec: XfsRefcountIrec): void;
  delete(domain: XfsRefcDomain, agbno: XfsAgblock): void;
  /** Every record in key order (domain, start block). */
  records(): Iterable<XfsRefcountIrec>;
}

function cmp(a: XfsRefcountIrec, b: XfsRefcountIrec): number {
  return a.rcDomain - b.rcDomain || a.rcStartblock - b.rcStartblock;
}

function key(domain: XfsRefcDomain, agbno: XfsAgblock): XfsRefcountIrec {
  return { rcDomain: domain, rcStartblock: agbno, rcBlockcount: 0, rcRefcount: 0 };
}

export class XfsRefcountMemBtree implements XfsRefcountBtree {
  private readonly recs = new SortedRecords<XfsRefcountIrec>(cmp);

  get size(): number {
    return this.recs.size;
  }

  lookupLe(domain: XfsRefcDomain, agbno: XfsAgblock): XfsRefcountIrec | undefined {
    const r = this.recs.lookupLe(key(domain, agbno));
    return r && r.rcDomain === domain ? { ...r } : undefined;
  }

  lookupGe(domain: XfsRefcDomain, agbno: XfsAgblock): XfsRefcountIrec | undefined {
    const r = this.recs.lookupGe(key(domain, agbno));
    return r && r.rcDomain === domain ? { ...r } : undefined;
  }

  insert(irec: XfsRefcountIrec): void {
    this.recs.insert({ ...irec });
  }

  update(oldStart: XfsAgblock, irec: XfsRefcountIrec): void {
    if (this.recs.delete(key(irec.rcDomain, oldStart)) === undefined) {
      throw new RangeError(`refcountbt update: no record at ${oldStart}`);
    }
    this.recs.insert({ ...irec });
  }

  delete(domain: XfsRefcDomain, agbno: XfsAgblock): void {
    if (this.recs.delete(key(domain, agbno)) === undefined) {
      throw new RangeError(`refcountbt delete: no record at ${agbno}`);
    }
  }

  *records(): Generator<XfsRefcountIrec> {
    for (const r of this.recs.all()) yield { ...r };
  }
}
