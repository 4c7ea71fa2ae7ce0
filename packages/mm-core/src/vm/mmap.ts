/**
 * The address-space system calls at the mm level: mmap, munmap, mprotect, mremap, with
 * VMA splitting, placement of new mappings and the page-table work each implies.
 *
 * @see mm/mmap.c do_mmap(), mmap_region(), generic_get_unmapped_area_topdown(),
 *      vm_unmapped_area(), __get_unmapped_area(); mm/vma.c __split_vma(),
 *      do_vmi_align_munmap(), vma_expand(); mm/mprotect.c do_mprotect_pkey(),
 *      mprotect_fixup(), change_protection(), can_change_pte_writable(); mm/mremap.c
 *      do_mremap(), vma_to_resize(), move_vma(), move_page_tables(), mremap_to();
 *      mm/huge_memory.c __thp_get_unmapped_area(), change_huge_pud(), __split_huge_pud()
 *
 * The functions named `do*` expect the caller to hold mmap_lock for writing; the `vm*`
 * and `sys*` wrappers take it. Simplified: no VMA merging (adjacent compatible VMAs stay
 * separate), no accounting (VM_ACCOUNT, RLIMIT_*), no stack guard gap, no pkeys.
 */
import { KernelError } from "../errno.js";
import type { Sleepable } from "../sched/sleepable.js";
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from "../types.js";
import { iMmapUpdate } from "./addressSpace.js";
import { anonVmaClone, anonVmaUpdate, unlinkAnonVmas } from "./anonVma.js";
import { MMAP_MIN_ADDR } from "./context.js";
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED,
  MAP_SHARED_VALIDATE, MAP_SYNC, MAP_TYPE, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_EXEC,
  PROT_READ, PROT_WRITE, VM_ACCESS_FLAGS, VM_DONTEXPAND, VM_EXEC, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE,
  VM_MAYWRITE, VM_NORESERVE, VM_PFNMAP, VM_READ, VM_SHARED, VM_SYNC, VM_WRITE,
} from "./flags.js";
import type { MmStruct } from "./mm.js";
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_PROTECTION_VMA, MMU_NOTIFY_UNMAP, mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart, mmuNotifierRangeInit, mmuNotifierRelease,
} from "./mmuNotifier.js";
import {
  SWP_DEVICE_READ, SWP_DEVICE_WRITE, SWP_MIGRATION_READ, SWP_MIGRATION_WRITE, isSwapPte, mkSwapEntry, pmdLeaf,
  pmdWrprotect, ptePresent, pteDirty, pteMkwrite, pteModify, pteWrite, swpOffset, swpType, pudLeaf,
} from "./pgtable.js";
import { PG_anon_exclusive } from "../page/flags.js";
import { vmNormalPage } from "./rmap.js";
import { mmPopulate } from "./populate.js";
import { shmemZeroSetup } from "./shmem.js";
import { MmuGather } from "./tlb.js";
import { VmAreaStruct, type VmFile, vmaSetPageProt, vmaWantsWritenotify } from "./vma.js";
import { unmapVmas, zapPageRangeSingle } from "./zap.js";

const MAP_GROWSDOWN = 0x0100;
const MAP_DENYWRITE = 0x0800;
const MAP_EXECUTABLE = 0x1000;
const MAP_LOCKED = 0x2000;
const MAP_NONBLOCK = 0x10000;
const MAP_STACK = 0x20000;
const MAP_HUGETLB = 0x40000;
const MAP_UNINITIALIZED = 0x4000000;
/** `LEGACY_MAP_MASK`: what plain MAP_SHARED keeps (unknown bits are silently dropped). */
const LEGACY_MAP_MASK =
  MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED |
  MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB |
  MAP_FIXED_NOREPLACE;

function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** `calc_vm_prot_bits()`. */
export function calcVmProtBits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

export interface UnmappedAreaInfo {
  length: number;
  lowLimit: number;
  highLimit: number;
  alignMask?: number;
  alignOffset?: number;
}

