/**
 * Migrating anonymous memory between system RAM and device memory: collect the pages of
 * a range and unmap them into migration entries (`migrate_vma_setup`), let the driver
 * allocate destination pages and copy, move struct page state (`migrate_vma_pages`),
 * then map the new pages or restore the old ones (`migrate_vma_finalize`). The device
 * side (`migrate_device_range`) evicts device pages by pfn, without knowing the VMAs.
 *
 * @see mm/migrate_device.c migrate_vma_setup(), migrate_vma_collect(),
 *      migrate_vma_collect_pmd(), migrate_vma_collect_hole(), migrate_vma_check_page(),
 *      migrate_device_unmap(), migrate_vma_insert_page(), __migrate_device_pages(),
 *      migrate_vma_pages(), __migrate_device_finalize(), migrate_vma_finalize(),
 *      migrate_device_range(), migrate_device_pfns(), migrate_device_pages(),
 *      migrate_device_finalize(); include/linux/migrate.h struct migrate_vma
 *
 * Results are the kernel's ints (0 or -EINVAL). The caller holds mmap_lock for reading
 * from setup to finalize. Between setup and finalize the source pages are locked and
 * the CPU page table holds migration entries; a CPU fault on one waits for the page lock
 * (mm-core's fault path retries) — drivers here do not sleep in between.
 *
 * Simplified: no THP (PMD leaves in the range are skipped rather than split), no
 * userfaultfd, no memcg charge; device-coherent destinations are mapped like system pages.
 */
import {
  ERRNO,
  MMU_NOTIFY_MIGRATE,
  PAGE_SIZE,
  PMD_SIZE,
  PG_locked,
  PG_lru,
  PG_uptodate,
  PG_writeback,
  VM_HUGETLB,
  VM_SPECIAL,
  VM_WRITE,
  anonVmaPrepare,
  flushTlbPage,
  folioAddNewAnonRmap,
  folioMarkDirty,
  folioRemoveRmapPte,
  isDevicePrivatePage,
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
  pfnPte,
  pmdLeaf,
  pmdNone,
  pteDirty,
  pteMkdirty,
  pteMkwrite,
  pteNone,
  ptePfn,
  ptePresent,
  pteWrite,
  trylockPage,
  unlockPage,
  vmBugOn,
  vmNormalPage,
  vmaIsAnonymous,
  KernelBug,
  PG_anon_exclusive,
  type Pfn,
  type PteVal,
  type VmAreaStruct,
  type VmContext,
} from "@pagelab/mm-core";
import { isDeviceCoherentPage } from "../zoneDevice/types.js";
import {
  isDevicePrivateEntry,
  isWritableDevicePrivateEntry,
  makeReadableDevicePrivateEntry,
  makeReadableMigrationEntry,
  makeWritableDevicePrivateEntry,
  makeWritableMigrationEntry,
  pfnSwapEntryToPfn,
} from "../zoneDevice/entries.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  migratePfn,
  migratePfnClear,
  migratePfnHas,
  migratePfnToPage,
} from "./migratePfn.js";
import {
  folioIsolateLru,
  folioMigrateFlags,
  folioMigrateMapping,
  folioPutbackLru,
  folioTryShareAnonRmapPte,
  removeMigrationPtes,
  tryToMigrate,
} from "./migrateRmap.js";

/** `struct migrate_vma`. `src`/`dst` hold migrate pfns (see migratePfn.ts). */
export interface MigrateVma {
  vma: VmAreaStruct;
  /** Filled by the driver: destination pages (locked) with MIGRATE_PFN_VALID. */
  dst: Float64Array;
  /** Filled by setup: the source pages and their MIGRATE_PFN_* state. */
  src: Float64Array;
  /** Pages that can be migrated (after setup). */
  cpages: number;
  npages: number;
  start: number;
  end: number;
  /** Owner of device pages to select, and passed to the MMU_NOTIFY_MIGRATE notifier. */
  pgmapOwner: unknown;
  /** MIGRATE_VMA_SELECT_*. */
  flags: number;
  /** The device-private page whose CPU fault started this migration (locked), or null. */
  faultPage: Pfn | null;
}

/** Work done, for cost reports. */
export const migrateStats = { collected: 0, migrated: 0, restored: 0, inserted: 0 };

const EINVAL = -ERRNO.EINVAL;

/** `vma_is_dax()`. */
export function vmaIsDax(vma: VmAreaStruct): boolean {
  return vma.mapping?.isDax === true;
}

