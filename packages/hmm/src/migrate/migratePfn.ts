/**
 * The `migrate_vma` pfn arrays: each entry is a pfn shifted left by MIGRATE_PFN_SHIFT with
 * flag bits below it, and the page-type selectors a caller passes.
 *
 * @see include/linux/migrate.h MIGRATE_PFN_VALID, MIGRATE_PFN_MIGRATE, MIGRATE_PFN_WRITE,
 *      MIGRATE_PFN_SHIFT, migrate_pfn(), migrate_pfn_to_page(), enum migrate_vma_direction
 *
 * Entries are JS numbers (`pfn * 64 + flags`), exact for every pfn below 2^47; flag
 * tests use arithmetic, not 32-bit bitwise operators, on the whole entry.
 */
import type { Pfn } from "@pagelab/mm-core";

export const MIGRATE_PFN_VALID = 1 << 0;
export const MIGRATE_PFN_MIGRATE = 1 << 1;
export const MIGRATE_PFN_WRITE = 1 << 3;
export const MIGRATE_PFN_SHIFT = 6;
const UNIT = 2 ** MIGRATE_PFN_SHIFT;

/** Collect ordinary system memory (and the zero page, and holes in anonymous VMAs). */
export const MIGRATE_VMA_SELECT_SYSTEM = 1 << 0;
/** Collect device-private pages of `pgmapOwner`. */
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1;
/** Collect device-coherent pages of `pgmapOwner`. */
export const MIGRATE_VMA_SELECT_DEVICE_COHERENT = 1 << 2;

/** `migrate_pfn()`: a valid entry for `pfn`. */
export function migratePfn(pfn: number): number {
  return pfn * UNIT + MIGRATE_PFN_VALID;
}

/** `migrate_pfn_to_page()`: the pfn of a valid entry, else null. */
export function migratePfnToPage(mpfn: number): Pfn | null {
  return mpfn % UNIT & MIGRATE_PFN_VALID ? (Math.floor(mpfn / UNIT) as Pfn) : null;
}

/** The flag bits of an entry. */
export function migratePfnFlags(mpfn: number): number {
  return mpfn % UNIT;
}

export function migratePfnHas(mpfn: number, flag: number): boolean {
  return (mpfn % UNIT & flag) !== 0;
}

export function migratePfnSet(mpfn: number, flag: number): number {
  return migratePfnHas(mpfn, flag) ? mpfn : mpfn + flag;
}

export function migratePfnClear(mpfn: number, flag: number): number {
  return migratePfnHas(mpfn, flag) ? mpfn - flag : mpfn;
}
