/**
 * MAP_SYNC write faults: the fault returns VM_FAULT_NEEDDSYNC with the pfn; the filesystem
 * makes the metadata durable, then the pfn is mapped writable.
 *
 * @see fs/dax.c dax_finish_sync_fault(), dax_insert_pfn_mkwrite()
 */
import {
  PAGECACHE_TAG_DIRTY,
  PAGE_SIZE,
  PFN_DEV,
  PFN_MAP,
  PMD_ORDER,
  type Pfn,
  type Sleepable,
  VM_FAULT_FALLBACK,
  VM_FAULT_NOPAGE,
  VM_FAULT_SIGBUS,
  type VmFault,
  pfnToPfnT,
  vmfInsertMixedMkwrite,
  vmfInsertPfnPmd,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { DAX_CONFLICT, daxEntryOrder, daxIsPteEntry } from "../entry/entry.js";
import { WAKE_NEXT, daxLockEntry, daxUnlockEntry, getNextUnlockedEntry, putUnlockedEntry } from "../entry/lock.js";
import { traceDaxPteFault } from "../trace/fsDax.js";

/** `dax_insert_pfn_mkwrite()`: map `pfn` writable if the entry is still the one we faulted. */
export function* daxInsertPfnMkwrite(dax: DaxContext, vmf: VmFault, pfn: Pfn, order: number): Sleepable<number> {
  const mapping = vmf.vma.mapping!;
  const index = order ? vmf.pgoff - (vmf.pgoff % 2 ** order) : vmf.pgoff;
  const entry = yield* getNextUnlockedEntry(dax, mapping, index, order);
  if (entry === undefined || entry === DAX_CONFLICT || (order === 0 && !daxIsPteEntry(entry))) {
    putUnlockedEntry(mapping, index, entry, WAKE_NEXT);
    traceDaxPteFault(dax, "dax_insert_pfn_mkwrite_no_entry", vmf, VM_FAULT_NOPAGE);
    return VM_FAULT_NOPAGE;
  }
  mapping.iPages.setMark(index - (index % 2 ** daxEntryOrder(entry)), PAGECACHE_TAG_DIRTY);
  daxLockEntry(dax, mapping, index, entry);
  let ret: number;
  const p = pfnToPfnT(pfn, PFN_DEV | PFN_MAP);
  if (order === 0) ret = vmfInsertMixedMkwrite(vmf.vma, vmf.address, p);
  else if (order === PMD_ORDER) ret = vmfInsertPfnPmd(vmf, p, true);
  else ret = VM_FAULT_FALLBACK;
  daxUnlockEntry(dax, mapping, index, entry);
  traceDaxPteFault(dax, "dax_insert_pfn_mkwrite", vmf, ret);
  return ret;
}

/**
 * `dax_finish_sync_fault()`: `fsync(start, end)` is the filesystem's `vfs_fsync_range`
 * (0 or -errno); then map the pfn writable.
 */
export function* daxFinishSyncFault(
  dax: DaxContext,
  vmf: VmFault,
  order: number,
  pfn: Pfn,
  fsync: (start: number, end: number) => Sleepable<number>,
): Sleepable<number> {
  const start = vmf.pgoff * PAGE_SIZE;
  const err = yield* fsync(start, start + PAGE_SIZE * 2 ** order - 1);
  if (err) return VM_FAULT_SIGBUS;
  return yield* daxInsertPfnMkwrite(dax, vmf, pfn, order);
}
