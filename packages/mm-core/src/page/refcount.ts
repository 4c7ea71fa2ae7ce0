/**
 * `_refcount` semantics: get/put, the last put freeing the page, and the ZONE_DEVICE rules
 * of Linux 6.12.
 *
 * @see include/linux/mm.h get_page(), put_page(), folio_put_refs(),
 *      put_devmap_managed_folio_refs(); include/linux/page_ref.h page_ref_add(),
 *      page_ref_sub_and_test(), page_ref_freeze(), page_ref_unfreeze();
 *      mm/memremap.c __put_devmap_managed_folio_refs(), free_zone_device_folio();
 *      mm/swap.c __folio_put(), __page_cache_release()
 *
 * DRAM: the put that reaches 0 clears the LRU state and hands the page to the allocator
 * (`memmap.freePageHook`, installed by the buddy allocator). MEMORY_DEVICE_FS_DAX pages
 * are idle at refcount 1: a put that brings one to 1 calls `memmap.onPageIdle(pfn)` (the
 * kernel's `wake_up_var(&folio->_refcount)` that `dax_layout_busy_page` waiters sleep on).
 * Every other ZONE_DEVICE type takes the normal path to 0 and then
 * `free_zone_device_folio()`: mapping cleared, `pgmap->ops->page_free()`, and the refcount
 * reset to 1 — except device-private and device-coherent pages, which stay at 0 and drop
 * their pgmap reference until `zoneDevicePageInit()` hands them out again. A put below zero
 * (or an FS_DAX put below its idle 1) is a KernelBug with the page dumped.
 */
import type { Pfn } from "../types.js";
import { PG_active, PG_anon_exclusive, PG_lru, PG_mlocked, PG_unevictable } from "./flags.js";
import type { Memmap } from "./memmap.js";
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_PRIVATE, putDevPagemap } from "./memremap.js";

const REFCOUNT_MAX = 0x7fffffff;

/** `get_page()` / `folio_get()`. */
export function getPage(mm: Memmap, pfn: number): void {
  const c = mm.pageRefCount(pfn);
  if (c <= 0 || c >= REFCOUNT_MAX) mm.bug(pfn, "VM_BUG_ON_PAGE(page_ref_zero_or_close_to_overflow(page))");
  mm.setPageCount(pfn, c + 1);
}

/** `page_ref_add()`. */
export function pageRefAdd(mm: Memmap, pfn: number, n: number): void {
  const c = mm.pageRefCount(pfn) + n;
  if (c > REFCOUNT_MAX) mm.bug(pfn, "page refcount overflow");
  if (c < 0) mm.bug(pfn, "page refcount underflow");
  mm.setPageCount(pfn, c);
}

/** `page_ref_sub_and_test()`. */
export function pageRefSubAndTest(mm: Memmap, pfn: number, n: number): boolean {
  const c = mm.pageRefCount(pfn) - n;
  if (c < 0) mm.bug(pfn, "page refcount underflow");
  mm.setPageCount(pfn, c);
  return c === 0;
}

/** `folio_try_get()`: take a reference unless the page is free. */
export function getPageUnlessZero(mm: Memmap, pfn: number): boolean {
  const c = mm.pageRefCount(pfn);
  if (c === 0) return false;
  mm.setPageCount(pfn, c + 1);
  return true;
}

export function pageRefFreeze(mm: Memmap, pfn: number, count: number): boolean {
  if (mm.pageRefCount(pfn) !== count) return false;
  mm.setPageCount(pfn, 0);
  return true;
}

export function pageRefUnfreeze(mm: Memmap, pfn: number, count: number): void {
  if (count === 0 || mm.pageRefCount(pfn) !== 0) mm.bug(pfn, "VM_BUG_ON_PAGE(page_count(page) != 0)");
  mm.setPageCount(pfn, count);
}

/**
 * `put_devmap_managed_folio_refs()`: FS_DAX pages are 1-based; returns whether the put was
 * handled here.
 */
export function putDevmapManagedFolioRefs(mm: Memmap, pfn: number, refs: number): boolean {
  if (!mm.isZoneDevicePage(pfn)) return false;
  if (mm.pagePgmap(pfn)?.type !== MEMORY_DEVICE_FS_DAX) return false;
  const c = mm.pageRefCount(pfn) - refs;
  if (c < 1) mm.bug(pfn, "VM_BUG_ON_PAGE(fsdax page put below its idle refcount of 1)");
  mm.setPageCount(pfn, c);
  if (c === 1) mm.onPageIdle?.(pfn as Pfn);
  return true;
}

/** `put_page()` (`refs` = 1) and `folio_put_refs()` via the devmap hook, as `gup_put_folio()`. */
export function putPageRefs(mm: Memmap, pfn: number, refs: number): void {
  if (putDevmapManagedFolioRefs(mm, pfn, refs)) return;
  const c = mm.pageRefCount(pfn);
  if (c === 0) mm.bug(pfn, "VM_BUG_ON_PAGE(page_ref_count(page) == 0)");
  if (c < refs) mm.bug(pfn, "page refcount underflow");
  mm.setPageCount(pfn, c - refs);
  if (c - refs === 0) folioPut(mm, pfn);
}

/** `__folio_put()` of a single page whose count reached zero. */
function folioPut(mm: Memmap, pfn: number): void {
  if (mm.isZoneDevicePage(pfn)) {
    freeZoneDeviceFolio(mm, pfn);
    return;
  }
  // __page_cache_release(): off the LRU, and no longer mlocked.
  if (mm.testAndClearPageFlag(pfn, PG_lru)) {
    mm.clearPageFlag(pfn, PG_active);
    mm.clearPageFlag(pfn, PG_unevictable);
  }
  mm.clearPageFlag(pfn, PG_mlocked);
  if (mm.freePageHook) mm.freePageHook(pfn as Pfn);
  else mm.warnOnce("no-allocator", `page 0x${pfn.toString(16)} freed with no page allocator installed`);
}

/** `free_zone_device_folio()`. */
export function freeZoneDeviceFolio(mm: Memmap, pfn: number): void {
  const pgmap = mm.pagePgmap(pfn);
  if (!pgmap?.ops?.pageFree) {
    mm.warnOnce(`free_zone_device_folio:${pfn}`, "WARNING: free_zone_device_folio: !pgmap->ops->page_free");
    return;
  }
  if (mm.folioTestAnon(pfn)) mm.clearPageFlag(pfn, PG_anon_exclusive);
  mm.setPageMappingRaw(pfn, 0);
  pgmap.ops.pageFree(pfn as Pfn);
  if (pgmap.type !== MEMORY_DEVICE_PRIVATE && pgmap.type !== MEMORY_DEVICE_COHERENT) mm.setPageCount(pfn, 1);
  else putDevPagemap(pgmap);
}
