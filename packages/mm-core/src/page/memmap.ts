/**
 * The memmap: every `struct page`, as columns of typed arrays per memory section.
 *
 * @see include/linux/mm_types.h struct page; include/linux/mmzone.h struct mem_section,
 *      PAGES_PER_SECTION, PAGES_PER_SUBSECTION; mm/mm_init.c memmap_init_range(),
 *      __init_single_page(), memmap_init_zone_device(); include/linux/page_ref.h;
 *      include/linux/page-flags.h; include/linux/mm.h page_mapcount(); mm/util.c folio_mapping()
 *
 * SPARSEMEM: a section is 128 MiB (32768 pages). A section's arrays are allocated on the
 * first write to any of its pages; until then every page reads as its range's initial
 * state (what memmap_init would have written), so a 64 GiB device costs nothing until
 * touched. Ranges are added in 2 MiB subsections, the kernel's hotplug granularity.
 *
 * Per page: flags (u32), _refcount (i32), _mapcount/page_type (i32), mapping (u32: object
 * id * 4 + PAGE_MAPPING_* tag bits), index/share (f64), private (f64), the buddy free-list
 * links (2 × f64, the kernel's `buddy_list` which overlays `lru`) and a pgmap id (u16):
 * 50 bytes. A "struct page pointer" is the pfn.
 *
 * Simplified: no compound pages or folios larger than one page (PG_head is a plain bit),
 * one NUMA node, no memcg_data, no swap cache (folioMapping of a swapcache page is null).
 */
import { KernelBug } from "../errno.js";
import type { Pfn } from "../types.js";
import type { DevPagemap } from "./memremap.js";
import {
  PAGE_MAPPING_ANON,
  PAGE_MAPPING_FLAGS,
  PAGE_MAPPING_KSM,
  PG_reserved,
  PGTY_buddy,
  PGTY_slab,
  ZONE,
  pageTypeHasType,
  type PageType,
  type ZoneName,
} from "./flags.js";
import { dumpPage } from "./dump.js";
import { PAGES_PER_SECTION, PAGES_PER_SUBSECTION } from "./sparse.js";
import * as ref from "./refcount.js";

const SUBSECTIONS_PER_SECTION = PAGES_PER_SECTION / PAGES_PER_SUBSECTION;

/** Bytes of memmap arrays per page (see the layout in `SectionArrays`). */
export const MEMMAP_BYTES_PER_PAGE = 50;
/** A generous estimate of one section's JS overhead: record, views, subsection table. */
export const SECTION_OVERHEAD_BYTES = 2048;

/** What a page of a range reads as before its section is written. */
interface PageInit {
  readonly flags: number;
  readonly refcount: number;
  readonly pgmapId: number;
}

export interface MemRange {
  readonly startPfn: number;
  readonly nrPages: number;
  readonly zone: ZoneName;
  readonly zoneNum: number;
  readonly pgmap: DevPagemap | undefined;
  readonly init: PageInit;
}

export interface AddRangeOptions {
  zone: ZoneName;
  pgmap?: DevPagemap;
  /** Refcount of the initialised pages (default 1, as `init_page_count()`). */
  initialRefcount?: number;
}

class SectionArrays {
  readonly buffer: ArrayBuffer;
  readonly index: Float64Array;
  readonly private: Float64Array;
  readonly lruNext: Float64Array;
  readonly lruPrev: Float64Array;
  readonly flags: Uint32Array;
  readonly refcount: Int32Array;
  readonly mapcount: Int32Array;
  readonly mapping: Uint32Array;
  readonly pgmap: Uint16Array;

  constructor() {
    const n = PAGES_PER_SECTION;
    this.buffer = new ArrayBuffer(n * MEMMAP_BYTES_PER_PAGE);
    this.index = new Float64Array(this.buffer, 0, n);
    this.private = new Float64Array(this.buffer, 8 * n, n);
    this.lruNext = new Float64Array(this.buffer, 16 * n, n);
    this.lruPrev = new Float64Array(this.buffer, 24 * n, n);
    this.flags = new Uint32Array(this.buffer, 32 * n, n);
    this.refcount = new Int32Array(this.buffer, 36 * n, n);
    this.mapcount = new Int32Array(this.buffer, 40 * n, n);
    this.mapping = new Uint32Array(this.buffer, 44 * n, n);
    this.pgmap = new Uint16Array(this.buffer, 48 * n, n);
  }
}

