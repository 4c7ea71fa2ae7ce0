/**
 * CPU access to persistent memory by absolute physical address: what mm-core registers
 * as the backing of ZONE_DEVICE pages, and what the pmem driver copies through.
 *
 * @see arch/x86/include/asm/special_insns.h clwb(), clflushopt();
 *      arch/x86/lib/usercopy_64.c __memcpy_flushcache(); arch/x86/lib/copy_mc.c
 *      copy_mc_to_kernel(); include/linux/libnvdimm.h arch_wb_cache_pmem()
 *
 * A region and a namespace each offer this interface over their own physical range
 * (an access outside it is a bug and throws RangeError); the platform offers it over
 * every region.
 */
import type { PmemPlatform } from "../nvdimm/platform.js";

export interface PmemCpuAccess {
  /** A cached load; a poisoned line throws `MachineCheckError` (after copying the bytes before it). */
  load(physAddr: number, dst: Uint8Array): void;
  /** A write-back store: visible at once, durable once written back and fenced (ADR). */
  store(physAddr: number, src: Uint8Array): void;
  /** A non-temporal store (movnt): bypasses the cache, durable at the next fence. */
  storeNt(physAddr: number, src: Uint8Array): void;
  /** clwb every cache line of the range. */
  clwb(physAddr: number, len: number): void;
  /** clflushopt every cache line of the range (written back and evicted). */
  clflushopt(physAddr: number, len: number): void;
  /** sfence: orders (and so completes) earlier write-backs and non-temporal stores. */
  sfence(): void;
  /** `memcpy_flushcache()`: movnt for the aligned body, store + clwb for ragged edges; no fence. */
  memcpyFlushcache(physAddr: number, src: Uint8Array): void;
  /** `copy_mc_to_kernel()`: a load that survives poison; returns the bytes NOT copied. */
  copyMcToKernel(dst: Uint8Array, physAddr: number): number;
}

/** A `PmemCpuAccess` over `[physAddr, physAddr + size)`, delegating to the platform. */
export abstract class PmemAccessWindow implements PmemCpuAccess {
  constructor(
    protected readonly platform: PmemPlatform,
    /** First physical address of the window. */
    readonly physAddr: number,
    /** Bytes in the window. */
    readonly size: number,
  ) {}

  /** Whether `[physAddr, physAddr + len)` lies inside the window. */
  contains(physAddr: number, len = 1): boolean {
    return physAddr >= this.physAddr && len >= 0 && physAddr + len <= this.physAddr + this.size;
  }

  protected check(physAddr: number, len: number): void {
    if (!Number.isSafeInteger(physAddr) || !this.contains(physAddr, len)) {
      throw new RangeError(
        `${this.describe()}: access [0x${physAddr.toString(16)}, +0x${len.toString(16)}) outside ` +
          `[0x${this.physAddr.toString(16)}, 0x${(this.physAddr + this.size).toString(16)})`,
      );
    }
  }

  protected abstract describe(): string;

  load(physAddr: number, dst: Uint8Array): void {
    this.check(physAddr, dst.length);
    this.platform.load(physAddr, dst);
  }
  store(physAddr: number, src: Uint8Array): void {
    this.check(physAddr, src.length);
    this.platform.store(physAddr, src);
  }
  storeNt(physAddr: number, src: Uint8Array): void {
    this.check(physAddr, src.length);
    this.platform.storeNt(physAddr, src);
  }
  clwb(physAddr: number, len: number): void {
    this.check(physAddr, len);
    this.platform.clwb(physAddr, len);
  }
  clflushopt(physAddr: number, len: number): void {
    this.check(physAddr, len);
    this.platform.clflushopt(physAddr, len);
  }
  sfence(): void {
    this.platform.sfence();
  }
  memcpyFlushcache(physAddr: number, src: Uint8Array): void {
    this.check(physAddr, src.length);
    this.platform.memcpyFlushcache(physAddr, src);
  }
  copyMcToKernel(dst: Uint8Array, physAddr: number): number {
    this.check(physAddr, dst.length);
    return this.platform.copyMcToKernel(dst, physAddr);
  }
}
