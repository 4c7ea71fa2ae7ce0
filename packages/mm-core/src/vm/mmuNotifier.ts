/**
 * MMU notifiers: secondary MMUs (devices, KVM) learn when CPU page tables change.
 * `mmu_notifier` subscribers get invalidate_range_start/end callbacks; an
 * `mmu_interval_notifier` covers one address range and follows the collision-retry
 * sequence protocol (read_begin / read_retry) that HMM mirrors rely on.
 *
 * @see include/linux/mmu_notifier.h, mm/mmu_notifier.c mn_itree_inv_start_range(),
 *      mn_itree_inv_end(), mmu_interval_read_begin(), mmu_interval_notifier_insert(),
 *      mmu_interval_notifier_remove(), __mmu_notifier_invalidate_range_start(),
 *      __mmu_notifier_release()
 *
 * Callbacks run without sleeping (the model's spinlock context). The subscription's
 * `invalidateSeq` starts at 2 and is odd while any invalidation overlapping an interval
 * notifier is in flight; interval notifiers inserted or removed meanwhile wait on the
 * deferred list, as in the kernel. Simplified: no SRCU, no `mmu_notifier_get()` sharing.
 */
import type { Sleepable } from "../sched/sleepable.js";
import { WaitQueueHead } from "../sched/waitqueue.js";
import { IntervalTree } from "./intervalTree.js";
import type { MmStruct } from "./mm.js";
import type { VmAreaStruct } from "./vma.js";

/** `enum mmu_notifier_event`. */
export const MMU_NOTIFY_UNMAP = 0;
export const MMU_NOTIFY_CLEAR = 1;
export const MMU_NOTIFY_PROTECTION_VMA = 2;
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
export const MMU_NOTIFY_SOFT_DIRTY = 4;
export const MMU_NOTIFY_RELEASE = 5;
export const MMU_NOTIFY_MIGRATE = 6;
export const MMU_NOTIFY_EXCLUSIVE = 7;

export const MMU_NOTIFIER_RANGE_BLOCKABLE = 1 << 0;

/** `struct mmu_notifier_range`: [start, end). */
export interface MmuNotifierRange {
  readonly mm: MmStruct;
  readonly vma: VmAreaStruct | null;
  readonly start: number;
  readonly end: number;
  readonly flags: number;
  readonly event: number;
  /** For MMU_NOTIFY_MIGRATE / EXCLUSIVE: the device that caused it (HMM skips its own). */
  readonly owner: unknown;
}

/** `mmu_notifier_range_init()`. */
export function mmuNotifierRangeInit(
  event: number,
  flags: number,
  mm: MmStruct,
  start: number,
  end: number,
  vma: VmAreaStruct | null = null,
  owner: unknown = null,
): MmuNotifierRange {
  return { mm, vma, start, end, flags, event, owner };
}

