/**
 * get_user_pages() and pin_user_pages(), slow path: walk the VMAs of a range under
 * mmap_lock, look each page up, fault in what is missing or must be unshared, and take a
 * FOLL_GET reference or a FOLL_PIN pin on it.
 *
 * @see mm/gup.c __get_user_pages(), __get_user_pages_locked(), __gup_longterm_locked(),
 *      gup_vma_lookup(), get_user_pages(), get_user_pages_remote(),
 *      get_user_pages_unlocked(), pin_user_pages(), pin_user_pages_remote(),
 *      pin_user_pages_unlocked(), mm_set_has_pinned_flag()
 *
 * Results: `{ nr, pages }` with `nr` ≥ 1 pages taken (possibly fewer than asked); a walk
 * that takes nothing throws the KernelError the kernel returns as -errno. Invalid flag
 * combinations throw EINVAL from the get_* forms; the pin_* slow forms return 0 pages
 * with a WARN, as the kernel does. Following the kernel, get_user_pages()/pin_user_pages()
 * and the *_remote() forms expect the caller to hold mmap_lock for reading; the
 * *_unlocked() forms take it themselves. Simplified: no gate area, no stack expansion
 * warning, no migration of long-term pins out of ZONE_MOVABLE/CMA (memory has none).
 */
import {
  ERRNO, KernelError, MMF_HAS_PINNED, errnoName, pfnToHandle, ptePfn, ptePresent, pteWrite, schedule, taskMm, current,
  PAGE_SIZE, PG_anon_exclusive, VM_WRITE, type MmStruct, type PageHandle, type Sleepable, type VmAreaStruct,
} from "@pagelab/mm-core";
import { gupState } from "./config.js";
import { fatalSignalPending, faultinPage, gupSignalPending, type GupLocked } from "./faultin.js";
import { followPageContextDone, followPageMask, type FollowPageContext } from "./follow.js";
import {
  FOLL_GET, FOLL_HWPOISON, FOLL_MADV_POPULATE, FOLL_NOWAIT, FOLL_PIN, FOLL_REMOTE, FOLL_TOUCH, FOLL_TRIED,
  FOLL_UNLOCKABLE, FOLL_WRITE, formatFollFlags, isValidGupArgs,
} from "./foll.js";
import { checkVmaFlags } from "./vmaFlags.js";

/** What a GUP call took: `nr` page handles, in address order. */
export interface GupResult {
  readonly nr: number;
  readonly pages: PageHandle[];
}

/** Options of the `*_remote()` forms. */
export interface GupRemoteOptions {
  /**
   * The kernel's `int *locked`: the caller holds mmap_lock and lets faults drop it
   * (FOLL_UNLOCKABLE); on return `value` says whether it is still held.
   */
  readonly locked?: GupLocked;
}

function errnoError(ret: number, what: string): KernelError {
  return new KernelError(errnoName(ret) ?? "EFAULT", what);
}

/** `mm_set_has_pinned_flag()`: once set, fork copies possibly pinned anon pages eagerly. */
export function mmSetHasPinnedFlag(mm: MmStruct): void {
  if (!mm.testFlag(MMF_HAS_PINNED)) mm.setFlag(MMF_HAS_PINNED);
}

/** `gup_vma_lookup()`: the VMA containing `addr` (GUP no longer grows stacks). */
function gupVmaLookup(mm: MmStruct, addr: number): VmAreaStruct | undefined {
  return mm.vmaLookup(addr);
}

/**
 * Dirty COW's pre-4.9 step, for the historic switch: after a write fault on a VMA without
 * VM_WRITE broke CoW (the PTE now maps an exclusive anonymous page, read-only), the old
 * faultin_page() cleared FOLL_WRITE so that the retry is a plain read.
 */
function oldFaultinDropsWrite(vma: VmAreaStruct, address: number): boolean {
  if (vma.vmFlags & VM_WRITE) return false;
  const mm = vma.vmMm;
  const pte = mm.pgtables.pteAt(address);
  if (!ptePresent(pte) || pteWrite(pte)) return false;
  const pfn = ptePfn(pte);
  const memmap = mm.ctx.memmap;
  return memmap.pfnValid(pfn) && memmap.folioTestAnon(pfn) && memmap.testPageFlag(pfn, PG_anon_exclusive);
}

