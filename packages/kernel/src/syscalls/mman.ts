/**
 * Memory-mapping system calls: mmap, munmap, mprotect, mremap, msync, madvise
 * (DONTNEED, WILLNEED, HWPOISON…), and loads/stores through mappings.
 *
 * @see mm/mmap.c ksys_mmap_pgoff(), do_mmap(); mm/msync.c sys_msync();
 *      mm/madvise.c do_madvise(), madvise_inject_error(), madvise_dontneed_single_vma();
 *      mm/mprotect.c, mm/mremap.c; arch/x86/mm/fault.c (SIGSEGV/SIGBUS on access)
 *
 * Simplified: MADV_HWPOISON needs no CAP_SYS_ADMIN (scripts run as root); advice other
 * than the listed ones is accepted and does nothing, as for hints the kernel may ignore.
 */
import { getUserPagesFast, putUserPageRef } from "@pagelab/gup";
import {
  KERN_INFO,
  KernelError,
  MAP_ANONYMOUS,
  MAP_SHARED,
  MAP_TYPE,
  MF_ACTION_REQUIRED,
  MF_SW_SIMULATED,
  PAGE_SIZE,
  PROT_WRITE,
  type SigInfo,
  type Sleepable,
  VM_LOCKED,
  VM_PFNMAP,
  VM_SHARED,
  ERRNO,
  handleToPfn,
  load,
  memoryFailure,
  store,
  sysMprotect,
  sysMremap,
  taskMm,
  vmMmap,
  vmMunmap,
  zapPageRange,
} from "@pagelab/mm-core";
import { XfsInode } from "@pagelab/xfs-lite";
import type { Machine } from "../machine.js";
import type { Process } from "../vfs/process.js";

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_HWPOISON = 100;

const KNOWN_ADVICE = new Set([MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_HWPOISON]);

export interface MmapRequest {
  readonly addr?: number;
  readonly len: number;
  readonly prot: number;
  readonly flags: number;
  readonly fd?: number;
  readonly offset?: number;
}

/** `ksys_mmap_pgoff()`: the address of the new mapping. */
export function* sysMmap(m: Machine, p: Process, req: MmapRequest): Sleepable<number> {
  const mm = taskMm(p.task);
  const offset = req.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % PAGE_SIZE !== 0) throw new KernelError("EINVAL");
  if (!Number.isSafeInteger(req.len) || req.len < 0) throw new KernelError("EINVAL");
  if (req.flags & MAP_ANONYMOUS) {
    return yield* vmMmap(mm, { ...(req.addr !== undefined ? { addr: req.addr } : {}), len: req.len, prot: req.prot, flags: req.flags });
  }
  const f = p.files.get(req.fd ?? -1);
  const kfs = m.kfs;
  kfs.checkAlive();
  if (!f.ip.isReg()) throw new KernelError("ENODEV");
  if (!f.readable) throw new KernelError("EACCES");
  if ((req.flags & MAP_TYPE) !== 0x2 && req.flags & MAP_SHARED && req.prot & PROT_WRITE && !f.writable) throw new KernelError("EACCES");
  const file = kfs.vmFile(f.ip, f.readable, f.writable);
  return yield* vmMmap(mm, {
    ...(req.addr !== undefined ? { addr: req.addr } : {}),
    len: req.len,
    prot: req.prot,
    flags: req.flags,
    file,
    pgoff: offset / PAGE_SIZE,
  });
}

export function* sysMunmap(m: Machine, p: Process, addr: number, len: number): Sleepable<number> {
  yield* vmMunmap(taskMm(p.task), addr, len);
  if (m.mounted) yield* m.kfs.runTaskWork();
  return 0;
}

export function* sysMprotectCall(_m: Machine, p: Process, addr: number, len: number, prot: number): Sleepable<number> {
  yield* sysMprotect(taskMm(p.task), addr, len, prot);
  return 0;
}

export function* sysMremapCall(_m: Machine, p: Process, addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): Sleepable<number> {
  return yield* sysMremap(taskMm(p.task), addr, oldLen, newLen, flags, newAddr);
}

