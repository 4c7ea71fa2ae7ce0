/**
 * Device DAX: a character device (/dev/daxX.Y) over a devdax namespace, mapped whole
 * pages of its fixed alignment (4 KiB, 2 MiB or 1 GiB) with no filesystem, no page cache
 * entries and no sharing — kept apart from filesystem DAX on purpose.
 *
 * @see drivers/dax/device.c check_vma(), dax_pgoff_to_phys(), __dev_dax_pte_fault(),
 *      __dev_dax_pmd_fault(), __dev_dax_pud_fault(), dev_dax_huge_fault(), dev_dax_fault(),
 *      dev_dax_may_split(), dax_set_mapping(), dax_mmap(), dax_get_unmapped_area();
 *      drivers/dax/bus.c (the dev_dax device)
 *
 * A fault is answered only at the device's alignment: a smaller fault size SIGBUSes, a
 * larger one falls back, so a 1 GiB device maps PUDs and nothing else.
 * Simplified: one range per device.
 */
import type { NdNamespace } from "@pagelab/hw-pmem";
import {
  AddressSpace,
  DevPagemap,
  KernelError,
  type MmStruct,
  archGetUnmappedAreaTopdown,
  MEMORY_DEVICE_GENERIC,
  PAGE_SIZE,
  PFN_DEV,
  PFN_MAP,
  PMD_ORDER,
  PMD_SIZE,
  PUD_ORDER,
  PUD_SIZE,
  type Pfn,
  type Sleepable,
  VM_FAULT_FALLBACK,
  VM_FAULT_SIGBUS,
  VM_HUGEPAGE,
  VM_MIXEDMAP,
  VM_SHARED,
  type VmAreaStruct,
  type VmContext,
  type VmFault,
  type VmFile,
  type VmOperationsStruct,
  memremapPages,
  pfnToPfnT,
  vmfInsertMixed,
  vmfInsertPfnPmd,
  vmfInsertPfnPud,
} from "@pagelab/mm-core";

export class DevDax {
  /** The character device's inode mapping (`filp->f_mapping`): holds no entries. */
  readonly mapping: AddressSpace;
  readonly pgmap: DevPagemap;
  readonly align: number;
  readonly vmOps: VmOperationsStruct;

  constructor(
    readonly vm: VmContext,
    readonly ns: NdNamespace,
  ) {
    if (ns.mode !== "devdax") throw new KernelError("EINVAL", `${ns.name} is not a devdax namespace`);
    this.align = ns.align;
    this.mapping = new AddressSpace({ iSize: ns.nrPages * PAGE_SIZE }, {}, ns.devName);
    const start = ns.dataPhysAddr;
    this.pgmap = new DevPagemap({ type: MEMORY_DEVICE_GENERIC, range: { start, end: start + ns.nrPages * PAGE_SIZE - 1 }, owner: this });
    memremapPages({ memmap: vm.memmap, physMem: vm.physMem }, this.pgmap, ns);
    const self = this;
    this.vmOps = {
      name: "dax_vm_ops",
      fault: (vmf) => self.hugeFault(vmf, 0),
      hugeFault: (vmf, order) => self.hugeFault(vmf, order),
      maySplit(vma, addr) {
        if (addr % self.align !== 0) throw new KernelError("EINVAL", "dev_dax_may_split: unaligned split");
        void vma;
      },
    };
  }

  get name(): string {
    return this.ns.devName;
  }

  /** `check_vma()`: shared only, aligned to the device alignment. */
  checkVma(vma: VmAreaStruct): void {
    if (!(vma.vmFlags & VM_SHARED)) throw new KernelError("EINVAL", `dax: ${this.name}: fail, attempted private mapping`);
    if (vma.vmStart % this.align !== 0 || vma.vmEnd % this.align !== 0)
      throw new KernelError("EINVAL", `dax: ${this.name}: fail, unaligned vma (${vma.vmStart.toString(16)} - ${vma.vmEnd.toString(16)}) for ${this.align}`);
  }

  /** `dax_pgoff_to_phys()` as a pfn: -1 outside the device. */
  pgoffToPfn(pgoff: number, size: number): number {
    if (pgoff < 0 || (pgoff * PAGE_SIZE) + size > this.ns.nrPages * PAGE_SIZE) return -1;
    return this.ns.pfnStart + pgoff;
  }

