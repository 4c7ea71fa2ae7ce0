/**
 * The page lock (PG_locked) and waiting on page bits, on hashed wait queues.
 *
 * @see mm/filemap.c folio_wait_table, folio_lock() / __folio_lock(), folio_trylock(),
 *      folio_unlock(), folio_wake_bit(), folio_wait_bit_common(), folio_wait_locked(),
 *      folio_wait_writeback(), folio_end_writeback(); include/linux/pagemap.h
 *
 * Like the kernel, one table of 256 queues (PAGE_WAIT_TABLE_BITS 8) per machine serves
 * every page; a waiter is keyed by (page, bit) so a wake-up for another page or bit that shares
 * the queue passes it by. A sleeper sets PG_waiters first, and unlock only wakes anyone
 * when PG_waiters is set; the waker clears PG_waiters once no sleeper is left for the page.
 * Lock waiters are exclusive (one is woken per unlock), bit waiters are not.
 *
 * Simplified: no lock hand-off inside the wake function (a woken waiter re-tries and may
 * lose to a task that came first), no killable variants.
 */
import { HashedWaitTable, schedule, type Sleepable } from "../sched/index.js";
import { PG_locked, PG_waiters, PG_writeback } from "./flags.js";
import type { Memmap } from "./memmap.js";

export const PAGE_WAIT_TABLE_BITS = 8;

interface PageWaitState {
  readonly table: HashedWaitTable;
  /** Sleepers per page, to know when PG_waiters may be cleared. */
  readonly sleeping: Map<number, number>;
}
const waitStates = new WeakMap<Memmap, PageWaitState>();

function waitState(mm: Memmap): PageWaitState {
  let st = waitStates.get(mm);
  if (!st) {
    st = { table: new HashedWaitTable("folio_wait_table", PAGE_WAIT_TABLE_BITS), sleeping: new Map() };
    waitStates.set(mm, st);
  }
  return st;
}

/** The machine's `folio_wait_table` (one per memmap, so two machines never share queues). */
export function folioWaitTable(mm: Memmap): HashedWaitTable {
  return waitState(mm).table;
}

function waitKey(pfn: number, bit: number): number {
  return pfn * 32 + bit;
}

/**
 * `folio_wait_bit_common()`: sleep until `done()` holds, woken by `folioWakeBit(pfn, bit)`.
 * `exclusive` for lock takers.
 */
function* waitBit(mm: Memmap, pfn: number, bit: number, exclusive: boolean, done: () => boolean): Sleepable {
  const { table, sleeping: count } = waitState(mm);
  const op = table.queueFor(pfn).sleepOp(exclusive, waitKey(pfn, bit));
  while (!done()) {
    mm.setPageFlag(pfn, PG_waiters);
    count.set(pfn, (count.get(pfn) ?? 0) + 1);
    let woken = false;
    try {
      yield op;
      woken = true;
    } finally {
      // A woken sleeper was already taken off the count by its waker.
      if (!woken) forget(count, pfn, 1);
    }
  }
}

function forget(count: Map<number, number>, pfn: number, n: number): void {
  const left = (count.get(pfn) ?? 0) - n;
  if (left > 0) count.set(pfn, left);
  else count.delete(pfn);
}

/** `folio_wake_bit()`: wake the sleepers on (pfn, bit); clear PG_waiters when none remain. */
export function folioWakeBit(mm: Memmap, pfn: number, bit: number): void {
  const { table, sleeping } = waitState(mm);
  forget(sleeping, pfn, table.queueFor(pfn).wakeUp(1, waitKey(pfn, bit)));
  if (!sleeping.has(pfn)) mm.clearPageFlag(pfn, PG_waiters);
}

/** `folio_trylock()`. */
export function trylockPage(mm: Memmap, pfn: number): boolean {
  return !mm.testAndSetPageFlag(pfn, PG_locked);
}

/** `folio_lock()`: may sleep until the page is unlocked. */
export function* lockPage(mm: Memmap, pfn: number): Sleepable {
  yield* schedule();
  if (trylockPage(mm, pfn)) return;
  yield* waitBit(mm, pfn, PG_locked, true, () => trylockPage(mm, pfn));
}

/** `folio_unlock()`. */
export function unlockPage(mm: Memmap, pfn: number): void {
  if (!mm.testAndClearPageFlag(pfn, PG_locked)) mm.bug(pfn, "VM_BUG_ON_FOLIO(!folio_test_locked(folio))");
  if (mm.testPageFlag(pfn, PG_waiters)) folioWakeBit(mm, pfn, PG_locked);
}

/** `folio_wait_locked()`: wait for an unlock without taking the lock. */
export function* waitOnPageLocked(mm: Memmap, pfn: number): Sleepable {
  yield* waitBit(mm, pfn, PG_locked, false, () => !mm.testPageFlag(pfn, PG_locked));
}

/** `folio_start_writeback()` (`set_page_writeback`): the page must be locked. */
export function setPageWriteback(mm: Memmap, pfn: number): void {
  if (!mm.testPageFlag(pfn, PG_locked)) mm.bug(pfn, "VM_BUG_ON_FOLIO(!folio_test_locked(folio))");
  if (mm.testAndSetPageFlag(pfn, PG_writeback)) mm.bug(pfn, "VM_BUG_ON_FOLIO(folio_test_writeback(folio))");
}

/** `folio_end_writeback()`: clear PG_writeback and wake its waiters. */
export function endPageWriteback(mm: Memmap, pfn: number): void {
  if (!mm.testAndClearPageFlag(pfn, PG_writeback)) mm.bug(pfn, "VM_BUG_ON_FOLIO(!folio_test_writeback(folio))");
  if (mm.testPageFlag(pfn, PG_waiters)) folioWakeBit(mm, pfn, PG_writeback);
}

/** `folio_wait_writeback()`. */
export function* waitOnPageWriteback(mm: Memmap, pfn: number): Sleepable {
  yield* waitBit(mm, pfn, PG_writeback, false, () => !mm.testPageFlag(pfn, PG_writeback));
}
