/**
 * `struct vm_area_struct`, `struct vm_operations_struct` and `struct vm_fault`: one
 * mapping of a range of a process's address space, the callbacks its owner supplies, and
 * the record a fault carries through them.
 *
 * @see include/linux/mm_types.h struct vm_area_struct, struct vm_fault;
 *      include/linux/mm.h struct vm_operations_struct, vma_pages(), linear_page_index(),
 *      vma_is_anonymous(), is_cow_mapping(); mm/mmap.c vm_get_page_prot(),
 *      vma_wants_writenotify(), vma_set_page_prot()
 *
 * Simplified: no per-VMA locks, no NUMA policy, no userfaultfd context. `vmFile` is the
 * narrow view of `struct file` mm needs (its mapping, how it was opened, its mmap hook).
 */
import type { Pfn, Pgoff, VirtAddr } from "../types.js";
import { PAGE_SIZE } from "../types.js";
import type { Sleepable } from "../sched/sleepable.js";
import type { AddressSpace } from "./addressSpace.js";
import type { AnonVma } from "./anonVma.js";
import { VM_MAYWRITE, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, VM_EXEC } from "./flags.js";
import type { MmStruct } from "./mm.js";
import type { PteVal } from "./pgtable.js";
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_USER } from "./pgtable.js";

/** What mmap needs from an open file (`struct file`). */
export interface VmFile {
  /** `f_mapping`. */
  readonly mapping: AddressSpace;
  /** Opened for reading / writing (`FMODE_READ` / `FMODE_WRITE`). */
  readonly readable: boolean;
  readonly writable: boolean;
  /**
   * `f_op->mmap`: set `vma.vmOps` (and flags such as VM_HUGEPAGE or VM_MIXEDMAP); throw a
   * KernelError to refuse the mapping.
   */
  mmap(vma: VmAreaStruct): void;
  /**
   * `S_ISCHR(file_inode(file)->i_mode)`: a character device such as device-dax, which
   * `vma_is_fsdax()` (GUP's FOLL_LONGTERM rule) must not count as a filesystem DAX file.
   */
  readonly isCharDevice?: boolean;
  /** `f_op->mmap_supported_flags` (e.g. MAP_SYNC for DAX files). */
  readonly mmapSupportedFlags?: number;
  /** `f_op->get_unmapped_area` (e.g. `thpGetUnmappedArea` for PMD-aligned DAX). */
  getUnmappedArea?(mm: MmStruct, addr: number, len: number, pgoff: number, flags: number): number;
}

/** `struct vm_fault`. */
export interface VmFault {
  readonly vma: VmAreaStruct;
  /** Faulting address, page aligned. */
  readonly address: VirtAddr;
  /** The exact faulting address (`real_address`). */
  readonly realAddress: VirtAddr;
  /** `FAULT_FLAG_*`. */
  flags: number;
  /** Logical page offset in the file (or anon index). */
  readonly pgoff: Pgoff;
  /** The PUD, PMD and PTE handles (`vmf->pud`, `vmf->pmd`, `vmf->pte`), -1 when not set up. */
  pud: number;
  pmd: number;
  pte: number;
  /** The PTE value seen at fault time (`vmf->orig_pte`). */
  origPte: PteVal;
  origPmd: PteVal;
  /** The PUD leaf a huge PUD fault saw (`orig_pud`), 0 otherwise. */
  origPud: PteVal;
  /** Page allocated for a private write fault (`vmf->cow_page`), as a pfn. */
  cowPage: Pfn | null;
  /** Page returned by `->fault` (`vmf->page`), as a pfn. */
  page: Pfn | null;
}

/** `struct vm_operations_struct`: sleepable callbacks return `vm_fault_t` codes. */
export interface VmOperationsStruct {
  readonly name?: string;
  open?(vma: VmAreaStruct): void;
  close?(vma: VmAreaStruct): void;
  /** Refuse a split at `addr` by throwing a KernelError (`->may_split`). */
  maySplit?(vma: VmAreaStruct, addr: number): void;
  fault?(vmf: VmFault): Sleepable<number>;
  /** `->huge_fault(vmf, order)`: order PMD_ORDER for a PMD fault, PUD_ORDER for a PUD fault. */
  hugeFault?(vmf: VmFault, order: number): Sleepable<number>;
  /** Fault-around (`->map_pages`): map pages already in the cache for [start, end]. */
  mapPages?(vmf: VmFault, startPgoff: Pgoff, endPgoff: Pgoff): Sleepable<number>;
  pageMkwrite?(vmf: VmFault): Sleepable<number>;
  pfnMkwrite?(vmf: VmFault): Sleepable<number>;
}