class Section {
  arrays: SectionArrays | undefined = undefined;
  readonly sub: (MemRange | undefined)[] = new Array<MemRange | undefined>(SUBSECTIONS_PER_SECTION).fill(undefined);
  populated = 0;
}

/** A mapping-object registry so that `page->mapping` can be a number. */
class MappingRegistry {
  private readonly objects: (object | undefined)[] = [undefined];
  private readonly ids = new Map<object, number>();
  private readonly freeIds: number[] = [];

  idOf(obj: object): number | undefined {
    return this.ids.get(obj);
  }
  register(obj: object): number {
    const known = this.ids.get(obj);
    if (known !== undefined) return known;
    const id = this.freeIds.pop() ?? this.objects.length;
    if (id >= 0x40000000) throw new RangeError("mapping registry full");
    this.objects[id] = obj;
    this.ids.set(obj, id);
    return id;
  }
  unregister(obj: object): void {
    const id = this.ids.get(obj);
    if (id === undefined) return;
    this.ids.delete(obj);
    this.objects[id] = undefined;
    this.freeIds.push(id);
  }
  object(id: number): object | undefined {
    return this.objects[id];
  }
  get size(): number {
    return this.ids.size;
  }
}

export class Memmap {
  private readonly sections: (Section | undefined)[] = [];
  private readonly ranges: MemRange[] = [];
  private readonly pgmaps: (DevPagemap | undefined)[] = [undefined];
  private readonly registry = new MappingRegistry();
  private materialized = 0;

  /** Installed by the page allocator: a DRAM page's refcount reached zero (`free_unref_page`). */
  freePageHook: ((pfn: Pfn) => void) | undefined = undefined;
  /** Installed by DAX: an FS_DAX page's refcount dropped to 1 (`wake_up_var(&page->_refcount)`). */
  onPageIdle: ((pfn: Pfn) => void) | undefined = undefined;
  /** WARN_ON_ONCE() texts raised by page code, oldest first. */
  readonly warnings: string[] = [];

  // ---- ranges and sections ---------------------------------------------------------

  /**
   * Add struct pages for `[startPfn, startPfn + nrPages)` (`memmap_init_range()` for RAM,
   * `memmap_init_zone_device()` for ZONE_DEVICE). Pages start PG_reserved with refcount 1,
   * as the kernel leaves them before memblock hands RAM to the buddy allocator.
   */
  addRange(startPfn: number, nrPages: number, opts: AddRangeOptions): MemRange {
    if (startPfn % PAGES_PER_SUBSECTION !== 0 || nrPages % PAGES_PER_SUBSECTION !== 0 || nrPages <= 0)
      throw new RangeError(`addRange: [${startPfn}, +${nrPages}) is not 2 MiB (subsection) aligned`);
    for (let p = startPfn; p < startPfn + nrPages; p += PAGES_PER_SUBSECTION)
      if (this.rangeOf(p)) throw new RangeError(`addRange: pfn ${p} already has a struct page`);
    let pgmapId = 0;
    if (opts.pgmap) {
      pgmapId = this.pgmaps.indexOf(opts.pgmap);
      if (pgmapId < 0) {
        pgmapId = this.pgmaps.indexOf(undefined, 1);
        if (pgmapId < 0) pgmapId = this.pgmaps.length;
        if (pgmapId > 0xffff) throw new RangeError("addRange: too many dev_pagemaps");
        this.pgmaps[pgmapId] = opts.pgmap;
      }
    }
    const range: MemRange = {
      startPfn,
      nrPages,
      zone: opts.zone,
      zoneNum: ZONE[opts.zone],
      pgmap: opts.pgmap,
      init: { flags: 1 << PG_reserved, refcount: opts.initialRefcount ?? 1, pgmapId },
    };
    this.ranges.push(range);
    for (let p = startPfn; p < startPfn + nrPages; p += PAGES_PER_SUBSECTION) {
      const nr = Math.floor(p / PAGES_PER_SECTION);
      let sec = this.sections[nr];
      if (!sec) sec = this.sections[nr] = new Section();
      sec.sub[Math.floor((p % PAGES_PER_SECTION) / PAGES_PER_SUBSECTION)] = range;
      sec.populated++;
      if (sec.arrays) this.initSubsection(sec.arrays, p % PAGES_PER_SECTION, range);
    }
    return range;
  }

