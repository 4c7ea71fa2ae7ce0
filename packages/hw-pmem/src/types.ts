/**
 * The vocabulary of the pmem hardware model: branded page frame numbers and file page
 * offsets (structurally identical to @pagelab/mm-core's, so values pass between the
 * packages without either importing the other), and the sizes the hardware works in.
 *
 * @see include/linux/pfn.h, include/linux/mm_types.h, include/linux/cache.h (L1_CACHE_BYTES),
 *      include/linux/blk_types.h (SECTOR_SHIFT)
 *
 * Physical addresses stay plain numbers (the CPU access interface takes `number`): they
 * are JS doubles, exact up to 2^53, so arithmetic, never 32-bit bitwise operators.
 */

export type Brand<T, B extends string> = T & { readonly __brand: B };

/** A page frame number: physical address >> PAGE_SHIFT. */
export type Pfn = Brand<number, "Pfn">;
/** A page offset into a device (`pgoff_t`), as `dax_direct_access()` takes it. */
export type Pgoff = Brand<number, "Pgoff">;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** x86 `L1_CACHE_BYTES`: the unit of clwb, of poison and of the persistence model. */
export const CACHELINE_SIZE = 64;
export const SECTOR_SHIFT = 9;
export const SECTOR_SIZE = 512;

export const SZ_4K = 4096;
export const SZ_2M = 2 * 1024 * 1024;
export const SZ_1G = 1024 * 1024 * 1024;

function checkedNonNegativeInteger(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: not a non-negative safe integer: ${n}`);
  return n;
}

export function pfn(n: number): Pfn {
  return checkedNonNegativeInteger(n, "pfn") as Pfn;
}
export function pgoff(n: number): Pgoff {
  return checkedNonNegativeInteger(n, "pgoff") as Pgoff;
}

/** `PHYS_PFN()`. */
export function physPfn(physAddr: number): Pfn {
  return Math.floor(physAddr / PAGE_SIZE) as Pfn;
}
/** `PFN_PHYS()`. */
export function pfnPhys(p: Pfn): number {
  return p * PAGE_SIZE;
}

export function isAligned(n: number, align: number): boolean {
  return n % align === 0;
}
export function alignDown(n: number, align: number): number {
  return n - (n % align);
}
export function alignUp(n: number, align: number): number {
  const r = n % align;
  return r === 0 ? n : n + align - r;
}
