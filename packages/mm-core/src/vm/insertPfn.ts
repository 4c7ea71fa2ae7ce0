/**
 * Inserting raw PFNs into page tables, for drivers and DAX whose memory has no page
 * cache: special or devmap PTEs and PMDs that carry no rmap and no page reference.
 *
 * @see mm/memory.c vmf_insert_pfn(), vmf_insert_pfn_prot(), vmf_insert_mixed(),
 *      vmf_insert_mixed_mkwrite(), insert_pfn(), __vm_insert_mixed();
 *      mm/huge_memory.c vmf_insert_pfn_pmd(), insert_pfn_pmd(), vmf_insert_pfn_pud(),
 *      insert_pfn_pud(); include/linux/pfn_t.h
 *
 * 6.12 semantics: a `pfn_t` with PFN_DEV|PFN_MAP becomes a devmap entry (pte_devmap), as
 * fsdax and device-dax insert them; anything else becomes pte_special. PUD leaves are
 * inserted by device-dax (devmap) or PFNMAP/MIXEDMAP drivers (special).
 */
import { KernelBug } from "../errno.js";
import type { Pfn } from "../types.js";
import { PMD_SIZE, PUD_SIZE } from "../types.js";
import { isCowMapping } from "./vma.js";
import { FAULT_FLAG_WRITE, VM_FAULT_FALLBACK, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_MIXEDMAP, VM_PFNMAP, VM_WRITE } from "./flags.js";
import {
  pfnPmd, pfnPte, pmdMkdevmap, pmdMkdirty, pmdMkwrite, pmdMkyoung, pmdPfn, pmdPresent, pmdLeaf, pteMkdevmap,
  pteMkdirty, pteMkspecial, pteMkwrite, pteMkyoung, pteNone, ptePfn, type PteVal, pfnPud, pudMkdevmap, pudMkdirty,
  pudMkwrite, pudMkyoung, pudNone, pudPfn, pudLeaf, ptePresent, pudMkspecial,
} from "./pgtable.js";
import type { VmAreaStruct, VmFault } from "./vma.js";

/** `pfn_t` flag bits (symbolic values; the kernel keeps them in the top bits). */
export const PFN_SG_CHAIN = 1 << 0;
export const PFN_SG_LAST = 1 << 1;
export const PFN_DEV = 1 << 2;
export const PFN_MAP = 1 << 3;
export const PFN_SPECIAL = 1 << 4;

/** `pfn_t`: a pfn with flags saying what kind of memory it is. */
export interface PfnT {
  readonly pfn: Pfn;
  readonly flags: number;
}

export function pfnToPfnT(pfn: Pfn, flags = 0): PfnT {
  return { pfn, flags };
}

/** `pfn_t_devmap()`. */
export function pfnTDevmap(p: PfnT): boolean {
  return (p.flags & (PFN_DEV | PFN_MAP)) === (PFN_DEV | PFN_MAP);
}

function maybeMkwrite(v: PteVal, vma: VmAreaStruct): PteVal {
  return vma.vmFlags & VM_WRITE ? pteMkwrite(v) : v;
}

/** `insert_pfn()`: 0, or -EBUSY (-16) if another pfn is mapped there. */
function insertPfn(vma: VmAreaStruct, addr: number, p: PfnT, prot: number, mkwrite: boolean): number {
  const pt = vma.vmMm.pgtables;
  const h = pt.pteAlloc(addr);
  if (h < 0) return -16;
  const old = pt.pteGet(h);
  if (!pteNone(old)) {
    if (!mkwrite) return 0;
    if (ptePfn(old) !== p.pfn) {
      vma.vmMm.ctx.dmesg.warnOnOnce(!vma.vmMm.ctx.isZeroPfn(ptePfn(old)), "mm/memory.c insert_pfn");
      return 0;
    }
    pt.pteSet(h, maybeMkwrite(pteMkdirty(pteMkyoung(old)), vma));
    return 0;
  }
  let entry = pfnPte(p.pfn, prot);
  entry = pfnTDevmap(p) ? pteMkdevmap(entry) : pteMkspecial(entry);
  if (mkwrite) entry = maybeMkwrite(pteMkdirty(pteMkyoung(entry)), vma);
  pt.pteSet(h, entry);
  return 0;
}

/** `vmf_insert_pfn_prot()` / `vmf_insert_pfn()`: a VM_PFNMAP or VM_MIXEDMAP mapping. */
export function vmfInsertPfnProt(vma: VmAreaStruct, addr: number, pfn: Pfn, prot = vma.vmPageProt): number {
  if (!(vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP))) throw new KernelBug("vmf_insert_pfn: vma is neither PFNMAP nor MIXEDMAP");
  if ((vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)) === (VM_PFNMAP | VM_MIXEDMAP))
    throw new KernelBug("vmf_insert_pfn: vma is both PFNMAP and MIXEDMAP");
  if (addr < vma.vmStart || addr >= vma.vmEnd) return VM_FAULT_SIGBUS;
  const err = insertPfn(vma, addr, pfnToPfnT(pfn), prot, false);
  return err < 0 && err !== -16 ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE;
}

export function vmfInsertPfn(vma: VmAreaStruct, addr: number, pfn: Pfn): number {
  return vmfInsertPfnProt(vma, addr, pfn);
}

