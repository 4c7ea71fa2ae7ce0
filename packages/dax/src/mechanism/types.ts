/**
 * The sharing-mechanism interface: everything fs/dax.c decides about which struct page
 * stands for a pmem block in a file, behind one set of calls. It replaces the 1:1
 * `dax_associate_entry()` / `dax_disassociate_entry()` pair and the owner lookup from a
 * page that memory failure does.
 *
 * @see fs/dax.c dax_associate_entry(), dax_disassociate_entry(), dax_insert_entry(),
 *      dax_lock_folio(); mm/memory-failure.c memory_failure_dev_pagemap(),
 *      mf_generic_kill_procs(), mf_dax_kill_procs()
 *
 * A machine boots with one mechanism. The DAX core calls:
 * - `insertEntry` where dax_insert_entry swaps a new entry in (the association step);
 * - `removeEntry` where an entry leaves the mapping (truncate, invalidate, PMD downgrade)
 *   or is replaced by CoW — what is detached and freed;
 * - `mapTarget` for which page (handle, pfn) the PTE/PMD of this mapping points to;
 * - `mustUnmapOnInsert` / `allowPmd` where the mechanism changes the fault's shape;
 * - `pageOwners` for what `(mapping, index)` a page answers when asked from the page;
 * - `usesHolder`: whether memory failure asks the filesystem (rmap) or trusts the page.
 * Costs go to `dax.costs` from inside each call.
 */
import type { AddressSpace, PageHandle, Pfn, VmAreaStruct } from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import type { DaxEntry } from "../entry/entry.js";

/** The nine mechanisms of DESIGN.md. */
export const MECHANISM_IDS = [
  "one-to-one",
  "page-cache-copy",
  "shared-count",
  "shadow-page",
  "page-proxy",
  "dynamic-page",
  "pfn-entry",
  "write-protect",
  "mapping-list",
] as const;
export type MechanismId = (typeof MECHANISM_IDS)[number];

/** What dax_insert_entry knows when it associates an entry with a mapping. */
export interface InsertRequest {
  readonly mapping: AddressSpace;
  /** First index of the entry (PMD entries: aligned). */
  readonly index: number;
  readonly vma: VmAreaStruct;
  /** The faulting address (page aligned). */
  readonly address: number;
  /** `iomap->flags & IOMAP_F_SHARED`. */
  readonly shared: boolean;
  /** A write fault (IOMAP_WRITE). */
  readonly write: boolean;
}

/** Where a PTE/PMD of a mapping points. */
export type MapTarget =
  /** The pmem page itself, as a devmap entry without rmap or reference (6.12 fsdax). */
  | { readonly kind: "pfn"; readonly pfn: Pfn }
  /**
   * A page that is mapped like page cache (rmap, mapcount, a reference per mapping):
   * a DRAM copy, or a proxy/shadow page whose handle differs from the pfn it maps.
   */
  | { readonly kind: "page"; readonly pfn: Pfn; readonly page: PageHandle };

/** What a struct page says about its owner when asked from the page alone. */
export type PageOwnerAnswer =
  | { readonly kind: "owner"; readonly mapping: AddressSpace; readonly index: number }
  /** Marked shared (`PAGE_MAPPING_DAX_SHARED`): the page knows how many, not who. */
  | { readonly kind: "shared"; readonly count: number }
  | { readonly kind: "none" };

export interface SharingMechanism {
  readonly id: MechanismId;
  /** One line: who proposed it and the idea. */
  readonly summary: string;
  /**
   * Memory failure goes pgmap → dax holder → filesystem rmap (true, Linux 6.0+), or the
   * pgmap declines and the generic path trusts page->mapping/index (false, before 6.0).
   */
  readonly usesHolder: boolean;
  /** dax_insert_entry's association: `old` is being replaced by `entry` in `req.mapping`. */
  insertEntry(dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): void;
  /** dax_disassociate_entry: `entry` at `index` leaves `mapping` (`trunc`: truncate/punch). */
  removeEntry(dax: DaxContext, entry: DaxEntry, mapping: AddressSpace, index: number, trunc: boolean): void;
  /** The page a PTE (or PMD) of `req.mapping` at `req.address` maps for `entry`. */
  mapTarget(dax: DaxContext, entry: DaxEntry, req: InsertRequest): MapTarget;
  /**
   * Whether dax_insert_entry must first unmap the index from every VMA of the mapping
   * (6.12: for shared extents, and when a zero page is replaced by a block).
   */
  mustUnmapOnInsert(dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): boolean;
  /**
   * Whether dax_insert_entry swaps `entry` in and calls `insertEntry` (6.12: for shared
   * extents and over zero or empty entries; an existing block entry is otherwise kept).
   */
  mustReplaceEntry(dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): boolean;
  /** Whether a PMD may map this extent (else the PMD fault falls back to PTEs). */
  allowPmd(req: { readonly shared: boolean; readonly write: boolean }): boolean;
  /** The owner a page answers for itself (`page->mapping`, `page->index` or the proxy's). */
  pageOwners(dax: DaxContext, pfn: Pfn): PageOwnerAnswer;
}