/** `vm_unmapped_area()` top-down: the highest free gap that fits. Returns -1 if none. */
export function vmUnmappedAreaTopdown(mm: MmStruct, info: UnmappedAreaInfo): number {
  const vmas = mm.vmas.all();
  const mask = info.alignMask ?? 0;
  const offset = info.alignOffset ?? 0;
  for (let i = vmas.length - 1; i >= -1; i--) {
    const top = Math.min(i + 1 < vmas.length ? vmas[i + 1]!.vmStart : mm.taskSize, info.highLimit);
    const bottom = Math.max(i >= 0 ? vmas[i]!.vmEnd : 0, info.lowLimit);
    if (top - bottom < info.length) continue;
    let addr = top - info.length;
    if (mask) addr -= ((addr - offset) % (mask + 1) + (mask + 1)) % (mask + 1);
    if (addr >= bottom) return addr;
  }
  return -1;
}

function rangeFree(mm: MmStruct, addr: number, len: number): boolean {
  return addr >= MMAP_MIN_ADDR && addr + len <= mm.taskSize && mm.vmas.intersecting(addr, addr + len).length === 0;
}

/** `arch_get_unmapped_area_topdown()`: the hint if free, else the highest gap below mmap_base. */
export function archGetUnmappedAreaTopdown(mm: MmStruct, addr: number, len: number, flags: number): number {
  if (len > mm.taskSize - MMAP_MIN_ADDR) throw new KernelError("ENOMEM");
  if (flags & MAP_FIXED) return addr;
  if (addr) {
    const hint = pageAlign(addr);
    if (rangeFree(mm, hint, len)) return hint;
  }
  const found = vmUnmappedAreaTopdown(mm, { length: len, lowLimit: PAGE_SIZE, highLimit: mm.mmapBase });
  if (found < 0) throw new KernelError("ENOMEM");
  return found;
}

/**
 * `thp_get_unmapped_area()`: place a mapping of at least PMD_SIZE so that file offsets and
 * virtual addresses agree modulo 2 MiB, letting faults use PMD mappings.
 */
export function thpGetUnmappedArea(mm: MmStruct, addr: number, len: number, pgoff: number, flags: number): number {
  const off = pgoff * PAGE_SIZE;
  const size = PMD_SIZE;
  const offEnd = off + len;
  const offAlign = Math.ceil(off / size) * size;
  if (!(flags & MAP_FIXED) && !(offEnd <= offAlign || offEnd - offAlign < size)) {
    try {
      const ret = archGetUnmappedAreaTopdown(mm, addr, len + size, flags);
      if (ret === addr) return addr;
      const offSub = (((off - ret) % size) + size) % size;
      if (offSub === 0) return ret + size;
      return ret + offSub;
    } catch {
      // fall through to the ordinary placement
    }
  }
  return archGetUnmappedAreaTopdown(mm, addr, len, flags);
}

/** `get_unmapped_area()`. */
export function getUnmappedArea(mm: MmStruct, file: VmFile | null, addr: number, len: number, pgoff: number, flags: number): number {
  if (len > mm.taskSize) throw new KernelError("ENOMEM");
  const ret =
    file?.getUnmappedArea && !(flags & MAP_FIXED)
      ? file.getUnmappedArea(mm, addr, len, pgoff, flags)
      : archGetUnmappedAreaTopdown(mm, addr, len, flags);
  if (ret > mm.taskSize - len) throw new KernelError("ENOMEM");
  if (ret % PAGE_SIZE !== 0) throw new KernelError("EINVAL");
  return ret;
}

export interface MmapArgs {
  addr?: number;
  len: number;
  prot: number;
  flags: number;
  file?: VmFile | null;
  /** File offset in pages. */
  pgoff?: number;
}