  /** Remove the struct pages of a range added by `addRange` (`__remove_pages()`). */
  removeRange(startPfn: number): void {
    const i = this.ranges.findIndex((r) => r.startPfn === startPfn);
    const range = this.ranges[i];
    if (!range) throw new RangeError(`removeRange: no range starts at pfn ${startPfn}`);
    this.ranges.splice(i, 1);
    for (let p = startPfn; p < startPfn + range.nrPages; p += PAGES_PER_SUBSECTION) {
      const nr = Math.floor(p / PAGES_PER_SECTION);
      const sec = this.sections[nr]!;
      sec.sub[Math.floor((p % PAGES_PER_SECTION) / PAGES_PER_SUBSECTION)] = undefined;
      if (--sec.populated === 0) {
        if (sec.arrays) this.materialized--;
        this.sections[nr] = undefined;
      }
    }
    const pgmapId = range.init.pgmapId;
    if (pgmapId && !this.ranges.some((r) => r.init.pgmapId === pgmapId)) this.pgmaps[pgmapId] = undefined;
  }

  /** Every range, in the order added. */
  memRanges(): readonly MemRange[] {
    return this.ranges;
  }

  rangeOf(pfn: number): MemRange | undefined {
    const sec = this.sections[Math.floor(pfn / PAGES_PER_SECTION)];
    return sec?.sub[Math.floor((pfn % PAGES_PER_SECTION) / PAGES_PER_SUBSECTION)];
  }

  /** `pfn_valid()`: whether the pfn has a struct page. */
  pfnValid(pfn: number): boolean {
    return Number.isSafeInteger(pfn) && pfn >= 0 && this.rangeOf(pfn) !== undefined;
  }

  /** `page_zonenum()` as a name. */
  pageZone(pfn: number): ZoneName {
    return this.range(pfn).zone;
  }
  pageZonenum(pfn: number): number {
    return this.range(pfn).zoneNum;
  }
  /** `is_zone_device_page()`. */
  isZoneDevicePage(pfn: number): boolean {
    return this.range(pfn).zone === "DEVICE";
  }

  /** `page->pgmap` of a ZONE_DEVICE page. */
  pagePgmap(pfn: number): DevPagemap | undefined {
    const sec = this.section(pfn);
    const id = sec.arrays ? sec.arrays.pgmap[pfn % PAGES_PER_SECTION]! : this.range(pfn).init.pgmapId;
    return this.pgmaps[id];
  }

  /** Sections whose arrays exist. */
  get materializedSections(): number {
    return this.materialized;
  }

  /** Bytes held by the memmap: section arrays plus per-section overhead. */
  memmapBytes(): number {
    let sections = 0;
    for (const s of this.sections) if (s) sections++;
    return this.materialized * PAGES_PER_SECTION * MEMMAP_BYTES_PER_PAGE + sections * SECTION_OVERHEAD_BYTES;
  }

  private range(pfn: number): MemRange {
    const r = this.rangeOf(pfn);
    if (!r) throw new KernelBug(`pfn_to_page: pfn 0x${pfn.toString(16)} has no struct page`);
    return r;
  }

  private section(pfn: number): Section {
    const sec = this.sections[Math.floor(pfn / PAGES_PER_SECTION)];
    if (!sec || !sec.sub[Math.floor((pfn % PAGES_PER_SECTION) / PAGES_PER_SUBSECTION)])
      throw new KernelBug(`pfn_to_page: pfn 0x${pfn.toString(16)} has no struct page`);
    return sec;
  }

  /** The section arrays for a page about to be written, allocated on first write. */
  private arraysFor(pfn: number): SectionArrays {
    const sec = this.section(pfn);
    if (sec.arrays) return sec.arrays;
    const a = new SectionArrays();
    a.mapcount.fill(-1);
    a.lruNext.fill(-1);
    a.lruPrev.fill(-1);
    sec.sub.forEach((r, i) => {
      if (r) this.initSubsection(a, i * PAGES_PER_SUBSECTION, r);
    });
    sec.arrays = a;
    this.materialized++;
    return a;
  }

