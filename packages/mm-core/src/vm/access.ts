/**
 * A task touching its own memory: the MMU walk, the x86 page-fault handler that turns a
 * miss into handleMmFault or a signal, and the machine-check path for loads that hit
 * poisoned memory.
 *
 * @see arch/x86/mm/fault.c do_user_addr_fault(), access_error(), bad_area_nosemaphore(),
 *      do_sigbus(), mm_fault_error(), show_signal_msg(); arch/x86/kernel/cpu/mce/core.c
 *      kill_me_maybe(), kill_me_now(); mm/memory.c access_process_vm() (remote access)
 *
 * The hardware sets the accessed and dirty bits as it walks. A load from a page whose
 * backing throws a MachineCheckError (duck-typed by `name`) runs memory_failure() with
 * MF_ACTION_REQUIRED in the task's context, as kill_me_maybe() does on return to user
 * space. The segfault log line has no ip/sp/code bytes (there are no registers here).
 * Simplified: no stack expansion (VM_GROWSDOWN), no pkeys, no vsyscall.
 */
import { vmBugOn } from "../errno.js";
import { current } from "../sched/current.js";
import type { Sleepable } from "../sched/sleepable.js";
import { KERN_ERR, KERN_INFO } from "../task/dmesg.js";
import { BUS_ADRERR, BUS_MCEERR_AR, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGKILL, SIGSEGV, type SigInfo } from "../task/signal.js";
import type { Task } from "../task/task.js";
import type { Pfn } from "../types.js";
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, PUD_SIZE } from "../types.js";
import { handleMmFault, isMachineCheck } from "./fault.js";
import {
  FAULT_FLAG_DEFAULT, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_WRITE, MF_ACTION_REQUIRED, VM_EXEC,
  VM_FAULT_ERROR, VM_FAULT_HWPOISON, VM_FAULT_HWPOISON_LARGE, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV, VM_READ, VM_WRITE,
} from "./flags.js";
import { taskMm } from "./fork.js";
import type { MmStruct } from "./mm.js";
import { memoryFailure } from "./memoryFailure.js";
import {
  pmdLeaf, pmdMkdirty, pmdMkyoung, ptePfn, pteMkdirty, pteMkyoung, pteUserAccessible, pteWrite, pudLeaf, pudMkdirty,
  pudMkyoung, pudPfn,
} from "./pgtable.js";
import type { VmAreaStruct } from "./vma.js";

/** x86 page-fault error code bits. */
export const X86_PF_PROT = 1 << 0;
export const X86_PF_WRITE = 1 << 1;
export const X86_PF_USER = 1 << 2;

export type AccessResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly signal: SigInfo; readonly done: number };

type Walk = { pfn: Pfn; offset: number } | { errorCode: number };

/** The MMU: translate `addr`, setting A/D bits, or report the page-fault error code. */
function mmuWalk(mm: MmStruct, addr: number, write: boolean): Walk {
  const pt = mm.pgtables;
  const base = X86_PF_USER | (write ? X86_PF_WRITE : 0);
  const uh = pt.pudOffset(addr);
  const pud = pt.pudGet(uh);
  if (pudLeaf(pud)) {
    if (!pteUserAccessible(pud)) return { errorCode: base };
    if (write && !pteWrite(pud)) return { errorCode: base | X86_PF_PROT };
    let v = pudMkyoung(pud);
    if (write) v = pudMkdirty(v);
    if (v !== pud) pt.pudSet(uh, v);
    const off = addr % PUD_SIZE;
    return { pfn: (pudPfn(pud) + Math.floor(off / PAGE_SIZE)) as Pfn, offset: off % PAGE_SIZE };
  }
  const ph = pt.pmdOffset(addr);
  if (ph < 0) return { errorCode: base };
  const pmd = pt.pmdGet(ph);
  if (pmdLeaf(pmd)) {
    if (!pteUserAccessible(pmd)) return { errorCode: base };
    if (write && !pteWrite(pmd)) return { errorCode: base | X86_PF_PROT };
    let v = pmdMkyoung(pmd);
    if (write) v = pmdMkdirty(v);
    if (v !== pmd) pt.pmdSet(ph, v);
    const off = addr % PMD_SIZE;
    return { pfn: (ptePfn(pmd) + Math.floor(off / PAGE_SIZE)) as Pfn, offset: off % PAGE_SIZE };
  }
  const h = pt.pteOffset(addr);
  if (h < 0) return { errorCode: base };
  const pte = pt.pteGet(h);
  if (!pteUserAccessible(pte)) return { errorCode: base };
  if (write && !pteWrite(pte)) return { errorCode: base | X86_PF_PROT };
  let v = pteMkyoung(pte);
  if (write) v = pteMkdirty(v);
  if (v !== pte) pt.pteSet(h, v);
  return { pfn: ptePfn(pte), offset: addr % PAGE_SIZE };
}