/**
 * `__get_user_pages()`: the number of pages taken (appended to `pages` when given), or a
 * negative errno if none were; 0 when a fault must be retried.
 */
export function* getUserPagesCore(
  mm: MmStruct,
  start: number,
  nrPages: number,
  gupFlags: number,
  pages: PageHandle[] | null,
  locked: GupLocked,
): Sleepable<number> {
  if (!nrPages) return 0;
  const ctx = mm.ctx;
  const bugs = gupState(ctx).bugs;
  const fctx: FollowPageContext = { pgmap: null };
  let vma: VmAreaStruct | undefined;
  let i = 0;
  let ret = 0;
  let flags = gupFlags;
  start -= start % PAGE_SIZE;
  try {
    walk: do {
      if (!vma || start >= vma.vmEnd) {
        if (flags & FOLL_MADV_POPULATE) {
          vma = mm.vmaLookup(start);
          if (!vma) {
            ret = -ERRNO.ENOMEM;
            break walk;
          }
          if (checkVmaFlags(vma, flags)) {
            ret = -ERRNO.EINVAL;
            break walk;
          }
        } else {
          vma = gupVmaLookup(mm, start);
          if (!vma) {
            ret = -ERRNO.EFAULT;
            break walk;
          }
          ret = checkVmaFlags(vma, flags);
          if (ret) break walk;
        }
      }
      for (;;) {
        if (fatalSignalPending()) {
          ret = -ERRNO.EINTR;
          break walk;
        }
        yield* schedule(); // cond_resched()
        const page = followPageMask(vma, start, flags, fctx);
        if (page.kind === "none" || page.kind === "unshare") {
          ret = yield* faultinPage(vma, start, flags, page.kind === "unshare", locked);
          if (ret === 0) {
            if (bugs.dirtyCow && flags & FOLL_WRITE && oldFaultinDropsWrite(vma, start)) flags &= ~FOLL_WRITE;
            continue;
          }
          if (ret === -ERRNO.EBUSY || ret === -ERRNO.EAGAIN) ret = 0;
          break walk;
        }
        if (page.kind === "error") {
          if (page.errno === -ERRNO.EEXIST && !pages) break;
          ret = page.errno;
          break walk;
        }
        pages?.push(pfnToHandle(page.pfn));
        break;
      }
      i++;
      start += PAGE_SIZE;
      nrPages--;
    } while (nrPages);
  } finally {
    followPageContextDone(fctx);
  }
  return i ? i : ret;
}

/**
 * `__get_user_pages_locked()`: take mmap_lock if the caller does not hold it, retry after
 * VM_FAULT_RETRY when the caller allowed the lock to be dropped, and never return 0 pages
 * without FOLL_NOWAIT.
 */
