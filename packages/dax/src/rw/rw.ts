/**
 * Reading and writing DAX files without the page cache, and the range operations built on
 * the same iteration: zeroing (truncate, punch, zero range), unsharing, and the byte
 * comparison dedupe needs.
 *
 * @see fs/dax.c dax_iomap_rw(), dax_iomap_iter(), dax_zero_range(), dax_zero_iter(),
 *      dax_memzero(), dax_truncate_page(), dax_file_unshare(), dax_unshare_iter(),
 *      dax_dedupe_file_range_compare(), dax_range_compare_iter()
 *
 * A write over a shared extent (CoW) or a new allocation first drops the entries and
 * mappings of the range, so every mapping sees the new block at its next fault.
 * Simplified: `dax_file_unshare` also invalidates the unshared range so no entry keeps
 * the old pfn; a fatal signal does not interrupt a long copy.
 */
import { type AddressSpace, KernelError, PAGE_SIZE, type Sleepable, isKernelError } from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { daxClearDirtyRange, daxInvalidateMappingRange } from "../entry/invalidate.js";
import { daxIomapAddr, daxIomapCopyAround, daxIomapPgoff } from "../fault/access.js";
import {
  IOMAP_DAX,
  IOMAP_F_NEW,
  IOMAP_F_SHARED,
  IOMAP_HOLE,
  IOMAP_MAPPED,
  IOMAP_UNSHARE,
  IOMAP_UNWRITTEN,
  IOMAP_WRITE,
  IOMAP_ZERO,
  type IomapOps,
  iomapIterOnceSleepable,
  iomapLength,
} from "../iomap.js";

function pagesOf(pos: number, len: number): { first: number; last: number } {
  return { first: Math.floor(pos / PAGE_SIZE), last: Math.floor((pos + len - 1) / PAGE_SIZE) };
}

/** Bytes [pos, pos + len) of the device through direct access (EHWPOISON on bad blocks). */
function checkAccess(dax: DaxContext, addr: number, len: number, write: boolean): void {
  const pgoff = Math.floor(addr / PAGE_SIZE);
  const nr = Math.ceil((addr + len) / PAGE_SIZE) - pgoff;
  try {
    dax.dev.directAccess(pgoff, nr);
  } catch (e) {
    if (!(write && isKernelError(e, "EHWPOISON"))) throw e;
  }
}

/**
 * `dax_iomap_rw()`: read into or write from `buf` at file position `pos`. Returns bytes
 * done (a read stops at EOF). The caller holds the inode lock and updates i_size.
 */
export function* daxIomapRw<I extends { readonly iSize: number }>(
  dax: DaxContext,
  mapping: AddressSpace,
  pos: number,
  buf: Uint8Array,
  write: boolean,
  ops: IomapOps<I>,
): Sleepable<number> {
  const inode = mapping.host as I;
  let done = 0;
  const flags = IOMAP_DAX | (write ? IOMAP_WRITE : 0);
  while (done < buf.length) {
    const p = pos + done;
    if (!write && p >= inode.iSize) break;
    const n = yield* iomapIterOnceSleepable(ops, inode, p, buf.length - done, flags, function* (it) {
      const { iomap, srcmap } = it;
      let length = iomapLength(it);
      if (!write) {
        length = Math.min(length, inode.iSize - p);
        if (iomap.type === IOMAP_HOLE || iomap.type === IOMAP_UNWRITTEN) {
          buf.fill(0, done, done + length);
          return { processed: length, value: length };
        }
      }
      const cow = write && (iomap.flags & IOMAP_F_SHARED) !== 0;
      if (iomap.type !== IOMAP_MAPPED && !cow) {
        dax.vm.dmesg.warnOnOnce(true, "fs/dax.c:dax_iomap_iter");
        throw new KernelError("EIO", "dax_iomap_iter: not a mapped extent");
      }
      if (write && (iomap.flags & IOMAP_F_NEW || cow)) {
        const { first, last } = pagesOf(p, length);
        if (cow) yield* daxClearDirtyRange(dax, mapping, first, last);
        yield* daxInvalidateMappingRange(dax, mapping, first, last);
      }
      const addr = daxIomapAddr(iomap, p);
      checkAccess(dax, addr, length, write);
      if (cow) daxIomapCopyAround(dax, p, length, PAGE_SIZE, srcmap, addr - (p % PAGE_SIZE));
      const chunk = buf.subarray(done, done + length);
      if (write) dax.dev.write(addr, chunk);
      else dax.dev.read(addr, chunk);
      return { processed: length, value: length };
    });
    if (n <= 0) break;
    done += n;
  }
  return done;
}

/**
 * `dax_zero_range()`: zero [pos, pos + len); holes and unwritten extents are already zero.
 * Returns whether anything was zeroed.
 */
