/**
 * The page-cache data path of non-DAX inodes: each inode's `AddressSpace`, ->read_folio
 * filling a page from the blocks iomap reports, ->writepage writing a dirty page back
 * through iomap_begin(IOMAP_WRITE) / iomap_end — where a shared block gets its CoW
 * staging block and is remapped, so sharing breaks at writeback, not at write(2) — and
 * the flush-and-invalidate that extent-changing operations run first.
 *
 * @see fs/xfs/xfs_aops.c xfs_address_space_operations, xfs_vm_read_folio(),
 *      xfs_vm_writepages(), xfs_map_blocks(); fs/iomap/buffered-io.c iomap_read_folio(),
 *      iomap_writepage_map(), iomap_writepage_handle_eof(); fs/xfs/xfs_bmap_util.c
 *      xfs_flush_unmap_range(); mm/filemap.c filemap_check_errors();
 *      mm/truncate.c truncate_inode_pages_final()
 *
 * Simplified: no delayed allocation — a buffered write reserves nothing; writeback
 * allocates (unwritten, converted at completion) or allocates the CoW staging block, one
 * page = one block at a time, so ENOSPC shows at writeback (reported by the next fsync)
 * rather than at write(2). Writeback errors leave the page clean and are kept in the
 * mapping (`mapping_set_error`) for fsync, as the kernel does. A write past EOF moves
 * only the in-core size; the logged size (`i_disk_size`) follows each completed page.
 */
import {
  AS_DAX,
  AS_EIO,
  AddressSpace,
  KernelError,
  PAGE_SIZE,
  PG_uptodate,
  errnoName,
  filemapWriteAndWaitRange,
  handleToPfn,
  isKernelError,
  isPageEntry,
  mappingSetError,
  truncateInodeFolio,
  truncatePagecacheRange,
  trylockPage,
  unlockPage,
  vmBugOn,
  type AddressSpaceOperations,
  type PageHandle,
  type Pfn,
  type RwSemaphore,
  type Sleepable,
  type VmContext,
} from "@pagelab/mm-core";
import type { XfsInode } from "../inode/inode.js";
import { xfsFileReadRange, xfsFileWriteRange, type XfsFileIoEnv } from "./file-io.js";

/** Page-cache I/O counts of one file system. */
export interface XfsPagecacheStats {
  /** Pages read from blocks (->read_folio). */
  readFolio: number;
  /** Dirty pages written to blocks (->writepage). */
  writepage: number;
  /** Writebacks that failed (the error waits in the mapping for fsync). */
  writeErrors: number;
}

/** The last byte of the largest file range the page cache indexes (page aligned). */
const LAST_BYTE = Math.floor(Number.MAX_SAFE_INTEGER / PAGE_SIZE) * PAGE_SIZE - 1;

/** `xfs_address_space_operations` of one inode. */
export function xfsAddressSpaceOperations(env: XfsFileIoEnv, ctx: VmContext, ip: XfsInode, stats: XfsPagecacheStats): AddressSpaceOperations {
  const memmap = ctx.memmap;
  return {
    // iomap_read_folio(): holes and unwritten extents read as zeros, mapped blocks from the device
    *readFolio(_mapping: AddressSpace, pfn: Pfn): Sleepable {
      stats.readFolio++;
      const pos = memmap.pageIndex(pfn) * PAGE_SIZE;
      const buf = new Uint8Array(PAGE_SIZE);
      if (pos < ip.size) xfsFileReadRange(env, ip, pos, buf);
      ctx.physMem.write(pfn, 0, buf);
      memmap.setPageFlag(pfn, PG_uptodate);
      unlockPage(memmap, pfn);
    },
    // iomap_writepage_map() with xfs_map_blocks(): allocate or CoW the block, write, end the I/O
    *writepage(mapping: AddressSpace, pfn: Pfn): Sleepable {
      const pos = memmap.pageIndex(pfn) * PAGE_SIZE;
      const size = ip.size;
      // iomap_writepage_handle_eof(): a page wholly past EOF has nothing to write
      if (pos >= size) return;
      stats.writepage++;
      if (size - pos < PAGE_SIZE) ctx.physMem.write(pfn, size - pos, new Uint8Array(PAGE_SIZE - (size - pos)));
      const buf = new Uint8Array(PAGE_SIZE);
      ctx.physMem.read(pfn, 0, buf);
      try {
        xfsFileWriteRange(env, ip, pos, buf);
        // xfs_end_ioend() → xfs_setfilesize(): the on-disk size covers the written page
        const end = Math.min(pos + PAGE_SIZE, size);
        if (ip.diskSize < end) env.trans(0, () => ip.xfsSetfilesize(end), ip);
      } catch (e) {
        if (!isKernelError(e)) throw e;
        stats.writeErrors++;
        mappingSetError(mapping, e.errno);
      }
    },
  };
}

