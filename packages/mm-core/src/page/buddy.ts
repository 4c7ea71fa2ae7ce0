/**
 * The buddy page allocator.
 *
 * @see mm/page_alloc.c __alloc_pages(), get_page_from_freelist(), __rmqueue_smallest(),
 *      expand(), prep_new_page(), check_new_pages(), __free_pages(), free_unref_page(),
 *      free_pages_prepare(), __free_one_page(), find_buddy_page_pfn(), page_is_buddy(),
 *      bad_page(), page_bad_reason(); mm/mm_init.c memblock_free_pages(),
 *      __free_pages_core(); include/linux/mmzone.h struct free_area, MAX_PAGE_ORDER
 *
 * Free blocks of 2^order pages (order 0..10) sit on per-zone, per-order doubly-linked
 * lists threaded through the memmap (`buddy_list`); the head page of a free block carries
 * the PGTY_buddy page type and its order in `page->private`. Allocation takes the first
 * block of the smallest order that fits, trying zones from the highest the GFP mask allows
 * downward, and puts the split-off upper halves back (`expand()`). Freeing merges with the
 * buddy block while it is free and of the same order. Allocated pages get refcount 1; a
 * freed page must be clean (`free_pages_check`) or the allocator throws a KernelBug
 * "Bad page state" with `dump_page()` (the kernel would warn, taint and leak it).
 * A freed PG_hwpoison page is kept out of the free lists, as the kernel does.
 *
 * Simplified: no per-cpu lists, migratetypes, watermarks, reclaim, compaction or shuffling;
 * a merged block always goes to the head of its list; exhaustion throws ENOMEM instead of
 * returning NULL; no compound pages (`__GFP_COMP` is not offered).
 */
import { KernelBug, KernelError } from "../errno.js";
import { current } from "../sched/index.js";
import type { Pfn } from "../types.js";
import {
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PAGE_MAPPING_FLAGS,
  PG_hwpoison,
  PGTY_buddy,
  ZONE,
} from "./flags.js";
import { __GFP_NOWARN, __GFP_ZERO, GFP_KERNEL, gfpZone, type Gfp } from "./gfp.js";
import type { Memmap } from "./memmap.js";
import type { PhysMem } from "./physmem.js";

export const MAX_PAGE_ORDER = 10;
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** Zones with free lists: DMA, DMA32, NORMAL. */
const NR_BUDDY_ZONES = ZONE.NORMAL + 1;
const NONE = -1;

/** The free lists as plain data: per zone, per order, the sorted pfns of free blocks. */
export type FreeAreaSnapshot = number[][][];

export class BuddyAllocator {
  private readonly heads = new Float64Array(NR_BUDDY_ZONES * NR_PAGE_ORDERS).fill(NONE);
  private readonly nrFree = new Float64Array(NR_BUDDY_ZONES * NR_PAGE_ORDERS);
  private freePagesTotal = 0;
  /** Pages kept off the free lists because they were poisoned when freed. */
  hwpoisonedPages = 0;
  /** Allocation and free calls (a cost the bench reports). */
  readonly stats = { allocs: 0, frees: 0, merges: 0, splits: 0 };

  constructor(
    readonly memmap: Memmap,
    readonly physMem: PhysMem,
  ) {
    memmap.freePageHook = (pfn) => this.freeUnrefPage(pfn);
  }

  /**
   * `memblock_free_pages()` over a RAM range: hand its (reserved) pages to the allocator
   * in the largest aligned blocks that fit.
   */
  addFreeRange(startPfn: number, nrPages: number): void {
    const end = startPfn + nrPages;
    for (let p = startPfn; p < end; ) {
      let order = Math.min(MAX_PAGE_ORDER, lowestSetBit(p));
      while (p + 2 ** order > end) order--;
      this.freePagesCore(p, order);
      p += 2 ** order;
    }
  }