/** `access_error()`: does the VMA forbid this access? */
function accessError(errorCode: number, vma: VmAreaStruct): boolean {
  if (errorCode & X86_PF_WRITE) return !(vma.vmFlags & VM_WRITE);
  if (errorCode & X86_PF_PROT) return true;
  return !(vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC));
}

function badArea(task: Task, address: number, errorCode: number, code: number): SigInfo {
  const ctx = taskMm(task).ctx;
  if (task.disposition(SIGSEGV) === "default") {
    ctx.dmesg.printk(
      task.pid > 1 ? KERN_INFO : 0,
      `${task.comm}[${task.pid}]: segfault at ${address.toString(16)} ip 0000000000000000 sp 0000000000000000 error ${errorCode.toString(16)} likely on CPU 0 (core 0, socket 0)`,
    );
  }
  const info: SigInfo = { signo: SIGSEGV, code, addr: address };
  task.forceSignal(info);
  return info;
}

/** `do_sigbus()`. */
function doSigbus(task: Task, address: number, fault: number): SigInfo {
  const ctx = taskMm(task).ctx;
  if (fault & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE)) {
    ctx.dmesg.printk(KERN_ERR, `MCE: Killing ${task.comm}:${task.pid} due to hardware memory corruption fault at ${address.toString(16)}`);
    const info: SigInfo = { signo: SIGBUS, code: BUS_MCEERR_AR, addr: address, addrLsb: PAGE_SHIFT };
    task.forceSignal(info);
    return info;
  }
  const info: SigInfo = { signo: SIGBUS, code: BUS_ADRERR, addr: address };
  task.forceSignal(info);
  return info;
}

/**
 * `do_user_addr_fault()`: find the VMA, check the access, handle the fault; on failure
 * deliver the signal and return it. Null means "retry the access".
 */
export function* doUserAddrFault(task: Task, address: number, errorCode: number): Sleepable<SigInfo | null> {
  const mm = taskMm(task);
  let flags = FAULT_FLAG_DEFAULT | FAULT_FLAG_USER;
  if (errorCode & X86_PF_WRITE) flags |= FAULT_FLAG_WRITE;
  for (;;) {
    yield* mm.mmapLock.downRead();
    const vma = mm.findVma(address);
    if (!vma || vma.vmStart > address) {
      mm.mmapLock.upRead();
      return badArea(task, address, errorCode, SEGV_MAPERR);
    }
    if (accessError(errorCode, vma)) {
      mm.mmapLock.upRead();
      return badArea(task, address, errorCode, SEGV_ACCERR);
    }
    let fault: number;
    try {
      fault = yield* handleMmFault(vma, address, flags);
    } finally {
      mm.mmapLock.upRead();
    }
    if (fault & VM_FAULT_RETRY) {
      flags |= FAULT_FLAG_TRIED;
      continue;
    }
    if (!(fault & VM_FAULT_ERROR)) return null;
    if (fault & VM_FAULT_OOM) {
      const info: SigInfo = { signo: SIGKILL, code: 0x80, addr: 0 };
      mm.ctx.dmesg.printk(KERN_ERR, `Out of memory: Killed process ${task.pid} (${task.comm})`);
      task.sendSignal(info);
      return info;
    }
    if (fault & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE)) return doSigbus(task, address, fault);
    if (fault & VM_FAULT_SIGSEGV) return badArea(task, address, errorCode, SEGV_MAPERR);
    return null;
  }
}

