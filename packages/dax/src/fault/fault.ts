/**
 * DAX page faults: map pmem blocks straight into user page tables, at PTE or PMD size,
 * with the zero page for holes, CoW of shared blocks on write, private-mapping CoW into
 * anonymous pages, and MAP_SYNC.
 *
 * @see fs/dax.c dax_iomap_fault(), dax_iomap_pte_fault(), dax_iomap_pmd_fault(),
 *      dax_fault_check_fallback(), dax_fault_iter(), dax_load_hole(), dax_pmd_load_hole(),
 *      dax_fault_cow_page(), copy_cow_page_dax(), dax_fault_synchronous_pfnp()
 *
 * The filesystem's iomap_begin takes the inode lock, which may sleep: the fault yields
 * there, with the entry locked, so a second fault on the same entry really waits.
 * Which page a PTE maps is the sharing mechanism's answer (`mapTarget`): the pmem pfn as
 * a devmap entry (no rmap, no reference — 6.12), or a page mapped like page cache.
 * Simplified: no fault-around, no PUD faults; `split_huge_pmd` on fallback is left to the
 * generic fault code.
 */
import {
  FAULT_FLAG_WRITE,
  KernelError,
  PAGE_SIZE,
  PFN_DEV,
  PFN_MAP,
  PG_uptodate,
  PMD_NR,
  PMD_ORDER,
  PMD_SIZE,
  type Pfn,
  type Sleepable,
  VM_FAULT_DONE_COW,
  VM_FAULT_ERROR,
  VM_FAULT_FALLBACK,
  VM_FAULT_HWPOISON,
  VM_FAULT_MAJOR,
  VM_FAULT_NEEDDSYNC,
  VM_FAULT_NOPAGE,
  VM_FAULT_SIGBUS,
  VM_SHARED,
  VM_SYNC,
  type VmFault,
  finishFault,
  isKernelError,
  isMachineCheck,
  pfnToPfnT,
  pmdLeaf,
  pmdNone,
  schedule,
  vmfInsertMixed,
  vmfInsertMixedMkwrite,
  vmfInsertPfnPmd,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { DAX_PMD, DAX_ZERO_PAGE, type DaxEntry, PG_PMD_COLOUR } from "../entry/entry.js";
import { daxUnlockEntry, grabMappingEntry, isGrabFault } from "../entry/lock.js";
import {
  IOMAP_DAX,
  IOMAP_F_DIRTY,
  IOMAP_F_NEW,
  IOMAP_F_SHARED,
  IOMAP_FAULT,
  IOMAP_HOLE,
  IOMAP_MAPPED,
  IOMAP_UNWRITTEN,
  IOMAP_WRITE,
  type IomapIter,
  type IomapOps,
  iomapIterOnce,
  iomapLength,
} from "../iomap.js";
import type { MapTarget } from "../mechanism/types.js";
import { daxFaultReturn, daxIomapAddr, daxIomapCopyAround, daxIomapDirectAccess } from "./access.js";
import { type InsertArgs, daxInsertEntry } from "./insert.js";
import { traceDaxPmdFault, traceDaxPmdLoadHole, traceDaxPteFault } from "../trace/fsDax.js";

/** Where dax_iomap_fault reports the pfn of a VM_FAULT_NEEDDSYNC fault (`pfnp`). */
export interface PfnOut {
  pfn: Pfn | null;
}

interface EntryRef {
  entry: DaxEntry;
}

/**
 * `dax_iomap_fault(vmf, order, pfnp, NULL, ops)`: order 0 for a PTE fault, PMD_ORDER for a
 * PMD fault; anything else falls back. Returns a VM_FAULT_* mask.
 */
export function* daxIomapFault<I>(
  dax: DaxContext,
  vmf: VmFault,
  order: number,
  ops: IomapOps<I>,
  pfnp: PfnOut = { pfn: null },
): Sleepable<number> {
  if (order === 0) return yield* daxIomapPteFault(dax, vmf, ops, pfnp);
  if (order === PMD_ORDER) return yield* daxIomapPmdFault(dax, vmf, ops, pfnp);
  return VM_FAULT_FALLBACK;
}

function errnoOf(e: unknown): number {
  if (isKernelError(e)) return -e.errno;
  throw e;
}

/** `dax_iomap_pte_fault()`: traced on entry (result 0) and on every way out. */
function* daxIomapPteFault<I>(dax: DaxContext, vmf: VmFault, ops: IomapOps<I>, pfnp: PfnOut): Sleepable<number> {
  traceDaxPteFault(dax, "dax_pte_fault", vmf, 0);
  const ret = yield* daxIomapPteFaultBody(dax, vmf, ops, pfnp);
  traceDaxPteFault(dax, "dax_pte_fault_done", vmf, ret);
  return ret;
}

function* daxIomapPteFaultBody<I>(dax: DaxContext, vmf: VmFault, ops: IomapOps<I>, pfnp: PfnOut): Sleepable<number> {
  const mapping = vmf.vma.mapping!;
  const inode = mapping.host as I;
  const pos = vmf.pgoff * PAGE_SIZE;
  dax.costs.faults++;
  if (pos >= mapping.iSize) return VM_FAULT_SIGBUS;
  let flags = IOMAP_DAX | IOMAP_FAULT;
  if (vmf.flags & FAULT_FLAG_WRITE && vmf.cowPage === null) flags |= IOMAP_WRITE;
  const grabbed = yield* grabMappingEntry(dax, mapping, vmf.pgoff, 0);
  if (isGrabFault(grabbed)) return grabbed.vmFault;
  const ref: EntryRef = { entry: grabbed };
  let ret: number;
  try {
    yield* schedule();
    if (pmdLeaf(vmf.vma.vmMm.pgtables.pmdAt(vmf.address))) return VM_FAULT_NOPAGE;
    try {
      ret = iomapIterOnce(ops, inode, pos, PAGE_SIZE, flags, (it) => {
        if (dax.vm.dmesg.warnOnOnce(iomapLength(it) < PAGE_SIZE, "fs/dax.c:dax_iomap_pte_fault"))
          return { processed: -5, value: VM_FAULT_SIGBUS };
        let r = daxFaultIter(dax, vmf, it, ref, false, pfnp);
        if (r !== VM_FAULT_SIGBUS && it.iomap.flags & IOMAP_F_NEW) r |= VM_FAULT_MAJOR;
        return { processed: r & VM_FAULT_ERROR ? 0 : PAGE_SIZE, value: r };
      });
    } catch (e) {
      ret = daxFaultReturn(errnoOf(e));
    }
  } finally {
    daxUnlockEntry(dax, mapping, vmf.pgoff, ref.entry);
  }
  return ret;
}

/** `dax_fault_check_fallback()`: reasons a PMD fault must use PTEs instead. */
export function daxFaultCheckFallback(vmf: VmFault, index: number, maxPgoff: number): boolean {
  const pmdAddr = vmf.address - (vmf.address % PMD_SIZE);
  const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
  if (vmf.pgoff % PMD_NR !== Math.floor(vmf.address / PAGE_SIZE) % PMD_NR) return true;
  if (write && !(vmf.vma.vmFlags & VM_SHARED)) return true;
  if (pmdAddr < vmf.vma.vmStart || pmdAddr + PMD_SIZE > vmf.vma.vmEnd) return true;
  return index + PG_PMD_COLOUR >= maxPgoff;
}

/** `dax_iomap_pmd_fault()`: traced on entry (result 0) and on every way out. */
function* daxIomapPmdFault<I>(dax: DaxContext, vmf: VmFault, ops: IomapOps<I>, pfnp: PfnOut): Sleepable<number> {
  const maxPgoff = Math.ceil(vmf.vma.mapping!.iSize / PAGE_SIZE);
  traceDaxPmdFault(dax, "dax_pmd_fault", vmf, maxPgoff, 0);
  const ret = yield* daxIomapPmdFaultBody(dax, vmf, ops, pfnp, maxPgoff);
  traceDaxPmdFault(dax, "dax_pmd_fault_done", vmf, maxPgoff, ret);
  return ret;
}

function* daxIomapPmdFaultBody<I>(dax: DaxContext, vmf: VmFault, ops: IomapOps<I>, pfnp: PfnOut, maxPgoff: number): Sleepable<number> {
  const mapping = vmf.vma.mapping!;
  const inode = mapping.host as I;
  let flags = IOMAP_DAX | IOMAP_FAULT;
  if (vmf.flags & FAULT_FLAG_WRITE) flags |= IOMAP_WRITE;
  const index = vmf.pgoff - (vmf.pgoff % PMD_NR);
  dax.costs.faults++;
  if (index >= maxPgoff) return VM_FAULT_SIGBUS;
  if (daxFaultCheckFallback(vmf, index, maxPgoff)) return VM_FAULT_FALLBACK;
  const grabbed = yield* grabMappingEntry(dax, mapping, index, PMD_ORDER);
  if (isGrabFault(grabbed)) return grabbed.vmFault;
  const ref: EntryRef = { entry: grabbed };
  let ret = VM_FAULT_FALLBACK;
  try {
    yield* schedule();
    const pmd = vmf.vma.vmMm.pgtables.pmdAt(vmf.address);
    if (!pmdNone(pmd) && !pmdLeaf(pmd)) return 0;
    const pos = index * PAGE_SIZE;
    try {
      ret = iomapIterOnce(ops, inode, pos, PMD_SIZE, flags, (it) => {
        if (iomapLength(it) < PMD_SIZE) return { processed: 0, value: VM_FAULT_FALLBACK };
        const r = daxFaultIter(dax, vmf, it, ref, true, pfnp);
        return { processed: r === VM_FAULT_FALLBACK ? 0 : PMD_SIZE, value: r };
      });
    } catch (e) {
      errnoOf(e);
      ret = VM_FAULT_FALLBACK;
    }
  } finally {
    daxUnlockEntry(dax, mapping, index, ref.entry);
  }
  return ret;
}

/** `dax_fault_is_synchronous()`: a MAP_SYNC write whose metadata is not yet durable. */
function daxFaultIsSynchronous(it: IomapIter<unknown>, vmf: VmFault): boolean {
  return (it.flags & IOMAP_WRITE) !== 0 && (vmf.vma.vmFlags & VM_SYNC) !== 0 && (it.iomap.flags & IOMAP_F_DIRTY) !== 0;
}

/** `dax_fault_iter()`: handle one iomap for a PTE (pmd false) or PMD fault. */
function daxFaultIter(dax: DaxContext, vmf: VmFault, it: IomapIter<unknown>, ref: EntryRef, pmd: boolean, pfnp: PfnOut): number {
  const { iomap, srcmap } = it;
  const size = pmd ? PMD_SIZE : PAGE_SIZE;
  const index = pmd ? vmf.pgoff - (vmf.pgoff % PMD_NR) : vmf.pgoff;
  const pos = index * PAGE_SIZE;
  const write = (it.flags & IOMAP_WRITE) !== 0;
  const shared = (iomap.flags & IOMAP_F_SHARED) !== 0;
  const entryFlags = pmd ? DAX_PMD : 0;
  const synchronous = daxFaultIsSynchronous(it, vmf);
  const args: InsertArgs = { vma: vmf.vma, address: vmf.address, index, write, shared, synchronous };

  if (!pmd && vmf.cowPage !== null) return daxFaultCowPage(dax, vmf, it);
  if (!write && (iomap.type === IOMAP_UNWRITTEN || iomap.type === IOMAP_HOLE))
    return pmd ? daxPmdLoadHole(dax, vmf, ref, args) : daxLoadHole(dax, vmf, ref, args);
  if (iomap.type !== IOMAP_MAPPED && !shared) {
    dax.vm.dmesg.warnOnOnce(true, "fs/dax.c:dax_fault_iter");
    return pmd ? VM_FAULT_FALLBACK : VM_FAULT_SIGBUS;
  }
  if (pmd && !dax.mechanism.allowPmd({ shared, write })) return VM_FAULT_FALLBACK;
  let pfn: Pfn;
  try {
    pfn = daxIomapDirectAccess(dax, iomap, pos, size);
  } catch (e) {
    return pmd ? VM_FAULT_FALLBACK : daxFaultReturn(errnoOf(e));
  }
  try {
    ref.entry = daxInsertEntry(dax, ref.entry, pfn, entryFlags, args);
  } catch (e) {
    return daxFaultReturn(errnoOf(e));
  }
  if (write && shared) {
    try {
      daxIomapCopyAround(dax, pos, size, size, srcmap, daxIomapAddr(iomap, pos));
    } catch (e) {
      return daxFaultReturn(errnoOf(e));
    }
    dax.costs.cowFaults++;
  }
  if (synchronous) {
    pfnp.pfn = pfn;
    return VM_FAULT_NEEDDSYNC;
  }
  const target = dax.mechanism.mapTarget(dax, ref.entry, { mapping: vmf.vma.mapping!, index, vma: vmf.vma, address: vmf.address, shared, write });
  return mapTarget(dax, vmf, target, pmd, write);
}

/** Install the PTE/PMD the mechanism chose. */
function mapTarget(dax: DaxContext, vmf: VmFault, target: MapTarget, pmd: boolean, write: boolean): number {
  if (target.kind === "pfn") {
    const p = pfnToPfnT(target.pfn, PFN_DEV | PFN_MAP);
    if (pmd) return vmfInsertPfnPmd(vmf, p, write);
    return write ? vmfInsertMixedMkwrite(vmf.vma, vmf.address, p) : vmfInsertMixed(vmf.vma, vmf.address, p);
  }
  if (pmd) throw new KernelError("EINVAL", "a page-backed target cannot be PMD-mapped");
  // Mapped like a page-cache page: the PTE takes a reference and an rmap count.
  const memmap = dax.vm.memmap;
  memmap.pageRefInc(target.pfn);
  const saved = vmf.page;
  const savedFlags = vmf.flags;
  vmf.page = target.pfn;
  if (!write) vmf.flags &= ~FAULT_FLAG_WRITE;
  const ret = finishFault(vmf);
  vmf.page = saved;
  vmf.flags = savedFlags;
  if (ret !== 0) memmap.putPage(target.pfn);
  return VM_FAULT_NOPAGE;
}

/** `dax_load_hole()`: a read of a hole maps the shared zero page, read-only. */
function daxLoadHole(dax: DaxContext, vmf: VmFault, ref: EntryRef, args: InsertArgs): number {
  const zero = dax.vm.zeroPfn;
  ref.entry = daxInsertEntry(dax, ref.entry, zero, DAX_ZERO_PAGE, args);
  const ret = vmfInsertMixed(vmf.vma, vmf.address, pfnToPfnT(zero));
  traceDaxPteFault(dax, "dax_load_hole", vmf, ret);
  return ret;
}

/** `dax_pmd_load_hole()`: the huge zero page for a PMD-sized hole. */
function daxPmdLoadHole(dax: DaxContext, vmf: VmFault, ref: EntryRef, args: InsertArgs): number {
  let zero: Pfn;
  try {
    zero = dax.hugeZeroPfn();
  } catch {
    return VM_FAULT_FALLBACK;
  }
  ref.entry = daxInsertEntry(dax, ref.entry, zero, DAX_PMD | DAX_ZERO_PAGE, args);
  if (!pmdNone(vmf.vma.vmMm.pgtables.pmdAt(vmf.address))) {
    traceDaxPmdLoadHole(dax, "dax_pmd_load_hole_fallback", vmf, zero, ref.entry);
    return VM_FAULT_FALLBACK;
  }
  const ret = vmfInsertPfnPmd(vmf, pfnToPfnT(zero), false);
  traceDaxPmdLoadHole(dax, "dax_pmd_load_hole", vmf, zero, ref.entry);
  return ret;
}

/**
 * `dax_fault_cow_page()`: a write fault on a private mapping copies the block (or zeroes
 * for a hole) into `vmf->cow_page` and maps that anonymous page.
 */
function daxFaultCowPage(dax: DaxContext, vmf: VmFault, it: IomapIter<unknown>): number {
  const cow = vmf.cowPage!;
  const ctx = dax.vm;
  switch (it.iomap.type) {
    case IOMAP_HOLE:
    case IOMAP_UNWRITTEN:
      ctx.physMem.zeroPage(cow);
      break;
    case IOMAP_MAPPED: {
      let pfn: Pfn;
      try {
        pfn = daxIomapDirectAccess(dax, it.iomap, vmf.pgoff * PAGE_SIZE, PAGE_SIZE);
        ctx.physMem.copyPage(cow, pfn);
      } catch (e) {
        if (isMachineCheck(e)) return VM_FAULT_HWPOISON;
        return daxFaultReturn(errnoOf(e));
      }
      dax.costs.dramBytesCopied += PAGE_SIZE;
      break;
    }
    default:
      dax.vm.dmesg.warnOnOnce(true, "fs/dax.c:dax_fault_cow_page");
      return VM_FAULT_SIGBUS;
  }
  ctx.memmap.setPageFlag(cow, PG_uptodate);
  const ret = finishFault(vmf);
  return ret === 0 ? VM_FAULT_DONE_COW : ret;
}
