/**
 * The rmap side of page migration: replace every mapping of a page with a migration
 * entry, later turn those entries into mappings of the new page (or of the old one
 * again), and move `struct page` state from the old page to the new.
 *
 * @see mm/rmap.c try_to_migrate(), try_to_migrate_one(); mm/migrate.c
 *      remove_migration_ptes(), remove_migration_pte(), folio_migrate_mapping(),
 *      folio_migrate_flags(); mm/vmscan.c folio_isolate_lru(), folio_putback_lru();
 *      include/linux/rmap.h folio_try_share_anon_rmap_pte()
 *
 * mm-core's rmap has no migration entries, so migration owns them here. Pages are found
 * through `rmapWalk` (anon_vma or i_mmap at the page's index) and the PTE at the
 * address is matched by pfn, present or device-private. The LRU is the PG_lru bit
 * (mm-core keeps no LRU lists): isolating clears it and takes a reference.
 *
 * Simplified: anonymous pages only in `folioMigrateMapping` (page-cache pages would need
 * their XArray slot replaced; callers here never move them); no PMD migration entries.
 */
import {
  ERRNO,
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  PAGE_SIZE,
  PG_active,
  PG_anon_exclusive,
  PG_dirty,
  PG_lru,
  PG_referenced,
  PG_swapbacked,
  PG_unevictable,
  PG_uptodate,
  PG_workingset,
  flushTlbPage,
  folioAddAnonRmapPte,
  folioAddFileRmapPte,
  folioMarkDirty,
  folioMaybeDmaPinned,
  folioRemoveRmapPte,
  isDevicePrivatePage,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  pfnPte,
  pteDirty,
  ptePfn,
  ptePresent,
  pteMkdirty,
  pteMkwrite,
  pteMkyoung,
  pteWrite,
  rmapWalk,
  type Memmap,
  type Pfn,
  type PteVal,
  type VmContext,
} from "@pagelab/mm-core";
import {
  isDevicePrivateEntry,
  isMigrationEntry,
  isWritableDevicePrivateEntry,
  isWritableMigrationEntry,
  makeReadableDevicePrivateEntry,
  makeReadableMigrationEntry,
  makeWritableDevicePrivateEntry,
  makeWritableMigrationEntry,
  pfnSwapEntryToPfn,
} from "../zoneDevice/entries.js";

/** `folio_isolate_lru()`: take the page off the LRU with a reference; false if it was not on it. */
export function folioIsolateLru(memmap: Memmap, pfn: Pfn): boolean {
  if (!memmap.testAndClearPageFlag(pfn, PG_lru)) return false;
  memmap.pageRefInc(pfn);
  return true;
}

/** `folio_putback_lru()`: back on the LRU, dropping the isolation reference. */
export function folioPutbackLru(memmap: Memmap, pfn: Pfn): void {
  memmap.setPageFlag(pfn, PG_lru);
  memmap.putPage(pfn);
}

/**
 * `folio_try_share_anon_rmap_pte()`: an exclusive anonymous page about to lose its PTE
 * must stop being exclusive; impossible while it may be DMA-pinned (returns false).
 */
export function folioTryShareAnonRmapPte(ctx: VmContext, pfn: Pfn): boolean {
  if (folioMaybeDmaPinned(ctx, pfn)) return false;
  ctx.memmap.clearPageFlag(pfn, PG_anon_exclusive);
  return true;
}

/** Whether `v` maps `pfn`: a present PTE or a device-private entry. */
function entryMaps(v: PteVal, pfn: Pfn): "present" | "device" | null {
  if (ptePresent(v)) return ptePfn(v) === pfn ? "present" : null;
  return isDevicePrivateEntry(v) && pfnSwapEntryToPfn(v) === pfn ? "device" : null;
}

/**
 * `try_to_migrate()`: turn every remaining mapping of the (locked) page into a migration
 * entry, dropping each mapping's rmap and reference.
 */
