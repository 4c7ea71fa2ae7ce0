/**
 * The page lock (PG_locked), sleeping on a hashed wait queue like the kernel's
 * `folio_wait_table`.
 *
 * @see mm/filemap.c folio_lock(), __folio_lock(), folio_trylock(), folio_unlock(),
 *      folio_wait_bit_common(), folio_wait_table
 *
 * Stand-in until page/ exports its own lockPage (see /work/notes/vm-requests.md).
 */
import type { Memmap } from "../page/memmap.js";
import { PG_locked } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import { HashedWaitTable } from "../sched/waitqueue.js";

const folioWaitTable = new HashedWaitTable("folio_wait_table", 8);

/** `folio_trylock()`. */
export function trylockPage(memmap: Memmap, pfn: number): boolean {
  return !memmap.testAndSetPageFlag(pfn, PG_locked);
}

/** `folio_lock()`: sleep until PG_locked can be taken. */
export function* lockPage(memmap: Memmap, pfn: number): Sleepable {
  while (memmap.testAndSetPageFlag(pfn, PG_locked)) {
    yield* folioWaitTable.queueFor(pfn).waitEvent(() => !memmap.testPageFlag(pfn, PG_locked), { key: pfn, exclusive: true });
  }
}

/** `folio_unlock()`. */
export function unlockPage(memmap: Memmap, pfn: number): void {
  memmap.clearPageFlag(pfn, PG_locked);
  folioWaitTable.queueFor(pfn).wakeUp(1, pfn);
}

/** `folio_wait_locked()`. */
export function* waitOnPageLocked(memmap: Memmap, pfn: number): Sleepable {
  yield* folioWaitTable.queueFor(pfn).waitEvent(() => !memmap.testPageFlag(pfn, PG_locked), { key: pfn });
}
