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
import { traceDaxWritebackOne, traceDaxWritebackRange } from "../trace/fsDax.js";

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
  traceDaxWritebackOne(dax, mapping, first, count);
  return true;
}

/** `LLONG_MAX >> PAGE_SHIFT`: the end index of a whole-file writeback as the kernel traces it. */
const WHOLE_FILE_END_INDEX = 2 ** 51 - 1;

/**
 * `xas.xa_index` after `xas_for_each_marked()` ran out at `end`: the walk leaves the node of
 * the last entry it returned (or the top node when it returned none) at that node's end,
 * climbing to the parent while the end is still within range; a lone entry at index 0 has
 * no node and leaves the index at 1. What `dax_writeback_range_done` prints.
 */
function xasMarkedWalkEnd(mapping: AddressSpace, start: number, end: number, last: { index: number; order: number } | null): number {
  let maxIndex = 0;
  let maxShift = 0;
  let count = 0;
  for (const [i, e] of mapping.iPages.entries(0)) {
    const order = daxEntryOrder(e);
    maxIndex = Math.max(maxIndex, i + 2 ** order - 1);
    maxShift = Math.max(maxShift, order - (order % 6));
    count++;
  }
  if (count === 1 && maxIndex === 0) return Math.max(start, 1);
  let topShift = maxShift;
  while (maxIndex >= 64 * 2 ** topShift) topShift += 6;
  const topSpan = 64 * 2 ** topShift;
  if (last === null) return start >= topSpan ? start : topSpan;
  let span = 64 * 2 ** (last.order - (last.order % 6));
  for (;;) {
    const nodeEnd = Math.floor(last.index / span) * span + span;
    if (nodeEnd - 1 >= end || span >= topSpan) return nodeEnd;
    span *= 64;
  }
}

/**
 * `dax_writeback_mapping_range()` for WB_SYNC_ALL over file bytes [start, end]: returns
 * how many entries were written back.
 */
export function* daxWritebackMappingRange(dax: DaxContext, mapping: AddressSpace, start = 0, end = Number.MAX_SAFE_INTEGER): Sleepable<number> {
  if (mapping.nrpages === 0) return 0;
  const first = Math.floor(start / PAGE_SIZE);
  const last = end >= Number.MAX_SAFE_INTEGER ? XA_MAX_INDEX : Math.floor(end / PAGE_SIZE);
  const traceEnd = end >= Number.MAX_SAFE_INTEGER ? WHOLE_FILE_END_INDEX : last;
  traceDaxWritebackRange(dax, "dax_writeback_range", mapping, first, traceEnd);
  for (const [i] of [...mapping.iPages.marked(first, last, PAGECACHE_TAG_DIRTY)]) mapping.iPages.setMark(i, PAGECACHE_TAG_TOWRITE);
  let n = 0;
  let walked: { index: number; order: number } | null = null;
  for (const [i, e] of [...mapping.iPages.marked(first, last, PAGECACHE_TAG_TOWRITE)]) {
    walked = { index: i, order: daxEntryOrder(e) };
    if (yield* daxWritebackOne(dax, mapping, i, e)) n++;
  }
  dax.dev.fence();
  traceDaxWritebackRange(dax, "dax_writeback_range_done", mapping, () => xasMarkedWalkEnd(mapping, first, traceEnd, walked), traceEnd);
  return n;
}