/** `sys_msync()`: MS_SYNC runs `vfs_fsync_range()` on the file range of every shared file VMA. */
export function* sysMsync(m: Machine, p: Process, addr: number, len: number, flags: number): Sleepable<number> {
  if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) throw new KernelError("EINVAL");
  if (addr % PAGE_SIZE !== 0) throw new KernelError("EINVAL");
  if (flags & MS_ASYNC && flags & MS_SYNC) throw new KernelError("EINVAL");
  if (!Number.isSafeInteger(len) || len < 0) throw new KernelError("ENOMEM");
  const end = addr + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (end === addr) return 0;
  const mm = taskMm(p.task);
  const vmas = mm.vmas.intersecting(addr, end);
  let unmapped = vmas.length === 0 || vmas[0]!.vmStart > addr;
  for (let i = 1; i < vmas.length; i++) if (vmas[i]!.vmStart !== vmas[i - 1]!.vmEnd) unmapped = true;
  if (vmas.length > 0 && vmas[vmas.length - 1]!.vmEnd < end) unmapped = true;
  if (flags & MS_SYNC) {
    for (const vma of vmas) {
      const mapping = vma.mapping;
      if (mapping === null || !(vma.vmFlags & VM_SHARED)) continue;
      const s = Math.max(addr, vma.vmStart);
      const e = Math.min(end, vma.vmEnd);
      const fstart = (vma.vmPgoff + (s - vma.vmStart) / PAGE_SIZE) * PAGE_SIZE;
      yield* m.kfs.fsyncRange(mapping.host as XfsInode, fstart, fstart + (e - s) - 1);
    }
  }
  if (unmapped) throw new KernelError("ENOMEM");
  return 0;
}

/** `madvise_inject_error()`: each page faulted in, then memory_failure() as a consumed error. */
function* injectError(m: Machine, p: Process, start: number, end: number): Sleepable<number> {
  const ctx = m.vm;
  for (let a = start; a < end; a += PAGE_SIZE) {
    const r = yield* getUserPagesFast(a, 1, 0);
    const page = r.pages[0]!;
    const pfn = handleToPfn(page);
    putUserPageRef(ctx, page);
    ctx.dmesg.printk(KERN_INFO, `Injecting memory failure for pfn 0x${pfn.toString(16)} at process virtual address 0x${a.toString(16)}`);
    const watch = m.monitors.poisonStart(pfn, p.task);
    let ret = yield* memoryFailure(ctx, pfn, MF_ACTION_REQUIRED | MF_SW_SIMULATED);
    m.monitors.poisonEnd(watch);
    if (ret === -ERRNO.EOPNOTSUPP) ret = 0;
    if (ret) return ret;
  }
  return 0;
}

export function* sysMadvise(m: Machine, p: Process, addr: number, len: number, advice: number): Sleepable<number> {
  if (!KNOWN_ADVICE.has(advice)) throw new KernelError("EINVAL");
  if (addr % PAGE_SIZE !== 0 || !Number.isSafeInteger(len) || len < 0) throw new KernelError("EINVAL");
  const end = addr + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (end === addr) return 0;
  if (advice === MADV_HWPOISON) return yield* injectError(m, p, addr, end);
  const mm = taskMm(p.task);
  yield* mm.mmapLock.downRead();
  try {
    const vmas = mm.vmas.intersecting(addr, end);
    let covered = 0;
    for (const vma of vmas) covered += Math.min(end, vma.vmEnd) - Math.max(addr, vma.vmStart);
    if (advice === MADV_DONTNEED || advice === MADV_FREE) {
      for (const vma of vmas) if (vma.vmFlags & (VM_LOCKED | VM_PFNMAP)) throw new KernelError("EINVAL");
      zapPageRange(mm, addr, end - addr);
    }
    if (covered !== end - addr) throw new KernelError("ENOMEM");
    return 0;
  } finally {
    mm.mmapLock.upRead();
  }
}

export type AccessOutcome = { ok: true; data: Uint8Array } | { ok: false; signal: SigInfo; data: Uint8Array };

/** A user load of `len` bytes at `addr` (faults, SIGSEGV/SIGBUS delivered). */
export function* userLoad(_m: Machine, _p: Process, addr: number, len: number): Sleepable<AccessOutcome> {
  return yield* load(addr, len);
}

/** A user store of `bytes` at `addr`; what reached a shared file mapping goes to the shadow. */
export function* userStore(m: Machine, p: Process, addr: number, bytes: Uint8Array): Sleepable<AccessOutcome> {
  const r = yield* store(addr, bytes);
  const out: AccessOutcome = r.ok ? { ok: true, data: bytes } : { ok: false, signal: r.signal, data: bytes.subarray(0, r.done) };
  shadowStore(m, p, addr, out.data);
  return out;
}

function shadowStore(m: Machine, p: Process, addr: number, data: Uint8Array): void {
  if (data.length === 0 || !p.alive) return;
  for (const vma of taskMm(p.task).vmas.intersecting(addr, addr + data.length)) {
    const host = vma.mapping?.host;
    if (!(vma.vmFlags & VM_SHARED) || !(host instanceof XfsInode)) continue;
    const s = Math.max(addr, vma.vmStart);
    const e = Math.min(addr + data.length, vma.vmEnd);
    m.monitors.shadow.write(host, vma.vmPgoff * PAGE_SIZE + (s - vma.vmStart), data.subarray(s - addr, e - addr));
  }
}
