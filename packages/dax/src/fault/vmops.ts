/**
 * The vm_operations of a DAX file, as XFS wires them: every fault takes the mapping's
 * invalidate lock (XFS's MMAPLOCK) shared, read faults use the read iomap ops, shared
 * write faults (and page_mkwrite / pfn_mkwrite) the write ops, and MAP_SYNC faults finish
 * with the filesystem's fsync.
 *
 * @see fs/xfs/xfs_file.c xfs_filemap_fault(), xfs_filemap_huge_fault(),
 *      xfs_filemap_page_mkwrite(), xfs_filemap_pfn_mkwrite(), __xfs_write_fault(),
 *      xfs_dax_fault(), xfs_dax_read_fault(), xfs_file_mmap() (VM_HUGEPAGE, VM_MIXEDMAP)
 *
 * Offered here so every filesystem on DAX (xfs-lite, the test fixture) faults the same
 * way. Simplified: no sb_start_pagefault freeze protection, no file_update_time.
 */
import {

  FAULT_FLAG_WRITE,
  type Sleepable,
  VM_FAULT_NEEDDSYNC,
  VM_FAULT_SIGBUS,
  VM_HUGEPAGE,
  VM_MIXEDMAP,
  VM_SHARED,
  type VmAreaStruct,
  type VmFault,
  type VmOperationsStruct,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import type { IomapOps } from "../iomap.js";
import { type PfnOut, daxIomapFault } from "./fault.js";
import { daxFinishSyncFault } from "./sync.js";

export interface DaxFileOps<I> {
  /** `xfs_read_iomap_ops`. */
  readonly readOps: IomapOps<I>;
  /** `xfs_dax_write_iomap_ops` (allocates, CoWs shared extents). */
  readonly writeOps: IomapOps<I>;
  /** `vfs_fsync_range(file, start, end, 1)` for MAP_SYNC: 0 or -errno. */
  fsync?(inode: I, start: number, end: number): Sleepable<number>;
}

/** `__xfs_filemap_fault()` / `xfs_dax_fault()` for PTE (order 0) or PMD faults. */
export function* daxFilemapFault<I>(dax: DaxContext, fops: DaxFileOps<I>, vmf: VmFault, order: number, writeFault: boolean): Sleepable<number> {
  const mapping = vmf.vma.mapping!;
  if (!mapping.isDax) return VM_FAULT_SIGBUS;
  yield* mapping.invalidateLock.downRead();
  try {
    const pfnp: PfnOut = { pfn: null };
    let ret = yield* daxIomapFault(dax, vmf, order, writeFault ? fops.writeOps : fops.readOps, pfnp);
    if (ret & VM_FAULT_NEEDDSYNC && pfnp.pfn !== null) {
      const inode = mapping.host as I;
      const fsync = fops.fsync
        ? (s: number, e: number) => fops.fsync!(inode, s, e)
        : function* (): Sleepable<number> {
            return 0;
          };
      ret = yield* daxFinishSyncFault(dax, vmf, order, pfnp.pfn, fsync);
    }
    return ret;
  } finally {
    mapping.invalidateLock.upRead();
  }
}

function isSharedWrite(vmf: VmFault): boolean {
  return (vmf.flags & FAULT_FLAG_WRITE) !== 0 && (vmf.vma.vmFlags & VM_SHARED) !== 0;
}

/** The vm_operations_struct of a DAX file. */
export function daxVmOps<I>(dax: DaxContext, fops: DaxFileOps<I>): VmOperationsStruct {
  return {
    name: "dax_file_vm_ops",
    fault: (vmf) => daxFilemapFault(dax, fops, vmf, 0, isSharedWrite(vmf)),
    hugeFault: (vmf, order) => daxFilemapFault(dax, fops, vmf, order, isSharedWrite(vmf)),
    pageMkwrite: (vmf) => daxFilemapFault(dax, fops, vmf, 0, true),
    pfnMkwrite: (vmf) => daxFilemapFault(dax, fops, vmf, 0, true),
  };
}

/** `xfs_file_mmap()` for a DAX file: huge pages allowed, mixed pfn/page mapping. */
export function daxMmap<I>(dax: DaxContext, fops: DaxFileOps<I>, vma: VmAreaStruct): void {
  vma.vmFlags |= VM_MIXEDMAP | VM_HUGEPAGE;
  vma.vmOps = daxVmOps(dax, fops);
}

