/**
 * Shared pieces of the mechanisms that keep ownership in struct page itself: iterating an
 * entry's pages, the entry's first file index, and the owner a page reports.
 *
 * @see fs/dax.c for_each_mapped_pfn(), dax_associate_entry() (linear_page_index of the
 *      entry-aligned address); include/linux/page-flags.h PAGE_MAPPING_DAX_SHARED
 */
import { type AddressSpace, PAGE_MAPPING_DAX_SHARED, PAGE_SIZE, type Pfn, type VmAreaStruct } from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { type DaxEntry, daxEntryPfns, daxEntrySize, daxIsEmptyEntry, daxIsZeroEntry } from "../entry/entry.js";
import type { InsertRequest, PageOwnerAnswer } from "./types.js";

/** `for_each_mapped_pfn()`: every pfn behind the entry (none for zero and empty entries). */
export function forEachMappedPfn(entry: DaxEntry, fn: (pfn: Pfn, i: number) => void): void {
  const { first, count } = daxEntryPfns(entry);
  for (let i = 0; i < count; i++) fn((first + i) as Pfn, i);
}

/** `linear_page_index(vma, address & ~(size - 1))`: the file index of the entry's first page. */
export function entryFirstIndex(entry: DaxEntry, vma: VmAreaStruct, address: number): number {
  const size = Math.max(daxEntrySize(entry), PAGE_SIZE);
  return vma.linearPageIndex(address - (address % size));
}

/** What `page->mapping` / `page->index` (or `page->share`) say about a device page. */
export function pageFieldOwner(dax: DaxContext, pfn: Pfn): PageOwnerAnswer {
  const memmap = dax.vm.memmap;
  const raw = memmap.pageMapping(pfn);
  if (raw === 0) return { kind: "none" };
  if (raw === PAGE_MAPPING_DAX_SHARED) return { kind: "shared", count: memmap.pageShare(pfn) };
  const mapping = memmap.pageMappingObject(pfn) as AddressSpace | undefined;
  if (!mapping) return { kind: "none" };
  return { kind: "owner", mapping, index: memmap.pageIndex(pfn) };
}

/** `page->mapping = mapping; page->index = index`. */
export function setPageOwner(dax: DaxContext, pfn: Pfn, mapping: AddressSpace | null, index: number): void {
  dax.vm.memmap.setPageMapping(pfn, mapping);
  dax.vm.memmap.setPageIndex(pfn, index);
}


/** dax_insert_entry's 6.12 unmap rule: shared extents, or a zero page replaced by a block. */
export function kernelMustUnmap(old: DaxEntry, entry: DaxEntry, req: InsertRequest): boolean {
  return req.shared || (daxIsZeroEntry(old) && !daxIsZeroEntry(entry));
}

/** dax_insert_entry's 6.12 replace rule: shared extents, or over a zero or empty entry. */
export function kernelMustReplace(old: DaxEntry, req: InsertRequest): boolean {
  return req.shared || daxIsZeroEntry(old) || daxIsEmptyEntry(old);
}
