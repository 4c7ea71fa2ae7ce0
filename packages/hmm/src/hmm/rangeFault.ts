/**
 * `hmm_range_fault()`: snapshot a range of a process's CPU page tables into an hmm_pfns
 * array a device can program its own page table from, faulting pages in on request.
 *
 * @see mm/hmm.c hmm_range_fault(), hmm_vma_fault(), hmm_pte_need_fault(),
 *      hmm_range_need_fault(), hmm_vma_walk_hole(), hmm_vma_handle_pmd(),
 *      hmm_vma_handle_pte(), hmm_vma_walk_pmd(), hmm_vma_walk_pud(), hmm_vma_walk_test();
 *      mm/pagewalk.c walk_page_range(); include/linux/hmm.h struct hmm_range
 *
 * The caller holds mmap_lock (read) and has sampled `notifierSeq` with
 * `mmuIntervalReadBegin()`. Returns the kernel's int: 0, -EBUSY (the range was
 * invalidated: sample the sequence again and retry), -EFAULT (a page asked for cannot be
 * made valid: no VMA, VM_IO/VM_PFNMAP, a fault error, a non-struct-page PTE) or -EPERM
 * (a write asked for in a VMA without VM_WRITE). Like the kernel, a fault is taken for
 * every page from the first one needing it to the end of that PMD, and the walk then
 * restarts at that page (`hmm_vma_walk->last`).
 *
 * Simplified: no hugetlb leaves; PMD and PUD leaves are the DAX/special ones mm-core
 * installs (PUD leaves are reported with order 18); there is no real swap, so every non-present entry is a "non-swap" entry.
 */
import {
  ERRNO,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  PAGE_SIZE,
  PMD_ORDER,
  PMD_SIZE,
  PUD_ORDER,
  PUD_SIZE,
  VM_FAULT_ERROR,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
  _PAGE_PRESENT,
  handleMmFault,
  mmuIntervalCheckRetry,
  pmdLeaf,
  pmdNone,
  pmdPresent,
  pmdWrite,
  pudLeaf,
  pudWrite,
  pteBits,
  pteDevmap,
  pteNone,
  ptePfn,
  ptePresent,
  pteWrite,
  vmBugOn,
  vmNormalPage,
  waitOnPageLocked,
  type MmStruct,
  type MmuIntervalNotifier,
  type PteVal,
  type Sleepable,
  type VmAreaStruct,
} from "@pagelab/mm-core";
import { isDevicePrivateEntry, isMigrationEntry, isWritableDevicePrivateEntry, pfnSwapEntryToPfn } from "../zoneDevice/entries.js";
import {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnFlagsOrder,
  type HmmPfns,
} from "./flags.js";

/** `struct hmm_range`. Flag fields are in the flag-byte domain of flags.ts. */
export interface HmmRange {
  notifier: MmuIntervalNotifier;
  /** From `mmuIntervalReadBegin()`. */
  notifierSeq: number;
  /** [start, end): page aligned. */
  start: number;
  end: number;
  /** In: per-page request flags; out: pfn and flags. Entry i is `start + i * PAGE_SIZE`. */
  hmmPfns: HmmPfns;
  /** Request flags applied to every page (HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE). */
  defaultFlags: number;
  /** Which per-page request bits to honour. */
  pfnFlagsMask: number;
  /** Device-private pages of this owner are reported as they are, not faulted back. */
  devPrivateOwner: unknown;
}

const HMM_NEED_FAULT = 1 << 0;
const HMM_NEED_WRITE_FAULT = 1 << 1;
const HMM_NEED_ALL_BITS = HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;

const EBUSY = -ERRNO.EBUSY;
const EFAULT = -ERRNO.EFAULT;
const EPERM = -ERRNO.EPERM;

interface HmmVmaWalk {
  readonly range: HmmRange;
  readonly mm: MmStruct;
  last: number;
}

/** Work done, for cost reports and the benchmark. */
export const hmmStats = { rangeFaults: 0, pagesWalked: 0, faultsTaken: 0, retries: 0 };

function index(range: HmmRange, addr: number): number {
  return (addr - range.start) / PAGE_SIZE;
}