  /**
   * `__free_pages_core()`: un-reserve the boot pages of a block and free it (boot pages
   * are known clean, so the free-time checks are skipped as without CONFIG_DEBUG_VM).
   */
  private freePagesCore(pfn: number, order: number): void {
    const mm = this.memmap;
    const zone = mm.pageZonenum(pfn);
    if (zone >= NR_BUDDY_ZONES || mm.pageZonenum(pfn + 2 ** order - 1) !== zone)
      throw new RangeError(`pfns ${pfn}+${2 ** order} are not RAM of one zone`);
    mm.releaseBootPages(pfn, 2 ** order);
    this.freeOnePage(pfn, order);
  }

  /** `nr_free_pages()`. */
  nrFreePages(): number {
    return this.freePagesTotal;
  }

  /** Free pages in one zone. */
  zoneFreePages(zone: "DMA" | "DMA32" | "NORMAL"): number {
    let n = 0;
    for (let o = 0; o < NR_PAGE_ORDERS; o++) n += this.nrFree[ZONE[zone] * NR_PAGE_ORDERS + o]! * 2 ** o;
    return n;
  }

  /** `free_area[order].nr_free` summed over zones. */
  nrFreeBlocks(order: number): number {
    let n = 0;
    for (let z = 0; z < NR_BUDDY_ZONES; z++) n += this.nrFree[z * NR_PAGE_ORDERS + order]!;
    return n;
  }