export function* daxZeroRange<I>(dax: DaxContext, mapping: AddressSpace, pos: number, len: number, ops: IomapOps<I>): Sleepable<boolean> {
  const inode = mapping.host as I;
  let didZero = false;
  let done = 0;
  while (done < len) {
    const p = pos + done;
    const n = yield* iomapIterOnceSleepable(ops, inode, p, len - done, IOMAP_DAX | IOMAP_ZERO | IOMAP_WRITE, function* (it) {
      const { iomap, srcmap } = it;
      const length = iomapLength(it);
      if (srcmap.type === IOMAP_HOLE || srcmap.type === IOMAP_UNWRITTEN) return { processed: length, value: length };
      if (iomap.flags & IOMAP_F_SHARED) {
        const { first, last } = pagesOf(p, length);
        yield* daxInvalidateMappingRange(dax, mapping, first, last);
      }
      for (let q = p; q < p + length; ) {
        const off = q % PAGE_SIZE;
        const size = Math.min(PAGE_SIZE - off, p + length - q);
        if (off === 0 && size === PAGE_SIZE) dax.dev.zeroPageRange(daxIomapPgoff(iomap, q), 1);
        else {
          const addr = daxIomapAddr(iomap, q);
          if (iomap.flags & IOMAP_F_SHARED) daxIomapCopyAround(dax, q, size, PAGE_SIZE, srcmap, addr - off);
          dax.dev.write(addr, new Uint8Array(size));
        }
        q += size;
      }
      didZero = true;
      return { processed: length, value: length };
    });
    if (n <= 0) break;
    done += n;
  }
  return didZero;
}

/** `dax_truncate_page()`: zero from `pos` to the end of its block. */
export function* daxTruncatePage<I>(dax: DaxContext, mapping: AddressSpace, pos: number, ops: IomapOps<I>): Sleepable<boolean> {
  const off = pos % PAGE_SIZE;
  if (off === 0) return false;
  return yield* daxZeroRange(dax, mapping, pos, PAGE_SIZE - off, ops);
}

/** `dax_file_unshare()`: give [pos, pos + len) private copies of every shared block. */
export function* daxFileUnshare<I>(dax: DaxContext, mapping: AddressSpace, pos: number, len: number, ops: IomapOps<I>): Sleepable<number> {
  const inode = mapping.host as I;
  let done = 0;
  while (done < len) {
    const p = pos + done;
    const n = yield* iomapIterOnceSleepable(ops, inode, p, len - done, IOMAP_WRITE | IOMAP_UNSHARE | IOMAP_DAX, function* (it) {
      const { iomap, srcmap } = it;
      const length = iomapLength(it);
      if (!(iomap.flags & IOMAP_F_SHARED) || srcmap.type === IOMAP_HOLE || srcmap.type === IOMAP_UNWRITTEN)
        return { processed: length, value: length };
      const { first, last } = pagesOf(p, length);
      yield* daxClearDirtyRange(dax, mapping, first, last);
      yield* daxInvalidateMappingRange(dax, mapping, first, last);
      const data = new Uint8Array(length);
      dax.dev.read(daxIomapAddr(srcmap, p), data);
      dax.dev.write(daxIomapAddr(iomap, p), data);
      dax.costs.pmemBytesCopied += length;
      return { processed: length, value: length };
    });
    if (n <= 0) break;
    done += n;
  }
  return done;
}

/**
 * `dax_dedupe_file_range_compare()`: whether [srcoff, +len) of one file and [dstoff, +len)
 * of another hold the same bytes (two holes are the same; a hole and data are not).
 */
export function* daxDedupeFileRangeCompare<I>(
  dax: DaxContext,
  src: AddressSpace,
  srcoff: number,
  dst: AddressSpace,
  dstoff: number,
  len: number,
  ops: IomapOps<I>,
): Sleepable<boolean> {
  let done = 0;
  while (done < len) {
    const s = ops.iomapBegin(src.host as I, srcoff + done, len - done, IOMAP_DAX);
    const d = ops.iomapBegin(dst.host as I, dstoff + done, len - done, IOMAP_DAX);
    const n = Math.min(
      s.iomap.offset + s.iomap.length - (srcoff + done),
      d.iomap.offset + d.iomap.length - (dstoff + done),
      len - done,
    );
    ops.iomapEnd(src.host as I, srcoff + done, len - done, n, IOMAP_DAX, s.iomap);
    ops.iomapEnd(dst.host as I, dstoff + done, len - done, n, IOMAP_DAX, d.iomap);
    const sHole = s.iomap.type === IOMAP_HOLE;
    const dHole = d.iomap.type === IOMAP_HOLE;
    if (sHole !== dHole) return false;
    if (!sHole) {
      const a = new Uint8Array(n);
      const b = new Uint8Array(n);
      dax.dev.read(daxIomapAddr(s.iomap, srcoff + done), a);
      dax.dev.read(daxIomapAddr(d.iomap, dstoff + done), b);
      for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
    }
    done += n;
    yield* [];
  }
  return true;
}