function hmmPfnsFill(range: HmmRange, addr: number, end: number, cpuFlags: number): number {
  const { pfn, flags } = range.hmmPfns;
  const i0 = index(range, addr);
  const n = (end - addr) / PAGE_SIZE;
  pfn.fill(0, i0, i0 + n);
  flags.fill(cpuFlags, i0, i0 + n);
  hmmStats.pagesWalked += n;
  return 0;
}

function hmmPteNeedFault(range: HmmRange, pfnReqFlags: number, cpuFlags: number): number {
  // A request is the page's own bits (as far as the mask lets them through) plus the defaults.
  const req = (pfnReqFlags & range.pfnFlagsMask) | range.defaultFlags;
  if (!(req & HMM_PFN_REQ_FAULT)) return 0;
  if (req & HMM_PFN_REQ_WRITE && !(cpuFlags & HMM_PFN_WRITE)) return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
  if (!(cpuFlags & HMM_PFN_VALID)) return HMM_NEED_FAULT;
  return 0;
}

function hmmRangeNeedFault(range: HmmRange, addr: number, end: number, cpuFlags: number): number {
  if (!((range.defaultFlags | range.pfnFlagsMask) & HMM_PFN_REQ_FAULT)) return 0;
  const flags = range.hmmPfns.flags;
  let required = 0;
  for (let i = index(range, addr), n = index(range, end); i < n; i++) {
    required |= hmmPteNeedFault(range, flags[i]!, cpuFlags);
    if (required === HMM_NEED_ALL_BITS) return required;
  }
  return required;
}

/** `hmm_vma_fault()`: fault [addr, end) in and return -EBUSY so the walk restarts at addr. */
function* hmmVmaFault(walk: HmmVmaWalk, vma: VmAreaStruct, addr: number, end: number, required: number): Sleepable<number> {
  walk.last = addr;
  let faultFlags = FAULT_FLAG_REMOTE;
  if (required & HMM_NEED_WRITE_FAULT) {
    if (!(vma.vmFlags & VM_WRITE)) return EPERM;
    faultFlags |= FAULT_FLAG_WRITE;
  }
  for (; addr < end; addr += PAGE_SIZE) {
    hmmStats.faultsTaken++;
    if ((yield* handleMmFault(vma, addr, faultFlags)) & VM_FAULT_ERROR) return EFAULT;
  }
  return EBUSY;
}

/** `hmm_vma_walk_hole()`: nothing mapped at [addr, end); `vma` null outside any VMA. */
function* hmmVmaWalkHole(walk: HmmVmaWalk, vma: VmAreaStruct | null, addr: number, end: number): Sleepable<number> {
  const required = hmmRangeNeedFault(walk.range, addr, end, 0);
  if (!vma) return required ? EFAULT : hmmPfnsFill(walk.range, addr, end, HMM_PFN_ERROR);
  if (required) return yield* hmmVmaFault(walk, vma, addr, end, required);
  return hmmPfnsFill(walk.range, addr, end, 0);
}

/** `pte_protnone()`: present to the kernel, not to the MMU. */
function pteProtnone(v: PteVal): boolean {
  return ptePresent(v) && (pteBits(v) & _PAGE_PRESENT) === 0;
}

function pteToHmmPfnFlags(v: PteVal): number {
  if (pteNone(v) || !ptePresent(v) || pteProtnone(v)) return 0;
  return pteWrite(v) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID;
}

/** `hmm_vma_handle_pmd()`: a 2 MiB leaf reports every page with order PMD_ORDER. */
function* hmmVmaHandlePmd(walk: HmmVmaWalk, vma: VmAreaStruct, addr: number, end: number, pmd: PteVal): Sleepable<number> {
  const cpuFlags = pteProtnone(pmd) ? 0 : (pmdWrite(pmd) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID) | hmmPfnFlagsOrder(PMD_ORDER);
  return yield* hmmVmaHandleLeaf(walk, vma, addr, end, pmd, PMD_SIZE, cpuFlags);
}

