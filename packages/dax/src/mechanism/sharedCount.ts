/**
 * `shared-count`: what Linux 6.2–6.14 does (6.12 is the oracle). A page mapped from a
 * shared extent gets `page->mapping = PAGE_MAPPING_DAX_SHARED` (0x1) and counts its owners
 * in `page->share` (the `index` word); unshared pages keep a real (mapping, index). Who
 * the owners are is asked of the filesystem's rmap through the dax holder.
 *
 * @see fs/dax.c (v6.12) dax_page_share_get(), dax_page_share_put(), dax_page_is_shared(),
 *      dax_associate_entry(), dax_disassociate_entry(); include/linux/page-flags.h
 *      PAGE_MAPPING_DAX_SHARED
 *
 * The page itself no longer answers "who maps me": anything that still trusts
 * page->mapping dereferences 0x1 (see mf/memoryFailure.ts, dax_lock_folio).
 */
import { type AddressSpace, PAGE_MAPPING_DAX_SHARED, type Pfn } from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { type DaxEntry, daxIsEmptyEntry, daxIsZeroEntry, daxToPfn } from "../entry/entry.js";
import {
  entryFirstIndex,
  forEachMappedPfn,
  kernelMustReplace,
  kernelMustUnmap,
  pageFieldOwner,
  setPageOwner,
} from "./pageFields.js";
import type { InsertRequest, MapTarget, PageOwnerAnswer, SharingMechanism } from "./types.js";

/** `dax_page_is_shared()`. */
export function daxPageIsShared(dax: DaxContext, pfn: Pfn): boolean {
  return dax.vm.memmap.pageMapping(pfn) === PAGE_MAPPING_DAX_SHARED;
}

/** `dax_page_share_get()`: mark shared (a prior owner counts as one) and count one more. */
export function daxPageShareGet(dax: DaxContext, pfn: Pfn): void {
  const memmap = dax.vm.memmap;
  if (memmap.pageMapping(pfn) !== PAGE_MAPPING_DAX_SHARED) {
    if (memmap.pageMapping(pfn) !== 0) memmap.setPageShare(pfn, 1);
    memmap.setPageMappingRaw(pfn, PAGE_MAPPING_DAX_SHARED);
  }
  memmap.setPageShare(pfn, memmap.pageShare(pfn) + 1);
}

/** `dax_page_share_put()`: one owner fewer; returns how many remain. */
export function daxPageSharePut(dax: DaxContext, pfn: Pfn): number {
  const memmap = dax.vm.memmap;
  const n = memmap.pageShare(pfn) - 1;
  memmap.setPageShare(pfn, n);
  return n;
}

export class SharedCountMechanism implements SharingMechanism {
  readonly id = "shared-count" as const;
  readonly summary = "Linux 6.2+: PAGE_MAPPING_DAX_SHARED marks the page, page->share counts owners, the fs rmap names them";
  readonly usesHolder = true;

  insertEntry(dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): void {
    this.removeEntry(dax, old, req.mapping, req.index, false);
    if (daxIsZeroEntry(entry) || daxIsEmptyEntry(entry)) return;
    const memmap = dax.vm.memmap;
    const index = entryFirstIndex(entry, req.vma, req.address);
    forEachMappedPfn(entry, (pfn, i) => {
      if (req.shared) daxPageShareGet(dax, pfn);
      else {
        if (memmap.pageMapping(pfn) !== 0) warn(dax, "fs/dax.c:dax_associate_entry");
        setPageOwner(dax, pfn, req.mapping, index + i);
      }
    });
  }

  removeEntry(dax: DaxContext, entry: DaxEntry, mapping: AddressSpace, _index: number, trunc: boolean): void {
    const memmap = dax.vm.memmap;
    forEachMappedPfn(entry, (pfn) => {
      if (trunc && memmap.pageRefCount(pfn) > 1) warn(dax, "fs/dax.c:dax_disassociate_entry (busy)");
      if (daxPageIsShared(dax, pfn)) {
        if (daxPageSharePut(dax, pfn) > 0) return;
      } else if (memmap.pageMapping(pfn) !== 0 && memmap.pageMappingObject(pfn) !== mapping) {
        warn(dax, "fs/dax.c:dax_disassociate_entry");
      }
      setPageOwner(dax, pfn, null, 0);
    });
  }

  mapTarget(_dax: DaxContext, entry: DaxEntry): MapTarget {
    return { kind: "pfn", pfn: daxToPfn(entry) };
  }

  mustUnmapOnInsert(_dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): boolean {
    return kernelMustUnmap(old, entry, req);
  }

  mustReplaceEntry(_dax: DaxContext, old: DaxEntry, _entry: DaxEntry, req: InsertRequest): boolean {
    return kernelMustReplace(old, req);
  }

  allowPmd(): boolean {
    return true;
  }

  pageOwners(dax: DaxContext, pfn: Pfn): PageOwnerAnswer {
    return pageFieldOwner(dax, pfn);
  }
}

function warn(dax: DaxContext, where: string): void {
  dax.costs.associationWarnings++;
  dax.vm.dmesg.warnOnOnce(true, where);
}
