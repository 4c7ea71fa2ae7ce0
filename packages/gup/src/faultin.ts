/**
 * Faulting in what GUP needs: a write fault for FOLL_WRITE (which breaks CoW), an unshare
 * fault for a R/O pin of a possibly shared anonymous page, and the mapping of fault
 * results to errno.
 *
 * @see mm/gup.c faultin_page(), gup_signal_pending(); include/linux/mm.h vm_fault_to_errno()
 *
 * mm-core's fault handler never drops mmap_lock by itself, so VM_FAULT_RETRY only comes
 * from `vm_ops` that honour FAULT_FLAG_RETRY_NOWAIT (FOLL_NOWAIT) or FAULT_FLAG_ALLOW_RETRY;
 * VM_FAULT_COMPLETED is handled as the kernel does.
 */
import {
  ERRNO, FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_INTERRUPTIBLE, FAULT_FLAG_KILLABLE, FAULT_FLAG_REMOTE,
  FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_TRIED, FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, SIGKILL, VM_FAULT_COMPLETED,
  VM_FAULT_ERROR, VM_FAULT_HWPOISON, VM_FAULT_HWPOISON_LARGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV, current, handleMmFault, vmBugOn, type Sleepable, type VmAreaStruct,
} from "@pagelab/mm-core";
import { gupState } from "./config.js";
import {
  FOLL_HWPOISON, FOLL_INTERRUPTIBLE, FOLL_NOFAULT, FOLL_NOWAIT, FOLL_REMOTE, FOLL_TRIED, FOLL_UNLOCKABLE, FOLL_WRITE,
} from "./foll.js";

/** `*locked`: whether the caller's mmap_lock is still held (a fault may drop it). */
export interface GupLocked {
  value: boolean;
}

/** `vm_fault_to_errno()`: 0 when the fault result is not an error GUP knows. */
export function vmFaultToErrno(fault: number, follFlags: number): number {
  if (fault & VM_FAULT_OOM) return -ERRNO.ENOMEM;
  if (fault & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE))
    return follFlags & FOLL_HWPOISON ? -ERRNO.EHWPOISON : -ERRNO.EFAULT;
  if (fault & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) return -ERRNO.EFAULT;
  return 0;
}

/** `fatal_signal_pending(current)`. */
export function fatalSignalPending(): boolean {
  const t = current();
  return !t.alive || t.pending.some((s) => s.signo === SIGKILL);
}

/** `gup_signal_pending()`: fatal signals always, others with FOLL_INTERRUPTIBLE. */
export function gupSignalPending(flags: number): boolean {
  if (fatalSignalPending()) return true;
  return (flags & FOLL_INTERRUPTIBLE) !== 0 && current().pending.length > 0;
}

/**
 * `faultin_page()`: 0 (retry the lookup), -EBUSY (VM_FAULT_RETRY; `locked` cleared unless
 * NOWAIT), -EAGAIN (VM_FAULT_COMPLETED, lock dropped) or the fault's errno.
 */
export function* faultinPage(vma: VmAreaStruct, address: number, flags: number, unshare: boolean, locked: GupLocked): Sleepable<number> {
  if (flags & FOLL_NOFAULT) return -ERRNO.EFAULT;
  let faultFlags = 0;
  if (flags & FOLL_WRITE) faultFlags |= FAULT_FLAG_WRITE;
  if (flags & FOLL_REMOTE) faultFlags |= FAULT_FLAG_REMOTE;
  if (flags & FOLL_UNLOCKABLE) {
    faultFlags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
    if (flags & FOLL_INTERRUPTIBLE) faultFlags |= FAULT_FLAG_INTERRUPTIBLE;
  }
  if (flags & FOLL_NOWAIT) faultFlags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT;
  if (flags & FOLL_TRIED) faultFlags |= FAULT_FLAG_TRIED;
  if (unshare) {
    faultFlags |= FAULT_FLAG_UNSHARE;
    vmBugOn((faultFlags & FAULT_FLAG_WRITE) !== 0, "faultin_page: FAULT_FLAG_WRITE with FAULT_FLAG_UNSHARE");
  }
  const stats = gupState(vma.vmMm.ctx).stats;
  stats.faults++;
  if (unshare) stats.unshareFaults++;

  const ret = yield* handleMmFault(vma, address, faultFlags);

  if (ret & VM_FAULT_COMPLETED) {
    locked.value = false;
    return -ERRNO.EAGAIN;
  }
  if (ret & VM_FAULT_ERROR) {
    const err = vmFaultToErrno(ret, flags);
    vmBugOn(err === 0, `faultin_page: unexpected fault result 0x${ret.toString(16)}`);
    return err;
  }
  if (ret & VM_FAULT_RETRY) {
    if (!(faultFlags & FAULT_FLAG_RETRY_NOWAIT)) locked.value = false;
    return -ERRNO.EBUSY;
  }
  return 0;
}