function push(m: MigrateVma, mpfn: number): void {
  m.dst[m.npages] = 0;
  m.src[m.npages++] = mpfn;
}

/** `migrate_vma_collect_hole()` / `migrate_vma_collect_skip()` for [start, end). */
function collectHole(m: MigrateVma, start: number, end: number): void {
  const anon = vmaIsAnonymous(m.vma);
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    if (anon) {
      push(m, MIGRATE_PFN_MIGRATE);
      m.cpages++;
    } else push(m, 0);
  }
}

/** `migrate_vma_collect_pmd()`'s per-PTE body: the mpfn for one address. */
function collectPte(m: MigrateVma, ctx: VmContext, h: number, addr: number): { mpfn: number; unmapped: boolean } {
  const vma = m.vma;
  const mm = vma.vmMm;
  const pt = mm.pgtables;
  const memmap = ctx.memmap;
  const pte = pt.pteGet(h);
  if (pteNone(pte)) {
    if (!vmaIsAnonymous(vma)) return { mpfn: 0, unmapped: false };
    m.cpages++;
    return { mpfn: MIGRATE_PFN_MIGRATE, unmapped: false };
  }
  let page: Pfn | null;
  let mpfn: number;
  if (!ptePresent(pte)) {
    // Only device-private entries can be migrated; other swap-format entries are skipped.
    if (!isDevicePrivateEntry(pte)) return { mpfn: 0, unmapped: false };
    page = pfnSwapEntryToPfn(pte);
    if (!(m.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) || memmap.pagePgmap(page)?.owner !== m.pgmapOwner)
      return { mpfn: 0, unmapped: false };
    mpfn = migratePfn(page) + MIGRATE_PFN_MIGRATE;
    if (isWritableDevicePrivateEntry(pte)) mpfn += MIGRATE_PFN_WRITE;
  } else {
    const pfn = ptePfn(pte);
    if (ctx.isZeroPfn(pfn) && m.flags & MIGRATE_VMA_SELECT_SYSTEM) {
      m.cpages++;
      return { mpfn: MIGRATE_PFN_MIGRATE, unmapped: false };
    }
    page = vmNormalPage(vma, pte);
    if (page !== null && !memmap.isZoneDevicePage(page) && !(m.flags & MIGRATE_VMA_SELECT_SYSTEM))
      return { mpfn: 0, unmapped: false };
    if (
      page !== null &&
      isDeviceCoherentPage(memmap, page) &&
      (!(m.flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT) || memmap.pagePgmap(page)?.owner !== m.pgmapOwner)
    )
      return { mpfn: 0, unmapped: false };
    mpfn = migratePfn(pfn) + MIGRATE_PFN_MIGRATE + (pteWrite(pte) ? MIGRATE_PFN_WRITE : 0);
  }
  if (page === null || memmap.pageMapping(page) === 0) return { mpfn: 0, unmapped: false };

  // The reference pins the page (and so the PTE) until unmap decides its fate.
  memmap.pageRefInc(page);
  if (m.faultPage !== page && !trylockPage(memmap, page)) {
    memmap.putPage(page);
    return { mpfn: 0, unmapped: false };
  }
  const anonExclusive = memmap.folioTestAnon(page) && memmap.testPageFlag(page, PG_anon_exclusive);
  const old = pt.pteClear(h);
  if (anonExclusive && !folioTryShareAnonRmapPte(ctx, page)) {
    pt.pteSet(h, old);
    if (m.faultPage !== page) unlockPage(memmap, page);
    memmap.putPage(page);
    return { mpfn: 0, unmapped: false };
  }
  m.cpages++;
  if (ptePresent(old) && pteDirty(old)) folioMarkDirty(ctx, page);
  pt.pteSet(h, migratePfnHas(mpfn, MIGRATE_PFN_WRITE) ? makeWritableMigrationEntry(page) : makeReadableMigrationEntry(page));
  // Like an unmap: the PTE's rmap and reference go; ours keeps the page alive.
  folioRemoveRmapPte(ctx, page);
  memmap.putPage(page);
  migrateStats.collected++;
  return { mpfn, unmapped: ptePresent(old) };
}