/** `do_mmap()`: returns the address of the new mapping. Caller holds mmap_lock for write. */
export function doMmap(mm: MmStruct, args: MmapArgs): number {
  const file = args.file ?? null;
  let flags = args.flags;
  let pgoff = args.pgoff ?? 0;
  const prot = args.prot;
  if (args.len === 0) throw new KernelError("EINVAL");
  const len = pageAlign(args.len);
  if (len > mm.taskSize) throw new KernelError("ENOMEM");
  if (pgoff + len / PAGE_SIZE < pgoff || pgoff + len / PAGE_SIZE > Number.MAX_SAFE_INTEGER) throw new KernelError("EOVERFLOW");
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  let addr = args.addr ?? 0;
  if (!(flags & MAP_FIXED)) addr = Math.max(addr, 0);
  else if (addr % PAGE_SIZE !== 0 || addr + len > mm.taskSize) throw new KernelError("EINVAL");

  let vmFlags = calcVmProtBits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (file) {
    switch (flags & MAP_TYPE) {
      case MAP_SHARED:
      case MAP_SHARED_VALIDATE: {
        if ((flags & MAP_TYPE) === MAP_SHARED) flags &= LEGACY_MAP_MASK;
        else if (flags & ~(LEGACY_MAP_MASK | (file.mmapSupportedFlags ?? 0))) throw new KernelError("EOPNOTSUPP");
        if (prot & PROT_WRITE && !file.writable) throw new KernelError("EACCES");
        vmFlags |= VM_SHARED | VM_MAYSHARE;
        if (!file.writable) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
        if (flags & MAP_SYNC) vmFlags |= VM_SYNC;
        if (!file.readable) throw new KernelError("EACCES");
        break;
      }
      case MAP_PRIVATE:
        if (!file.readable) throw new KernelError("EACCES");
        break;
      default:
        throw new KernelError("EINVAL");
    }
  } else {
    switch (flags & MAP_TYPE) {
      case MAP_SHARED:
      case MAP_SHARED_VALIDATE:
        pgoff = 0;
        vmFlags |= VM_SHARED | VM_MAYSHARE;
        break;
      case MAP_PRIVATE:
        break;
      default:
        throw new KernelError("EINVAL");
    }
  }
  if (flags & MAP_NORESERVE) vmFlags |= VM_NORESERVE;

  addr = getUnmappedArea(mm, file, addr, len, pgoff, flags);
  if (args.flags & MAP_FIXED_NOREPLACE && mm.vmas.intersecting(addr, addr + len).length) throw new KernelError("EEXIST");
  if (!file && (flags & MAP_TYPE) === MAP_PRIVATE) pgoff = addr / PAGE_SIZE;
  return mmapRegion(mm, file, addr, len, vmFlags, pgoff);
}

/** `mmap_region()`: replace whatever was at [addr, addr + len) with a new VMA. */
export function mmapRegion(mm: MmStruct, file: VmFile | null, addr: number, len: number, vmFlags: number, pgoff: number): number {
  if (mm.vmas.intersecting(addr, addr + len).length) doMunmap(mm, addr, len);
  const vma = new VmAreaStruct(mm, { start: addr, end: addr + len, flags: vmFlags, pgoff, file });
  if (file) file.mmap(vma);
  else if (vmFlags & VM_SHARED) shmemZeroSetup(vma);
  mm.vmas.insert(vma);
  vma.mapping?.iMmapInsert(vma);
  vmaSetPageProt(vma);
  return addr;
}

/** Split `vma` at `addr`; returns the new VMA (the part below `addr` if `newBelow`). */
export function splitVma(vma: VmAreaStruct, addr: number, newBelow: boolean): VmAreaStruct {
  if (addr <= vma.vmStart || addr >= vma.vmEnd || addr % PAGE_SIZE) throw new Error(`split ${vma} at ${addr.toString(16)}`);
  vma.vmOps?.maySplit?.(vma, addr);
  splitHugePmdAt(vma, addr);
  const mm = vma.vmMm;
  const nv = vma.dup();
  const delta = (addr - vma.vmStart) / PAGE_SIZE;
  if (newBelow) nv.vmEnd = addr;
  else {
    nv.vmStart = addr;
    nv.vmPgoff = vma.vmPgoff + delta;
  }
  mm.vmas.remove(vma);
  iMmapUpdate(vma, () =>
    anonVmaUpdate(vma, () => {
      if (newBelow) {
        vma.vmStart = addr;
        vma.vmPgoff += delta;
      } else vma.vmEnd = addr;
    }),
  );
  mm.vmas.insert(vma);
  anonVmaClone(nv, vma);
  mm.vmas.insert(nv);
  nv.mapping?.iMmapInsert(nv);
  nv.vmOps?.open?.(nv);
  return nv;
}

