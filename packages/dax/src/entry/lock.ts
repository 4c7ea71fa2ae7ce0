/**
 * DAX entry locking: the lock bit lives in the XArray entry; waiters sleep on one of 4096
 * hashed wait queues keyed by (xarray, first index of the entry), so a PMD entry has one
 * lock for all its 512 indices.
 *
 * @see fs/dax.c DAX_WAIT_TABLE_BITS, dax_entry_waitqueue(), wake_exceptional_entry_func(),
 *      dax_wake_entry(), get_next_unlocked_entry(), wait_entry_unlocked_exclusive(),
 *      wait_entry_unlocked(), put_unlocked_entry(), dax_unlock_entry(), dax_lock_entry(),
 *      grab_mapping_entry(); include/linux/xarray.h xas_find_conflict()
 *
 * The i_pages lock is implicit: code between two switch points runs alone. Sleeping is a
 * `yield` of a keyed BlockOp on the hashed queue; the waker passes the same key, so tasks
 * waiting on other entries that hash to the same queue stay asleep, as in the kernel.
 * Simplified: no XArray node allocation failures (xas_nomem), so no VM_FAULT_OOM here.
 */
import {
  type AddressSpace,
  HashedWaitTable,
  KernelBug,
  type Sleepable,
  type WaitQueueHead,
  VM_FAULT_FALLBACK,
  unmapMappingPages,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import {
  DAX_CONFLICT,
  DAX_EMPTY,
  DAX_PMD,
  type DaxEntry,
  PG_PMD_COLOUR,
  PG_PMD_NR,
  daxEntryOrder,
  daxIsEmptyEntry,
  daxIsLocked,
  daxIsPmdEntry,
  daxIsZeroEntry,
  daxLockedValue,
  daxMakeEntry,
  daxUnlockedValue,
  isDaxEntry,
} from "./entry.js";

export const DAX_WAIT_TABLE_BITS = 12;
export const DAX_WAIT_TABLE_ENTRIES = 1 << DAX_WAIT_TABLE_BITS;

/** `enum dax_wake_mode`. */
export const WAKE_ALL = 0;
export const WAKE_NEXT = 1;
export type DaxWakeMode = typeof WAKE_ALL | typeof WAKE_NEXT;

const waitTable = new HashedWaitTable("dax_wait_table", DAX_WAIT_TABLE_BITS);

/** `struct exceptional_entry_key` as one number: (mapping id, entry start). */
function entryKey(mapping: AddressSpace, entryStart: number): number {
  return mapping.id * 2 ** 32 + entryStart;
}

/** `dax_entry_waitqueue()`: the queue and key of the entry covering `index`. */
export function daxEntryWaitqueue(mapping: AddressSpace, index: number, entry: DaxEntry): { wq: WaitQueueHead; key: number } {
  const start = daxIsPmdEntry(entry) ? index - (index % (PG_PMD_COLOUR + 1)) : index;
  const key = entryKey(mapping, start);
  return { wq: waitTable.queueFor(key), key };
}

/** `dax_wake_entry()`: wake one (WAKE_NEXT) or all (WAKE_ALL) waiters of the entry. */
export function daxWakeEntry(mapping: AddressSpace, index: number, entry: DaxEntry, mode: DaxWakeMode): void {
  const { wq, key } = daxEntryWaitqueue(mapping, index, entry);
  if (wq.length) wq.wakeUp(mode === WAKE_ALL ? 0 : 1, key);
}

/** `xas_find_conflict()`: the entry at `index`, or for a PMD request any entry in its range. */
function findConflict(dax: DaxContext, mapping: AddressSpace, index: number, order: number): DaxEntry | undefined {
  const xa = mapping.iPages;
  const before = xa.nodesVisited;
  let e: number | undefined;
  if (order === 0) e = xa.load(index);
  else {
    const start = index - (index % 2 ** order);
    e = xa.find(start, start + 2 ** order - 1)?.[1];
  }
  dax.costs.pointerChases += xa.nodesVisited - before;
  return e;
}

/** The order of the entry stored at `index` (to store over it with the same order). */
function storedOrder(mapping: AddressSpace, index: number): number {
  return mapping.iPages.entryOrder(index);
}

/**
 * `get_next_unlocked_entry()`: the entry covering `index`, waiting while it is locked.
 * Returns DAX_CONFLICT when the entry found is smaller than `order`, undefined if none.
 */
export function* getNextUnlockedEntry(
  dax: DaxContext,
  mapping: AddressSpace,
  index: number,
  order: number,
): Sleepable<DaxEntry | undefined> {
  for (;;) {
    const entry = findConflict(dax, mapping, index, order);
    if (entry === undefined) return undefined;
    if (dax.vm.dmesg.warnOnOnce(!isDaxEntry(entry), "fs/dax.c:get_next_unlocked_entry")) return entry;
    if (daxEntryOrder(entry) < order) return DAX_CONFLICT;
    if (!daxIsLocked(entry)) return entry;
    const { wq, key } = daxEntryWaitqueue(mapping, index, entry);
    dax.costs.lockWaits++;
    yield wq.sleepOp(true, key);
  }
}

/** `wait_entry_unlocked_exclusive()`: wait until the entry at `index` is unlocked; returns it. */
export function* waitEntryUnlockedExclusive(
  dax: DaxContext,
  mapping: AddressSpace,
  index: number,
  entry: DaxEntry | undefined,
): Sleepable<DaxEntry | undefined> {
  while (entry !== undefined && isDaxEntry(entry) && daxIsLocked(entry)) {
    const { wq, key } = daxEntryWaitqueue(mapping, index, entry);
    dax.costs.lockWaits++;
    yield wq.sleepOp(true, key);
    entry = mapping.iPages.load(index);
  }
  return entry;
}

/**
 * `wait_entry_unlocked()`: one non-exclusive sleep until the entry's lock is released
 * (used when the mapping may go away meanwhile); the caller re-looks the entry up.
 */
export function* waitEntryUnlocked(dax: DaxContext, mapping: AddressSpace, index: number, entry: DaxEntry): Sleepable {
  const { wq, key } = daxEntryWaitqueue(mapping, index, entry);
  dax.costs.lockWaits++;
  yield wq.sleepOp(false, key);
}

/** `put_unlocked_entry()`: pass the wake-up on after looking at an entry without locking it. */
export function putUnlockedEntry(mapping: AddressSpace, index: number, entry: DaxEntry | undefined, mode: DaxWakeMode): void {
  if (entry !== undefined && entry !== DAX_CONFLICT) daxWakeEntry(mapping, index, entry, mode);
}

/** `dax_lock_entry()`: store the entry locked; returns what was stored before. */
export function daxLockEntry(dax: DaxContext, mapping: AddressSpace, index: number, entry: DaxEntry): DaxEntry | undefined {
  dax.costs.lockAcquisitions++;
  return mapping.iPages.storeOrder(index, daxEntryOrder(entry), daxLockedValue(entry));
}

/** `dax_unlock_entry()`: store the (unlocked) entry back and wake the next waiter. */
export function daxUnlockEntry(dax: DaxContext, mapping: AddressSpace, index: number, entry: DaxEntry): void {
  if (daxIsLocked(entry)) throw new KernelBug("BUG_ON(dax_is_locked(entry)) in dax_unlock_entry");
  const old = mapping.iPages.storeOrder(index, daxEntryOrder(entry), entry);
  if (old === undefined || !daxIsLocked(old)) throw new Error(`dax_unlock_entry: entry at ${mapping.name}[${index}] was not locked`);
  daxWakeEntry(mapping, index, entry, WAKE_NEXT);
}

/** A `vm_fault_t` carried where an entry was expected (`xa_mk_internal(VM_FAULT_*)`). */
export interface GrabFault {
  readonly vmFault: number;
}

export function isGrabFault(e: DaxEntry | GrabFault): e is GrabFault {
  return typeof e === "object";
}

/**
 * `grab_mapping_entry()`: the entry for `index` of `order`, locked. Inserts a locked empty
 * entry if there is none. A PTE request over an empty or zero PMD entry downgrades it
 * ("we always favor PTE entries over PMD entries"); a PMD request over PTE entries falls
 * back. Returns the entry as stored unlocked (the caller unlocks with it).
 */
export function* grabMappingEntry(
  dax: DaxContext,
  mapping: AddressSpace,
  index: number,
  order: number,
): Sleepable<DaxEntry | GrabFault> {
  let entry = yield* getNextUnlockedEntry(dax, mapping, index, order);
  if (entry === DAX_CONFLICT) return { vmFault: VM_FAULT_FALLBACK };
  if (entry !== undefined && order === 0 && daxIsPmdEntry(entry) && (daxIsZeroEntry(entry) || daxIsEmptyEntry(entry))) {
    const pmdStart = index - (index % PG_PMD_NR);
    daxLockEntry(dax, mapping, pmdStart, entry);
    if (daxIsZeroEntry(entry)) daxUnmapMappingPages(dax, mapping, pmdStart, PG_PMD_NR);
    dax.mechanism.removeEntry(dax, entry, mapping, pmdStart, false);
    mapping.iPages.erase(pmdStart);
    daxWakeEntry(mapping, pmdStart, entry, WAKE_ALL);
    mapping.nrpages -= PG_PMD_NR;
    entry = undefined;
  }
  if (entry !== undefined) {
    daxLockEntry(dax, mapping, index, entry);
    return daxUnlockedValue(entry);
  }
  const fresh = daxMakeEntry(0, DAX_EMPTY | (order > 0 ? DAX_PMD : 0));
  const at = order > 0 ? index - (index % 2 ** order) : index;
  daxLockEntry(dax, mapping, at, fresh);
  mapping.nrpages += 2 ** order;
  return fresh;
}

/** `unmap_mapping_pages()` as DAX calls it, with its work counted. */
export function daxUnmapMappingPages(dax: DaxContext, mapping: AddressSpace, start: number, nr: number): void {
  const st = dax.vm.stats;
  const zapped = st.ptesZapped + st.pmdsZapped + st.pudsZapped;
  const flushes = st.tlbFlushes;
  unmapMappingPages(mapping, start, nr, false);
  dax.costs.unmapCalls++;
  dax.costs.unmaps += st.ptesZapped + st.pmdsZapped + st.pudsZapped - zapped;
  dax.costs.tlbFlushes += st.tlbFlushes - flushes;
}