function* getUserPagesLocked(
  mm: MmStruct,
  start: number,
  nrPages: number,
  pages: PageHandle[] | null,
  locked: GupLocked,
  gupFlags: number,
): Sleepable<number> {
  if (!nrPages) return 0;
  let flags = gupFlags;
  let mustUnlock = false;
  if (!locked.value) {
    yield* mm.mmapLock.downRead();
    mustUnlock = true;
    locked.value = true;
  }
  if (flags & FOLL_PIN) mmSetHasPinnedFlag(mm);
  if (pages && !(flags & FOLL_PIN)) flags |= FOLL_GET;

  let pagesDone = 0;
  let ret: number;
  try {
    for (;;) {
      ret = yield* getUserPagesCore(mm, start, nrPages, flags, pages, locked);
      if (!(flags & FOLL_UNLOCKABLE)) {
        pagesDone = ret;
        break;
      }
      if (ret > 0) {
        nrPages -= ret;
        pagesDone += ret;
        if (!nrPages) break;
      }
      if (locked.value) {
        if (!pagesDone) pagesDone = ret;
        break;
      }
      // VM_FAULT_RETRY dropped the lock: retake it and redo the faulting page with FOLL_TRIED.
      start += ret * PAGE_SIZE;
      mustUnlock = true;
      let stop = false;
      for (;;) {
        if (gupSignalPending(flags)) {
          if (!pagesDone) pagesDone = -ERRNO.EINTR;
          stop = true;
          break;
        }
        yield* mm.mmapLock.downRead();
        locked.value = true;
        ret = yield* getUserPagesCore(mm, start, 1, flags | FOLL_TRIED, pages, locked);
        if (!locked.value) continue;
        break;
      }
      if (stop) break;
      if (ret !== 1) {
        if (!pagesDone) pagesDone = ret;
        break;
      }
      nrPages--;
      pagesDone++;
      if (!nrPages) break;
      start += PAGE_SIZE;
    }
  } finally {
    if (mustUnlock && locked.value) {
      mm.mmapLock.upRead();
      locked.value = false;
    }
  }
  if (pagesDone === 0 && !(flags & FOLL_NOWAIT)) {
    mm.ctx.dmesg.warnOnOnce(true, "mm/gup.c __get_user_pages_locked", current().pid, current().comm);
    return -ERRNO.EFAULT;
  }
  return pagesDone;
}

/**
 * `__gup_longterm_locked()`: FOLL_LONGTERM pins would first migrate pages out of
 * ZONE_MOVABLE and CMA; mm-core's memory has neither, so every pinned page may stay.
 */
export function* gupLongtermLocked(
  mm: MmStruct,
  start: number,
  nrPages: number,
  pages: PageHandle[] | null,
  locked: GupLocked,
  gupFlags: number,
): Sleepable<number> {
  return yield* getUserPagesLocked(mm, start, nrPages, pages, locked, gupFlags);
}

function invalidArgs(mm: MmStruct, why: string): void {
  const t = current();
  mm.ctx.dmesg.warnOnOnce(true, `mm/gup.c is_valid_gup_args (${why})`, t.pid, t.comm);
}

/** Turn a kernel-style return into a result or a thrown KernelError. */
function finish(ret: number, pages: PageHandle[], what: string): GupResult {
  if (ret < 0) throw errnoError(ret, what);
  return { nr: ret, pages };
}

function checkNr(nrPages: number): void {
  if (!Number.isSafeInteger(nrPages) || nrPages < 0) throw new KernelError("EINVAL", `nr_pages ${nrPages}`);
}

/**
 * `get_user_pages()`: FOLL_GET references on `nrPages` pages of current's mm from `start`
 * (caller holds mmap_lock for reading). Release each with `putUserPageRef()`.
 */
export function* getUserPages(start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const mm = taskMm(current());
  checkNr(nrPages);
  const v = isValidGupArgs(gupFlags, FOLL_TOUCH, { wantPages: true, locked: false });
  if (!v.ok) {
    invalidArgs(mm, v.why);
    throw new KernelError("EINVAL", `get_user_pages: ${v.why}`);
  }
  const pages: PageHandle[] = [];
  const ret = yield* getUserPagesLocked(mm, start, nrPages, pages, { value: true }, v.flags);
  return finish(ret, pages, `get_user_pages(${formatFollFlags(v.flags)})`);
}

/** `get_user_pages_remote()`: as getUserPages, on another process's mm (ptrace, /proc/pid/mem). */
export function* getUserPagesRemote(mm: MmStruct, start: number, nrPages: number, gupFlags: number, opts: GupRemoteOptions = {}): Sleepable<GupResult> {
  checkNr(nrPages);
  const v = isValidGupArgs(gupFlags, FOLL_TOUCH | FOLL_REMOTE, { wantPages: true, locked: opts.locked !== undefined });
  if (!v.ok || (opts.locked && !opts.locked.value)) {
    invalidArgs(mm, v.ok ? "*locked != 1" : v.why);
    throw new KernelError("EINVAL", `get_user_pages_remote: ${v.ok ? "*locked != 1" : v.why}`);
  }
  const pages: PageHandle[] = [];
  const ret = yield* getUserPagesLocked(mm, start, nrPages, pages, opts.locked ?? { value: true }, v.flags);
  return finish(ret, pages, `get_user_pages_remote(${formatFollFlags(v.flags)})`);
}

