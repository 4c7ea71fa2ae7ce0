/**
 * The page cache: finding, adding and removing pages of a file, the generic fault path
 * for page-cache files, truncation, buffered read and write through `a_ops`, and
 * writeback of dirty pages.
 *
 * @see mm/filemap.c filemap_get_folio() (__filemap_get_folio), filemap_add_folio(),
 *      __filemap_remove_folio(), filemap_fault(), filemap_page_mkwrite(), filemap_read(),
 *      filemap_write_and_wait_range(); mm/truncate.c truncate_inode_pages_range(),
 *      truncate_pagecache(), truncate_pagecache_range(), truncate_inode_folio(),
 *      generic_error_remove_folio(), mapping_evict_folio(); mm/readahead.c (none here);
 *      mm/page-writeback.c write_cache_pages(); include/linux/pagemap.h
 *
 * Simplified: one page per folio, no readahead or fault-around, no large folios, no
 * shadow entries from reclaim. Value entries in `i_pages` belong to their owner (DAX):
 * truncation here leaves them alone in a DAX mapping and erases them otherwise.
 */
import { KernelError, isKernelError } from "../errno.js";
import { PG_dirty, PG_hwpoison, PG_locked, PG_lru, PG_private, PG_uptodate, PG_writeback } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE, handleToPfn, pfnToHandle, type PageHandle } from "../types.js";
import { PAGECACHE_TAG_DIRTY, PAGECACHE_TAG_TOWRITE } from "../xarray/index.js";
import type { AddressSpace } from "./addressSpace.js";
import type { VmContext } from "./context.js";
import { folioClearDirtyForIo, folioEndWriteback, folioMarkDirty, folioStartWriteback, tagPagesForWriteback } from "./dirty.js";
import { VM_FAULT_LOCKED, VM_FAULT_MAJOR, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS } from "./flags.js";
import { lockPage, trylockPage, unlockPage, waitOnPageLocked } from "../page/pagelock.js";
import type { VmFault, VmOperationsStruct } from "./vma.js";
import { unmapMappingFolio, unmapMappingRange } from "./zap.js";

/** Whether an `i_pages` entry is a page (even) rather than a value entry (odd). */
export function isPageEntry(entry: number | undefined): entry is number {
  return entry !== undefined && entry % 2 === 0;
}

/** The page at `index` without taking a reference (`xa_load` + folio check), or null. */
export function filemapPeek(mapping: AddressSpace, index: number): Pfn | null {
  const e = mapping.iPages.load(index);
  return isPageEntry(e) ? handleToPfn(e as PageHandle) : null;
}

/** `filemap_get_folio()`: the cached page at `index` with a reference taken, or null. */
export function filemapGetFolio(ctx: VmContext, mapping: AddressSpace, index: number): Pfn | null {
  const pfn = filemapPeek(mapping, index);
  if (pfn === null || !ctx.memmap.getPageUnlessZero(pfn)) return null;
  return pfn;
}

/** `find_get_page()`: same as filemapGetFolio. */
export const findGetPage = filemapGetFolio;

/** `add_to_page_cache_lru()`: same as filemapAddFolio. */
export const addToPageCache = (ctx: VmContext, mapping: AddressSpace, pfn: Pfn, index: number): void =>
  filemapAddFolio(ctx, mapping, pfn, index);

/**
 * `filemap_add_folio()`: insert a locked page at `index`; the cache takes a reference.
 * Throws EEXIST if a page is already there (a value entry is replaced).
 */
export function filemapAddFolio(ctx: VmContext, mapping: AddressSpace, pfn: Pfn, index: number): void {
  const memmap = ctx.memmap;
  if (isPageEntry(mapping.iPages.load(index))) throw new KernelError("EEXIST", `page cache index ${index}`);
  memmap.pageRefInc(pfn);
  memmap.setPageMapping(pfn, mapping);
  memmap.setPageIndex(pfn, index);
  mapping.iPages.store(index, pfnToHandle(pfn));
  mapping.nrpages++;
  memmap.setPageFlag(pfn, PG_lru);
}

