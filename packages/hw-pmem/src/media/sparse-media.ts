/**
 * The NVDIMM media of one region: byte-addressable, stored sparsely. Only 4 KiB media
 * pages that were written hold memory (a Map from media page number to a Uint8Array
 * allocated on first non-zero write); everything else reads as zero, so a 64 GiB
 * device costs what was written. The media also holds its uncorrectable errors
 * (poison), per 64-byte cache line.
 *
 * @see drivers/nvdimm/region_devs.c (the region's SPA range), drivers/acpi/nfit/core.c
 *      (error injection: ND_CMD_ARS_INJECT_SET)
 *
 * Offsets here are relative to the region start. The media knows nothing of caches:
 * the CPU model (cpu/cache.ts) decides when bytes reach it.
 */
import { CACHELINE_SIZE, PAGE_SIZE } from "../types.js";
import { RangeSet } from "../util/range-set.js";

export class SparseMedia {
  private readonly pages = new Map<number, Uint8Array>();
  /** Poisoned cache lines (region-relative line numbers), known to the OS or not. */
  readonly poison = new RangeSet();

  constructor(readonly size: number) {}

  /** Bytes of host memory the media content costs. */
  get allocatedBytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  get allocatedPages(): number {
    return this.pages.size;
  }

  /** Copies `len` media bytes at `off` into `dst[dstOff..]`; holes read as zero. */
  read(off: number, dst: Uint8Array, dstOff: number, len: number): void {
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const pno = Math.floor(pos / PAGE_SIZE);
      const pOff = pos - pno * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - pOff, len - done);
      const page = this.pages.get(pno);
      if (page) dst.set(page.subarray(pOff, pOff + n), dstOff + done);
      else dst.fill(0, dstOff + done, dstOff + done + n);
      done += n;
    }
  }

  /** Copies `src[srcOff..srcOff+len)` to media offset `off`. */
  write(off: number, src: Uint8Array, srcOff: number, len: number): void {
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const pno = Math.floor(pos / PAGE_SIZE);
      const pOff = pos - pno * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - pOff, len - done);
      const page = this.pageForWrite(pno, src, srcOff + done, n);
      if (page) page.set(src.subarray(srcOff + done, srcOff + done + n), pOff);
      done += n;
    }
  }

  /** Reads one whole cache line (`lineOff` is line-aligned, so it never crosses a page). */
  readLine(lineOff: number, dst: Uint8Array, dstOff: number): void {
    const pno = Math.floor(lineOff / PAGE_SIZE);
    const page = this.pages.get(pno);
    if (!page) {
      dst.fill(0, dstOff, dstOff + CACHELINE_SIZE);
      return;
    }
    const pOff = lineOff - pno * PAGE_SIZE;
    for (let i = 0; i < CACHELINE_SIZE; i++) dst[dstOff + i] = page[pOff + i]!;
  }

  /** Writes one whole cache line from `src[srcOff..srcOff+64)`. */
  writeLine(lineOff: number, src: Uint8Array, srcOff: number): void {
    const pno = Math.floor(lineOff / PAGE_SIZE);
    const page = this.pageForWrite(pno, src, srcOff, CACHELINE_SIZE);
    if (!page) return;
    const pOff = lineOff - pno * PAGE_SIZE;
    for (let i = 0; i < CACHELINE_SIZE; i++) page[pOff + i] = src[srcOff + i]!;
  }

  /** The page to write into, or undefined when zeros go to a hole (nothing to store). */
  private pageForWrite(pno: number, src: Uint8Array, srcOff: number, len: number): Uint8Array | undefined {
    let page = this.pages.get(pno);
    if (page) return page;
    let zero = true;
    for (let i = 0; i < len; i++) {
      if (src[srcOff + i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) return undefined;
    page = new Uint8Array(PAGE_SIZE);
    this.pages.set(pno, page);
    return page;
  }
}
