/**
 * The DAX state of one pmem device serving a filesystem: the dax device, its FS_DAX
 * dev_pagemap, the sharing mechanism the machine booted with, the costs, and the hooks
 * DAX installs into mm (memory failure's dax_lock_folio, the idle-page wake-up).
 *
 * @see drivers/nvdimm/pmem.c pmem_attach_disk() (pgmap MEMORY_DEVICE_FS_DAX,
 *      fsdax_pagemap_ops), pmem_pagemap_memory_failure(); mm/huge_memory.c
 *      mm_get_huge_zero_folio(); kernel/sched/wait_bit.c wake_up_var()
 *
 * Simplified: the huge zero page is allocated once per device rather than refcounted per mm.
 */
import type { NdNamespace } from "@pagelab/hw-pmem";
import {
  DevPagemap,
  HashedWaitTable,
  MEMORY_DEVICE_FS_DAX,
  PAGE_SIZE,
  PMD_ORDER,
  PMD_NR,
  type Pfn,
  type VmContext,
  memremapPages,
} from "@pagelab/mm-core";
import { type DaxCosts, createDaxCosts } from "./costs.js";
import { DaxDevice, daxHolderNotifyFailure } from "./device/daxDevice.js";
import { createMechanism } from "./mechanism/index.js";
import type { MechanismId, SharingMechanism } from "./mechanism/types.js";
import { type KernelOopsReport, installMfDaxHooks } from "./mf/memoryFailure.js";
import { ERRNO } from "@pagelab/mm-core";

export interface FsDaxSetup {
  readonly vm: VmContext;
  /** A namespace with struct pages (fsdax, or raw on a pagemap region). */
  readonly ns: NdNamespace;
  readonly mechanism: MechanismId | SharingMechanism;
  /** MAJOR:MINOR of the block device the filesystem is on (`s_dev`, for tracepoints); 0:0 if not told. */
  readonly sDev?: { readonly major: number; readonly minor: number };
}

/** `wake_up_var()` / `wait_var_event()` table (the kernel's bit_wait_table). */
const VAR_WAIT_TABLE_BITS = 8;

export class DaxContext {
  readonly vm: VmContext;
  readonly dev: DaxDevice;
  readonly pgmap: DevPagemap;
  readonly mechanism: SharingMechanism;
  readonly costs: DaxCosts = createDaxCosts();
  /** Oopses DAX code raised (the kernel would have killed the task or panicked). */
  readonly oopses: KernelOopsReport[] = [];
  /** Sleepers waiting for a page to go idle (`___wait_var_event(&page->_refcount)`). */
  readonly varWaitTable = new HashedWaitTable("var_wait_table", VAR_WAIT_TABLE_BITS);
  /** The filesystem's `s_dev` as the fs_dax tracepoints print it. */
  sDev: { readonly major: number; readonly minor: number } = { major: 0, minor: 0 };
  private hugeZero: Pfn | null = null;

  constructor(vm: VmContext, dev: DaxDevice, pgmap: DevPagemap, mechanism: SharingMechanism) {
    this.vm = vm;
    this.dev = dev;
    this.pgmap = pgmap;
    this.mechanism = mechanism;
  }

  /** Whether `pfn` is one of this device's pages. */
  ownsPfn(pfn: number): boolean {
    return this.pgmap.pfnValid(pfn);
  }

  /** `mm_get_huge_zero_folio()`: a zeroed 2 MiB DRAM block, allocated on first use. */
  hugeZeroPfn(): Pfn {
    if (this.hugeZero === null) {
      const pfn = this.vm.allocator.allocPages(this.vm.gfpUser | this.vm.gfpZero, PMD_ORDER);
      if (!this.vm.gfpZero) for (let i = 0; i < PMD_NR; i++) this.vm.physMem.zeroPage(pfn + i);
      this.hugeZero = pfn;
    }
    return this.hugeZero;
  }

  /** The wait queue and key of a page's idle wake-up. */
  idleQueue(pfn: number): { wq: ReturnType<HashedWaitTable["queueFor"]>; key: number } {
    return { wq: this.varWaitTable.queueFor(pfn), key: pfn };
  }
}

/**
 * Bring up filesystem DAX on a namespace: struct pages for its data area as an FS_DAX
 * dev_pagemap whose memory_failure goes to the dax holder (`pmem_pagemap_memory_failure`),
 * the dax device, and the mm hooks. The pgmap range must be 2 MiB aligned.
 */
export function setupFsDax(setup: FsDaxSetup): DaxContext {
  const { vm, ns } = setup;
  const mechanism = typeof setup.mechanism === "string" ? createMechanism(setup.mechanism) : setup.mechanism;
  const dev = new DaxDevice(ns);
  let dax: DaxContext | null = null;
  const start = ns.dataPhysAddr;
  const pgmap = new DevPagemap({
    type: MEMORY_DEVICE_FS_DAX,
    range: { start, end: start + ns.nrPages * PAGE_SIZE - 1 },
    ops: {
      memoryFailure(pfn, nrPages, mfFlags) {
        // Before 6.0 fsdax had no pagemap memory_failure: the generic path ran instead.
        if (!dax || !dax.mechanism.usesHolder) return -ERRNO.EOPNOTSUPP;
        return daxHolderNotifyFailure(dev, dev.pfnToOffset(pfn), nrPages * PAGE_SIZE, mfFlags);
      },
    },
    owner: ns,
  });
  memremapPages({ memmap: vm.memmap, physMem: vm.physMem }, pgmap, ns);
  dax = new DaxContext(vm, dev, pgmap, mechanism);
  if (setup.sDev !== undefined) dax.sDev = setup.sDev;
  installMfDaxHooks(dax);
  installIdleWake(dax);
  return dax;
}

function installIdleWake(dax: DaxContext): void {
  const memmap = dax.vm.memmap;
  const prev = memmap.onPageIdle;
  memmap.onPageIdle = (pfn) => {
    prev?.(pfn);
    if (!dax.ownsPfn(pfn)) return;
    const { wq, key } = dax.idleQueue(pfn);
    if (wq.length) wq.wakeUpAll(key);
  };
}