/**
 * `filemap_remove_folio()` + `filemap_free_folio()`: take the page out of the cache and
 * drop the cache's reference. The page must be locked and unmapped.
 */
export function filemapRemoveFolio(ctx: VmContext, pfn: Pfn): void {
  const memmap = ctx.memmap;
  const mapping = memmap.folioMapping(pfn) as AddressSpace | null;
  if (!mapping) return;
  if (memmap.pageMapped(pfn))
    ctx.dmesg.printk(1, `BUG: Bad page cache in process ${mapping} pfn:${pfn.toString(16)}`);
  const index = memmap.pageIndex(pfn);
  mapping.iPages.erase(index);
  mapping.nrpages--;
  memmap.setPageMapping(pfn, null);
  memmap.clearPageFlag(pfn, PG_dirty);
  memmap.putPage(pfn);
}

/** `delete_from_page_cache()`. */
export const deleteFromPageCache = filemapRemoveFolio;

/**
 * `__filemap_get_folio(FGP_LOCK | FGP_CREAT)`: the page at `index`, locked and with a
 * reference, allocating and inserting a new (not uptodate) page if there is none.
 */
export function* filemapGrabFolio(ctx: VmContext, mapping: AddressSpace, index: number): Sleepable<Pfn> {
  for (;;) {
    const pfn = filemapGetFolio(ctx, mapping, index);
    if (pfn !== null) {
      yield* lockPage(ctx.memmap, pfn);
      if (ctx.memmap.folioMapping(pfn) === mapping && ctx.memmap.pageIndex(pfn) === index) return pfn;
      unlockPage(ctx.memmap, pfn);
      ctx.memmap.putPage(pfn);
      continue;
    }
    const np = ctx.allocUserPage(false);
    trylockPage(ctx.memmap, np);
    filemapAddFolio(ctx, mapping, np, index);
    return np;
  }
}

/**
 * `filemap_read_folio()`: ->read_folio on a locked page, then wait until the filesystem
 * unlocked it. Returns whether the page is now uptodate; it is unlocked either way.
 */
export function* filemapReadFolio(ctx: VmContext, mapping: AddressSpace, pfn: Pfn): Sleepable<boolean> {
  const memmap = ctx.memmap;
  const read = mapping.aOps.readFolio;
  if (!read) {
    unlockPage(memmap, pfn);
    return false;
  }
  try {
    yield* read(mapping, pfn);
    yield* waitOnPageLocked(memmap, pfn);
  } catch (e) {
    if (!isKernelError(e)) throw e;
    if (memmap.testPageFlag(pfn, PG_locked)) unlockPage(memmap, pfn);
  }
  return memmap.testPageFlag(pfn, PG_uptodate);
}

/**
 * `filemap_fault()`: the page-cache fault handler of `generic_file_vm_ops`. Returns the
 * page locked (`VM_FAULT_LOCKED`) in `vmf.page`, or VM_FAULT_SIGBUS past EOF and on read
 * errors. Creating or reading a page happens under the mapping's invalidate_lock (shared).
 */
