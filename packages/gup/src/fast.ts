/**
 * GUP-fast: take pages straight from current's page tables without mmap_lock, and hand
 * whatever it cannot do to the slow path.
 *
 * @see mm/gup.c gup_fast(), gup_fast_fallback(), gup_fast_pte_range(),
 *      gup_fast_pmd_leaf(), gup_fast_pud_leaf(), gup_fast_devmap_leaf(), gup_fast_folio_allowed(),
 *      try_grab_folio_fast(), try_get_folio(), gup_fast_undo_dev_pagemap(),
 *      get_user_pages_fast(), get_user_pages_fast_only(), pin_user_pages_fast();
 *      include/linux/mm.h folio_is_longterm_pinnable()
 *
 * The lockless walk bails out (leaving the rest to the slow path) at anything that would
 * need a fault or a VMA: a missing or PROT_NONE entry, a write to a read-only entry, a
 * special entry (zero page, raw PFN), a devmap entry with FOLL_LONGTERM, a R/O pin of a
 * shared anonymous page, a long-term write pin of a non-shmem file page. Pins check
 * `mm->write_protect_seq` around the walk, as fork() write-protects concurrently. The walk
 * never sleeps, so re-reading the entry after the grab always matches here.
 */
import {
  GUP_PIN_COUNTING_BIAS, KernelError, MEMORY_DEVICE_COHERENT, PAGE_MAPPING_ANON, PAGE_MAPPING_FLAGS, PAGE_SIZE, PMD_SIZE, PUD_SIZE, PG_referenced,
  PG_swapbacked, TASK_SIZE, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_USER, current, errnoName, getDevPagemap,
  handleToPfn, pfnToHandle, pmdDevmap, pmdLeaf, pmdPfn, ptePfn, pteBits, pteDevmap, pteSpecial, pteWrite, putDevPagemap, taskMm,
  pudDevmap, pudLeaf, pudPfn,
  type DevPagemap, type MmStruct, type PageHandle, type Pfn, type PteVal, type Sleepable, type VmContext,
} from "@pagelab/mm-core";
import { gupState } from "./config.js";
import { gupMustUnshare } from "./follow.js";
import {
  FOLL_FAST_ONLY, FOLL_FORCE, FOLL_GET, FOLL_HONOR_NUMA_FAULT, FOLL_LONGTERM, FOLL_NOFAULT, FOLL_PCI_P2PDMA,
  FOLL_PIN, FOLL_TOUCH, FOLL_UNLOCKABLE, FOLL_WRITE, isValidGupArgs,
} from "./foll.js";
import { gupPutFolio } from "./grab.js";
import { gupLongtermLocked, mmSetHasPinnedFlag, type GupResult } from "./gup.js";

const FAST_FLAGS =
  FOLL_WRITE | FOLL_LONGTERM | FOLL_FORCE | FOLL_PIN | FOLL_GET | FOLL_FAST_ONLY | FOLL_NOFAULT | FOLL_PCI_P2PDMA |
  FOLL_HONOR_NUMA_FAULT;

/** `pte_access_permitted()`: present to the MMU, user, and writable for a write. */
function accessPermitted(v: PteVal, write: boolean): boolean {
  const bits = pteBits(v);
  if ((bits & (_PAGE_PRESENT | _PAGE_USER)) !== (_PAGE_PRESENT | _PAGE_USER)) return false;
  return !write || (bits & _PAGE_RW) !== 0;
}

function protnone(v: PteVal): boolean {
  const bits = pteBits(v);
  return (bits & _PAGE_PROTNONE) !== 0 && (bits & _PAGE_PRESENT) === 0;
}

/** `folio_is_longterm_pinnable()` (6.12): device-coherent memory must stay migratable. */
export function folioIsLongtermPinnable(ctx: VmContext, pfn: Pfn): boolean {
  const memmap = ctx.memmap;
  if (ctx.isZeroPfn(pfn)) return true;
  return !(memmap.isZoneDevicePage(pfn) && memmap.pagePgmap(pfn)?.type === MEMORY_DEVICE_COHERENT);
}