/**
 * `VFS_I(ip)->i_mapping`: since Linux 5.15 XFS's MMAPLOCK *is* the mapping's
 * `invalidate_lock`, so truncate and hole punch (MMAPLOCK exclusive) exclude page-cache and
 * DAX faults (invalidate_lock shared) on the same semaphore.
 */
class XfsAddressSpace extends AddressSpace {
  override readonly invalidateLock: RwSemaphore = (this.host as XfsInode).mmapLock;
}

/** `ip->i_mapping`, made on first use; AS_DAX follows the inode's DAX flag. */
export function xfsInodeMapping(env: XfsFileIoEnv, ctx: VmContext, ip: XfsInode, stats: XfsPagecacheStats): AddressSpace {
  let m = ip.mapping;
  if (m === null) {
    m = new XfsAddressSpace(ip, xfsAddressSpaceOperations(env, ctx, ip, stats), `xfs:${ip.ino}`);
    ip.mapping = m;
  }
  if (ip.isDax()) m.setFlag(AS_DAX);
  else m.clearFlag(AS_DAX);
  return m;
}

/** `filemap_check_errors()`: report (and forget) a writeback error kept in the mapping. */
export function xfsFilemapCheckErrors(mapping: AddressSpace): void {
  if (!mapping.testFlag(AS_EIO)) return;
  const errno = mapping.wbErr;
  mapping.wbErr = 0;
  mapping.clearFlag(AS_EIO);
  throw new KernelError(errnoName(errno) ?? "EIO", `writeback of ${mapping}`);
}

/** Bytes [pos, pos + len) rounded out to whole pages: first byte and last byte. */
export function xfsPageSpan(pos: number, len: number): { start: number; last: number } {
  const start = Math.floor(pos / PAGE_SIZE) * PAGE_SIZE;
  const end = len >= LAST_BYTE - pos ? LAST_BYTE + 1 : Math.ceil((pos + len) / PAGE_SIZE) * PAGE_SIZE;
  return { start, last: end - 1 };
}

/**
 * `filemap_write_and_wait_range()` over bytes [pos, pos + len) of `ip`'s page cache (if it
 * has one), then `filemap_check_errors()`. Returns the pages written.
 */
export function* xfsWriteAndWaitRange(ctx: VmContext, ip: XfsInode, pos: number, len: number): Sleepable<number> {
  const m = ip.mapping;
  if (m === null || m.isDax || len <= 0) return 0;
  const { start, last } = xfsPageSpan(pos, len);
  const n = yield* filemapWriteAndWaitRange(ctx, m, start / PAGE_SIZE, Math.floor(last / PAGE_SIZE));
  xfsFilemapCheckErrors(m);
  return n;
}

/**
 * `xfs_flush_unmap_range()`: before extents under [pos, pos + len) change, write the
 * cached pages of the range (rounded out to whole pages) back and drop them, so no dirty
 * page can later be written over blocks that now mean something else.
 */
export function* xfsFlushUnmapRange(ctx: VmContext, ip: XfsInode, pos: number, len: number): Sleepable {
  const m = ip.mapping;
  if (m === null || m.isDax || len <= 0) return;
  yield* xfsWriteAndWaitRange(ctx, ip, pos, len);
  const { start, last } = xfsPageSpan(pos, len);
  yield* truncatePagecacheRange(ctx, m, start, last);
}

/**
 * `truncate_inode_pages_final()` at eviction: every page leaves the cache, dirty or not
 * (the file is gone). Nobody else holds the inode, so no page can be locked.
 */
export function xfsTruncatePagecacheFinal(ctx: VmContext, ip: XfsInode): void {
  const m = ip.mapping;
  if (m === null) return;
  const memmap = ctx.memmap;
  for (const [index, entry] of [...m.iPages.entries(0, Number.MAX_SAFE_INTEGER)]) {
    if (!isPageEntry(entry)) {
      m.iPages.erase(index);
      continue;
    }
    const pfn = handleToPfn(entry as PageHandle);
    if (!memmap.getPageUnlessZero(pfn)) continue;
    vmBugOn(!trylockPage(memmap, pfn), `xfs: page ${pfn} of evicted inode ${ip.ino} is locked`);
    truncateInodeFolio(ctx, m, pfn);
    unlockPage(memmap, pfn);
    memmap.putPage(pfn);
  }
}
