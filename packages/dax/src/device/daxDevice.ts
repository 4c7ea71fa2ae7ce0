/**
 * The dax device of a pmem namespace: direct access from device page offsets to pfns, the
 * CPU cache flush DAX writeback needs, and the holder (the filesystem) that is told about
 * media failures and device removal.
 *
 * @see drivers/dax/super.c struct dax_device, dax_direct_access(), dax_copy_from_iter(),
 *      dax_flush(), dax_zero_page_range(), dax_recovery_write(), fs_dax_get_by_bdev(),
 *      fs_put_dax(), dax_holder(), dax_holder_notify_failure(), kill_dax(), dax_alive();
 *      include/linux/dax.h struct dax_holder_operations
 *
 * Simplified: no SRCU (dax_read_lock) — a dead device fails the next call instead of
 * waiting out readers; no partitions (the whole namespace is the filesystem's device).
 */
import type { DaxAccessMode, NdNamespace } from "@pagelab/hw-pmem";
import { ERRNO, type ErrnoName, KernelError, MF_MEM_PRE_REMOVE, PAGE_SIZE, type Pfn } from "@pagelab/mm-core";

/** `struct dax_holder_operations`: how a device tells its holder about failures. */
export interface DaxHolderOperations {
  /**
   * `->notify_failure(dax_dev, offset, len, mf_flags)`: bytes [offset, offset + len) of
   * the device failed (or, with MF_MEM_PRE_REMOVE, are going away). 0 or -errno;
   * -EOPNOTSUPP sends memory failure down the generic page->mapping path.
   */
  notifyFailure(dev: DaxDevice, offset: number, len: number, mfFlags: number): number;
}

/** `U64_MAX` as kill_dax() passes it: the whole device. */
export const DAX_WHOLE_DEVICE = Number.MAX_SAFE_INTEGER;

function asKernelError(e: unknown): never {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && code in ERRNO) throw new KernelError(code as ErrnoName, (e as Error).message);
  throw e;
}

export class DaxDevice {
  /** `DAXDEV_ALIVE`. */
  alive = true;
  holderData: unknown = null;
  holderOps: DaxHolderOperations | null = null;

  constructor(readonly ns: NdNamespace) {}

  get name(): string {
    return this.ns.devName;
  }
  get nrPages(): number {
    return this.ns.nrPages;
  }
  get pfnStart(): Pfn {
    return this.ns.pfnStart as number as Pfn;
  }

  private checkAlive(): void {
    if (!this.alive) throw new KernelError("ENXIO", `${this.name}: dax device is dead`);
  }

  /**
   * `dax_direct_access()`: the pfn of device page `pgoff` and how many pages from there
   * are usable (≤ nrPages). KernelError EHWPOISON over known bad blocks, ERANGE past the end.
   */
  directAccess(pgoff: number, nrPages: number, mode: DaxAccessMode = "access"): { pfn: Pfn; nrAvailable: number } {
    this.checkAlive();
    try {
      const r = this.ns.daxDirectAccess(pgoff, nrPages, mode);
      return { pfn: r.pfn as number as Pfn, nrAvailable: r.nrAvailable };
    } catch (e) {
      return asKernelError(e);
    }
  }

  /** Physical address of a device byte offset. */
  physAddr(offset: number): number {
    return this.ns.offsetToPhys(offset);
  }

  /** `copy_mc_to_kernel()` from the device: EIO (KernelError) instead of a machine check. */
  read(offset: number, dst: Uint8Array): void {
    this.checkAlive();
    const left = this.ns.copyMcToKernel(dst, this.physAddr(offset));
    if (left !== 0) throw new KernelError("EIO", `${this.name}: poison at offset ${offset}`);
  }

  /** `dax_copy_from_iter()`: a write that is durable when it returns (non-temporal stores). */
  write(offset: number, src: Uint8Array): void {
    this.checkAlive();
    this.ns.memcpyFlushcache(this.physAddr(offset), src);
  }

  /** A plain (cached) CPU store into the device, as `copy_mc_to_kernel()` into a kaddr does. */
  store(offset: number, src: Uint8Array): void {
    this.checkAlive();
    this.ns.store(this.physAddr(offset), src);
  }

  /** `dax_recovery_write()`: a whole-page write that clears known poison. */
  recoveryWrite(pgoff: number, src: Uint8Array): number {
    this.checkAlive();
    return this.ns.daxRecoveryWrite(pgoff, src);
  }

  /** `dax_zero_page_range()`. */
  zeroPageRange(pgoff: number, nrPages: number): void {
    this.checkAlive();
    try {
      this.ns.daxZeroPageRange(pgoff, nrPages);
    } catch (e) {
      asKernelError(e);
    }
  }

  /** `dax_flush()`: write back the CPU cache lines of [offset, offset + len) (clwb). */
  flush(offset: number, len: number): void {
    this.ns.clwb(this.physAddr(offset), len);
  }

  /** `wmb()` after a batch of flushes (sfence). */
  fence(): void {
    this.ns.sfence();
  }

  /** Device byte offset of a pfn (what pmem_pagemap_memory_failure() computes). */
  pfnToOffset(pfn: number): number {
    return (pfn - this.pfnStart) * PAGE_SIZE;
  }
}

/**
 * `fs_dax_get_by_bdev()`: claim the device for `holder` with `ops`. EBUSY if another
 * holder has it (the kernel's cmpxchg on holder_data), ENXIO if it is dead.
 */
export function fsDaxGetByBdev(dev: DaxDevice, holder: unknown, ops: DaxHolderOperations | null): DaxDevice {
  if (!dev.alive) throw new KernelError("ENXIO", `${dev.name} is dead`);
  if (holder !== null && dev.holderData !== null && dev.holderData !== holder)
    throw new KernelError("EBUSY", `${dev.name} already has a holder`);
  dev.holderData = holder;
  dev.holderOps = ops;
  return dev;
}

/** `fs_put_dax()`: release the holder claim. */
export function fsPutDax(dev: DaxDevice, holder: unknown): void {
  if (holder !== null && dev.holderData === holder) {
    dev.holderData = null;
    dev.holderOps = null;
  }
}

/** `dax_holder_notify_failure()`: -ENXIO if dead, -EOPNOTSUPP without a holder. */
export function daxHolderNotifyFailure(dev: DaxDevice, offset: number, len: number, mfFlags: number): number {
  if (!dev.alive) return -ERRNO.ENXIO;
  if (!dev.holderOps) return -ERRNO.EOPNOTSUPP;
  return dev.holderOps.notifyFailure(dev, offset, len, mfFlags);
}

/**
 * `kill_dax()`: the device is going away (namespace unbind). The holder hears about the
 * whole device with MF_MEM_PRE_REMOVE first, then the device is dead and unheld.
 */
export function killDax(dev: DaxDevice): number {
  let rc = 0;
  if (dev.holderData !== null) rc = daxHolderNotifyFailure(dev, 0, DAX_WHOLE_DEVICE, MF_MEM_PRE_REMOVE);
  dev.alive = false;
  dev.holderData = null;
  dev.holderOps = null;
  return rc;
}