/** The PUD-leaf arm of `hmm_vma_walk_pud()`: a 1 GiB leaf reports every page with order PUD_ORDER. */
function* hmmVmaHandlePud(walk: HmmVmaWalk, vma: VmAreaStruct, addr: number, end: number, pud: PteVal): Sleepable<number> {
  const cpuFlags = pteProtnone(pud) ? 0 : (pudWrite(pud) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID) | hmmPfnFlagsOrder(PUD_ORDER);
  return yield* hmmVmaHandleLeaf(walk, vma, addr, end, pud, PUD_SIZE, cpuFlags);
}

function* hmmVmaHandleLeaf(
  walk: HmmVmaWalk, vma: VmAreaStruct, addr: number, end: number, leaf: PteVal, size: number, cpuFlags: number,
): Sleepable<number> {
  const range = walk.range;
  const required = hmmRangeNeedFault(range, addr, end, cpuFlags);
  if (required) return yield* hmmVmaFault(walk, vma, addr, end, required);
  let pfn = ptePfn(leaf) + (addr % size) / PAGE_SIZE;
  const out = range.hmmPfns;
  hmmStats.pagesWalked += (end - addr) / PAGE_SIZE;
  for (let i = index(range, addr); addr < end; addr += PAGE_SIZE, i++, pfn++) {
    out.pfn[i] = pfn;
    out.flags[i] = cpuFlags;
  }
  return 0;
}

/** `hmm_vma_handle_pte()`: one PTE; 0, or the result of a fault/wait that ends this walk. */
function* hmmVmaHandlePte(walk: HmmVmaWalk, vma: VmAreaStruct, addr: number, end: number, pte: PteVal): Sleepable<number> {
  const range = walk.range;
  const out = range.hmmPfns;
  const i = index(range, addr);
  const req = out.flags[i]!;
  hmmStats.pagesWalked++;
  if (pteNone(pte)) {
    const required = hmmPteNeedFault(range, req, 0);
    if (required) return yield* hmmVmaFault(walk, vma, addr, end, required);
    out.pfn[i] = 0;
    out.flags[i] = 0;
    return 0;
  }
  if (!ptePresent(pte)) {
    const memmap = walk.mm.ctx.memmap;
    if (isDevicePrivateEntry(pte)) {
      const pfn = pfnSwapEntryToPfn(pte);
      if (memmap.pagePgmap(pfn)?.owner === range.devPrivateOwner) {
        out.pfn[i] = pfn;
        out.flags[i] = isWritableDevicePrivateEntry(pte) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID;
        return 0;
      }
    }
    const required = hmmPteNeedFault(range, req, 0);
    if (!required) {
      out.pfn[i] = 0;
      out.flags[i] = 0;
      return 0;
    }
    // Another device's memory is faulted back to RAM through migrate_to_ram.
    if (isDevicePrivateEntry(pte)) return yield* hmmVmaFault(walk, vma, addr, end, required);
    if (isMigrationEntry(pte)) {
      walk.last = addr;
      yield* waitOnPageLocked(memmap, pfnSwapEntryToPfn(pte));
      return EBUSY;
    }
    return EFAULT;
  }
  const cpuFlags = pteToHmmPfnFlags(pte);
  const required = hmmPteNeedFault(range, req, cpuFlags);
  if (required) return yield* hmmVmaFault(walk, vma, addr, end, required);
  const pfn = ptePfn(pte);
  // Raw PFNs without a struct page cannot be mirrored; DAX (devmap) and the zero page can.
  if (vmNormalPage(vma, pte) === null && !pteDevmap(pte) && !walk.mm.ctx.isZeroPfn(pfn)) {
    if (hmmPteNeedFault(range, req, 0)) return EFAULT;
    out.pfn[i] = 0;
    out.flags[i] = HMM_PFN_ERROR;
    return 0;
  }
  out.pfn[i] = pfn;
  out.flags[i] = cpuFlags;
  return 0;
}

