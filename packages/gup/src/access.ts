/**
 * Reading and writing another process's memory through GUP: what ptrace(PEEKDATA/
 * POKEDATA) and /proc/pid/mem do. The write path is the one Dirty COW abused.
 *
 * @see mm/memory.c __access_remote_vm(), access_remote_vm(); fs/proc/base.c mem_rw()
 *      (FOLL_FORCE, plus FOLL_WRITE for writes); kernel/ptrace.c ptrace_access_vm()
 *
 * Page by page: get_user_pages_remote() for one page, copy, set_page_dirty_lock() after a
 * write, put_page(). Stops at the first page GUP cannot get and returns the bytes moved.
 * Simplified: no `vm_ops->access` fallback for VM_IO/VM_PFNMAP mappings.
 */
import { PAGE_SIZE, isKernelError, type MmStruct, type Sleepable } from "@pagelab/mm-core";
import { FOLL_FORCE, FOLL_WRITE } from "./foll.js";
import { gupPagePfn, putUserPageRef, setPageDirtyLock } from "./grab.js";
import { getUserPagesRemote } from "./gup.js";

/** `__access_remote_vm()`: bytes transferred between `buf` and `mm` at `addr`. */
export function* accessRemoteVm(mm: MmStruct, addr: number, buf: Uint8Array, gupFlags: number): Sleepable<number> {
  const ctx = mm.ctx;
  const write = (gupFlags & FOLL_WRITE) !== 0;
  yield* mm.mmapLock.downRead();
  let done = 0;
  try {
    if (!mm.vmaLookup(addr)) return 0;
    while (done < buf.length) {
      let page;
      try {
        const r = yield* getUserPagesRemote(mm, addr + done, 1, gupFlags);
        page = r.pages[0]!;
      } catch (e) {
        if (isKernelError(e)) break;
        throw e;
      }
      const pfn = gupPagePfn(page);
      const offset = (addr + done) % PAGE_SIZE;
      const bytes = Math.min(buf.length - done, PAGE_SIZE - offset);
      const chunk = buf.subarray(done, done + bytes);
      if (write) {
        ctx.physMem.write(pfn, offset, chunk);
        yield* setPageDirtyLock(ctx, pfn);
      } else ctx.physMem.read(pfn, offset, chunk);
      putUserPageRef(ctx, page);
      done += bytes;
    }
  } finally {
    mm.mmapLock.upRead();
  }
  return done;
}

/** `mem_rw()` of /proc/pid/mem: FOLL_FORCE, and FOLL_WRITE for a write. */
export function* procPidMemRw(mm: MmStruct, addr: number, buf: Uint8Array, write: boolean): Sleepable<number> {
  return yield* accessRemoteVm(mm, addr, buf, FOLL_FORCE | (write ? FOLL_WRITE : 0));
}