function vmInsertMixed(vma: VmAreaStruct, addr: number, p: PfnT, mkwrite: boolean): number {
  if (addr < vma.vmStart || addr >= vma.vmEnd) return VM_FAULT_SIGBUS;
  const err = insertPfn(vma, addr, p, vma.vmPageProt, mkwrite);
  return err < 0 && err !== -16 ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE;
}

/** `vmf_insert_mixed()`: what fsdax uses for a PTE fault. */
export function vmfInsertMixed(vma: VmAreaStruct, addr: number, p: PfnT): number {
  return vmInsertMixed(vma, addr, p, false);
}

/** `vmf_insert_mixed_mkwrite()`: the same, mapped writable and dirty. */
export function vmfInsertMixedMkwrite(vma: VmAreaStruct, addr: number, p: PfnT): number {
  return vmInsertMixed(vma, addr, p, true);
}

/** `vmf_insert_pfn_pmd()`: map 2 MiB at the fault's PMD. */
export function vmfInsertPfnPmd(vmf: VmFault, p: PfnT, write: boolean): number {
  const vma = vmf.vma;
  const addr = Math.floor(vmf.address / PMD_SIZE) * PMD_SIZE;
  if (addr < vma.vmStart || addr + PMD_SIZE > vma.vmEnd) return VM_FAULT_SIGBUS;
  const pt = vma.vmMm.pgtables;
  const h = pt.pmdOffset(addr, true);
  if (h < 0) return VM_FAULT_FALLBACK; // a PUD leaf maps the whole gigabyte
  const old = pt.pmdGet(h);
  if (pmdPresent(old) && !pmdLeaf(old)) return VM_FAULT_FALLBACK;
  if (pmdLeaf(old)) {
    if (write) {
      if (pmdPfn(old) !== p.pfn) return VM_FAULT_NOPAGE;
      let v = pmdMkdirty(pmdMkyoung(old));
      if (vma.vmFlags & VM_WRITE) v = pmdMkwrite(v);
      pt.pmdSet(h, v);
    }
    return VM_FAULT_NOPAGE;
  }
  let entry = pfnPmd(p.pfn, vma.vmPageProt);
  if (pfnTDevmap(p)) entry = pmdMkdevmap(entry);
  if (write) {
    entry = pmdMkdirty(pmdMkyoung(entry));
    if (vma.vmFlags & VM_WRITE) entry = pmdMkwrite(entry);
  }
  pt.pmdSet(h, entry);
  return VM_FAULT_NOPAGE;
}

/**
 * `vmf_insert_pfn_pud()`: map 1 GiB of device memory at the fault's PUD. A PUD that is
 * not none is left alone, except that a write fault on the same pfn makes it young,
 * dirty and (if the VMA allows) writable.
 */
export function vmfInsertPfnPud(vmf: VmFault, p: PfnT, write: boolean): number {
  const vma = vmf.vma;
  if (!(vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)) && !pfnTDevmap(p))
    throw new KernelBug("vmf_insert_pfn_pud: neither a PFNMAP/MIXEDMAP vma nor a devmap pfn");
  if ((vma.vmFlags & (VM_PFNMAP | VM_MIXEDMAP)) === (VM_PFNMAP | VM_MIXEDMAP))
    throw new KernelBug("vmf_insert_pfn_pud: vma is both PFNMAP and MIXEDMAP");
  if (vma.vmFlags & VM_PFNMAP && isCowMapping(vma.vmFlags)) throw new KernelBug("vmf_insert_pfn_pud: CoW PFNMAP vma");
  const addr = Math.floor(vmf.address / PUD_SIZE) * PUD_SIZE;
  if (addr < vma.vmStart || addr >= vma.vmEnd) return VM_FAULT_SIGBUS;
  const pt = vma.vmMm.pgtables;
  const h = pt.pudOffset(addr);
  vmf.pud = h;
  const old = pt.pudGet(h);
  if (ptePresent(old) && !pudLeaf(old)) return VM_FAULT_FALLBACK;
  if (!pudNone(old)) {
    if (!write) return VM_FAULT_NOPAGE;
    if (pudPfn(old) !== p.pfn) {
      vma.vmMm.ctx.dmesg.warnOnOnce(true, "mm/huge_memory.c insert_pfn_pud");
      return VM_FAULT_NOPAGE;
    }
    let v = pudMkdirty(pudMkyoung(old));
    if (vma.vmFlags & VM_WRITE) v = pudMkwrite(v);
    pt.pudSet(h, v);
    return VM_FAULT_NOPAGE;
  }
  let entry = pfnPud(p.pfn, vma.vmPageProt);
  entry = pfnTDevmap(p) ? pudMkdevmap(entry) : pudMkspecial(entry);
  if (write) {
    entry = pudMkyoung(pudMkdirty(entry));
    if (vma.vmFlags & VM_WRITE) entry = pudMkwrite(entry);
  }
  pt.pudSet(h, entry);
  return VM_FAULT_NOPAGE;
}

/** Whether `vmf` is a write fault (`vmf->flags & FAULT_FLAG_WRITE`). */
export function vmfIsWrite(vmf: VmFault): boolean {
  return (vmf.flags & FAULT_FLAG_WRITE) !== 0;
}