/**
 * A PUD or PMD leaf straddling `addr` cannot survive a split: zap it (`__split_huge_pud`,
 * `split_huge_pmd` of a devmap or special leaf).
 */
function splitHugePmdAt(vma: VmAreaStruct, addr: number): void {
  if (addr % PUD_SIZE !== 0 && pudLeaf(vma.vmMm.pgtables.pudAt(addr))) {
    zapPageRangeSingle(vma, Math.floor(addr / PUD_SIZE) * PUD_SIZE, PUD_SIZE);
    return;
  }
  if (addr % PMD_SIZE === 0) return;
  if (pmdLeaf(vma.vmMm.pgtables.pmdAt(addr))) {
    const base = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    zapPageRangeSingle(vma, base, PMD_SIZE);
  }
}

/** Detach a VMA for good: rmap links, ->close. */
function removeVma(vma: VmAreaStruct): void {
  vma.mapping?.iMmapRemove(vma);
  unlinkAnonVmas(vma);
  vma.vmOps?.close?.(vma);
}

/** `do_munmap()`: unmap [start, start + len). Caller holds mmap_lock for write. */
export function doMunmap(mm: MmStruct, start: number, len: number): void {
  if (start % PAGE_SIZE || start > mm.taskSize || len > mm.taskSize - start) throw new KernelError("EINVAL");
  const size = pageAlign(len);
  if (size === 0) throw new KernelError("EINVAL");
  const end = start + size;
  let vmas = mm.vmas.intersecting(start, end);
  if (!vmas.length) return;
  const first = vmas[0]!;
  if (first.vmStart < start) splitVma(first, start, true);
  const last = vmas[vmas.length - 1]!;
  if (last.vmEnd > end) splitVma(last, end, false);
  vmas = mm.vmas.intersecting(start, end);
  for (const vma of vmas) mm.vmas.remove(vma);
  const tlb = new MmuGather(mm);
  unmapVmas(tlb, vmas, start, end);
  mm.pgtables.freePgtables(start, end);
  tlb.freedTables = true;
  tlb.finish();
  for (const vma of vmas) removeVma(vma);
}

/** `change_protection()` of [start, end) in `vma` after its flags changed. */
function changeProtection(vma: VmAreaStruct, start: number, end: number): void {
  const mm = vma.vmMm;
  const pt = mm.pgtables;
  const memmap = mm.ctx.memmap;
  const tryWritable = vma.vmFlags & VM_WRITE && (vma.vmFlags & VM_SHARED ? vmaWantsWritenotify(vma) : true);
  const range = mmuNotifierRangeInit(MMU_NOTIFY_PROTECTION_VMA, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, start, end, vma);
  const tlb = new MmuGather(mm);
  mmuNotifierInvalidateRangeStart(range);
  const pudSplits: number[] = [];
  pt.walk(start, end, {
    // change_pud_range(): a PUD leaf the range covers whole takes the new protection
    // (change_huge_pud, write bit not re-derived); a partly covered one is split (zapped).
    pud(h, addr, v) {
      if (addr < start || addr + PUD_SIZE > end) {
        pudSplits.push(addr);
        return;
      }
      const nv = pteModify(v, vma.vmPageProt);
      if (nv !== v) {
        pt.pudSet(h, nv);
        tlb.removeTlbEntry(addr, PUD_SIZE);
      }
    },
    pmd(h, addr, v) {
      if (!pmdLeaf(v)) return;
      const nv = pteModify(v, vma.vmPageProt);
      const wp = !(vma.vmFlags & VM_WRITE) || !pteWrite(nv) ? pmdWrprotect(nv) : nv;
      if (wp !== v) {
        pt.pmdSet(h, wp);
        tlb.removeTlbEntry(addr, PMD_SIZE);
      }
    },
    pte(h, addr, v) {
      if (!ptePresent(v)) {
        // change_pte_range(): writable device-private and migration entries lose write, whatever the new prot.
        if (!isSwapPte(v)) return;
        const type = swpType(v);
        if (type === SWP_DEVICE_WRITE) pt.pteSet(h, mkSwapEntry(SWP_DEVICE_READ, swpOffset(v)));
        else if (type === SWP_MIGRATION_WRITE) pt.pteSet(h, mkSwapEntry(SWP_MIGRATION_READ, swpOffset(v)));
        return;
      }
      let nv = pteModify(v, vma.vmPageProt);
      if (tryWritable && !pteWrite(nv)) {
        let ok: boolean;
        if (!(vma.vmFlags & VM_SHARED)) {
          const page = vmNormalPage(vma, v);
          ok = page !== null && memmap.folioTestAnon(page) && memmap.testPageFlag(page, PG_anon_exclusive);
        } else ok = pteDirty(v);
        if (ok) nv = pteMkwrite(nv);
      }
      if (nv !== v) {
        pt.pteSet(h, nv);
        tlb.removeTlbEntry(addr);
      }
    },
  });
  mmuNotifierInvalidateRangeEnd(range);
  tlb.finish();
  for (const addr of pudSplits) zapPageRangeSingle(vma, addr, PUD_SIZE);
}