export function* filemapFault(vmf: VmFault): Sleepable<number> {
  const vma = vmf.vma;
  const ctx = vma.vmMm.ctx;
  const memmap = ctx.memmap;
  const mapping = vma.mapping!;
  const index = vmf.pgoff;
  let ret = 0;
  for (;;) {
    if (index >= Math.ceil(mapping.iSize / PAGE_SIZE)) return VM_FAULT_SIGBUS;
    let mappingLocked = false;
    const unlockMapping = (): void => {
      if (mappingLocked) mapping.invalidateLock.upRead();
      mappingLocked = false;
    };
    let pfn = filemapGetFolio(ctx, mapping, index);
    if (pfn === null) {
      ret |= VM_FAULT_MAJOR;
      ctx.stats.majorFaults++;
      yield* mapping.invalidateLock.downRead();
      mappingLocked = true;
      pfn = yield* filemapGrabFolio(ctx, mapping, index);
    } else yield* lockPage(memmap, pfn);
    if (memmap.folioMapping(pfn) !== mapping) {
      unlockPage(memmap, pfn);
      memmap.putPage(pfn);
      unlockMapping();
      continue;
    }
    if (!memmap.testPageFlag(pfn, PG_uptodate)) {
      if (!mappingLocked) {
        unlockPage(memmap, pfn);
        yield* mapping.invalidateLock.downRead();
        mappingLocked = true;
        yield* lockPage(memmap, pfn);
        if (memmap.folioMapping(pfn) !== mapping) {
          unlockPage(memmap, pfn);
          memmap.putPage(pfn);
          unlockMapping();
          continue;
        }
      }
      if (!memmap.testPageFlag(pfn, PG_uptodate)) {
        ret |= VM_FAULT_MAJOR;
        const ok = yield* filemapReadFolio(ctx, mapping, pfn);
        if (!ok) {
          memmap.putPage(pfn);
          unlockMapping();
          return VM_FAULT_SIGBUS;
        }
        yield* lockPage(memmap, pfn);
        if (memmap.folioMapping(pfn) !== mapping) {
          unlockPage(memmap, pfn);
          memmap.putPage(pfn);
          unlockMapping();
          continue;
        }
      }
    }
    unlockMapping();
    if (index >= Math.ceil(mapping.iSize / PAGE_SIZE)) {
      unlockPage(memmap, pfn);
      memmap.putPage(pfn);
      return VM_FAULT_SIGBUS;
    }
    vmf.page = pfn;
    return ret | VM_FAULT_LOCKED;
  }
}

/** `filemap_page_mkwrite()`: the first write to a shared page dirties it. */
export function* filemapPageMkwrite(vmf: VmFault): Sleepable<number> {
  const ctx = vmf.vma.vmMm.ctx;
  const pfn = vmf.page!;
  yield* lockPage(ctx.memmap, pfn);
  if (ctx.memmap.folioMapping(pfn) !== vmf.vma.mapping) {
    unlockPage(ctx.memmap, pfn);
    return VM_FAULT_NOPAGE;
  }
  folioMarkDirty(ctx, pfn);
  return VM_FAULT_LOCKED;
}

/** `generic_file_vm_ops`. */
export const genericFileVmOps: VmOperationsStruct = {
  name: "generic_file_vm_ops",
  fault: filemapFault,
  pageMkwrite: filemapPageMkwrite,
};

/** `truncate_inode_folio()`: a locked page leaves its mapping (unmapped first). */
export function truncateInodeFolio(ctx: VmContext, mapping: AddressSpace, pfn: Pfn): void {
  const memmap = ctx.memmap;
  if (memmap.folioMapping(pfn) !== mapping) return;
  if (memmap.pageMapped(pfn)) unmapMappingFolio(mapping, memmap.pageIndex(pfn));
  if (memmap.testPageFlag(pfn, PG_private)) mapping.aOps.invalidateFolio?.(mapping, pfn, 0, PAGE_SIZE);
  filemapRemoveFolio(ctx, pfn);
}

/**
 * `truncate_inode_pages_range()`: drop cached pages of bytes [lstart, lend] (lend
 * inclusive, -1 = to the end); partial pages at the edges are zeroed in place.
 */
