/**
 * `one-to-one`: Linux before 6.0. A pmem page belongs to exactly one (mapping, index);
 * associating it with a second file trips `WARN_ON_ONCE(page->mapping)`; memory failure
 * trusts page->mapping/index (no holder, no notify_failure before 6.0), so it reaches
 * one owner only.
 *
 * @see fs/dax.c (v5.19) dax_associate_entry(), dax_disassociate_entry(); mm/memory-failure.c
 *      (v5.19) memory_failure_dev_pagemap(); fs/xfs/xfs_super.c (≤5.18) "DAX and reflink
 *      cannot be used together!"
 *
 * `keep: "first"` (default, as this project's baseline is specified): the second
 * association warns and leaves the first owner's (mapping, index). `keep: "last"` is what
 * the v5.19 code literally does: warn, then overwrite — the last file to fault owns it.
 * Either way every other owner is invisible from the page.
 */
import { type AddressSpace, type Dmesg, KERN_ALERT, KernelError, type Pfn } from "@pagelab/mm-core";
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

export interface OneToOneOptions {
  readonly keep?: "first" | "last";
}

export class OneToOneMechanism implements SharingMechanism {
  readonly id = "one-to-one" as const;
  readonly summary = "Linux before 6.0: page->mapping/index name one file; a second association WARNs";
  readonly usesHolder = false;
  readonly keep: "first" | "last";

  constructor(opts: OneToOneOptions = {}) {
    this.keep = opts.keep ?? "first";
  }

  insertEntry(dax: DaxContext, old: DaxEntry, entry: DaxEntry, req: InsertRequest): void {
    this.removeEntry(dax, old, req.mapping, req.index, false);
    if (daxIsZeroEntry(entry) || daxIsEmptyEntry(entry)) return;
    const memmap = dax.vm.memmap;
    const index = entryFirstIndex(entry, req.vma, req.address);
    forEachMappedPfn(entry, (pfn, i) => {
      if (memmap.pageMapping(pfn) !== 0) {
        warn(dax, "fs/dax.c:dax_associate_entry");
        if (this.keep === "first") return;
      }
      setPageOwner(dax, pfn, req.mapping, index + i);
    });
  }

  removeEntry(dax: DaxContext, entry: DaxEntry, mapping: AddressSpace, _index: number, trunc: boolean): void {
    const memmap = dax.vm.memmap;
    forEachMappedPfn(entry, (pfn) => {
      if (trunc && memmap.pageRefCount(pfn) > 1) warn(dax, "fs/dax.c:dax_disassociate_entry (busy)");
      const owner = memmap.pageMappingObject(pfn);
      if (memmap.pageMapping(pfn) !== 0 && owner !== mapping) {
        warn(dax, "fs/dax.c:dax_disassociate_entry");
        if (this.keep === "first") return;
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

/**
 * The mount-time refusal of kernels up to 5.18: `-o dax` on a filesystem with reflink
 * fails with EINVAL and "DAX and reflink cannot be used together!".
 */
export function checkDaxReflinkMount(opts: { readonly dax: boolean; readonly reflink: boolean; readonly fsName: string }, dmesg?: Dmesg): void {
  if (opts.dax && opts.reflink) {
    dmesg?.printk(KERN_ALERT, `XFS (${opts.fsName}): DAX and reflink cannot be used together!`);
    throw new KernelError("EINVAL", "DAX and reflink cannot be used together!");
  }
}