/** `do_mprotect_pkey()`. Caller holds mmap_lock for write. */
export function doMprotect(mm: MmStruct, start: number, len: number, prot: number): void {
  if (start % PAGE_SIZE) throw new KernelError("EINVAL");
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) throw new KernelError("EINVAL");
  if (!len) return;
  len = pageAlign(len);
  const end = start + len;
  if (end <= start) throw new KernelError("ENOMEM");
  const first = mm.vmaLookup(start);
  if (!first) throw new KernelError("ENOMEM");
  let nstart = start;
  for (const vma of mm.vmas.intersecting(start, end)) {
    if (vma.vmStart > nstart) throw new KernelError("ENOMEM");
    const newflags = (vma.vmFlags & ~VM_ACCESS_FLAGS) | calcVmProtBits(prot);
    if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) throw new KernelError("EACCES");
    const tmp = Math.min(vma.vmEnd, end);
    mprotectFixup(vma, nstart, tmp, newflags);
    nstart = tmp;
  }
  if (nstart < end) throw new KernelError("ENOMEM");
}

/** `mprotect_fixup()`: split out [start, end) of `vma` and give it `newflags`. */
function mprotectFixup(vma: VmAreaStruct, start: number, end: number, newflags: number): void {
  if (newflags === vma.vmFlags) return;
  if (vma.vmStart < start) vma = splitVma(vma, start, false);
  if (vma.vmEnd > end) splitVma(vma, end, false);
  vma.vmFlags = newflags;
  vmaSetPageProt(vma);
  changeProtection(vma, start, end);
}

/** `copy_vma()` for mremap: a VMA for [addr, addr + len) with the same backing at pgoff. */
function copyVma(vma: VmAreaStruct, addr: number, len: number, pgoff: number): VmAreaStruct {
  const nv = vma.dup();
  nv.vmStart = addr;
  nv.vmEnd = addr + len;
  nv.vmPgoff = pgoff;
  anonVmaClone(nv, vma);
  vma.vmMm.vmas.insert(nv);
  nv.mapping?.iMmapInsert(nv);
  nv.vmOps?.open?.(nv);
  return nv;
}