export function* truncateInodePagesRange(ctx: VmContext, mapping: AddressSpace, lstart: number, lend = -1): Sleepable {
  const memmap = ctx.memmap;
  const lastByte = lend < 0 ? Number.MAX_SAFE_INTEGER : lend;
  const first = Math.floor(lstart / PAGE_SIZE);
  const last = Math.floor(lastByte / PAGE_SIZE);
  const entries = [...mapping.iPages.entries(first, Math.min(last, Number.MAX_SAFE_INTEGER))];
  for (const [index, entry] of entries) {
    if (!isPageEntry(entry)) {
      if (!mapping.isDax) mapping.iPages.erase(index);
      continue;
    }
    const pfn = handleToPfn(entry as PageHandle);
    const pageStart = index * PAGE_SIZE;
    const from = Math.max(lstart, pageStart) - pageStart;
    const to = Math.min(lastByte + 1, pageStart + PAGE_SIZE) - pageStart;
    if (!memmap.getPageUnlessZero(pfn)) continue;
    yield* lockPage(memmap, pfn);
    if (memmap.folioMapping(pfn) === mapping) {
      if (from === 0 && to === PAGE_SIZE) truncateInodeFolio(ctx, mapping, pfn);
      else {
        if (memmap.testPageFlag(pfn, PG_uptodate)) ctx.physMem.write(pfn, from, new Uint8Array(to - from));
        if (memmap.testPageFlag(pfn, PG_private)) mapping.aOps.invalidateFolio?.(mapping, pfn, from, to - from);
      }
    }
    unlockPage(memmap, pfn);
    memmap.putPage(pfn);
  }
}

/** `truncate_pagecache()`: after i_size shrank to `newsize`. */
export function* truncatePagecache(ctx: VmContext, mapping: AddressSpace, newsize: number): Sleepable {
  const holebegin = Math.ceil(newsize / PAGE_SIZE) * PAGE_SIZE;
  unmapMappingRange(mapping, holebegin, 0, true);
  yield* truncateInodePagesRange(ctx, mapping, newsize);
  unmapMappingRange(mapping, holebegin, 0, true);
}

/** `truncate_pagecache_range()`: hole punch of bytes [lstart, lend] (inclusive). */
export function* truncatePagecacheRange(ctx: VmContext, mapping: AddressSpace, lstart: number, lend: number): Sleepable {
  const unmapStart = Math.ceil(lstart / PAGE_SIZE) * PAGE_SIZE;
  const unmapEnd = Math.floor((lend + 1) / PAGE_SIZE) * PAGE_SIZE - 1;
  if (unmapEnd > unmapStart) unmapMappingRange(mapping, unmapStart, unmapEnd - unmapStart + 1, true);
  yield* truncateInodePagesRange(ctx, mapping, lstart, lend);
}

/**
 * `mapping_evict_folio()`: drop a clean, unused page from the cache (the caller holds one
 * reference and the lock). Returns whether it was removed.
 */
export function mappingEvictFolio(ctx: VmContext, mapping: AddressSpace, pfn: Pfn): boolean {
  const memmap = ctx.memmap;
  if (memmap.testPageFlag(pfn, PG_dirty) || memmap.testPageFlag(pfn, PG_writeback)) return false;
  const priv = memmap.testPageFlag(pfn, PG_private) ? 1 : 0;
  if (memmap.pageRefCount(pfn) > 1 + priv + 1) return false;
  if (priv && !(mapping.aOps.releaseFolio?.(mapping, pfn) ?? false)) return false;
  if (memmap.pageMapped(pfn)) return false;
  filemapRemoveFolio(ctx, pfn);
  return true;
}

/** `generic_error_remove_folio()`: memory failure drops a page, dirty or not. */
export function genericErrorRemoveFolio(ctx: VmContext, mapping: AddressSpace, pfn: Pfn): number {
  truncateInodeFolio(ctx, mapping, pfn);
  return 0;
}

/**
 * `filemap_read()`: copy bytes [pos, pos + len) ∩ [0, i_size) out of the page cache,
 * reading missing pages through ->read_folio. Throws EIO on a read error or a poisoned
 * page.
 */
