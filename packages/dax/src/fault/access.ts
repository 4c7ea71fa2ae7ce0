/**
 * From an iomap to device memory: the pfn behind a file position, and the CoW copy that
 * fills a newly allocated block from the shared block it replaces.
 *
 * @see fs/dax.c dax_iomap_pgoff(), dax_iomap_direct_access(), dax_iomap_copy_around(),
 *      dax_fault_return(), dax_mem2blk_err(); include/linux/mm.h vmf_error()
 *
 * Simplified: copies go through a bounce buffer; `copy_mc_to_kernel()` failing on poison
 * becomes KernelError EIO.
 */
import {
  ERRNO,
  KernelError,
  PAGE_SIZE,
  type Pfn,
  VM_FAULT_HWPOISON,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { IOMAP_F_SHARED, IOMAP_UNWRITTEN, type Iomap } from "../iomap.js";

/** `dax_iomap_pgoff()`: the device page of file position `pos` in `iomap`. */
export function daxIomapPgoff(iomap: Iomap, pos: number): number {
  return (iomap.addr + (pos - (pos % PAGE_SIZE)) - iomap.offset) / PAGE_SIZE;
}

/** Device byte address of file position `pos` in `iomap`. */
export function daxIomapAddr(iomap: Iomap, pos: number): number {
  return iomap.addr + pos - iomap.offset;
}

/**
 * `dax_iomap_direct_access()` for a fault: the pfn of `size` bytes at `pos`, which must be
 * contiguous and aligned to `size`. KernelError EINVAL when they are not (a PMD fault then
 * falls back), EHWPOISON over bad blocks.
 */
export function daxIomapDirectAccess(dax: DaxContext, iomap: Iomap, pos: number, size: number): Pfn {
  const nr = size / PAGE_SIZE;
  const { pfn, nrAvailable } = dax.dev.directAccess(daxIomapPgoff(iomap, pos), nr);
  if (nrAvailable < nr) throw new KernelError("EINVAL", "dax_iomap_direct_access: short mapping");
  if (pfn % nr !== 0) throw new KernelError("EINVAL", `dax_iomap_direct_access: pfn 0x${pfn.toString(16)} not aligned to ${size}`);
  return pfn;
}

/** `vmf_error()` as `dax_fault_return()` uses it (0 → VM_FAULT_NOPAGE). */
export function daxFaultReturn(errno: number): number {
  if (errno === 0) return VM_FAULT_NOPAGE;
  if (errno === -ERRNO.ENOMEM) return VM_FAULT_OOM;
  if (errno === -ERRNO.EHWPOISON) return VM_FAULT_HWPOISON;
  return VM_FAULT_SIGBUS;
}

/**
 * `dax_iomap_copy_around()`: before writing [pos, pos + length) into the new block at
 * device address `dstBase` (the start of the `alignSize`-aligned range holding pos),
 * fill the head and tail of that range from `srcmap` — or zero them when the source is
 * unwritten or itself shared-flagged, as 6.12 does. Everything when length covers it all.
 */
export function daxIomapCopyAround(
  dax: DaxContext,
  pos: number,
  length: number,
  alignSize: number,
  srcmap: Iomap,
  dstBase: number,
): void {
  const headOff = pos % alignSize;
  const end = pos + length;
  const pgEnd = Math.ceil(end / alignSize) * alignSize;
  const copyAll = headOff === 0 && end === pgEnd;
  const zeroEdge = (srcmap.flags & IOMAP_F_SHARED) !== 0 || srcmap.type === IOMAP_UNWRITTEN;
  const srcBase = zeroEdge ? 0 : daxIomapAddr(srcmap, pos - headOff);
  const move = (off: number, len: number): void => {
    if (len <= 0) return;
    const buf = new Uint8Array(len);
    if (!zeroEdge) dax.dev.read(srcBase + off, buf);
    dax.dev.store(dstBase + off, buf);
    dax.costs.pmemBytesCopied += zeroEdge ? 0 : len;
  };
  if (copyAll) move(0, length);
  else {
    move(0, headOff);
    move(headOff + length, pgEnd - end);
  }
  if (zeroEdge) dax.dev.flush(dstBase, pgEnd - (pos - headOff));
}