  /** An open file of the device for mmap (`dax_mmap`). */
  open(): VmFile {
    const self = this;
    return {
      mapping: this.mapping,
      readable: true,
      writable: true,
      getUnmappedArea: (mm, addr, len, pgoff, flags) => self.getUnmappedArea(mm, addr, len, pgoff, flags),
      mmap(vma: VmAreaStruct) {
        self.checkVma(vma);
        vma.vmFlags |= VM_HUGEPAGE | VM_MIXEDMAP;
        vma.vmOps = self.vmOps;
      },
    };
  }

  /** `dax_get_unmapped_area()`: place mappings of at least one alignment unit aligned. */
  getUnmappedArea(mm: MmStruct, addr: number, len: number, pgoff: number, flags: number): number {
    const align = this.align;
    const off = pgoff * PAGE_SIZE;
    const offAlign = Math.ceil(off / align) * align;
    if (!addr && off + len > offAlign && off + len - offAlign >= align) {
      try {
        const a = archGetUnmappedAreaTopdown(mm, addr, len + align, flags);
        return a + ((((off - a) % align) + align) % align);
      } catch {
        // fall back to the ordinary placement
      }
    }
    return archGetUnmappedAreaTopdown(mm, addr, len, flags);
  }

  /** `dax_set_mapping()`: the pages remember the device file and their offset. */
  private setMapping(vmf: VmFault, pfn: number, size: number): void {
    const memmap = this.vm.memmap;
    const pgoff = vmf.vma.linearPageIndex(vmf.address - (vmf.address % size));
    for (let i = 0; i < size / PAGE_SIZE; i++) {
      if (memmap.pageMapping(pfn + i) !== 0) continue;
      memmap.setPageMapping(pfn + i, this.mapping);
      memmap.setPageIndex(pfn + i, pgoff + i);
    }
  }

  /** `dev_dax_huge_fault()` (order 0 is `dev_dax_fault`). */
  // eslint-disable-next-line require-yield
  *hugeFault(vmf: VmFault, order: number): Sleepable<number> {
    this.checkVma(vmf.vma);
    const write = vmf.flags & 1 ? true : false;
    if (order === 0) {
      if (this.align > PAGE_SIZE) return VM_FAULT_SIGBUS;
      const pfn = this.pgoffToPfn(vmf.pgoff, PAGE_SIZE);
      if (pfn < 0) return VM_FAULT_SIGBUS;
      this.setMapping(vmf, pfn, PAGE_SIZE);
      return vmfInsertMixed(vmf.vma, vmf.address, pfnToPfnT(pfn as Pfn, PFN_DEV | PFN_MAP));
    }
    if (order === PMD_ORDER) {
      const pfn = this.hugePfn(vmf, PMD_SIZE);
      if (pfn < 0) return -pfn;
      return vmfInsertPfnPmd(vmf, pfnToPfnT(pfn as Pfn, PFN_DEV | PFN_MAP), write);
    }
    if (order === PUD_ORDER) {
      const pfn = this.hugePfn(vmf, PUD_SIZE);
      if (pfn < 0) return -pfn;
      return vmfInsertPfnPud(vmf, pfnToPfnT(pfn as Pfn, PFN_DEV | PFN_MAP), write);
    }
    return VM_FAULT_SIGBUS;
  }

  /**
   * The checks `__dev_dax_pmd_fault()` and `__dev_dax_pud_fault()` share: the pfn for a
   * `size` fault with its mapping set, or a negated VM_FAULT code.
   */
  private hugePfn(vmf: VmFault, size: number): number {
    if (size < this.align) return -VM_FAULT_SIGBUS;
    if (size > this.align) return -VM_FAULT_FALLBACK;
    const base = vmf.address - (vmf.address % size);
    if (base < vmf.vma.vmStart || base + size > vmf.vma.vmEnd) return -VM_FAULT_SIGBUS;
    const pfn = this.pgoffToPfn(vmf.vma.linearPageIndex(base), size);
    if (pfn < 0) return -VM_FAULT_SIGBUS;
    this.setMapping(vmf, pfn, size);
    return pfn;
  }
}