/** `migrate_vma_collect()`: walk [start, end) under an MMU_NOTIFY_MIGRATE invalidation. */
function migrateVmaCollect(m: MigrateVma): void {
  const mm = m.vma.vmMm;
  const ctx = mm.ctx;
  const pt = mm.pgtables;
  // The owner lets the driver skip invalidating its own device-private mappings.
  const range = mmuNotifierRangeInit(MMU_NOTIFY_MIGRATE, 0, mm, m.start, m.end, null, m.pgmapOwner);
  mmuNotifierInvalidateRangeStart(range);
  for (let a = m.start; a < m.end; ) {
    const e = Math.min(m.end, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE);
    const pmd = pt.pmdAt(a);
    if (pmdNone(pmd)) collectHole(m, a, e);
    else if (pmdLeaf(pmd)) for (let addr = a; addr < e; addr += PAGE_SIZE) push(m, 0);
    else {
      let unmapped = 0;
      for (let addr = a, h = pt.pteOffset(a); addr < e; addr += PAGE_SIZE, h++) {
        const r = collectPte(m, ctx, h, addr);
        if (r.unmapped) unmapped++;
        push(m, r.mpfn);
      }
      if (unmapped) flushTlbPage(mm, a, e - a);
    }
    a = e;
  }
  mmuNotifierInvalidateRangeEnd(range);
  m.end = m.start + m.npages * PAGE_SIZE;
}

/**
 * `migrate_vma_check_page()`: nobody but the mappings and migration holds the page
 * (a pin or a GUP reference makes it unmigratable).
 */
function migrateVmaCheckPage(ctx: VmContext, page: Pfn, faultPage: Pfn | null): boolean {
  const memmap = ctx.memmap;
  let extra = 1 + (page === faultPage ? 1 : 0);
  if (memmap.isZoneDevicePage(page)) extra++;
  if (memmap.folioMapping(page) !== null) extra += 1;
  return memmap.pageRefCount(page) - extra <= memmap.pageMapcount(page);
}

/**
 * `migrate_device_unmap()`: isolate each collected system page from the LRU, unmap what
 * is still mapped elsewhere, and give back (remap, unlock, put) every page that cannot
 * move. Returns how many entries remain migrating.
 */
export function migrateDeviceUnmap(ctx: VmContext, src: Float64Array, npages: number, faultPage: Pfn | null): number {
  const memmap = ctx.memmap;
  let restore = 0;
  let unmapped = 0;
  for (let i = 0; i < npages; i++) {
    const page = migratePfnToPage(src[i]!);
    if (page === null) {
      if (migratePfnHas(src[i]!, MIGRATE_PFN_MIGRATE)) unmapped++;
      continue;
    }
    const device = memmap.isZoneDevicePage(page);
    if (!device) {
      if (!folioIsolateLru(memmap, page)) {
        src[i] = migratePfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
        restore++;
        continue;
      }
      memmap.putPage(page); // the collect reference; isolation holds one now
    }
    if (memmap.pageMapped(page)) tryToMigrate(ctx, page);
    if (memmap.pageMapped(page) || !migrateVmaCheckPage(ctx, page, faultPage)) {
      if (!device) {
        memmap.pageRefInc(page);
        folioPutbackLru(memmap, page);
      }
      src[i] = migratePfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      restore++;
      continue;
    }
    unmapped++;
  }
  for (let i = 0; i < npages && restore; i++) {
    const page = migratePfnToPage(src[i]!);
    if (page === null || migratePfnHas(src[i]!, MIGRATE_PFN_MIGRATE)) continue;
    removeMigrationPtes(ctx, page, page);
    src[i] = 0;
    if (page !== faultPage) unlockPage(memmap, page);
    memmap.putPage(page);
    migrateStats.restored++;
    restore--;
  }
  return unmapped;
}

/**
 * `migrate_vma_setup()`: collect and unmap the pages of [start, end). Returns 0 (then
 * `src[i]` says, per page, whether it may be migrated) or -EINVAL for a bad range or
 * a VMA that cannot be migrated: hugetlb, VM_SPECIAL, or DAX (`vma_is_dax`).
 */
export function migrateVmaSetup(args: MigrateVma): number {
  const nrPages = (args.end - args.start) / PAGE_SIZE;
  args.start -= args.start % PAGE_SIZE;
  args.end -= args.end % PAGE_SIZE;
  const vma = args.vma;
  if (!vma || vma.vmFlags & VM_HUGETLB || vma.vmFlags & VM_SPECIAL || vmaIsDax(vma)) return EINVAL;
  if (!(nrPages > 0)) return EINVAL;
  if (args.start < vma.vmStart || args.start >= vma.vmEnd) return EINVAL;
  if (args.end <= vma.vmStart || args.end > vma.vmEnd) return EINVAL;
  if (args.src.length < nrPages || args.dst.length < nrPages) return EINVAL;
  const memmap = vma.vmMm.ctx.memmap;
  if (args.faultPage !== null && !isDevicePrivatePage(memmap, args.faultPage)) return EINVAL;
  if (args.faultPage !== null && !memmap.testPageFlag(args.faultPage, PG_locked)) return EINVAL;
  args.src.fill(0, 0, Math.ceil(nrPages));
  args.cpages = 0;
  args.npages = 0;
  migrateVmaCollect(args);
  if (args.cpages) args.cpages = migrateDeviceUnmap(vma.vmMm.ctx, args.src, args.npages, args.faultPage);
  return 0;
}

