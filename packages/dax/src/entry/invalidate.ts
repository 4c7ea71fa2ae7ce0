/**
 * Taking entries out of a DAX mapping: truncate and hole punch delete them (whatever their
 * state), invalidation skips dirty ones, and the dirty marks can be cleared first when a
 * CoW write makes the old blocks irrelevant.
 *
 * @see fs/dax.c __dax_invalidate_entry(), dax_delete_mapping_entry(),
 *      dax_invalidate_mapping_entry_sync(), __dax_clear_dirty_range(),
 *      dax_delete_mapping_range() (6.15); mm/truncate.c truncate_inode_pages_range(),
 *      invalidate_inode_pages2_range() (their DAX parts)
 */
import {
  type AddressSpace,
  PAGECACHE_TAG_DIRTY,
  PAGECACHE_TAG_TOWRITE,
  type Sleepable,
  XA_MAX_INDEX,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { DAX_CONFLICT, daxEntryOrder, daxIsLocked, isDaxEntry } from "./entry.js";
import { WAKE_ALL, daxUnmapMappingPages, getNextUnlockedEntry, putUnlockedEntry, waitEntryUnlockedExclusive } from "./lock.js";

/** `__dax_invalidate_entry()`: 1 if the entry at `index` was removed. */
function* daxInvalidateEntry(dax: DaxContext, mapping: AddressSpace, index: number, trunc: boolean): Sleepable<number> {
  const entry = yield* getNextUnlockedEntry(dax, mapping, index, 0);
  let ret = 0;
  if (entry !== undefined && entry !== DAX_CONFLICT && !dax.vm.dmesg.warnOnOnce(!isDaxEntry(entry), "fs/dax.c:__dax_invalidate_entry")) {
    const order = daxEntryOrder(entry);
    const first = index - (index % 2 ** order);
    const dirty = mapping.iPages.getMark(first, PAGECACHE_TAG_DIRTY) || mapping.iPages.getMark(first, PAGECACHE_TAG_TOWRITE);
    if (trunc || !dirty) {
      dax.mechanism.removeEntry(dax, entry, mapping, first, trunc);
      mapping.iPages.erase(first);
      mapping.nrpages -= 2 ** order;
      ret = 1;
    }
  }
  putUnlockedEntry(mapping, index, entry, WAKE_ALL);
  return ret;
}

/** `dax_delete_mapping_entry()`: truncate removes the entry at `index`, dirty or not. */
export function* daxDeleteMappingEntry(dax: DaxContext, mapping: AddressSpace, index: number): Sleepable<number> {
  const ret = yield* daxInvalidateEntry(dax, mapping, index, true);
  dax.vm.dmesg.warnOnOnce(ret === 0 && mapping.iPages.load(index) !== undefined, "fs/dax.c:dax_delete_mapping_entry");
  return ret;
}

/** `dax_invalidate_mapping_entry_sync()`: remove the entry unless it is dirty. */
export function* daxInvalidateMappingEntrySync(dax: DaxContext, mapping: AddressSpace, index: number): Sleepable<number> {
  return yield* daxInvalidateEntry(dax, mapping, index, false);
}

/** Indices of the entries in [first, last] (each multi-index entry once). */
function entryIndices(mapping: AddressSpace, first: number, last: number): number[] {
  const out: number[] = [];
  for (const [i] of mapping.iPages.entries(first, last)) out.push(Math.max(i, first));
  return out;
}

/**
 * The DAX part of `truncate_inode_pages_range()` (6.15's `dax_delete_mapping_range()`):
 * unmap pages [first, last] from every mapping, then delete their entries. The caller
 * has broken layouts (no page in the range is pinned).
 */
export function* daxDeleteMappingRange(dax: DaxContext, mapping: AddressSpace, first: number, last = XA_MAX_INDEX): Sleepable {
  daxUnmapMappingPages(dax, mapping, first, last === XA_MAX_INDEX ? 0 : last - first + 1);
  for (const i of entryIndices(mapping, first, last)) yield* daxDeleteMappingEntry(dax, mapping, i);
}

/**
 * The DAX part of `invalidate_inode_pages2_range()`: remove every clean entry in
 * [first, last], then unmap the range. Returns -EBUSY (as a number) if a dirty entry stayed.
 */
export function* daxInvalidateMappingRange(dax: DaxContext, mapping: AddressSpace, first: number, last: number): Sleepable<number> {
  let ret = 0;
  for (const i of entryIndices(mapping, first, last)) {
    if (!(yield* daxInvalidateMappingEntrySync(dax, mapping, i))) ret = -16;
  }
  daxUnmapMappingPages(dax, mapping, first, last - first + 1);
  return ret;
}

/** `__dax_clear_dirty_range()`: clear DIRTY and TOWRITE on entries of [first, last]. */
export function* daxClearDirtyRange(dax: DaxContext, mapping: AddressSpace, first: number, last: number): Sleepable {
  for (const i of entryIndices(mapping, first, last)) {
    let entry = mapping.iPages.load(i);
    if (entry === undefined || !isDaxEntry(entry)) continue;
    if (daxIsLocked(entry)) entry = yield* waitEntryUnlockedExclusive(dax, mapping, i, entry);
    if (entry === undefined) continue;
    const at = i - (i % 2 ** mapping.iPages.entryOrder(i));
    mapping.iPages.clearMark(at, PAGECACHE_TAG_DIRTY);
    mapping.iPages.clearMark(at, PAGECACHE_TAG_TOWRITE);
  }
}