/** `try_grab_folio_fast()`: like try_grab_folio, but the page may be freed under us. */
function tryGrabFolioFast(ctx: VmContext, pfn: Pfn, flags: number): boolean {
  const memmap = ctx.memmap;
  if ((flags & (FOLL_GET | FOLL_PIN)) === 0) {
    ctx.dmesg.warnOnOnce(true, "mm/gup.c try_grab_folio_fast");
    return false;
  }
  const stats = gupState(ctx).stats;
  if (flags & FOLL_GET) {
    if (!memmap.getPageUnlessZero(pfn)) return false;
    stats.refsTaken++;
    return true;
  }
  if (ctx.isZeroPfn(pfn)) return true;
  if (!memmap.getPageUnlessZero(pfn)) return false;
  if (flags & FOLL_LONGTERM && !folioIsLongtermPinnable(ctx, pfn)) {
    memmap.putPageRefs(pfn, 1);
    return false;
  }
  memmap.pageRefAdd(pfn, GUP_PIN_COUNTING_BIAS - 1);
  stats.pinsAcquired++;
  return true;
}

/** `gup_fast_folio_allowed()`: long-term write pins only of anonymous and shmem pages. */
function gupFastFolioAllowed(ctx: VmContext, pfn: Pfn, flags: number): boolean {
  if ((flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) !== (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) return true;
  const raw = ctx.memmap.pageMapping(pfn);
  if (raw === 0) return false;
  if (raw & PAGE_MAPPING_FLAGS) return (raw & PAGE_MAPPING_ANON) !== 0;
  return ctx.memmap.testPageFlag(pfn, PG_swapbacked); // shmem_mapping()
}

interface FastWalk {
  readonly ctx: VmContext;
  readonly flags: number;
  readonly pages: PageHandle[];
  pgmap: DevPagemap | null;
}

function devPagemapFor(w: FastWalk, pfn: Pfn): DevPagemap | null {
  if (w.pgmap?.live && w.pgmap.pfnValid(pfn)) return w.pgmap;
  if (w.pgmap) putDevPagemap(w.pgmap);
  w.pgmap = getDevPagemap(w.ctx.memmap, pfn) ?? null;
  return w.pgmap;
}

/** One page of `gup_fast_pte_range()` / `gup_fast_devmap_leaf()`: false stops the walk. */
function gupFastOne(w: FastWalk, mm: MmStruct, addr: number): boolean {
  const { ctx, flags } = w;
  const write = (flags & FOLL_WRITE) !== 0;
  const pt = mm.pgtables;
  const pud = pt.pudAt(addr);
  const pmd = pudLeaf(pud) ? pud : pt.pmdAt(addr);
  if (!(pteBits(pmd) & (_PAGE_PRESENT | _PAGE_PROTNONE))) return false;
  let pfn: Pfn;
  let entry: PteVal;
  if (pudLeaf(pud)) {
    // gup_fast_pud_leaf() / gup_fast_devmap_pud_leaf()
    if (protnone(pud) || !accessPermitted(pud, write)) return false;
    if (!pudDevmap(pud)) return false;
    if (flags & FOLL_LONGTERM) return false;
    pfn = (pudPfn(pud) + Math.floor((addr % PUD_SIZE) / PAGE_SIZE)) as Pfn;
    if (!devPagemapFor(w, pfn)) return false;
    entry = pud;
  } else if (pmdLeaf(pmd)) {
    if (protnone(pmd) || !accessPermitted(pmd, write)) return false;
    if (!pmdDevmap(pmd)) return false; // a raw PFN PMD: no struct page
    if (flags & FOLL_LONGTERM) return false;
    pfn = (pmdPfn(pmd) + Math.floor((addr % PMD_SIZE) / PAGE_SIZE)) as Pfn;
    if (!devPagemapFor(w, pfn)) return false;
    entry = pmd;
  } else {
    entry = pt.pteAt(addr);
    if (protnone(entry) || !accessPermitted(entry, write)) return false;
    pfn = ptePfn(entry);
    if (pteDevmap(entry)) {
      if (flags & FOLL_LONGTERM) return false;
      if (!devPagemapFor(w, pfn)) return false;
    } else if (pteSpecial(entry)) return false;
  }
  if (!ctx.memmap.pfnValid(pfn)) return false;
  if (!tryGrabFolioFast(ctx, pfn, flags)) return false;
  if (!gupFastFolioAllowed(ctx, pfn, flags) || (!pteWrite(entry) && gupMustUnshare(ctx, null, flags, pfn))) {
    gupPutFolio(ctx, pfn, 1, flags);
    return false;
  }
  ctx.memmap.setPageFlag(pfn, PG_referenced);
  w.pages.push(pfnToHandle(pfn));
  return true;
}

/** `gup_fast()`: pages taken from the start of [start, end) until the first bail-out. */
function gupFast(mm: MmStruct, start: number, end: number, flags: number, pages: PageHandle[]): number {
  const seq = mm.writeProtectSeq;
  if (flags & FOLL_PIN && seq % 2 !== 0) return 0;
  const w: FastWalk = { ctx: mm.ctx, flags, pages, pgmap: null };
  const before = pages.length;
  for (let addr = start; addr < end; addr += PAGE_SIZE) if (!gupFastOne(w, mm, addr)) break;
  if (w.pgmap) putDevPagemap(w.pgmap);
  const nr = pages.length - before;
  if (flags & FOLL_PIN && mm.writeProtectSeq !== seq) {
    for (const h of pages.splice(before)) gupPutFolio(mm.ctx, handleToPfn(h), 1, FOLL_PIN);
    return 0;
  }
  gupState(mm.ctx).stats.fastPages += nr;
  return nr;
}

function rangeEnd(start: number, nrPages: number): number {
  const end = start + nrPages * PAGE_SIZE;
  if (!Number.isSafeInteger(end)) throw new KernelError("EOVERFLOW", "gup_fast: range overflows");
  if (end > TASK_SIZE) throw new KernelError("EFAULT", "gup_fast: range beyond TASK_SIZE");
  return end;
}

function checkFastFlags(mm: MmStruct, flags: number): void {
  if (flags & ~FAST_FLAGS) {
    mm.ctx.dmesg.warnOnOnce(true, "mm/gup.c gup_fast_fallback", current().pid, current().comm);
    throw new KernelError("EINVAL", "gup_fast: flags outside the fast set");
  }
}

/** `gup_fast_fallback()`: the fast walk, then the slow path (taking mmap_lock) for the rest. */
function* gupFastFallback(start: number, nrPages: number, flags: number): Sleepable<GupResult> {
  const mm = taskMm(current());
  checkFastFlags(mm, flags);
  if (flags & FOLL_PIN) mmSetHasPinnedFlag(mm);
  start -= start % PAGE_SIZE;
  const end = rangeEnd(start, nrPages);
  const pages: PageHandle[] = [];
  const nrPinned = gupFast(mm, start, end, flags, pages);
  if (nrPinned === nrPages || flags & FOLL_FAST_ONLY) return { nr: nrPinned, pages };
  gupState(mm.ctx).stats.fastFallbacks++;
  const ret = yield* gupLongtermLocked(
    mm, start + nrPinned * PAGE_SIZE, nrPages - nrPinned, pages, { value: false }, flags | FOLL_TOUCH | FOLL_UNLOCKABLE,
  );
  if (ret < 0) {
    if (nrPinned) return { nr: nrPinned, pages };
    throw new KernelError(errnoName(ret) ?? "EFAULT", "gup_fast_fallback: slow path");
  }
  return { nr: ret + nrPinned, pages };
}

function validFast(mm: MmStruct, gupFlags: number, toSet: number, what: string): number {
  const v = isValidGupArgs(gupFlags, toSet, { wantPages: true, locked: false });
  if (!v.ok) {
    mm.ctx.dmesg.warnOnOnce(true, `mm/gup.c is_valid_gup_args (${v.why})`, current().pid, current().comm);
    throw new KernelError("EINVAL", `${what}: ${v.why}`);
  }
  return v.flags;
}

/** `get_user_pages_fast()`: FOLL_GET references, lockless where possible. */
export function* getUserPagesFast(start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const flags = validFast(taskMm(current()), gupFlags, FOLL_GET, "get_user_pages_fast");
  return yield* gupFastFallback(start, nrPages, flags);
}

/** `pin_user_pages_fast()`: FOLL_PIN pins, lockless where possible. */
export function* pinUserPagesFast(start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const flags = validFast(taskMm(current()), gupFlags, FOLL_PIN, "pin_user_pages_fast");
  return yield* gupFastFallback(start, nrPages, flags);
}

/** `get_user_pages_fast_only()`: never sleeps, never faults; may take fewer pages (even 0). */
export function getUserPagesFastOnly(start: number, nrPages: number, gupFlags: number): GupResult {
  const mm = taskMm(current());
  const flags = validFast(mm, gupFlags, FOLL_GET | FOLL_FAST_ONLY, "get_user_pages_fast_only");
  checkFastFlags(mm, flags);
  start -= start % PAGE_SIZE;
  const pages: PageHandle[] = [];
  const nr = gupFast(mm, start, rangeEnd(start, nrPages), flags, pages);
  return { nr, pages };
}
