/**
 * Shared anonymous memory: `mmap(MAP_SHARED | MAP_ANONYMOUS)` is backed by an unnamed
 * tmpfs file ("dev/zero") whose pages start zeroed and never reach a disk.
 *
 * @see mm/shmem.c shmem_zero_setup(), shmem_fault(), shmem_get_folio_gfp(),
 *      shmem_anon_vm_ops
 *
 * Simplified: the file is the model's AddressSpace with a zero-filling ->read_folio,
 * faulted through the generic page-cache path; no swap, no huge pages, no size limits.
 */
import { PG_swapbacked, PG_uptodate } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import type { Pfn } from "../types.js";
import { AddressSpace } from "./addressSpace.js";
import { filemapFault } from "./filemap.js";
import { unlockPage } from "../page/pagelock.js";
import type { VmAreaStruct, VmFile, VmOperationsStruct } from "./vma.js";

/** `shmem_anon_vm_ops`. */
export const shmemAnonVmOps: VmOperationsStruct = { name: "shmem_anon_vm_ops", fault: filemapFault };

/** `shmem_zero_setup()`: give a shared anonymous VMA its tmpfs file. */
export function shmemZeroSetup(vma: VmAreaStruct): void {
  const ctx = vma.vmMm.ctx;
  const size = vma.vmEnd - vma.vmStart;
  const mapping = new AddressSpace({ iSize: size }, {}, "dev/zero");
  mapping.canWriteback = false;
  mapping.aOps = {
    *readFolio(_m: AddressSpace, pfn: Pfn): Sleepable {
      ctx.physMem.zeroPage(pfn);
      ctx.memmap.setPageFlag(pfn, PG_swapbacked);
      ctx.memmap.setPageFlag(pfn, PG_uptodate);
      unlockPage(ctx.memmap, pfn);
    },
  };
  const file: VmFile = { mapping, readable: true, writable: true, mmap() {} };
  vma.vmFile = file;
  vma.vmOps = shmemAnonVmOps;
}