export class VmAreaStruct {
  vmStart: number;
  vmEnd: number;
  vmFlags: number;
  /** `vm_page_prot` as _PAGE_* bits. */
  vmPageProt = 0;
  vmPgoff: number;
  vmFile: VmFile | null;
  vmOps: VmOperationsStruct | null = null;
  vmPrivateData: unknown = null;
  /** The anon_vma new anonymous pages of this VMA are filed under. */
  anonVma: AnonVma | null = null;
  /** `anon_vma_chain`: every anon_vma whose tree holds this VMA. */
  anonVmaChain: AnonVma[] = [];

  constructor(
    readonly vmMm: MmStruct,
    init: { start: number; end: number; flags: number; pgoff: number; file?: VmFile | null },
  ) {
    this.vmStart = init.start;
    this.vmEnd = init.end;
    this.vmFlags = init.flags;
    this.vmPgoff = init.pgoff;
    this.vmFile = init.file ?? null;
  }

  get mapping(): AddressSpace | null {
    return this.vmFile?.mapping ?? null;
  }

  /** `vma_pages()`. */
  get pages(): number {
    return (this.vmEnd - this.vmStart) / PAGE_SIZE;
  }

  contains(addr: number): boolean {
    return addr >= this.vmStart && addr < this.vmEnd;
  }

  /** `linear_page_index()`. */
  linearPageIndex(addr: number): Pgoff {
    return (Math.floor((addr - this.vmStart) / PAGE_SIZE) + this.vmPgoff) as Pgoff;
  }

  /** `vma_address()` for one page: its user address here, or -1 outside the VMA. */
  addressOf(pgoff: number): number {
    const addr = this.vmStart + (pgoff - this.vmPgoff) * PAGE_SIZE;
    return addr >= this.vmStart && addr < this.vmEnd ? addr : -1;
  }

  /** Shallow copy for `vm_area_dup()`; the caller fixes mm links and rmap. */
  dup(mm: MmStruct = this.vmMm): VmAreaStruct {
    const v = new VmAreaStruct(mm, {
      start: this.vmStart,
      end: this.vmEnd,
      flags: this.vmFlags,
      pgoff: this.vmPgoff,
      file: this.vmFile,
    });
    v.vmPageProt = this.vmPageProt;
    v.vmOps = this.vmOps;
    v.vmPrivateData = this.vmPrivateData;
    return v;
  }

  toString(): string {
    return `vma ${this.vmStart.toString(16)}-${this.vmEnd.toString(16)} flags ${this.vmFlags.toString(16)} pgoff ${this.vmPgoff.toString(16)}`;
  }
}

/** `vma_is_anonymous()`: no vm_ops at all. */
export function vmaIsAnonymous(vma: VmAreaStruct): boolean {
  return vma.vmOps === null;
}

/** `is_cow_mapping()`: private and possibly writable. */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** `vm_get_page_prot()` (x86 protection_map): private writable maps start read-only. */
export function vmGetPageProt(flags: number): number {
  const access = flags & (VM_READ | VM_WRITE | VM_EXEC);
  if (access === 0) return _PAGE_PROTNONE | _PAGE_ACCESSED;
  const base = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
  if (flags & VM_WRITE && flags & VM_SHARED) return base | _PAGE_RW;
  return base;
}

/**
 * `vma_wants_writenotify()`: a shared writable mapping whose first write to a page must
 * fault, because the owner wants to know (page_mkwrite / pfn_mkwrite, dirty accounting).
 */
export function vmaWantsWritenotify(vma: VmAreaStruct, flags = vma.vmFlags): boolean {
  if ((flags & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  if (vma.vmOps?.pageMkwrite || vma.vmOps?.pfnMkwrite) return true;
  if (flags & VM_PFNMAP) return false;
  const mapping = vma.mapping;
  return mapping !== null && mapping.canWriteback;
}

/** `vma_set_page_prot()`. */
export function vmaSetPageProt(vma: VmAreaStruct): void {
  let prot = vmGetPageProt(vma.vmFlags);
  if (vmaWantsWritenotify(vma)) prot &= ~_PAGE_RW;
  vma.vmPageProt = prot;
}

/** `maybe_mkwrite()`'s test: may a PTE in this VMA be writable? */
export function vmaIsWritable(vma: VmAreaStruct): boolean {
  return (vma.vmFlags & VM_WRITE) !== 0;
}