  private initSubsection(a: SectionArrays, off: number, r: MemRange): void {
    const end = off + PAGES_PER_SUBSECTION;
    a.flags.fill(r.init.flags, off, end);
    a.refcount.fill(r.init.refcount, off, end);
    a.mapcount.fill(-1, off, end);
    a.mapping.fill(0, off, end);
    a.index.fill(0, off, end);
    a.private.fill(0, off, end);
    a.lruNext.fill(-1, off, end);
    a.lruPrev.fill(-1, off, end);
    a.pgmap.fill(r.init.pgmapId, off, end);
  }

  /**
   * `__free_pages_core()`'s per-page part for boot memory: clear PG_reserved and the
   * boot reference of every page in the range (bulk, section by section).
   */
  releaseBootPages(startPfn: number, nrPages: number): void {
    const mask = ~(1 << PG_reserved);
    for (let pfn = startPfn; pfn < startPfn + nrPages; ) {
      const a = this.arraysFor(pfn);
      const off = pfn % PAGES_PER_SECTION;
      const n = Math.min(PAGES_PER_SECTION - off, startPfn + nrPages - pfn);
      for (let i = off; i < off + n; i++) {
        if (!this.pfnValid(pfn + i - off)) throw new KernelBug(`releaseBootPages: pfn ${pfn + i - off} has no struct page`);
        a.flags[i] = a.flags[i]! & mask;
      }
      a.refcount.fill(0, off, off + n);
      pfn += n;
    }
  }

  // ---- flags -------------------------------------------------------------------------

  /** The flag bits of `page->flags` (bits 0..22; zone/node fields are not included). */
  pageFlags(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.flags[pfn % PAGES_PER_SECTION]! : this.range(pfn).init.flags;
  }
  setPageFlags(pfn: number, flags: number): void {
    this.arraysFor(pfn).flags[pfn % PAGES_PER_SECTION] = flags;
  }
  testPageFlag(pfn: number, bit: number): boolean {
    return ((this.pageFlags(pfn) >>> bit) & 1) === 1;
  }
  setPageFlag(pfn: number, bit: number): void {
    const a = this.arraysFor(pfn);
    const i = pfn % PAGES_PER_SECTION;
    a.flags[i] = a.flags[i]! | (1 << bit);
  }
  clearPageFlag(pfn: number, bit: number): void {
    if (!this.testPageFlag(pfn, bit)) return;
    const a = this.arraysFor(pfn);
    const i = pfn % PAGES_PER_SECTION;
    a.flags[i] = a.flags[i]! & ~(1 << bit);
  }
  testAndSetPageFlag(pfn: number, bit: number): boolean {
    const old = this.testPageFlag(pfn, bit);
    if (!old) this.setPageFlag(pfn, bit);
    return old;
  }
  testAndClearPageFlag(pfn: number, bit: number): boolean {
    const old = this.testPageFlag(pfn, bit);
    if (old) this.clearPageFlag(pfn, bit);
    return old;
  }

  // ---- _mapcount / page_type ---------------------------------------------------------

  /** The raw `_mapcount` word (-1 when unmapped; a page type when `pageHasType`). */
  rawMapcount(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.mapcount[pfn % PAGES_PER_SECTION]! : -1;
  }
  setRawMapcount(pfn: number, v: number): void {
    this.arraysFor(pfn).mapcount[pfn % PAGES_PER_SECTION] = v;
  }
  /** `page_mapcount()`: `_mapcount + 1`, or 0 for a typed page. */
  pageMapcount(pfn: number): number {
    const raw = this.rawMapcount(pfn);
    return pageTypeHasType(raw) ? 0 : raw + 1;
  }
  /** `page_mapped()`. */
  pageMapped(pfn: number): boolean {
    return this.pageMapcount(pfn) > 0;
  }
  /** `atomic_inc_and_test(&page->_mapcount)`: true when this is the first mapping. */
  pageMapcountInc(pfn: number): boolean {
    const raw = this.rawMapcount(pfn);
    if (pageTypeHasType(raw)) this.bug(pfn, "VM_BUG_ON_PAGE(page_has_type(page))");
    this.setRawMapcount(pfn, raw + 1);
    return raw + 1 === 0;
  }
  /** `atomic_add_negative(-1, &page->_mapcount)`: true when the last mapping went away. */
  pageMapcountDec(pfn: number): boolean {
    const raw = this.rawMapcount(pfn);
    if (raw < 0) this.bug(pfn, raw === -1 ? "mapcount underflow" : "VM_BUG_ON_PAGE(page_has_type(page))");
    this.setRawMapcount(pfn, raw - 1);
    return raw - 1 === -1;
  }
  /** `page_has_type()`. */
  pageHasType(pfn: number): boolean {
    return pageTypeHasType(this.rawMapcount(pfn));
  }
  /** `page->page_type` as an unsigned 32-bit value. */
  pageType(pfn: number): number {
    return this.rawMapcount(pfn) >>> 0;
  }
  /** `__SetPageBuddy()` and friends: the page must be untyped and unmapped. */
  setPageType(pfn: number, type: PageType): void {
    if (this.rawMapcount(pfn) !== -1) this.bug(pfn, "VM_BUG_ON_PAGE(data_race(page->page_type) != UINT_MAX)");
    this.setRawMapcount(pfn, (type << 24) | 0);
  }
  /** `__ClearPageBuddy()` and friends. */
  clearPageType(pfn: number, type: PageType): void {
    if (this.pageType(pfn) >>> 24 !== type) this.bug(pfn, `VM_BUG_ON_PAGE(!Page${type.toString(16)}(page))`);
    this.setRawMapcount(pfn, -1);
  }
  /** `PageBuddy()`. */
  pageBuddy(pfn: number): boolean {
    return this.pageType(pfn) >>> 24 === PGTY_buddy;
  }

