/**
 * Physical memory contents, addressed by pfn: sparse DRAM pages in mm-core, and device
 * ranges (pmem) served by a registered `MemoryBacking`.
 *
 * @see include/linux/highmem.h copy_highpage(), clear_highpage(), memcpy_from_page(),
 *      memcpy_to_page(); arch/x86/lib/copy_mc.c (a load from poison raises a machine check)
 *
 * A DRAM page that was never written reads as zeroes and costs nothing; zeroing a DRAM
 * page drops its storage. A load from a device backing may throw the backing's
 * `MachineCheckError` (`name === "MachineCheckError"`); PhysMem lets it through, as a
 * plain `memcpy` would. Every byte moved is counted in `counters`.
 */
import type { Pfn } from "../types.js";
import { PAGE_SIZE } from "../types.js";

/** Memory that is not DRAM: implemented by hw-pmem's namespaces. */
export interface MemoryBacking {
  load(physAddr: number, dst: Uint8Array): void;
  store(physAddr: number, src: Uint8Array): void;
}

/** Bytes moved by page code (the lead folds these into the shared cost counters). */
export interface MmCounters {
  dramBytesRead: number;
  dramBytesWritten: number;
  /** Bytes copied into DRAM pages by `copyPage` (page-cache copies, CoW copies). */
  dramBytesCopied: number;
  dramBytesZeroed: number;
  deviceBytesRead: number;
  deviceBytesWritten: number;
  pagesCopied: number;
  pagesZeroed: number;
}

export function createMmCounters(): MmCounters {
  return {
    dramBytesRead: 0,
    dramBytesWritten: 0,
    dramBytesCopied: 0,
    dramBytesZeroed: 0,
    deviceBytesRead: 0,
    deviceBytesWritten: 0,
    pagesCopied: 0,
    pagesZeroed: 0,
  };
}

interface BackedRange {
  readonly startPfn: number;
  readonly nrPages: number;
  readonly backing: MemoryBacking;
}

export class PhysMem {
  private readonly dramRanges: { startPfn: number; nrPages: number }[] = [];
  private readonly backed: BackedRange[] = [];
  private readonly pages = new Map<number, Uint8Array>();
  private readonly bounce = new Uint8Array(PAGE_SIZE);

  constructor(readonly counters: MmCounters = createMmCounters()) {}

  addDramRange(startPfn: number, nrPages: number): void {
    if (this.isDram(startPfn) || this.backingAt(startPfn)) throw new RangeError(`pfn ${startPfn} already has memory`);
    this.dramRanges.push({ startPfn, nrPages });
  }

  isDram(pfn: number): boolean {
    return this.dramRanges.some((r) => pfn >= r.startPfn && pfn < r.startPfn + r.nrPages);
  }

  registerBacking(startPfn: number, nrPages: number, backing: MemoryBacking): void {
    for (const r of this.backed)
      if (startPfn < r.startPfn + r.nrPages && r.startPfn < startPfn + nrPages)
        throw new RangeError(`registerBacking: pfns ${startPfn}+${nrPages} overlap a registered backing`);
    if (this.dramRanges.some((r) => startPfn < r.startPfn + r.nrPages && r.startPfn < startPfn + nrPages))
      throw new RangeError(`registerBacking: pfns ${startPfn}+${nrPages} overlap DRAM`);
    this.backed.push({ startPfn, nrPages, backing });
  }

  unregisterBacking(startPfn: number): void {
    const i = this.backed.findIndex((r) => r.startPfn === startPfn);
    if (i < 0) throw new RangeError(`unregisterBacking: no backing starts at pfn ${startPfn}`);
    this.backed.splice(i, 1);
  }

  backingAt(pfn: number): MemoryBacking | undefined {
    for (const r of this.backed) if (pfn >= r.startPfn && pfn < r.startPfn + r.nrPages) return r.backing;
    return undefined;
  }

  /** DRAM pages holding data (the rest read as zeroes). */
  get dramPagesStored(): number {
    return this.pages.size;
  }

  /** Copy `dst.length` bytes from `offset` in page `pfn`. */
  read(pfn: Pfn | number, offset: number, dst: Uint8Array): void {
    checkSpan(offset, dst.length);
    if (this.isDram(pfn)) {
      const page = this.pages.get(pfn);
      if (page) dst.set(page.subarray(offset, offset + dst.length));
      else dst.fill(0);
      this.counters.dramBytesRead += dst.length;
      return;
    }
    this.device(pfn).load(pfn * PAGE_SIZE + offset, dst);
    this.counters.deviceBytesRead += dst.length;
  }

  /** Copy `src` into page `pfn` at `offset`. */
  write(pfn: Pfn | number, offset: number, src: Uint8Array): void {
    checkSpan(offset, src.length);
    if (this.isDram(pfn)) {
      this.dramPage(pfn).set(src, offset);
      this.counters.dramBytesWritten += src.length;
      return;
    }
    this.device(pfn).store(pfn * PAGE_SIZE + offset, src);
    this.counters.deviceBytesWritten += src.length;
  }

  /** `copy_highpage()`. */
  copyPage(dstPfn: Pfn | number, srcPfn: Pfn | number): void {
    const buf = this.bounce;
    if (this.isDram(srcPfn)) {
      const page = this.pages.get(srcPfn);
      if (page) buf.set(page);
      else buf.fill(0);
    } else {
      this.device(srcPfn).load(srcPfn * PAGE_SIZE, buf);
      this.counters.deviceBytesRead += PAGE_SIZE;
    }
    if (this.isDram(dstPfn)) {
      this.dramPage(dstPfn).set(buf);
      this.counters.dramBytesCopied += PAGE_SIZE;
    } else {
      this.device(dstPfn).store(dstPfn * PAGE_SIZE, buf);
      this.counters.deviceBytesWritten += PAGE_SIZE;
    }
    this.counters.pagesCopied++;
  }

  /** `clear_highpage()`. */
  zeroPage(pfn: Pfn | number): void {
    if (this.isDram(pfn)) {
      this.pages.delete(pfn);
      this.counters.dramBytesZeroed += PAGE_SIZE;
    } else {
      this.bounce.fill(0);
      this.device(pfn).store(pfn * PAGE_SIZE, this.bounce);
      this.counters.deviceBytesWritten += PAGE_SIZE;
    }
    this.counters.pagesZeroed++;
  }

  private dramPage(pfn: number): Uint8Array {
    let page = this.pages.get(pfn);
    if (!page) {
      page = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, page);
    }
    return page;
  }

  private device(pfn: number): MemoryBacking {
    const b = this.backingAt(pfn);
    if (!b) throw new RangeError(`physmem: pfn 0x${pfn.toString(16)} is neither DRAM nor a registered backing`);
    return b;
  }
}

function checkSpan(offset: number, len: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + len > PAGE_SIZE)
    throw new RangeError(`physmem: [${offset}, ${offset + len}) does not fit in one page`);
}