/** `get_user_pages_unlocked()`: takes and drops current's mmap_lock itself. */
export function* getUserPagesUnlocked(start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const mm = taskMm(current());
  checkNr(nrPages);
  const v = isValidGupArgs(gupFlags, FOLL_TOUCH | FOLL_UNLOCKABLE, { wantPages: true, locked: false });
  if (!v.ok) {
    invalidArgs(mm, v.why);
    throw new KernelError("EINVAL", `get_user_pages_unlocked: ${v.why}`);
  }
  const pages: PageHandle[] = [];
  const ret = yield* getUserPagesLocked(mm, start, nrPages, pages, { value: false }, v.flags);
  return finish(ret, pages, `get_user_pages_unlocked(${formatFollFlags(v.flags)})`);
}

/**
 * `pin_user_pages()`: FOLL_PIN pins (refcount + 1024 each) on current's pages, for DMA
 * (caller holds mmap_lock for reading). Release with `unpinUserPage(s)` or
 * `unpinUserPagesDirtyLock`. Invalid flags: 0 pages and a WARN, like the kernel.
 */
export function* pinUserPages(start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const mm = taskMm(current());
  checkNr(nrPages);
  const v = isValidGupArgs(gupFlags, FOLL_PIN, { wantPages: true, locked: false });
  if (!v.ok) {
    invalidArgs(mm, v.why);
    return { nr: 0, pages: [] };
  }
  const pages: PageHandle[] = [];
  const ret = yield* gupLongtermLocked(mm, start, nrPages, pages, { value: true }, v.flags);
  return finish(ret, pages, `pin_user_pages(${formatFollFlags(v.flags)})`);
}

/** `pin_user_pages_remote()`. */
export function* pinUserPagesRemote(mm: MmStruct, start: number, nrPages: number, gupFlags: number, opts: GupRemoteOptions = {}): Sleepable<GupResult> {
  checkNr(nrPages);
  const v = isValidGupArgs(gupFlags, FOLL_PIN | FOLL_TOUCH | FOLL_REMOTE, { wantPages: true, locked: opts.locked !== undefined });
  if (!v.ok || (opts.locked && !opts.locked.value)) {
    invalidArgs(mm, v.ok ? "*locked != 1" : v.why);
    return { nr: 0, pages: [] };
  }
  const pages: PageHandle[] = [];
  const ret = yield* gupLongtermLocked(mm, start, nrPages, pages, opts.locked ?? { value: true }, v.flags);
  return finish(ret, pages, `pin_user_pages_remote(${formatFollFlags(v.flags)})`);
}

/** `pin_user_pages_unlocked()`: takes and drops current's mmap_lock itself. */
export function* pinUserPagesUnlocked(start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const mm = taskMm(current());
  checkNr(nrPages);
  const v = isValidGupArgs(gupFlags, FOLL_PIN | FOLL_TOUCH | FOLL_UNLOCKABLE, { wantPages: true, locked: false });
  if (!v.ok) {
    invalidArgs(mm, v.why);
    return { nr: 0, pages: [] };
  }
  const pages: PageHandle[] = [];
  const ret = yield* gupLongtermLocked(mm, start, nrPages, pages, { value: false }, v.flags);
  return finish(ret, pages, `pin_user_pages_unlocked(${formatFollFlags(v.flags)})`);
}

/**
 * `faultin_page_range()` / MADV_POPULATE_(READ|WRITE): fault pages in without taking
 * references (caller holds mmap_lock; it may be dropped). Returns pages processed.
 */
export function* faultinPageRange(mm: MmStruct, start: number, end: number, write: boolean, locked: GupLocked): Sleepable<number> {
  let flags = FOLL_TOUCH | FOLL_HWPOISON | FOLL_UNLOCKABLE | FOLL_MADV_POPULATE;
  if (write) flags |= FOLL_WRITE;
  return yield* getUserPagesLocked(mm, start, (end - start) / PAGE_SIZE, null, locked, flags);
}