/** `hmm_vma_walk_pmd()` over [start, end) within one PMD. */
function* hmmVmaWalkPmd(walk: HmmVmaWalk, vma: VmAreaStruct, start: number, end: number): Sleepable<number> {
  const pt = walk.mm.pgtables;
  const pmd = pt.pmdAt(start);
  if (pmdNone(pmd)) return yield* hmmVmaWalkHole(walk, vma, start, end);
  if (!pmdPresent(pmd)) {
    if (hmmRangeNeedFault(walk.range, start, end, 0)) return EFAULT;
    return hmmPfnsFill(walk.range, start, end, HMM_PFN_ERROR);
  }
  if (pmdLeaf(pmd)) return yield* hmmVmaHandlePmd(walk, vma, start, end, pmd);
  const h0 = pt.pteOffset(start);
  for (let addr = start, h = h0; addr < end; addr += PAGE_SIZE, h++) {
    const r = yield* hmmVmaHandlePte(walk, vma, addr, end, pt.pteGet(h));
    if (r) return r;
  }
  return 0;
}

/** `hmm_vma_walk_test()`: VMAs without struct pages (or unreadable) are errors. */
function hmmVmaWalkTest(walk: HmmVmaWalk, vma: VmAreaStruct, start: number, end: number): number {
  if (!(vma.vmFlags & (VM_IO | VM_PFNMAP)) && vma.vmFlags & VM_READ) return 0;
  if (hmmRangeNeedFault(walk.range, start, end, 0)) return EFAULT;
  hmmPfnsFill(walk.range, start, end, HMM_PFN_ERROR);
  return 1;
}

/**
 * `walk_page_range()` with the hmm walk ops: VMAs, holes between them, a PUD leaf at once,
 * anything else PMD by PMD.
 */
function* walkPageRange(walk: HmmVmaWalk, start: number, end: number): Sleepable<number> {
  let addr = start;
  while (addr < end) {
    const vma = walk.mm.findVma(addr);
    if (!vma || vma.vmStart >= end) return yield* hmmVmaWalkHole(walk, null, addr, end);
    if (addr < vma.vmStart) {
      const err = yield* hmmVmaWalkHole(walk, null, addr, vma.vmStart);
      if (err) return err;
      addr = vma.vmStart;
      continue;
    }
    const next = Math.min(end, vma.vmEnd);
    const test = hmmVmaWalkTest(walk, vma, addr, next);
    if (test < 0) return test;
    if (test === 0) {
      for (let a = addr; a < next; ) {
        const pud = walk.mm.pgtables.pudAt(a);
        if (pudLeaf(pud)) {
          const e = Math.min(next, (Math.floor(a / PUD_SIZE) + 1) * PUD_SIZE);
          const err = yield* hmmVmaHandlePud(walk, vma, a, e, pud);
          if (err) return err;
          a = e;
          continue;
        }
        const e = Math.min(next, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE);
        const err = yield* hmmVmaWalkPmd(walk, vma, a, e);
        if (err) return err;
        a = e;
      }
    }
    addr = next;
  }
  return 0;
}

/**
 * `hmm_range_fault()`: fill `range.hmmPfns` for [start, end). See the module header for
 * the return values.
 */
export function* hmmRangeFault(range: HmmRange): Sleepable<number> {
  const mm = range.notifier.mm;
  vmBugOn(mm === null, "hmm_range_fault: the interval notifier is not inserted");
  vmBugOn(!mm!.mmapLock.isHeldByCurrent(), "hmm_range_fault: mmap_assert_locked");
  if (range.start % PAGE_SIZE || range.end % PAGE_SIZE || range.end <= range.start)
    throw new RangeError(`hmm_range_fault: [${range.start}, ${range.end}) is not a page-aligned range`);
  if (range.hmmPfns.pfn.length < (range.end - range.start) / PAGE_SIZE)
    throw new RangeError("hmm_range_fault: hmm_pfns is shorter than the range");
  hmmStats.rangeFaults++;
  const walk: HmmVmaWalk = { range, mm: mm!, last: range.start };
  let ret: number;
  do {
    if (mmuIntervalCheckRetry(range.notifier, range.notifierSeq)) return EBUSY;
    ret = yield* walkPageRange(walk, walk.last, range.end);
    if (ret === EBUSY) hmmStats.retries++;
  } while (ret === EBUSY);
  return ret;
}