  // ---- _refcount (semantics in refcount.ts) -------------------------------------------

  /** `page_ref_count()`. */
  pageRefCount(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.refcount[pfn % PAGES_PER_SECTION]! : this.range(pfn).init.refcount;
  }
  /** `set_page_count()`. */
  setPageCount(pfn: number, n: number): void {
    this.arraysFor(pfn).refcount[pfn % PAGES_PER_SECTION] = n;
  }
  /** `get_page()`: take a reference on a page that already has one. */
  pageRefInc(pfn: number): void {
    ref.getPage(this, pfn);
  }
  /** `page_ref_add()`: raw, no checks (GUP's pin bias uses this). */
  pageRefAdd(pfn: number, n: number): void {
    ref.pageRefAdd(this, pfn, n);
  }
  /** `page_ref_sub_and_test()`: true when the count reached zero (the caller frees). */
  pageRefSubAndTest(pfn: number, n: number): boolean {
    return ref.pageRefSubAndTest(this, pfn, n);
  }
  /** `put_page()`: drop a reference; the last one frees the page (ZONE_DEVICE: see refcount.ts). */
  putPage(pfn: number): void {
    ref.putPageRefs(this, pfn, 1);
  }
  /** `folio_put_refs()` through `put_devmap_managed_folio_refs()`, as GUP's unpin does. */
  putPageRefs(pfn: number, refs: number): void {
    ref.putPageRefs(this, pfn, refs);
  }
  /** `get_page_unless_zero()` / `folio_try_get()`. */
  getPageUnlessZero(pfn: number): boolean {
    return ref.getPageUnlessZero(this, pfn);
  }
  /** `page_ref_freeze()`: swap `count` for 0 if the page holds exactly `count`. */
  pageRefFreeze(pfn: number, count: number): boolean {
    return ref.pageRefFreeze(this, pfn, count);
  }
  /** `page_ref_unfreeze()`. */
  pageRefUnfreeze(pfn: number, count: number): void {
    ref.pageRefUnfreeze(this, pfn, count);
  }

  // ---- mapping / index / private -------------------------------------------------------

