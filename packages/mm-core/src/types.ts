/**
 * The shared vocabulary of mm: page frame numbers, virtual addresses, file page
 * offsets and page handles, as branded numbers so one cannot be passed for another.
 *
 * @see include/linux/mm_types.h, include/linux/pfn.h, arch/x86/include/asm/page_types.h
 *
 * Brands are structural (a string literal), so another package may declare the same
 * brand without depending on this one. Values are JS doubles: exact up to 2^53.
 */

export type Brand<T, B extends string> = T & { readonly __brand: B };

/** A page frame number: physical address >> PAGE_SHIFT. */
export type Pfn = Brand<number, "Pfn">;
/** A user virtual address. */
export type VirtAddr = Brand<number, "VirtAddr">;
/** A file offset in pages (`pgoff_t`). */
export type Pgoff = Brand<number, "Pgoff">;
/**
 * A `struct page *`: `pfn * 2` for a real page; bit 0 set (`id * 2 + 1`) marks a proxy
 * or dynamic page owned by a sharing mechanism.
 */
export type PageHandle = Brand<number, "PageHandle">;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PMD_SHIFT = 21;
export const PMD_SIZE = 2 * 1024 * 1024;
/** Pages per PMD (`HPAGE_PMD_NR`). */
export const PMD_NR = PMD_SIZE / PAGE_SIZE;
/** `PMD_ORDER`. */
export const PMD_ORDER = PMD_SHIFT - PAGE_SHIFT;
export const PUD_SHIFT = 30;
export const PUD_SIZE = 1024 * 1024 * 1024;
/** Pages per PUD (`HPAGE_PUD_NR`). */
export const PUD_NR = PUD_SIZE / PAGE_SIZE;
/** `PUD_ORDER`. */
export const PUD_ORDER = PUD_SHIFT - PAGE_SHIFT;

function checkedNonNegativeInteger(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: not a non-negative safe integer: ${n}`);
  return n;
}

export function pfn(n: number): Pfn {
  return checkedNonNegativeInteger(n, "pfn") as Pfn;
}
export function virtAddr(n: number): VirtAddr {
  return checkedNonNegativeInteger(n, "virtAddr") as VirtAddr;
}
export function pgoff(n: number): Pgoff {
  return checkedNonNegativeInteger(n, "pgoff") as Pgoff;
}

/** `page_to_pfn()` of a real page handle; a tagged handle has no pfn of its own. */
export function handleToPfn(h: PageHandle): Pfn {
  if (h % 2 !== 0) throw new RangeError(`handleToPfn: tagged handle ${h} is not a real page`);
  return (h / 2) as Pfn;
}
/** `pfn_to_page()`. */
export function pfnToHandle(p: Pfn): PageHandle {
  return (p * 2) as PageHandle;
}
/** Whether a handle has bit 0 set (a proxy or dynamic page). */
export function isTaggedHandle(h: PageHandle): boolean {
  return h % 2 !== 0;
}
export function taggedHandle(id: number): PageHandle {
  return (checkedNonNegativeInteger(id, "taggedHandle") * 2 + 1) as PageHandle;
}
export function taggedHandleId(h: PageHandle): number {
  if (h % 2 === 0) throw new RangeError(`taggedHandleId: ${h} is a real page`);
  return (h - 1) / 2;
}

export function pageAlignDown(addr: number): number {
  return addr - (addr % PAGE_SIZE);
}
export function pageAlignUp(addr: number): number {
  const r = addr % PAGE_SIZE;
  return r === 0 ? addr : addr + PAGE_SIZE - r;
}
