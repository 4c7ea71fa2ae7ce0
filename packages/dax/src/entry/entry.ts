/**
 * DAX entries: value entries in the mapping's XArray holding a pfn and four state bits.
 *
 * @see fs/dax.c DAX_SHIFT, DAX_LOCKED, DAX_PMD, DAX_ZERO_PAGE, DAX_EMPTY, dax_to_pfn(),
 *      dax_make_entry(), dax_is_locked(), dax_entry_order(), dax_is_pmd_entry(),
 *      dax_is_pte_entry(), dax_is_zero_entry(), dax_is_empty_entry(), dax_is_conflict(),
 *      dax_entry_size(), PG_PMD_COLOUR, PG_PMD_NR
 *
 * An entry is the number `xa_mk_value(flags | pfn << DAX_SHIFT)`, i.e. odd, so it can never
 * be mistaken for a page handle. Arithmetic instead of shifts: pfns may exceed 2^27.
 */
import { PAGE_SIZE, PMD_NR, PMD_ORDER, PMD_SIZE, type Pfn, xaIsValue, xaMkValue, xaToValue } from "@pagelab/mm-core";

export const DAX_SHIFT = 4;
export const DAX_LOCKED = 1 << 0;
export const DAX_PMD = 1 << 1;
export const DAX_ZERO_PAGE = 1 << 2;
export const DAX_EMPTY = 1 << 3;

/** `PG_PMD_COLOUR`: the low bits of a page offset within a PMD. */
export const PG_PMD_COLOUR = PMD_NR - 1;
/** `PG_PMD_NR`. */
export const PG_PMD_NR = PMD_NR;

/** `XA_RETRY_ENTRY` as `get_next_unlocked_entry()` returns it for a smaller-order entry. */
export const DAX_CONFLICT = -1;

/** A DAX entry: an odd number (see the module comment). */
export type DaxEntry = number;

const DAX_SCALE = 2 ** DAX_SHIFT;

function bits(entry: DaxEntry): number {
  return xaToValue(entry) % DAX_SCALE;
}

/** `dax_make_entry(pfn, flags)`. */
export function daxMakeEntry(pfn: number, flags: number): DaxEntry {
  return xaMkValue(pfn * DAX_SCALE + (flags % DAX_SCALE));
}
/** `dax_to_pfn()`. */
export function daxToPfn(entry: DaxEntry): Pfn {
  return Math.floor(xaToValue(entry) / DAX_SCALE) as Pfn;
}
export function daxIsLocked(entry: DaxEntry): boolean {
  return (bits(entry) & DAX_LOCKED) !== 0;
}
export function daxIsPmdEntry(entry: DaxEntry): boolean {
  return (bits(entry) & DAX_PMD) !== 0;
}
export function daxIsPteEntry(entry: DaxEntry): boolean {
  return !daxIsPmdEntry(entry);
}
export function daxIsZeroEntry(entry: DaxEntry): boolean {
  return (bits(entry) & DAX_ZERO_PAGE) !== 0;
}
export function daxIsEmptyEntry(entry: DaxEntry): boolean {
  return (bits(entry) & DAX_EMPTY) !== 0;
}
/** `dax_entry_order()`. */
export function daxEntryOrder(entry: DaxEntry): number {
  return daxIsPmdEntry(entry) ? PMD_ORDER : 0;
}
/** `dax_entry_size()`: bytes of media behind the entry (0 for zero and empty entries). */
export function daxEntrySize(entry: DaxEntry): number {
  if (daxIsZeroEntry(entry) || daxIsEmptyEntry(entry)) return 0;
  return daxIsPmdEntry(entry) ? PMD_SIZE : PAGE_SIZE;
}
/** `dax_is_conflict()`. */
export function daxIsConflict(entry: DaxEntry | undefined): boolean {
  return entry === DAX_CONFLICT;
}
/** The entry with DAX_LOCKED set (what `dax_lock_entry()` stores). */
export function daxLockedValue(entry: DaxEntry): DaxEntry {
  return daxIsLocked(entry) ? entry : entry + 2 * DAX_LOCKED;
}
/** The entry with DAX_LOCKED clear. */
export function daxUnlockedValue(entry: DaxEntry): DaxEntry {
  return daxIsLocked(entry) ? entry - 2 * DAX_LOCKED : entry;
}
/** Whether an XArray entry is a DAX (value) entry. */
export function isDaxEntry(entry: unknown): entry is DaxEntry {
  return xaIsValue(entry);
}
/** The pfns an entry maps (`for_each_mapped_pfn`). */
export function daxEntryPfns(entry: DaxEntry): { first: Pfn; count: number } {
  return { first: daxToPfn(entry), count: daxEntrySize(entry) / PAGE_SIZE };
}

/** A readable form for dumps and test failures: `pfn 0x40000 PMD|LOCKED`. */
export function formatDaxEntry(entry: DaxEntry): string {
  const b = bits(entry);
  const names = [
    [DAX_PMD, "PMD"],
    [DAX_ZERO_PAGE, "ZERO"],
    [DAX_EMPTY, "EMPTY"],
    [DAX_LOCKED, "LOCKED"],
  ]
    .filter(([f]) => (b & (f as number)) !== 0)
    .map(([, n]) => n);
  return `pfn 0x${daxToPfn(entry).toString(16)}${names.length ? ` ${names.join("|")}` : ""}`;
}
