/**
 * Tearing down mappings: zap the PTEs, PMDs and PUDs of a range, in one VMA, in every VMA of an
 * munmap, or in every VMA that maps part of a file (`unmap_mapping_range`), each batch
 * ending in one counted TLB flush.
 *
 * @see mm/memory.c zap_pte_range(), zap_pmd_range(), unmap_single_vma(), unmap_vmas(),
 *      zap_page_range_single(), unmap_mapping_range(), unmap_mapping_pages(),
 *      unmap_mapping_folio(), should_zap_cows(), should_zap_folio();
 *      zap_pud_range(); mm/huge_memory.c zap_huge_pmd(), zap_huge_pud(), __split_huge_pud()
 *
 * A PMD or PUD leaf is zapped whole even when the range covers part of it: for the special
 * and devmap leaves this model installs, the kernel's __split_huge_pmd() and
 * __split_huge_pud() also just clear it.
 */
import { PG_referenced } from "../page/flags.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from "../types.js";
import type { AddressSpace } from "./addressSpace.js";
import { folioMarkDirty } from "./dirty.js";
import type { MmStruct } from "./mm.js";
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "./mmuNotifier.js";
import {
  SWP_DEVICE_READ,
  SWP_DEVICE_WRITE,
  isSwapPte,
  pmdLeaf,
  ptePresent,
  pteDirty,
  pteYoung,
  swpOffset,
  swpType,
} from "./pgtable.js";
import { folioRemoveRmapPte, vmNormalPage } from "./rmap.js";
import { MmuGather } from "./tlb.js";
import type { VmAreaStruct } from "./vma.js";

/** `struct zap_details`. */
export interface ZapDetails {
  /** Also zap anonymous (CoW) pages of private mappings. */
  readonly evenCows: boolean;
}

/** `should_zap_cows()`. */
function shouldZapCows(details: ZapDetails | undefined): boolean {
  return !details || details.evenCows;
}

/** `unmap_single_vma()` over [start, end) ∩ vma. */
export function unmapSingleVma(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, details?: ZapDetails): void {
  const s = Math.max(start, vma.vmStart);
  const e = Math.min(end, vma.vmEnd);
  if (s >= e) return;
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const memmap = ctx.memmap;
  const pt = mm.pgtables;
  pt.walk(s, e, {
    pud(h, addr) {
      pt.pudSet(h, 0);
      tlb.removeTlbEntry(addr, PUD_SIZE);
      mm.counters.pudsUnmapped++;
      ctx.stats.pudsZapped++;
    },
    pmd(h, addr, v) {
      if (!pmdLeaf(v) && !shouldZapCows(details)) return;
      pt.pmdSet(h, 0);
      if (pmdLeaf(v)) {
        tlb.removeTlbEntry(addr, PMD_SIZE);
        mm.counters.pmdsUnmapped++;
        ctx.stats.pmdsZapped++;
      }
    },
    pte(h, addr, v) {
      if (ptePresent(v)) {
        const page = vmNormalPage(vma, v);
        if (page !== null && !shouldZapCows(details) && memmap.folioTestAnon(page)) return;
        pt.pteSet(h, 0);
        tlb.removeTlbEntry(addr);
        mm.counters.ptesUnmapped++;
        ctx.stats.ptesZapped++;
        if (page === null) return;
        if (memmap.folioTestAnon(page)) mm.rss.anon--;
        else {
          mm.rss.file--;
          if (pteDirty(v)) folioMarkDirty(ctx, page);
          if (pteYoung(v)) memmap.setPageFlag(page, PG_referenced);
        }
        folioRemoveRmapPte(ctx, page);
        tlb.removePage(page);
        return;
      }
      if (!isSwapPte(v)) return;
      const type = swpType(v);
      if (type === SWP_DEVICE_READ || type === SWP_DEVICE_WRITE) {
        const page = swpOffset(v) as Pfn;
        if (!shouldZapCows(details) && memmap.folioTestAnon(page)) return;
        pt.pteSet(h, 0);
        mm.rss.anon--;
        folioRemoveRmapPte(ctx, page);
        memmap.putPage(page);
        return;
      }
      if (!shouldZapCows(details)) return;
      pt.pteSet(h, 0);
    },
  });
}

/**
 * `unmap_vmas()`: zap [start, end) in each of `vmas` (all of one mm) under one
 * MMU_NOTIFY_UNMAP invalidation; the caller owns the gather and its flush.
 */
export function unmapVmas(tlb: MmuGather, vmas: readonly VmAreaStruct[], start: number, end: number): void {
  const range = mmuNotifierRangeInit(MMU_NOTIFY_UNMAP, MMU_NOTIFIER_RANGE_BLOCKABLE, tlb.mm, start, end);
  mmuNotifierInvalidateRangeStart(range);
  for (const vma of vmas) unmapSingleVma(tlb, vma, start, end);
  mmuNotifierInvalidateRangeEnd(range);
}

/** `zap_page_range_single()`: zap [address, address + size) of one VMA, with its own flush. */
export function zapPageRangeSingle(vma: VmAreaStruct, address: number, size: number, details?: ZapDetails): void {
  const mm = vma.vmMm;
  const start = Math.max(address, vma.vmStart);
  const end = Math.min(address + size, vma.vmEnd);
  if (start >= end) return;
  const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, start, end, vma);
  const tlb = new MmuGather(mm);
  mmuNotifierInvalidateRangeStart(range);
  unmapSingleVma(tlb, vma, start, end, details);
  mmuNotifierInvalidateRangeEnd(range);
  tlb.finish();
}

/** `zap_vma_ptes()` / `zap_page_range()`: every mapping in [address, address + size) of `mm`. */
export function zapPageRange(mm: MmStruct, address: number, size: number): void {
  for (const vma of mm.vmas.intersecting(address, address + size)) zapPageRangeSingle(vma, address, size);
}

/**
 * `unmap_mapping_pages()`: zap pages [start, start + nr) of the file in every VMA mapping
 * them; private CoW copies survive unless `evenCows`.
 */
export function unmapMappingPages(mapping: AddressSpace, start: number, nr: number, evenCows: boolean): void {
  const first = start;
  const last = nr === 0 || start + nr - 1 < start ? Number.MAX_SAFE_INTEGER : start + nr - 1;
  const details: ZapDetails = { evenCows };
  for (const vma of mapping.vmasCovering(first, last)) {
    const vba = vma.vmPgoff;
    const vea = vba + vma.pages - 1;
    const zba = Math.max(first, vba);
    const zea = Math.min(last, vea);
    const s = (zba - vba) * PAGE_SIZE + vma.vmStart;
    const e = (zea - vba + 1) * PAGE_SIZE + vma.vmStart;
    zapPageRangeSingle(vma, s, e - s, details);
  }
}

/**
 * `unmap_mapping_range()`: byte range [holebegin, holebegin + holelen) of the file, rounded
 * out to pages; `holelen` 0 means to the end of the file.
 */
export function unmapMappingRange(mapping: AddressSpace, holebegin: number, holelen: number, evenCows: boolean): void {
  const hba = Math.floor(holebegin / PAGE_SIZE);
  let hlen = Math.ceil(holelen / PAGE_SIZE);
  if (holelen === 0) hlen = 0;
  unmapMappingPages(mapping, hba, hlen, evenCows);
}

/** `unmap_mapping_folio()`: unmap one page-cache page from every mapping of its file. */
export function unmapMappingFolio(mapping: AddressSpace, index: number): void {
  unmapMappingPages(mapping, index, 1, false);
}