/** `move_page_tables()`: move the entries of [oldAddr, oldAddr + len) to newAddr. */
function movePageTables(vma: VmAreaStruct, oldAddr: number, newVma: VmAreaStruct, newAddr: number, len: number): void {
  const mm = vma.vmMm;
  const pt = mm.pgtables;
  const range = mmuNotifierRangeInit(MMU_NOTIFY_UNMAP, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, oldAddr, oldAddr + len, vma);
  const tlb = new MmuGather(mm);
  mmuNotifierInvalidateRangeStart(range);
  const moves: [number, number][] = [];
  const pmdMoves: [number, number][] = [];
  const pudMoves: [number, number][] = [];
  pt.walk(oldAddr, oldAddr + len, {
    // move_huge_pud() when the whole leaf moves to a PUD-aligned place; else split (zap).
    pud(h, addr) {
      const dst = newAddr + (addr - oldAddr);
      const fits = addr >= oldAddr && addr + PUD_SIZE <= oldAddr + len && dst % PUD_SIZE === 0;
      if (fits && pt.pudAt(dst) === 0) pudMoves.push([h, dst]);
      else {
        pt.pudSet(h, 0);
        tlb.removeTlbEntry(addr, PUD_SIZE);
      }
    },
    pmd(h, addr, v) {
      const dst = newAddr + (addr - oldAddr);
      if (pmdLeaf(v) && addr >= oldAddr && addr + PMD_SIZE <= oldAddr + len && dst % PMD_SIZE === 0) pmdMoves.push([h, dst]);
      else {
        pt.pmdSet(h, 0);
        if (pmdLeaf(v)) tlb.removeTlbEntry(addr, PMD_SIZE);
      }
    },
    pte(h, addr) {
      moves.push([h, newAddr + (addr - oldAddr)]);
    },
  });
  for (const [h, dst] of pudMoves) {
    const v = pt.pudGet(h);
    pt.pudSet(h, 0);
    tlb.removeTlbEntry(h * PUD_SIZE, PUD_SIZE);
    pt.pudSet(pt.pudOffset(dst), v);
  }
  for (const [h, dst] of pmdMoves) {
    const v = pt.pmdGet(h);
    pt.pmdSet(h, 0);
    tlb.removeTlbEntry(oldAddr, PMD_SIZE);
    const nh = pt.pmdOffset(dst, true);
    pt.pmdSet(nh, v);
  }
  for (const [h, dst] of moves) {
    const v = pt.pteClear(h);
    if (ptePresent(v)) tlb.removeTlbEntry(dst - newAddr + oldAddr);
    const nh = pt.pteAlloc(dst);
    pt.pteSet(nh, v);
  }
  void newVma;
  mmuNotifierInvalidateRangeEnd(range);
  tlb.finish();
}

/** `do_mremap()`: returns the (possibly new) address. Caller holds mmap_lock for write. */
export function doMremap(mm: MmStruct, addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): number {
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) throw new KernelError("EINVAL");
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) throw new KernelError("EINVAL");
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || oldLen !== newLen)) throw new KernelError("EINVAL");
  if (addr % PAGE_SIZE) throw new KernelError("EINVAL");
  oldLen = pageAlign(oldLen);
  newLen = pageAlign(newLen);
  if (!newLen) throw new KernelError("EINVAL");

  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) return mremapTo(mm, addr, oldLen, newLen, flags, newAddr);

  if (oldLen >= newLen) {
    if (oldLen > newLen) doMunmap(mm, addr + newLen, oldLen - newLen);
    return addr;
  }
  const vma = vmaToResize(mm, addr, oldLen, newLen);
  if (oldLen === vma.vmEnd - addr) {
    const next = mm.vmas.findVma(vma.vmEnd);
    const newEnd = addr + newLen;
    if (newEnd <= mm.taskSize && (!next || next.vmStart >= newEnd)) {
      iMmapUpdate(vma, () => anonVmaUpdate(vma, () => (vma.vmEnd = newEnd)));
      return addr;
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) throw new KernelError("ENOMEM");
  const pgoff = vma.vmPgoff + (addr - vma.vmStart) / PAGE_SIZE;
  const target = getUnmappedArea(mm, vma.vmFile, 0, newLen, pgoff, vma.vmFlags & VM_MAYSHARE ? MAP_SHARED : 0);
  return moveVma(vma, addr, oldLen, newLen, target, false);
}

