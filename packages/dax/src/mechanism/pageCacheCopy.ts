/**
 * `page-cache-copy`: shared extents are served from DRAM copies, one per (mapping, index),
 * as the page cache serves reflinked files without DAX; unshared extents use DAX as in
 * 6.12. Sharing is broken only in RAM.
 *
 * @see mm/filemap.c filemap_fault(), filemap_add_folio(); fs/dax.c dax_insert_entry()
 *      (the DAX side this replaces for shared extents)
 *
 * Decisions: a copy is filled from pmem on the first read fault of a shared block in that
 * file and is read-only. A write fault on it takes the normal DAX CoW path (the fs
 * allocates a new block, DAX copies the shared block into it and maps it directly), and
 * the copy is dropped; so copies are never dirty and never written back. Shared extents
 * are never PMD-mapped (a PMD fault falls back to PTEs). The copy is a real page-cache
 * page (PG_uptodate, PG_lru, page->mapping/index, rmap, a reference per PTE plus the
 * cache's own), so memory failure of the DRAM copy drops it like any clean page.
 * A failed pmem block under this mechanism: the filesystem still learns every owner
 * (rmap), but processes that map the block through copies are not signalled — their PTEs
 * are not devmap entries of the failed page — and keep reading their healthy copy; only
 * a later refill (after the copy is dropped) or read(2) meets the poison.
 * Costs: one 8-byte page-cache slot of metadata and one struct page + 4 KiB of DRAM per
 * copy, 4 KiB copied per fill, two extra lookups per fault.
 */
import {
  type AddressSpace,
  KernelError,
  PAGE_SIZE,
  PG_lru,
  PG_uptodate,
  type Pfn,
  isMachineCheck,
  pfnToHandle,
} from "@pagelab/mm-core";
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

/** Bytes of index metadata per DRAM copy (one page-cache slot). */
export const COPY_RECORD_BYTES = 8;

interface Copy {
  readonly dram: Pfn;
  readonly src: Pfn;
}

export class PageCacheCopyMechanism implements SharingMechanism {
  readonly id = "page-cache-copy" as const;
  readonly summary = "reflink without DAX: each mapping of a shared block gets its own DRAM copy";
  readonly usesHolder = true;
  private readonly copies = new Map<AddressSpace, Map<number, Copy>>();

  /** The DRAM copy serving (mapping, index), if any. */
  copyOf(mapping: AddressSpace, index: number): Pfn | undefined {
    return this.copies.get(mapping)?.get(index)?.dram;
  }

  /** Copies alive over all mappings. */
  get nrCopies(): number {
    let n = 0;
    for (const m of this.copies.values()) n += m.size;
    return n;
  }

  insertEntry(dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): void {
    const servedByCopy = req.shared && !req.write && !daxIsZeroEntry(entry) && !daxIsEmptyEntry(entry);
    const keep = servedByCopy && this.keepsCopy(old, entry, req);
    if (!keep) this.removeEntry(dax, old, req.mapping, req.index, false);
    if (daxIsZeroEntry(entry) || daxIsEmptyEntry(entry)) return;
    const index = entryFirstIndex(entry, req.vma, req.address);
    const memmap = dax.vm.memmap;
    forEachMappedPfn(entry, (pfn, i) => {
      if (!servedByCopy) {
        if (memmap.pageMapping(pfn) !== 0) {
          dax.costs.associationWarnings++;
          dax.vm.dmesg.warnOnOnce(true, "fs/dax.c:dax_associate_entry");
        }
        setPageOwner(dax, pfn, req.mapping, index + i);
      } else if (!keep) this.fill(dax, req.mapping, index + i, pfn);
    });
  }

  private keepsCopy(old: DaxEntry, entry: DaxEntry, req: InsertRequest): boolean {
    if (daxIsZeroEntry(old) || daxIsEmptyEntry(old) || daxToPfn(old) !== daxToPfn(entry)) return false;
    return this.copies.get(req.mapping)?.get(req.index)?.src === daxToPfn(entry);
  }