/**
 * The machine-check path of a user load from poison (`kill_me_maybe()`): memory_failure
 * with MF_ACTION_REQUIRED, and SIGBUS if it could not recover.
 */
function* machineCheckUser(task: Task, pfn: Pfn, physAddr: number): Sleepable {
  const ctx = taskMm(task).ctx;
  ctx.dmesg.printk(KERN_ERR, `mce: Uncorrected hardware memory error in user-access at ${physAddr.toString(16)}`);
  const ret = yield* memoryFailure(ctx, pfn, MF_ACTION_REQUIRED);
  if (ret === 0 || ret === -133 || ret === -95) return;
  ctx.dmesg.printk(KERN_ERR, "mce: Memory error not recovered");
  task.forceSignal({ signo: SIGBUS, code: 0x80, addr: 0 });
}

/**
 * The current task reads (`write` false) or writes `buf` at user address `addr`,
 * faulting as needed. Stops at the first signal, reporting it and the bytes done.
 */
export function* accessVm(task: Task, addr: number, buf: Uint8Array, write: boolean): Sleepable<AccessResult> {
  vmBugOn(current() !== task, `accessVm: ${task.comm} is not the current task`);
  const mm = taskMm(task);
  const ctx = mm.ctx;
  task.deliverPending();
  let done = 0;
  let tries = 0;
  while (done < buf.length) {
    if (!task.alive) return { ok: false, signal: lastSignal(task), done };
    const a = addr + done;
    const n = Math.min(PAGE_SIZE - (a % PAGE_SIZE), buf.length - done);
    if (++tries > 64) throw new Error(`accessVm: no progress at ${a.toString(16)} after 64 faults`);
    const sentBefore = task.sent.length;
    const walk = mmuWalk(mm, a, write);
    if ("errorCode" in walk) {
      const sig = yield* doUserAddrFault(task, a, walk.errorCode);
      if (sig) return { ok: false, signal: sig, done };
      continue;
    }
    const chunk = buf.subarray(done, done + n);
    try {
      if (write) ctx.physMem.write(walk.pfn, walk.offset, chunk);
      else ctx.physMem.read(walk.pfn, walk.offset, chunk);
    } catch (e) {
      if (write || !isMachineCheck(e)) throw e;
      yield* machineCheckUser(task, walk.pfn, e.physAddr ?? walk.pfn * PAGE_SIZE + walk.offset);
      task.deliverPending();
      if (task.sent.length > sentBefore || !task.alive) return { ok: false, signal: lastSignal(task), done };
      continue;
    }
    done += n;
    tries = 0;
  }
  task.deliverPending();
  return { ok: true };
}

function lastSignal(task: Task): SigInfo {
  return task.sent[task.sent.length - 1] ?? { signo: SIGKILL, code: 0, addr: 0 };
}

/** The current task loads `len` bytes at `addr`: the data, or the signal that stopped it. */
export function* load(addr: number, len: number): Sleepable<{ ok: true; data: Uint8Array } | { ok: false; signal: SigInfo; data: Uint8Array }> {
  const buf = new Uint8Array(len);
  const r = yield* accessVm(current(), addr, buf, false);
  return r.ok ? { ok: true, data: buf } : { ok: false, signal: r.signal, data: buf.subarray(0, r.done) };
}

/** The current task stores `bytes` at `addr`. */
export function* store(addr: number, bytes: Uint8Array): Sleepable<AccessResult> {
  return yield* accessVm(current(), addr, bytes, true);
}
