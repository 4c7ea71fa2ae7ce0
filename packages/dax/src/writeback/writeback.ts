/**
 * fsync/msync of a DAX file: tag dirty entries for writeback, then for each one write-
 * protect and clean every PTE/PMD mapping it (so the next store faults and dirties it
 * again) and write the CPU cache lines of its block back to the media.
 *
 * @see fs/dax.c dax_writeback_mapping_range(), dax_writeback_one(); mm/page-writeback.c
 *      tag_pages_for_writeback(); mm/rmap.c pfn_mkclean_range(); drivers/dax/super.c
 *      dax_flush(); arch/x86/lib/usercopy_64.c arch_wb_cache_pmem() (clwb)
 *
 * Simplified: the final store fence (the pmem driver's flush on REQ_PREFLUSH from fsync)
 * is issued here, once per call.
 */
import {
  type AddressSpace,
  PAGECACHE_TAG_DIRTY,
  PAGECACHE_TAG_TOWRITE,
  PAGE_SIZE,
  PMD_SIZE,
  type Pfn,
  type Sleepable,
  XA_MAX_INDEX,
  flushTlbPage,
  pmdLeaf,
  pmdMkclean,
  pmdWrprotect,
  ptePfn,
  ptePresent,
  pteMkclean,
  pteWrprotect,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { DAX_CONFLICT, type DaxEntry, daxEntryOrder, daxIsEmptyEntry, daxIsLocked, daxIsZeroEntry, daxToPfn } from "../entry/entry.js";
import { WAKE_NEXT, daxLockEntry, daxWakeEntry, getNextUnlockedEntry, putUnlockedEntry } from "../entry/lock.js";

/** `pfn_mkclean_range()` in every VMA of the mapping covering [index, index + count). */
function pfnMkcleanRange(dax: DaxContext, mapping: AddressSpace, pfn: Pfn, count: number, index: number): number {
  let cleaned = 0;
  for (const vma of mapping.vmasCovering(index, index + count - 1)) {
    const pt = vma.vmMm.pgtables;
    for (let i = 0; i < count; i++) {
      const addr = vma.addressOf(index + i);
      if (addr < 0) continue;
      const ph = pt.pmdOffset(addr);
      if (ph < 0) continue;
      const pmd = pt.pmdGet(ph);
      if (pmdLeaf(pmd)) {
        if (ptePfn(pmd) === pfn && addr % PMD_SIZE === 0) {
          pt.pmdSet(ph, pmdMkclean(pmdWrprotect(pmd)));
          flushTlbPage(vma.vmMm, addr, PMD_SIZE);
          cleaned++;
        }
        continue;
      }
      const h = pt.pteOffset(addr);
      if (h < 0) continue;
      const pte = pt.pteGet(h);
      if (!ptePresent(pte) || ptePfn(pte) !== pfn + i) continue;
      pt.pteSet(h, pteMkclean(pteWrprotect(pte)));
      flushTlbPage(vma.vmMm, addr);
      cleaned++;
    }
  }
  return cleaned;
}

/** `dax_writeback_one()`: returns whether the entry was written back. */
function* daxWritebackOne(dax: DaxContext, mapping: AddressSpace, index: number, seen: DaxEntry): Sleepable<boolean> {
  let entry: DaxEntry | undefined = seen;
  if (daxIsLocked(seen)) {
    entry = yield* getNextUnlockedEntry(dax, mapping, index, 0);
    if (
      entry === undefined ||
      entry === DAX_CONFLICT ||
      daxToPfn(entry) !== daxToPfn(seen) ||
      daxIsZeroEntry(entry) ||
      daxIsEmptyEntry(entry) ||
      !mapping.iPages.getMark(index, PAGECACHE_TAG_TOWRITE)
    ) {
      putUnlockedEntry(mapping, index, entry, WAKE_NEXT);
      return false;
    }
  }
  daxLockEntry(dax, mapping, index, entry);
  mapping.iPages.clearMark(index, PAGECACHE_TAG_TOWRITE);
  const count = 2 ** daxEntryOrder(entry);
  const first = index - (index % count);
  const pfn = daxToPfn(entry);
  const flushes = dax.vm.stats.tlbFlushes;
  pfnMkcleanRange(dax, mapping, pfn, count, first);
  dax.costs.tlbFlushes += dax.vm.stats.tlbFlushes - flushes;
  dax.dev.flush(dax.dev.pfnToOffset(pfn), count * PAGE_SIZE);
  mapping.iPages.storeOrder(first, daxEntryOrder(entry), entry);
  mapping.iPages.clearMark(first, PAGECACHE_TAG_DIRTY);
  daxWakeEntry(mapping, first, entry, WAKE_NEXT);
  return true;
}

/**
 * `dax_writeback_mapping_range()` for WB_SYNC_ALL over file bytes [start, end]: returns
 * how many entries were written back.
 */
export function* daxWritebackMappingRange(dax: DaxContext, mapping: AddressSpace, start = 0, end = Number.MAX_SAFE_INTEGER): Sleepable<number> {
  if (mapping.nrpages === 0) return 0;
  const first = Math.floor(start / PAGE_SIZE);
  const last = end >= Number.MAX_SAFE_INTEGER ? XA_MAX_INDEX : Math.floor(end / PAGE_SIZE);
  for (const [i] of [...mapping.iPages.marked(first, last, PAGECACHE_TAG_DIRTY)]) mapping.iPages.setMark(i, PAGECACHE_TAG_TOWRITE);
  let n = 0;
  for (const [i, e] of [...mapping.iPages.marked(first, last, PAGECACHE_TAG_TOWRITE)]) {
    if (yield* daxWritebackOne(dax, mapping, i, e)) n++;
  }
  dax.dev.fence();
  return n;
}