  /** Fill a new DRAM copy of pmem page `src` for (mapping, index). */
  private fill(dax: DaxContext, mapping: AddressSpace, index: number, src: Pfn): void {
    const ctx = dax.vm;
    const dram = ctx.allocUserPage(false);
    try {
      ctx.physMem.copyPage(dram, src);
    } catch (e) {
      ctx.memmap.putPage(dram);
      if (isMachineCheck(e)) throw new KernelError("EHWPOISON", `page-cache-copy: pmem pfn 0x${src.toString(16)} is poisoned`);
      throw e;
    }
    ctx.memmap.setPageMapping(dram, mapping);
    ctx.memmap.setPageIndex(dram, index);
    ctx.memmap.setPageFlag(dram, PG_uptodate);
    ctx.memmap.setPageFlag(dram, PG_lru);
    let m = this.copies.get(mapping);
    if (!m) this.copies.set(mapping, (m = new Map()));
    m.set(index, { dram, src });
    dax.costs.dramBytesCopied += PAGE_SIZE;
    dax.costs.dramPagesAlive++;
    dax.costs.pageStructsAlive++;
    dax.costs.metadataBytes += COPY_RECORD_BYTES;
  }

  /** Drop the copy of (mapping, index): off the cache, the cache's reference put. */
  private drop(dax: DaxContext, mapping: AddressSpace, index: number): boolean {
    const m = this.copies.get(mapping);
    const c = m?.get(index);
    if (!m || !c) return false;
    m.delete(index);
    if (m.size === 0) this.copies.delete(mapping);
    const memmap = dax.vm.memmap;
    memmap.setPageMapping(c.dram, null);
    memmap.putPage(c.dram);
    dax.costs.dramPagesAlive--;
    dax.costs.pageStructsAlive--;
    dax.costs.metadataBytes -= COPY_RECORD_BYTES;
    return true;
  }

  removeEntry(dax: DaxContext, entry: DaxEntry, mapping: AddressSpace, index: number, trunc: boolean): void {
    const memmap = dax.vm.memmap;
    forEachMappedPfn(entry, (pfn, i) => {
      if (this.drop(dax, mapping, index + i)) return;
      if (trunc && memmap.pageRefCount(pfn) > 1) {
        dax.costs.associationWarnings++;
        dax.vm.dmesg.warnOnOnce(true, "fs/dax.c:dax_disassociate_entry (busy)");
      }
      if (memmap.pageMapping(pfn) !== 0 && memmap.pageMappingObject(pfn) !== mapping) {
        dax.costs.associationWarnings++;
        dax.vm.dmesg.warnOnOnce(true, "fs/dax.c:dax_disassociate_entry");
      }
      setPageOwner(dax, pfn, null, 0);
    });
  }

  mapTarget(dax: DaxContext, entry: DaxEntry, req: InsertRequest): MapTarget {
    if (req.shared && !req.write) {
      dax.costs.pointerChases += 2;
      const dram = this.copyOf(req.mapping, req.index);
      if (dram !== undefined) return { kind: "page", pfn: dram, page: pfnToHandle(dram) };
    }
    return { kind: "pfn", pfn: daxToPfn(entry) };
  }

  /** A block that stopped being shared must leave its copies (the kernel rules miss it). */
  private leavesCopy(req: InsertRequest): boolean {
    return !(req.shared && !req.write) && this.copies.get(req.mapping)?.has(req.index) === true;
  }

  mustUnmapOnInsert(_dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): boolean {
    if (req.shared && !req.write && this.keepsCopy(old, entry, req)) return false;
    return kernelMustUnmap(old, entry, req) || this.leavesCopy(req);
  }

  mustReplaceEntry(_dax: DaxContext, old: DaxEntry, _entry: DaxEntry, req: InsertRequest): boolean {
    return kernelMustReplace(old, req) || this.leavesCopy(req);
  }

  allowPmd(req: { readonly shared: boolean; readonly write: boolean }): boolean {
    return !(req.shared && !req.write);
  }

  pageOwners(dax: DaxContext, pfn: Pfn): PageOwnerAnswer {
    return pageFieldOwner(dax, pfn);
  }
}