export function tryToMigrate(ctx: VmContext, pfn: Pfn): void {
  const memmap = ctx.memmap;
  rmapWalk(ctx, pfn, (vma, address) => {
    const mm = vma.vmMm;
    const pt = mm.pgtables;
    const h = pt.pteOffset(address);
    if (h < 0) return true;
    const kind = entryMaps(pt.pteGet(h), pfn);
    if (!kind) return true;
    const range = mmuNotifierRangeInit(MMU_NOTIFY_CLEAR, MMU_NOTIFIER_RANGE_BLOCKABLE, mm, address, address + PAGE_SIZE, vma);
    mmuNotifierInvalidateRangeStart(range);
    const anonExclusive = memmap.folioTestAnon(pfn) && memmap.testPageFlag(pfn, PG_anon_exclusive);
    const old = pt.pteClear(h);
    if (kind === "present") flushTlbPage(mm, address);
    if (anonExclusive && !folioTryShareAnonRmapPte(ctx, pfn)) {
      pt.pteSet(h, old);
      mmuNotifierInvalidateRangeEnd(range);
      return false;
    }
    if (kind === "present" && pteDirty(old)) folioMarkDirty(ctx, pfn);
    const write = kind === "present" ? pteWrite(old) : isWritableDevicePrivateEntry(old);
    pt.pteSet(h, write ? makeWritableMigrationEntry(pfn) : makeReadableMigrationEntry(pfn));
    folioRemoveRmapPte(ctx, pfn);
    memmap.putPage(pfn);
    mmuNotifierInvalidateRangeEnd(range);
    return true;
  });
}

/**
 * `remove_migration_ptes(src, dst)`: every migration entry for `src` in the VMAs that map
 * `dst`'s (mapping, index) becomes a mapping of `dst`: a present PTE, or a device-private
 * entry when `dst` is device-private memory. Each takes a reference on `dst`.
 */
export function removeMigrationPtes(ctx: VmContext, src: Pfn, dst: Pfn): void {
  const memmap = ctx.memmap;
  const devicePrivate = isDevicePrivatePage(memmap, dst);
  rmapWalk(ctx, dst, (vma, address) => {
    const pt = vma.vmMm.pgtables;
    const h = pt.pteOffset(address);
    if (h < 0) return true;
    const v = pt.pteGet(h);
    if (!isMigrationEntry(v) || pfnSwapEntryToPfn(v) !== src) return true;
    memmap.pageRefInc(dst);
    const write = isWritableMigrationEntry(v);
    let entry: PteVal;
    if (devicePrivate) entry = write ? makeWritableDevicePrivateEntry(dst) : makeReadableDevicePrivateEntry(dst);
    else {
      entry = pteMkyoung(pfnPte(dst, vma.vmPageProt));
      if (write) {
        entry = pteMkwrite(entry);
        if (memmap.testPageFlag(dst, PG_dirty)) entry = pteMkdirty(entry);
      }
    }
    if (memmap.folioTestAnon(dst)) folioAddAnonRmapPte(ctx, dst, write);
    else folioAddFileRmapPte(ctx, dst);
    pt.pteSet(h, entry);
    return true;
  });
}

/**
 * `folio_migrate_mapping()` for an anonymous page: `dst` takes over `src`'s anon_vma and
 * index if `src` holds exactly the references migration expects. 0 or -EAGAIN.
 */
export function folioMigrateMapping(ctx: VmContext, dst: Pfn, src: Pfn, extraCount: number): number {
  const memmap = ctx.memmap;
  if (memmap.folioMapping(src) !== null) return -ERRNO.EBUSY;
  if (memmap.pageRefCount(src) !== 1 + extraCount) return -ERRNO.EAGAIN;
  memmap.setPageIndex(dst, memmap.pageIndex(src));
  memmap.setPageMappingRaw(dst, memmap.pageMapping(src));
  if (memmap.testPageFlag(src, PG_swapbacked)) memmap.setPageFlag(dst, PG_swapbacked);
  return 0;
}

const COPIED_FLAGS = [PG_uptodate, PG_referenced, PG_workingset] as const;
/** Bits the old page must lose (a freed page may not carry PG_active / PG_unevictable). */
const MOVED_FLAGS = [PG_dirty, PG_active, PG_unevictable] as const;

/** `folio_migrate_flags()`: the page-state bits that travel with the data. */
export function folioMigrateFlags(memmap: Memmap, dst: Pfn, src: Pfn): void {
  for (const bit of COPIED_FLAGS) if (memmap.testPageFlag(src, bit)) memmap.setPageFlag(dst, bit);
  for (const bit of MOVED_FLAGS) if (memmap.testAndClearPageFlag(src, bit)) memmap.setPageFlag(dst, bit);
}