/**
 * `migrate_vma_insert_page()`: map a new page where nothing (or the zero page) was, as
 * do_anonymous_page would, but with a device page. Returns the new src entry.
 */
function migrateVmaInsertPage(m: MigrateVma, addr: number, page: Pfn, src: number): number {
  const vma = m.vma;
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  const memmap = ctx.memmap;
  const pt = mm.pgtables;
  const abort = migratePfnClear(src, MIGRATE_PFN_MIGRATE);
  if (!vmaIsAnonymous(vma)) return abort;
  if (pmdLeaf(pt.pmdAt(addr))) return abort;
  const h = pt.pteAlloc(addr);
  if (h < 0) return abort;
  anonVmaPrepare(vma);
  memmap.setPageFlag(page, PG_uptodate);
  let entry: PteVal;
  if (isDevicePrivatePage(memmap, page)) {
    entry = vma.vmFlags & VM_WRITE ? makeWritableDevicePrivateEntry(page) : makeReadableDevicePrivateEntry(page);
  } else {
    if (memmap.isZoneDevicePage(page) && !isDeviceCoherentPage(memmap, page)) {
      memmap.warnOnce("migrate_vma_insert_page", "Unsupported ZONE_DEVICE page type.");
      return abort;
    }
    entry = pfnPte(page, vma.vmPageProt);
    if (vma.vmFlags & VM_WRITE) entry = pteMkwrite(pteMkdirty(entry));
  }
  const orig = pt.pteGet(h);
  let flush = false;
  if (ptePresent(orig)) {
    if (!ctx.isZeroPfn(ptePfn(orig))) return abort;
    flush = true;
  } else if (!pteNone(orig)) return abort;
  mm.rss.anon++;
  folioAddNewAnonRmap(ctx, page, vma, addr);
  if (!memmap.isZoneDevicePage(page)) memmap.setPageFlag(page, PG_lru);
  memmap.pageRefInc(page);
  if (flush) {
    pt.pteClear(h);
    flushTlbPage(mm, addr);
  }
  pt.pteSet(h, entry);
  migrateStats.inserted++;
  return MIGRATE_PFN_MIGRATE;
}

/** `__migrate_device_pages()`: move struct page state from each src to its dst. */
function migrateDevicePagesCommon(ctx: VmContext, src: Float64Array, dst: Float64Array, npages: number, m: MigrateVma | null): void {
  const memmap = ctx.memmap;
  let range: ReturnType<typeof mmuNotifierRangeInit> | null = null;
  for (let i = 0; i < npages; i++) {
    const newpage = migratePfnToPage(dst[i]!);
    const page = migratePfnToPage(src[i]!);
    if (newpage === null) {
      src[i] = migratePfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      continue;
    }
    if (page === null) {
      if (!migratePfnHas(src[i]!, MIGRATE_PFN_MIGRATE)) continue;
      if (!m) throw new KernelBug("migrate_device_pages: a hole to fill without a migrate_vma");
      const addr = m.start + i * PAGE_SIZE;
      if (!range) {
        range = mmuNotifierRangeInit(MMU_NOTIFY_MIGRATE, 0, m.vma.vmMm, addr, m.end, null, m.pgmapOwner);
        mmuNotifierInvalidateRangeStart(range);
      }
      src[i] = migrateVmaInsertPage(m, addr, newpage, src[i]!);
      continue;
    }
    const mapping = memmap.folioMapping(page);
    if (isDevicePrivatePage(memmap, newpage) || isDeviceCoherentPage(memmap, newpage)) {
      // Only anonymous memory may move to device memory.
      if (mapping !== null) {
        src[i] = migratePfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
        continue;
      }
    } else if (memmap.isZoneDevicePage(newpage)) {
      src[i] = migratePfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      continue;
    }
    vmBugOn(memmap.testPageFlag(page, PG_writeback), "BUG_ON(folio_test_writeback(folio))", () => memmap.dumpPage(page));
    const extra = m && m.faultPage === page ? 1 : 0;
    if (folioMigrateMapping(ctx, newpage, page, extra) !== 0) src[i] = migratePfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
    else {
      folioMigrateFlags(memmap, newpage, page);
      migrateStats.migrated++;
    }
  }
  if (range) mmuNotifierInvalidateRangeEnd(range);
}