export function* filemapRead(ctx: VmContext, mapping: AddressSpace, pos: number, len: number): Sleepable<Uint8Array> {
  const memmap = ctx.memmap;
  const end = Math.min(pos + len, mapping.iSize);
  if (end <= pos) return new Uint8Array(0);
  const out = new Uint8Array(end - pos);
  for (let p = pos; p < end; ) {
    const index = Math.floor(p / PAGE_SIZE);
    const off = p - index * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, end - p);
    let pfn = filemapGetFolio(ctx, mapping, index);
    if (pfn === null || !memmap.testPageFlag(pfn, PG_uptodate)) {
      if (pfn !== null) memmap.putPage(pfn);
      pfn = yield* filemapGrabFolio(ctx, mapping, index);
      if (!memmap.testPageFlag(pfn, PG_uptodate)) {
        if (!(yield* filemapReadFolio(ctx, mapping, pfn))) {
          memmap.putPage(pfn);
          throw new KernelError("EIO");
        }
      } else unlockPage(memmap, pfn);
    }
    if (memmap.testPageFlag(pfn, PG_hwpoison)) {
      memmap.putPage(pfn);
      throw new KernelError("EIO");
    }
    ctx.physMem.read(pfn, off, out.subarray(p - pos, p - pos + n));
    memmap.putPage(pfn);
    p += n;
  }
  return out;
}

/**
 * `generic_perform_write()`: copy `data` into the page cache at `pos`, reading partial
 * pages first, and dirty the pages. The caller updates i_size. Returns bytes written.
 */
export function* genericPerformWrite(ctx: VmContext, mapping: AddressSpace, pos: number, data: Uint8Array): Sleepable<number> {
  const memmap = ctx.memmap;
  for (let done = 0; done < data.length; ) {
    const p = pos + done;
    const index = Math.floor(p / PAGE_SIZE);
    const off = p - index * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, data.length - done);
    const pfn = yield* filemapGrabFolio(ctx, mapping, index);
    if (!memmap.testPageFlag(pfn, PG_uptodate) && n < PAGE_SIZE) {
      if (index * PAGE_SIZE < mapping.iSize) {
        if (!(yield* filemapReadFolio(ctx, mapping, pfn))) {
          memmap.putPage(pfn);
          throw new KernelError("EIO");
        }
        yield* lockPage(memmap, pfn);
      } else ctx.physMem.zeroPage(pfn);
    }
    ctx.physMem.write(pfn, off, data.subarray(done, done + n));
    memmap.setPageFlag(pfn, PG_uptodate);
    folioMarkDirty(ctx, pfn);
    unlockPage(memmap, pfn);
    memmap.putPage(pfn);
    done += n;
  }
  return data.length;
}

/**
 * `filemap_write_and_wait_range()` over pages [start, end]: write every dirty page out
 * through ->writepage (`write_cache_pages()`), clearing dirty state and write access of
 * its shared mappings first. Returns pages written.
 */
export function* filemapWriteAndWaitRange(ctx: VmContext, mapping: AddressSpace, start: number, end: number): Sleepable<number> {
  const memmap = ctx.memmap;
  const writepage = mapping.aOps.writepage;
  tagPagesForWriteback(mapping, start, end);
  let written = 0;
  for (const [index, entry] of [...mapping.iPages.marked(start, end, PAGECACHE_TAG_TOWRITE)]) {
    if (!isPageEntry(entry)) continue;
    const pfn = handleToPfn(entry as PageHandle);
    if (!memmap.getPageUnlessZero(pfn)) continue;
    yield* lockPage(memmap, pfn);
    mapping.iPages.clearMark(index, PAGECACHE_TAG_TOWRITE);
    if (memmap.folioMapping(pfn) === mapping && folioClearDirtyForIo(ctx, pfn)) {
      folioStartWriteback(ctx, pfn);
      if (writepage) yield* writepage(mapping, pfn);
      folioEndWriteback(ctx, pfn);
      written++;
    }
    unlockPage(memmap, pfn);
    memmap.putPage(pfn);
  }
  return written;
}

/** Pages of `mapping` tagged dirty in [start, end] (tests, fsync). */
export function mappingDirtyIndexes(mapping: AddressSpace, start = 0, end = Number.MAX_SAFE_INTEGER): number[] {
  return [...mapping.iPages.marked(start, end, PAGECACHE_TAG_DIRTY)].map(([i]) => i);
}