  /** `page->mapping` as its raw number: object id * 4 + PAGE_MAPPING_* bits, 0 = NULL. */
  pageMapping(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.mapping[pfn % PAGES_PER_SECTION]! : 0;
  }
  /** Store a raw mapping value (e.g. `PAGE_MAPPING_DAX_SHARED`). */
  setPageMappingRaw(pfn: number, raw: number): void {
    if (!Number.isInteger(raw) || raw < 0 || raw > 0xffffffff) throw new RangeError(`bad mapping value ${raw}`);
    if (raw >= 4 && this.registry.object(Math.floor(raw / 4)) === undefined)
      throw new RangeError(`mapping value ${raw} names no registered object`);
    this.arraysFor(pfn).mapping[pfn % PAGES_PER_SECTION] = raw;
  }
  /** `page->mapping = obj | tag` (registers `obj` if needed); `null` clears it. */
  setPageMapping(pfn: number, obj: object | null, tag = 0): void {
    if (tag < 0 || tag > PAGE_MAPPING_FLAGS) throw new RangeError(`bad PAGE_MAPPING tag ${tag}`);
    this.setPageMappingRaw(pfn, obj === null ? tag : this.registry.register(obj) * 4 + tag);
  }
  /** The object `page->mapping` points to, whatever its tag bits. */
  pageMappingObject(pfn: number): object | undefined {
    return this.registry.object(Math.floor(this.pageMapping(pfn) / 4));
  }
  /** `folio_test_anon()`. */
  folioTestAnon(pfn: number): boolean {
    return (this.pageMapping(pfn) & PAGE_MAPPING_ANON) !== 0;
  }
  /** `folio_test_ksm()`. */
  folioTestKsm(pfn: number): boolean {
    return (this.pageMapping(pfn) & PAGE_MAPPING_FLAGS) === PAGE_MAPPING_KSM;
  }
  /** `folio_mapping()`: the address_space, or null for anon, KSM, movable and typed pages. */
  folioMapping(pfn: number): object | null {
    if (this.pageType(pfn) >>> 24 === PGTY_slab) return null;
    const raw = this.pageMapping(pfn);
    if (raw & PAGE_MAPPING_FLAGS) return null;
    return this.registry.object(raw / 4) ?? null;
  }

  registerMappingObject(obj: object): number {
    return this.registry.register(obj);
  }
  /** Forget `obj`; its id may then be reused. Pages must no longer point at it. */
  unregisterMappingObject(obj: object): void {
    this.registry.unregister(obj);
  }
  mappingObjectId(obj: object): number | undefined {
    return this.registry.idOf(obj);
  }
  mappingObjectById(id: number): object | undefined {
    return this.registry.object(id);
  }

  /** `page->index` (`folio->index`). */
  pageIndex(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.index[pfn % PAGES_PER_SECTION]! : 0;
  }
  setPageIndex(pfn: number, index: number): void {
    this.arraysFor(pfn).index[pfn % PAGES_PER_SECTION] = index;
  }
  /** `page->share`: fsdax's share count, the same word as `index` (6.2+ union). */
  pageShare(pfn: number): number {
    return this.pageIndex(pfn);
  }
  setPageShare(pfn: number, share: number): void {
    this.setPageIndex(pfn, share);
  }
  /** `page_private()`. */
  pagePrivate(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.private[pfn % PAGES_PER_SECTION]! : 0;
  }
  /** `set_page_private()`. */
  setPagePrivate(pfn: number, v: number): void {
    this.arraysFor(pfn).private[pfn % PAGES_PER_SECTION] = v;
  }

  // ---- buddy list links (page->buddy_list) ----------------------------------------------

  lruNext(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.lruNext[pfn % PAGES_PER_SECTION]! : -1;
  }
  lruPrev(pfn: number): number {
    const sec = this.section(pfn);
    return sec.arrays ? sec.arrays.lruPrev[pfn % PAGES_PER_SECTION]! : -1;
  }
  setLruLinks(pfn: number, prev: number, next: number): void {
    const a = this.arraysFor(pfn);
    a.lruPrev[pfn % PAGES_PER_SECTION] = prev;
    a.lruNext[pfn % PAGES_PER_SECTION] = next;
  }
  setLruNext(pfn: number, next: number): void {
    this.arraysFor(pfn).lruNext[pfn % PAGES_PER_SECTION] = next;
  }
  setLruPrev(pfn: number, prev: number): void {
    this.arraysFor(pfn).lruPrev[pfn % PAGES_PER_SECTION] = prev;
  }

  // ---- debugging ---------------------------------------------------------------------

  /** `dump_page()`: the lines the kernel prints, joined by newlines. */
  dumpPage(pfn: number, reason?: string): string {
    return dumpPage(this, pfn, reason);
  }

  /** `VM_BUG_ON_PAGE(1, page)`: throw a KernelBug carrying the page dump. */
  bug(pfn: number, message: string): never {
    throw new KernelBug(message, this.pfnValid(pfn) ? this.dumpPage(pfn) : undefined);
  }

  /** `WARN_ON_ONCE()`: record the text once per key. */
  warnOnce(key: string, text: string): void {
    if (!this.warnedKeys.has(key)) {
      this.warnedKeys.add(key);
      this.warnings.push(text);
    }
  }
  private readonly warnedKeys = new Set<string>();
}