  /** The free lists, each sorted by pfn. */
  freeAreaSnapshot(): FreeAreaSnapshot {
    const out: FreeAreaSnapshot = [];
    for (let z = 0; z < NR_BUDDY_ZONES; z++) {
      const orders: number[][] = [];
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        const list: number[] = [];
        for (let p = this.heads[z * NR_PAGE_ORDERS + o]!; p !== NONE; p = this.memmap.lruNext(p)) list.push(p);
        orders.push(list.sort((a, b) => a - b));
      }
      out.push(orders);
    }
    return out;
  }

  // ---- allocation ----------------------------------------------------------------------

  /** `alloc_pages(gfp, order)`: the first pfn of 2^order free pages; ENOMEM when none. */
  allocPages(gfp: Gfp, order: number): Pfn {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      if (!(gfp & __GFP_NOWARN)) this.memmap.warnOnce("alloc-order", `WARNING: alloc_pages: order ${order} > MAX_PAGE_ORDER`);
      throw new KernelError("ENOMEM", `order ${order} is larger than MAX_PAGE_ORDER`);
    }
    for (let z = gfpZone(gfp); z >= 0; z--) {
      const pfn = this.rmqueueSmallest(z, order);
      if (pfn === NONE) continue;
      this.prepNewPage(pfn, order, gfp);
      this.stats.allocs++;
      return pfn as Pfn;
    }
    throw new KernelError("ENOMEM", `page allocation failure: order:${order}`);
  }

  /** `alloc_page(gfp)`. */
  allocPage(gfp: Gfp = GFP_KERNEL): Pfn {
    return this.allocPages(gfp, 0);
  }

  /** `__rmqueue_smallest()` + `expand()`. */
  private rmqueueSmallest(zone: number, order: number): number {
    for (let current = order; current < NR_PAGE_ORDERS; current++) {
      const pfn = this.heads[zone * NR_PAGE_ORDERS + current]!;
      if (pfn === NONE) continue;
      this.delFromFreeList(pfn, zone, current);
      for (let high = current; high > order; ) {
        high--;
        this.addToFreeList(pfn + 2 ** high, zone, high);
        this.stats.splits++;
      }
      return pfn;
    }
    return NONE;
  }

  /** `prep_new_page()`: check the pages, give the head its reference, zero on request. */
  private prepNewPage(pfn: number, order: number, gfp: Gfp): void {
    const mm = this.memmap;
    for (let p = pfn; p < pfn + 2 ** order; p++) {
      const reason = pageBadReason(mm, p, PAGE_FLAGS_CHECK_AT_PREP);
      if (reason) this.badPage(p, reason);
    }
    mm.setPagePrivate(pfn, 0);
    mm.setPageCount(pfn, 1);
    if (gfp & __GFP_ZERO) for (let p = pfn; p < pfn + 2 ** order; p++) this.physMem.zeroPage(p);
  }

  // ---- freeing -------------------------------------------------------------------------

  /**
   * `__free_pages(page, order)`: drop the caller's reference; if it was the last, free the
   * whole block, otherwise (someone else holds the head) free all but the head page.
   */
  freePages(pfn: number, order: number): void {
    const mm = this.memmap;
    const c = mm.pageRefCount(pfn);
    if (c === 0) mm.bug(pfn, "VM_BUG_ON_PAGE(page_ref_count(page) == 0)");
    mm.setPageCount(pfn, c - 1);
    if (c - 1 === 0) {
      this.freeThePage(pfn, order);
      return;
    }
    for (let o = order; o-- > 0; ) this.freeThePage(pfn + 2 ** o, o);
  }

  /** `__free_page()`. */
  freePage(pfn: number): void {
    this.freePages(pfn, 0);
  }

  /** `free_unref_page(page, 0)`: what `put_page()` reaches through `memmap.freePageHook`. */
  freeUnrefPage(pfn: number): void {
    this.freeThePage(pfn, 0);
  }

  private freeThePage(pfn: number, order: number): void {
    this.stats.frees++;
    if (this.freePagesPrepare(pfn, order)) this.freeOnePage(pfn, order);
  }

  /** `free_pages_prepare()`: false when the page must not reach the free lists. */
  private freePagesPrepare(pfn: number, order: number): boolean {
    const mm = this.memmap;
    if (order === 0 && mm.testPageFlag(pfn, PG_hwpoison)) {
      this.hwpoisonedPages++;
      return false;
    }
    for (let p = pfn + 1; p < pfn + 2 ** order; p++) {
      const reason = pageBadReason(mm, p, PAGE_FLAGS_CHECK_AT_FREE);
      if (reason) this.badPage(p, reason);
      mm.setPageFlags(p, mm.pageFlags(p) & ~PAGE_FLAGS_CHECK_AT_PREP);
    }
    if (mm.pageMapping(pfn) & PAGE_MAPPING_FLAGS) mm.setPageMappingRaw(pfn, 0);
    const reason = pageBadReason(mm, pfn, PAGE_FLAGS_CHECK_AT_FREE);
    if (reason) this.badPage(pfn, reason);
    mm.setPageFlags(pfn, mm.pageFlags(pfn) & ~PAGE_FLAGS_CHECK_AT_PREP);
    return true;
  }

  /** `__free_one_page()`: merge with free buddies, then list the result. */
  private freeOnePage(pfn: number, order: number): void {
    const mm = this.memmap;
    const zone = mm.pageZonenum(pfn);
    while (order < MAX_PAGE_ORDER) {
      const size = 2 ** order;
      const buddy = Math.floor(pfn / size) % 2 === 0 ? pfn + size : pfn - size;
      if (!this.pageIsBuddy(buddy, order, zone)) break;
      this.delFromFreeList(buddy, zone, order);
      pfn = Math.min(pfn, buddy);
      order++;
      this.stats.merges++;
    }
    this.addToFreeList(pfn, zone, order);
  }

  /** The head pfn and order of the free block containing `pfn`, if it lies in one. */
  private freeBlockOf(pfn: number): { head: number; order: number } | null {
    const mm = this.memmap;
    if (!mm.pfnValid(pfn)) return null;
    for (let order = 0; order < NR_PAGE_ORDERS; order++) {
      const head = pfn - (pfn % 2 ** order);
      // A free head aligned here with at least this order covers pfn.
      if (mm.pfnValid(head) && mm.pageBuddy(head) && mm.pagePrivate(head) >= order) {
        return { head, order: mm.pagePrivate(head) };
      }
    }
    return null;
  }

  /** `is_free_buddy_page()`: whether `pfn` lies inside a free block of any order. */
  isFreeBuddyPage(pfn: Pfn): boolean {
    return this.freeBlockOf(pfn) !== null;
  }

  /**
   * `take_page_off_buddy()`: memory failure found a free page bad. Split its free block
   * around it, give the other halves back, and keep this page off the free lists for
   * good (PG_hwpoison). Returns false when the page was not free.
   */
  takePageOffBuddy(pfn: Pfn): boolean {
    const block = this.freeBlockOf(pfn);
    if (!block) return false;
    const mm = this.memmap;
    const zone = mm.pageZonenum(block.head);
    this.delFromFreeList(block.head, zone, block.order);
    // break_down_buddy_pages(): halve, keeping the half with the target, freeing the other.
    let head = block.head;
    for (let order = block.order; order > 0; ) {
      order--;
      const size = 2 ** order;
      if (pfn >= head + size) {
        this.addToFreeList(head, zone, order);
        head += size;
      } else {
        this.addToFreeList(head + size, zone, order);
      }
    }
    mm.setPageFlag(pfn, PG_hwpoison);
    this.hwpoisonedPages++;
    return true;
  }

  /** `page_is_buddy()`: free, of this order, in the same zone. */
  private pageIsBuddy(buddy: number, order: number, zone: number): boolean {
    const mm = this.memmap;
    return (
      mm.pfnValid(buddy) &&
      mm.pageBuddy(buddy) &&
      mm.pagePrivate(buddy) === order &&
      mm.pageZonenum(buddy) === zone
    );
  }

  private addToFreeList(pfn: number, zone: number, order: number): void {
    const mm = this.memmap;
    const slot = zone * NR_PAGE_ORDERS + order;
    const first = this.heads[slot]!;
    mm.setPageType(pfn, PGTY_buddy);
    mm.setPagePrivate(pfn, order);
    mm.setLruLinks(pfn, NONE, first);
    if (first !== NONE) mm.setLruPrev(first, pfn);
    this.heads[slot] = pfn;
    this.nrFree[slot]!++;
    this.freePagesTotal += 2 ** order;
  }

  private delFromFreeList(pfn: number, zone: number, order: number): void {
    const mm = this.memmap;
    const slot = zone * NR_PAGE_ORDERS + order;
    const prev = mm.lruPrev(pfn);
    const next = mm.lruNext(pfn);
    if (prev === NONE) this.heads[slot] = next;
    else mm.setLruNext(prev, next);
    if (next !== NONE) mm.setLruPrev(next, prev);
    mm.setLruLinks(pfn, NONE, NONE);
    mm.clearPageType(pfn, PGTY_buddy);
    mm.setPagePrivate(pfn, 0);
    this.nrFree[slot]!--;
    this.freePagesTotal -= 2 ** order;
  }

  /** `bad_page()`: the kernel warns and leaks the page; the model stops. */
  private badPage(pfn: number, reason: string): never {
    throw new KernelBug(
      `BUG: Bad page state in process ${current().comm}  pfn:${pfn.toString(16).padStart(5, "0")}`,
      this.memmap.dumpPage(pfn, reason),
    );
  }
}

/** `page_bad_reason()`: the last matching reason wins, as in the kernel. */
function pageBadReason(mm: Memmap, pfn: number, flagsMask: number): string | undefined {
  let reason: string | undefined;
  if (mm.rawMapcount(pfn) !== -1) reason = "nonzero mapcount";
  if (mm.pageMapping(pfn) !== 0) reason = "non-NULL mapping";
  if (mm.pageRefCount(pfn) !== 0) reason = "nonzero _refcount";
  if (mm.pageFlags(pfn) & flagsMask)
    reason =
      flagsMask === PAGE_FLAGS_CHECK_AT_PREP
        ? "PAGE_FLAGS_CHECK_AT_PREP flag(s) set"
        : "PAGE_FLAGS_CHECK_AT_FREE flag(s) set";
  return reason;
}

function lowestSetBit(n: number): number {
  if (n === 0) return MAX_PAGE_ORDER;
  let b = 0;
  while (n % 2 === 0) {
    n /= 2;
    b++;
  }
  return b;
}
