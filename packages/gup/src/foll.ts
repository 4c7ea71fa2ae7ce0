/**
 * The FOLL_* flags of get_user_pages() with their 6.3+ values, and the argument check
 * every exported GUP entry point runs first.
 *
 * @see include/linux/mm_types.h enum (public FOLL_* flags, 6.3+); mm/internal.h enum
 *      (FOLL_TOUCH ... FOLL_MADV_POPULATE, INTERNAL_GUP_FLAGS); mm/gup.c is_valid_gup_args()
 *
 * Callers pass only the public flags; the pin/get entry points add FOLL_PIN, FOLL_GET,
 * FOLL_TOUCH, FOLL_REMOTE or FOLL_UNLOCKABLE themselves. The kernel's `pages == NULL`
 * case (fault in only) is `wantPages: false` here.
 */

/** Write access; GUP breaks CoW first. */
export const FOLL_WRITE = 1 << 0;
/** Take a plain reference (`get_page()`); released with `put_page()`. */
export const FOLL_GET = 1 << 1;
/** Core dump: refuse special pages and holes. */
export const FOLL_DUMP = 1 << 2;
/** Override VMA permissions (ptrace, /proc/pid/mem): writes CoW in private mappings. */
export const FOLL_FORCE = 1 << 3;
/** Do not wait for I/O in the fault (FAULT_FLAG_RETRY_NOWAIT). */
export const FOLL_NOWAIT = 1 << 4;
/** Do not fault at all: a missing page ends the walk with EFAULT. */
export const FOLL_NOFAULT = 1 << 5;
/** Report hwpoisoned pages as EHWPOISON rather than EFAULT. */
export const FOLL_HWPOISON = 1 << 6;
/** Only anonymous VMAs. */
export const FOLL_ANON = 1 << 7;
/** The pin may last indefinitely (RDMA, io_uring fixed buffers, vfio). */
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_SPLIT_PMD = 1 << 9;
export const FOLL_PCI_P2PDMA = 1 << 10;
/** Non-fatal signals interrupt the fault too. */
export const FOLL_INTERRUPTIBLE = 1 << 11;
export const FOLL_HONOR_NUMA_FAULT = 1 << 12;

// mm/internal.h: set by the entry points, never by callers.
/** Mark the page accessed (and dirty for writes). */
export const FOLL_TOUCH = 1 << 16;
/** Second attempt after VM_FAULT_RETRY. */
export const FOLL_TRIED = 1 << 17;
/** The mm is not current's (`*_remote()`). */
export const FOLL_REMOTE = 1 << 18;
/** A DMA pin: the refcount grows by GUP_PIN_COUNTING_BIAS; released with `unpin_user_page()`. */
export const FOLL_PIN = 1 << 19;
/** GUP-fast without falling back to the slow path. */
export const FOLL_FAST_ONLY = 1 << 20;
/** The caller passed `locked`: the fault may drop mmap_lock. */
export const FOLL_UNLOCKABLE = 1 << 21;
export const FOLL_MADV_POPULATE = 1 << 22;

export const INTERNAL_GUP_FLAGS =
  FOLL_TOUCH | FOLL_TRIED | FOLL_REMOTE | FOLL_PIN | FOLL_FAST_ONLY | FOLL_UNLOCKABLE | FOLL_MADV_POPULATE;

const NAMES: readonly [number, string][] = [
  [FOLL_WRITE, "FOLL_WRITE"],
  [FOLL_GET, "FOLL_GET"],
  [FOLL_DUMP, "FOLL_DUMP"],
  [FOLL_FORCE, "FOLL_FORCE"],
  [FOLL_NOWAIT, "FOLL_NOWAIT"],
  [FOLL_NOFAULT, "FOLL_NOFAULT"],
  [FOLL_HWPOISON, "FOLL_HWPOISON"],
  [FOLL_ANON, "FOLL_ANON"],
  [FOLL_LONGTERM, "FOLL_LONGTERM"],
  [FOLL_SPLIT_PMD, "FOLL_SPLIT_PMD"],
  [FOLL_PCI_P2PDMA, "FOLL_PCI_P2PDMA"],
  [FOLL_INTERRUPTIBLE, "FOLL_INTERRUPTIBLE"],
  [FOLL_HONOR_NUMA_FAULT, "FOLL_HONOR_NUMA_FAULT"],
  [FOLL_TOUCH, "FOLL_TOUCH"],
  [FOLL_TRIED, "FOLL_TRIED"],
  [FOLL_REMOTE, "FOLL_REMOTE"],
  [FOLL_PIN, "FOLL_PIN"],
  [FOLL_FAST_ONLY, "FOLL_FAST_ONLY"],
  [FOLL_UNLOCKABLE, "FOLL_UNLOCKABLE"],
  [FOLL_MADV_POPULATE, "FOLL_MADV_POPULATE"],
];

/** `FOLL_WRITE|FOLL_PIN`-style text of a flag word. */
export function formatFollFlags(flags: number): string {
  const parts = NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
  let rest = flags;
  for (const [bit] of NAMES) rest &= ~bit;
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.length ? parts.join("|") : "0";
}

/** The outcome of `is_valid_gup_args()`: the flags to use, or why they were refused. */
export type GupArgsCheck = { readonly ok: true; readonly flags: number } | { readonly ok: false; readonly why: string };

/**
 * `is_valid_gup_args()`: refuse internal flags from callers, FOLL_GET with FOLL_PIN,
 * FOLL_LONGTERM without FOLL_PIN, GET/PIN without a pages array, and a long-term
 * P2PDMA pin; otherwise add `toSet` (and FOLL_UNLOCKABLE when the caller passed `locked`).
 */
export function isValidGupArgs(gupFlags: number, toSet: number, opts: { wantPages: boolean; locked: boolean }): GupArgsCheck {
  if (gupFlags & INTERNAL_GUP_FLAGS)
    return { ok: false, why: `internal flags ${formatFollFlags(gupFlags & INTERNAL_GUP_FLAGS)} passed by the caller` };
  let flags = gupFlags | toSet;
  if (opts.locked) flags |= FOLL_UNLOCKABLE;
  if ((flags & (FOLL_PIN | FOLL_GET)) === (FOLL_PIN | FOLL_GET)) return { ok: false, why: "FOLL_GET and FOLL_PIN together" };
  if (!(flags & FOLL_PIN) && flags & FOLL_LONGTERM) return { ok: false, why: "FOLL_LONGTERM without FOLL_PIN" };
  if (flags & (FOLL_GET | FOLL_PIN) && !opts.wantPages) return { ok: false, why: "FOLL_GET/FOLL_PIN without a pages array" };
  if (flags & FOLL_LONGTERM && flags & FOLL_PCI_P2PDMA) return { ok: false, why: "FOLL_LONGTERM with FOLL_PCI_P2PDMA" };
  return { ok: true, flags };
}