/** `migrate_vma_pages()`. */
export function migrateVmaPages(m: MigrateVma): void {
  migrateDevicePagesCommon(m.vma.vmMm.ctx, m.src, m.dst, m.npages, m);
}

/** `migrate_device_pages()`: the same, for `migrateDeviceRange()` callers. */
export function migrateDevicePages(ctx: VmContext, src: Float64Array, dst: Float64Array, npages: number): void {
  migrateDevicePagesCommon(ctx, src, dst, npages, null);
}

/** `__migrate_device_finalize()`: map the new pages (or the old ones again) and release. */
function migrateDeviceFinalizeCommon(ctx: VmContext, src: Float64Array, dst: Float64Array, npages: number, faultPage: Pfn | null): void {
  const memmap = ctx.memmap;
  for (let i = 0; i < npages; i++) {
    let newp = migratePfnToPage(dst[i]!);
    const page = migratePfnToPage(src[i]!);
    if (page === null) {
      if (newp !== null) {
        unlockPage(memmap, newp);
        memmap.putPage(newp);
      }
      continue;
    }
    if (!migratePfnHas(src[i]!, MIGRATE_PFN_MIGRATE) || newp === null) {
      if (newp !== null) {
        unlockPage(memmap, newp);
        memmap.putPage(newp);
      }
      newp = page;
    }
    if (!memmap.isZoneDevicePage(newp)) memmap.setPageFlag(newp, PG_lru);
    removeMigrationPtes(ctx, page, newp);
    if (page !== faultPage) unlockPage(memmap, page);
    // A system page was isolated (PG_lru clear): its isolation reference goes now.
    memmap.putPage(page);
    if (newp !== page) {
      unlockPage(memmap, newp);
      memmap.putPage(newp);
    }
  }
}

/** `migrate_vma_finalize()`. */
export function migrateVmaFinalize(m: MigrateVma): void {
  migrateDeviceFinalizeCommon(m.vma.vmMm.ctx, m.src, m.dst, m.npages, m.faultPage);
}

/** `migrate_device_finalize()`. */
export function migrateDeviceFinalize(ctx: VmContext, src: Float64Array, dst: Float64Array, npages: number): void {
  migrateDeviceFinalizeCommon(ctx, src, dst, npages, null);
}

/** `migrate_device_pfn_lock()`: a referenced, locked page, or 0 if free or busy. */
function migrateDevicePfnLock(ctx: VmContext, pfn: number): number {
  const memmap = ctx.memmap;
  if (!memmap.getPageUnlessZero(pfn)) return 0;
  if (!trylockPage(memmap, pfn)) {
    memmap.putPage(pfn);
    return 0;
  }
  return migratePfn(pfn) + MIGRATE_PFN_MIGRATE;
}

/**
 * `migrate_device_range()`: start evicting device pages [start, start + npages) without
 * knowing where they are mapped; then `migrateDevicePages` and `migrateDeviceFinalize`.
 */
export function migrateDeviceRange(ctx: VmContext, src: Float64Array, start: Pfn, npages: number): number {
  for (let i = 0; i < npages; i++) src[i] = migrateDevicePfnLock(ctx, start + i);
  migrateDeviceUnmap(ctx, src, npages, null);
  return 0;
}

/** `migrate_device_pfns()`: the same for a pre-filled list of pfns in `src`. */
export function migrateDevicePfns(ctx: VmContext, src: Float64Array, npages: number): number {
  for (let i = 0; i < npages; i++) src[i] = migrateDevicePfnLock(ctx, src[i]!);
  migrateDeviceUnmap(ctx, src, npages, null);
  return 0;
}

/** An empty `struct migrate_vma` for [start, end) of `vma`, with src/dst arrays sized to fit. */
export function migrateVmaInit(
  vma: VmAreaStruct,
  start: number,
  end: number,
  opts: { pgmapOwner: unknown; flags: number; faultPage?: Pfn | null },
): MigrateVma {
  const n = Math.max(0, Math.ceil((end - start) / PAGE_SIZE));
  return {
    vma,
    src: new Float64Array(n),
    dst: new Float64Array(n),
    cpages: 0,
    npages: 0,
    start,
    end,
    pgmapOwner: opts.pgmapOwner,
    flags: opts.flags,
    faultPage: opts.faultPage ?? null,
  };
}