function mremapTo(mm: MmStruct, addr: number, oldLen: number, newLen: number, flags: number, newAddr: number): number {
  if (flags & MREMAP_FIXED) {
    if (newAddr % PAGE_SIZE || newLen > mm.taskSize || newAddr > mm.taskSize - newLen) throw new KernelError("EINVAL");
    if (addr + oldLen > newAddr && newAddr + newLen > addr) throw new KernelError("EINVAL");
    doMunmap(mm, newAddr, newLen);
  }
  if (oldLen > newLen) {
    doMunmap(mm, addr + newLen, oldLen - newLen);
    oldLen = newLen;
  }
  const vma = vmaToResize(mm, addr, oldLen, newLen);
  if (!(flags & MREMAP_FIXED)) {
    const pgoff = vma.vmPgoff + (addr - vma.vmStart) / PAGE_SIZE;
    newAddr = getUnmappedArea(mm, vma.vmFile, 0, newLen, pgoff, vma.vmFlags & VM_MAYSHARE ? MAP_SHARED : 0);
  }
  return moveVma(vma, addr, oldLen, newLen, newAddr, (flags & MREMAP_DONTUNMAP) !== 0);
}

/** `vma_to_resize()`. */
function vmaToResize(mm: MmStruct, addr: number, oldLen: number, newLen: number): VmAreaStruct {
  const vma = mm.vmaLookup(addr);
  if (!vma) throw new KernelError("EFAULT");
  if (oldLen > vma.vmEnd - addr) throw new KernelError("EFAULT");
  if (newLen === oldLen) return vma;
  if (vma.vmFlags & (VM_DONTEXPAND | VM_PFNMAP)) throw new KernelError("EFAULT");
  return vma;
}

/** `move_vma()`. */
function moveVma(vma: VmAreaStruct, oldAddr: number, oldLen: number, newLen: number, newAddr: number, dontunmap: boolean): number {
  const mm = vma.vmMm;
  const pgoff = vma.vmPgoff + (oldAddr - vma.vmStart) / PAGE_SIZE;
  const newVma = copyVma(vma, newAddr, newLen, pgoff);
  movePageTables(vma, oldAddr, newVma, newAddr, oldLen);
  if (!dontunmap) doMunmap(mm, oldAddr, oldLen);
  return newAddr;
}

/** Every wrapper below takes mmap_lock for writing, as the system calls do. */
export function* vmMmap(mm: MmStruct, args: MmapArgs): Sleepable<number> {
  yield* mm.mmapLock.downWrite();
  let addr: number;
  try {
    addr = doMmap(mm, args);
  } finally {
    mm.mmapLock.upWrite();
  }
  if (args.flags & MAP_POPULATE) yield* mmPopulate(mm, addr, pageAlign(args.len));
  return addr;
}

export function* vmMunmap(mm: MmStruct, start: number, len: number): Sleepable {
  yield* mm.mmapLock.downWrite();
  try {
    doMunmap(mm, start, len);
  } finally {
    mm.mmapLock.upWrite();
  }
}

export function* sysMprotect(mm: MmStruct, start: number, len: number, prot: number): Sleepable {
  yield* mm.mmapLock.downWrite();
  try {
    doMprotect(mm, start, len, prot);
  } finally {
    mm.mmapLock.upWrite();
  }
}

export function* sysMremap(mm: MmStruct, addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): Sleepable<number> {
  yield* mm.mmapLock.downWrite();
  try {
    return doMremap(mm, addr, oldLen, newLen, flags, newAddr);
  } finally {
    mm.mmapLock.upWrite();
  }
}

/** `exit_mmap()`: tear down every mapping of a dying mm. */
export function exitMmap(mm: MmStruct): void {
  mmuNotifierRelease(mm);
  const vmas = [...mm.vmas];
  for (const vma of vmas) mm.vmas.remove(vma);
  const tlb = new MmuGather(mm);
  unmapVmas(tlb, vmas, 0, mm.taskSize);
  mm.pgtables.freePgtables(0, mm.taskSize);
  tlb.freedTables = true;
  tlb.finish();
  for (const vma of vmas) removeVma(vma);
  mm.dead = true;
}
