/**
 * Putting a block's entry into the mapping at fault time: unmap what must go, let the
 * sharing mechanism associate the page, store the entry (still locked) and set the
 * writeback marks.
 *
 * @see fs/dax.c dax_insert_entry(), dax_fault_is_synchronous()
 *
 * Simplified: `__mark_inode_dirty(I_DIRTY_PAGES)` is left to the filesystem (its fsync
 * looks at the DIRTY marks this sets).
 */
import { PAGECACHE_TAG_DIRTY, PAGECACHE_TAG_TOWRITE, type Pfn, type VmAreaStruct } from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import {
  DAX_ZERO_PAGE,
  type DaxEntry,
  PG_PMD_NR,
  daxEntryOrder,
  daxIsEmptyEntry,
  daxIsPmdEntry,
  daxIsZeroEntry,
  daxLockedValue,
  daxMakeEntry,
} from "../entry/entry.js";
import { daxLockEntry, daxUnmapMappingPages } from "../entry/lock.js";
import type { InsertRequest } from "../mechanism/types.js";

export interface InsertArgs {
  readonly vma: VmAreaStruct;
  readonly address: number;
  /** First index of the entry. */
  readonly index: number;
  readonly write: boolean;
  readonly shared: boolean;
  /** MAP_SYNC write with dirty metadata: the fs will make it durable first. */
  readonly synchronous: boolean;
}

/**
 * `dax_insert_entry()`: `old` is the locked entry grab_mapping_entry returned; returns
 * the entry now stored (locked), which the caller later unlocks.
 */
export function daxInsertEntry(dax: DaxContext, old: DaxEntry, pfn: Pfn, flags: number, a: InsertArgs): DaxEntry {
  const mapping = a.vma.mapping!;
  const entry = daxMakeEntry(pfn, flags);
  const dirty = a.write && !a.synchronous;
  const req: InsertRequest = { mapping, index: a.index, vma: a.vma, address: a.address, shared: a.shared, write: a.write };
  if (dax.mechanism.mustUnmapOnInsert(dax, old, entry, req)) {
    if (daxIsPmdEntry(old)) daxUnmapMappingPages(dax, mapping, a.index - (a.index % PG_PMD_NR), PG_PMD_NR);
    else daxUnmapMappingPages(dax, mapping, a.index, 1);
  }
  let stored = old;
  if (dax.mechanism.mustReplaceEntry(dax, old, entry, req)) {
    dax.mechanism.insertEntry(dax, old, entry, req);
    const prev = daxLockEntry(dax, mapping, a.index, entry);
    dax.vm.dmesg.warnOnOnce(prev !== daxLockedValue(old), "fs/dax.c:dax_insert_entry");
    stored = entry;
  }
  const at = a.index - (a.index % 2 ** daxEntryOrder(stored));
  if (dirty) mapping.iPages.setMark(at, PAGECACHE_TAG_DIRTY);
  if (a.write && a.shared) mapping.iPages.setMark(at, PAGECACHE_TAG_TOWRITE);
  return stored;
}