/** `mmu_notifier_range_blockable()`. */
export function mmuNotifierRangeBlockable(range: MmuNotifierRange): boolean {
  return (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0;
}

/** `struct mmu_notifier_ops`. */
export interface MmuNotifierOps {
  release?(sub: MmuNotifier, mm: MmStruct): void;
  /** Return 0, or -EAGAIN (non-blockable range only). */
  invalidateRangeStart?(sub: MmuNotifier, range: MmuNotifierRange): number;
  invalidateRangeEnd?(sub: MmuNotifier, range: MmuNotifierRange): void;
  /** `->arch_invalidate_secondary_tlbs`: called with every TLB flush of the range. */
  archInvalidateSecondaryTlbs?(sub: MmuNotifier, mm: MmStruct, start: number, end: number): void;
  /** `->clear_flush_young`: return whether the secondary MMU had the range accessed. */
  clearFlushYoung?(sub: MmuNotifier, mm: MmStruct, start: number, end: number): boolean;
}

/** `struct mmu_notifier`. */
export class MmuNotifier {
  mm: MmStruct | null = null;
  constructor(readonly ops: MmuNotifierOps) {}
}

/** `struct mmu_interval_notifier_ops`. */
export interface MmuIntervalNotifierOps {
  /**
   * Called for every invalidation overlapping the interval: take the driver lock, call
   * `mmuIntervalSetSeq(sub, curSeq)`, drop device mappings. Return false only when the
   * range is not blockable and the driver would have to sleep.
   */
  invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean;
}

/** `struct mmu_interval_notifier`: [start, last] inclusive. */
export class MmuIntervalNotifier {
  mm: MmStruct | null = null;
  start = 0;
  last = 0;
  invalidateSeq = 0;
  /** In the subscriptions' interval tree (false while on the deferred list to be added). */
  inTree = false;
  constructor(readonly ops: MmuIntervalNotifierOps) {}
}

interface Deferred {
  readonly sub: MmuIntervalNotifier;
}

/** `struct mmu_notifier_subscriptions`, one per mm. */
export class MmuNotifierSubscriptions {
  readonly list: MmuNotifier[] = [];
  readonly itree = new IntervalTree<MmuIntervalNotifier>();
  hasItree = false;
  invalidateSeq = 2;
  activeInvalidateRanges = 0;
  readonly wq: WaitQueueHead;
  readonly deferredList: Deferred[] = [];
  /** Invalidations started (for tests and cost reports). */
  invalidations = 0;

  constructor(readonly mm: MmStruct) {
    this.wq = new WaitQueueHead(`${mm}.mmu_notifier_wq`);
  }

  /** `mn_itree_is_invalidating()`. */
  get isInvalidating(): boolean {
    return (this.invalidateSeq & 1) !== 0;
  }

  /** Whether anyone is subscribed (`mm_has_notifiers()`). */
  get active(): boolean {
    return this.list.length > 0 || this.hasItree;
  }
}

/** `mmu_notifier_register()`: subscribe `sub` to `mm`. */
export function mmuNotifierRegister(sub: MmuNotifier, mm: MmStruct): void {
  if (sub.mm) throw new Error("mmu_notifier_register: already registered");
  sub.mm = mm;
  mm.notifiers.list.push(sub);
}

/** `mmu_notifier_unregister()`: calls ->release, as the kernel does if the mm is alive. */
export function mmuNotifierUnregister(sub: MmuNotifier, mm: MmStruct): void {
  const subs = mm.notifiers;
  const i = subs.list.indexOf(sub);
  if (i < 0) return;
  subs.list.splice(i, 1);
  if (!mm.dead) sub.ops.release?.(sub, mm);
  sub.mm = null;
}

/** `__mmu_notifier_release()`: the mm is going away. */
export function mmuNotifierRelease(mm: MmStruct): void {
  const subs = mm.notifiers;
  for (const sub of subs.list.splice(0)) {
    sub.ops.release?.(sub, mm);
    sub.mm = null;
  }
}

function itreeInvEnd(subs: MmuNotifierSubscriptions): void {
  subs.activeInvalidateRanges--;
  if (subs.activeInvalidateRanges > 0 || !subs.isInvalidating) return;
  subs.invalidateSeq++;
  for (const { sub } of subs.deferredList.splice(0)) {
    if (!sub.inTree) {
      subs.itree.insert(sub, sub.start, sub.last);
      sub.inTree = true;
    } else {
      subs.itree.remove(sub);
      sub.inTree = false;
    }
  }
  subs.wq.wakeUpAll();
}

/**
 * `mmu_notifier_invalidate_range_start()`: may sleep, so subscribers always see a
 * blockable range, whatever flags it was initialised with (as in the kernel). Returns 0.
 */
export function mmuNotifierInvalidateRangeStart(range: MmuNotifierRange): number {
  const blockable = range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE ? range : { ...range, flags: range.flags | MMU_NOTIFIER_RANGE_BLOCKABLE };
  return invalidateRangeStart(blockable);
}

/**
 * `mmu_notifier_invalidate_range_start_nonblock()`: the range keeps its flags; returns 0,
 * or -EAGAIN (-11) when a subscriber refused it (the caller must then not call _end).
 */
export function mmuNotifierInvalidateRangeStartNonblock(range: MmuNotifierRange): number {
  return invalidateRangeStart(range);
}

function invalidateRangeStart(range: MmuNotifierRange): number {
  const subs = range.mm.notifiers;
  if (!subs.active) return 0;
  subs.invalidations++;
  if (subs.hasItree) {
    subs.activeInvalidateRanges++;
    const hits = subs.itree.overlapping(range.start, range.end - 1);
    if (hits.length) subs.invalidateSeq |= 1;
    const curSeq = subs.invalidateSeq;
    for (const sub of hits) {
      if (!sub.ops.invalidate(sub, range, curSeq)) {
        if (mmuNotifierRangeBlockable(range)) continue; // WARN_ON in the kernel
        itreeInvEnd(subs);
        return -11;
      }
    }
  }
  for (const sub of subs.list) {
    const ret = sub.ops.invalidateRangeStart?.(sub, range) ?? 0;
    if (ret !== 0) {
      if (subs.hasItree) itreeInvEnd(subs);
      return ret;
    }
  }
  return 0;
}

/** `mmu_notifier_invalidate_range_end()`. */
export function mmuNotifierInvalidateRangeEnd(range: MmuNotifierRange): void {
  const subs = range.mm.notifiers;
  if (!subs.active) return;
  if (subs.hasItree) itreeInvEnd(subs);
  for (const sub of subs.list) sub.ops.invalidateRangeEnd?.(sub, range);
}

/** `mmu_notifier_arch_invalidate_secondary_tlbs()`: from each TLB flush of a range. */
export function mmuNotifierArchInvalidateSecondaryTlbs(mm: MmStruct, start: number, end: number): void {
  for (const sub of mm.notifiers.list) sub.ops.archInvalidateSecondaryTlbs?.(sub, mm, start, end);
}

/** `mmu_notifier_clear_flush_young()`. */
export function mmuNotifierClearFlushYoung(mm: MmStruct, start: number, end: number): boolean {
  let young = false;
  for (const sub of mm.notifiers.list) young = (sub.ops.clearFlushYoung?.(sub, mm, start, end) ?? false) || young;
  return young;
}

/** `mmu_interval_notifier_insert()`: watch [start, start + length). */
export function mmuIntervalNotifierInsert(sub: MmuIntervalNotifier, mm: MmStruct, start: number, length: number): void {
  if (length <= 0) throw new RangeError("mmu_interval_notifier_insert: empty range");
  const subs = mm.notifiers;
  subs.hasItree = true;
  sub.mm = mm;
  sub.start = start;
  sub.last = start + length - 1;
  if (subs.activeInvalidateRanges > 0) {
    if (subs.isInvalidating) {
      subs.deferredList.push({ sub });
      sub.invalidateSeq = subs.invalidateSeq;
      return;
    }
    sub.invalidateSeq = subs.invalidateSeq;
  } else {
    // Odd, and not the current value: a read_begin right now will not wait.
    sub.invalidateSeq = subs.invalidateSeq - 1;
  }
  subs.itree.insert(sub, sub.start, sub.last);
  sub.inTree = true;
}

/** `mmu_interval_notifier_remove()`: may wait for an invalidation in progress. */
export function* mmuIntervalNotifierRemove(sub: MmuIntervalNotifier): Sleepable {
  const mm = sub.mm;
  if (!mm) return;
  const subs = mm.notifiers;
  let seq = 0;
  if (subs.isInvalidating) {
    const i = subs.deferredList.findIndex((d) => d.sub === sub);
    if (!sub.inTree && i >= 0) subs.deferredList.splice(i, 1);
    else {
      subs.deferredList.push({ sub });
      seq = subs.invalidateSeq;
    }
  } else {
    subs.itree.remove(sub);
    sub.inTree = false;
  }
  if (seq) yield* subs.wq.waitEvent(() => subs.invalidateSeq !== seq);
  sub.mm = null;
}

/**
 * `mmu_interval_read_begin()`: the sequence number to check later with read_retry;
 * sleeps while an invalidation covering this interval is in progress.
 */
export function* mmuIntervalReadBegin(sub: MmuIntervalNotifier): Sleepable<number> {
  const subs = sub.mm!.notifiers;
  const seq = sub.invalidateSeq;
  if (seq === subs.invalidateSeq) yield* subs.wq.waitEvent(() => subs.invalidateSeq !== seq);
  return seq;
}

/** `mmu_interval_read_retry()`: true if an invalidation happened since read_begin. */
export function mmuIntervalReadRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.invalidateSeq !== seq;
}

/** `mmu_interval_check_retry()`: the same test, usable without the driver lock. */
export function mmuIntervalCheckRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.invalidateSeq !== seq;
}

/** `mmu_interval_set_seq()`: called by ->invalidate under the driver lock. */
export function mmuIntervalSetSeq(sub: MmuIntervalNotifier, curSeq: number): void {
  sub.invalidateSeq = curSeq;
}
