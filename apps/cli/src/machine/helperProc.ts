/**
 * The pagelab-* helpers' processes on @pagelab/kernel: system calls run to completion as
 * the process's task, SIGBUS/SIGSEGV caught and recorded the way `pl_catch()` does, and
 * `/proc/PID/pagemap` read off the page tables.
 *
 * @see fs/proc/task_mmu.c pagemap_pmd_range(), pte_to_pagemap_entry() (PM_PRESENT, PFN)
 *
 * Simplified: pagemap reports present + PFN only (no soft-dirty, exclusive or swap bits).
 */
import { FOLL_LONGTERM, FOLL_WRITE, pinUserPagesFast, unpinUserPages, unpinUserPagesDirtyLock } from "@pagelab/gup";
import { type Machine, type Process, callsOf } from "@pagelab/kernel";
import { type ErrnoName, KernelError, PAGE_SIZE, handleToPfn, runSync, PMD_SIZE, PUD_SIZE, SIGBUS, SIGSEGV, createProcess, errnoName, pmdLeaf, pmdPfn, ptePfn, ptePresent, pudLeaf, pudPfn, taskMm } from "@pagelab/mm-core";
import type { CaughtSignal, HelperProc, PagemapEntry, PinningProc } from "../helpers/proc.js";

function ok(r: number): number {
  if (r < 0) throw new KernelError((errnoName(-r) ?? "EINVAL") as ErrnoName);
  return r;
}

/** `/proc/PID/pagemap` for one address of `p`. */
export function pagemapEntry(p: Process, addr: number): PagemapEntry {
  const mm = p.task.mm ? taskMm(p.task) : null;
  if (!mm) return { present: false, pfn: 0 };
  const pt = mm.pgtables;
  const pud = pt.pudAt(addr);
  if (pudLeaf(pud)) return { present: true, pfn: pudPfn(pud) + Math.floor((addr % PUD_SIZE) / PAGE_SIZE) };
  const pmd = pt.pmdAt(addr);
  if (pmdLeaf(pmd)) return { present: true, pfn: pmdPfn(pmd) + Math.floor((addr % PMD_SIZE) / PAGE_SIZE) };
  const pte = pt.pteAt(addr);
  return ptePresent(pte) ? { present: true, pfn: ptePfn(pte) } : { present: false, pfn: 0 };
}

export class KernelHelperProc implements HelperProc {
  readonly proc: Process;
  protected readonly c: ReturnType<typeof callsOf>;

  constructor(
    protected readonly m: Machine,
    comm: string,
    mmapBase: number,
  ) {
    this.proc = m.adopt(createProcess(m.vm, comm, { mmapBase }));
    this.c = callsOf(m.sys, this.proc);
  }

  get pid(): number {
    return this.proc.pid;
  }
  get alive(): boolean {
    return this.proc.alive;
  }
  get killedBy(): number | null {
    return this.proc.task.exitSignal;
  }

  open(path: string, flags: number): number {
    return ok(this.c.open(path, flags));
  }
  close(fd: number): void {
    ok(this.c.close(fd));
  }
  mmap(len: number, prot: number, flags: number, fd: number, offset: number): number {
    return ok(this.c.mmap({ len, prot, flags, fd, offset }));
  }
  msync(addr: number, len: number, flags: number): void {
    ok(this.c.msync(addr, len, flags));
  }
  madvise(addr: number, len: number, advice: number): void {
    ok(this.c.madvise(addr, len, advice));
  }
  prctl(option: number, arg2: number, arg3: number): void {
    ok(this.c.prctl(option, arg2, arg3));
  }
  load(addr: number, len: number): Uint8Array | null {
    const r = this.c.load(addr, len);
    return r.ok ? r.data : null;
  }
  catchSignals(): void {
    this.proc.task.dispositions.set(SIGBUS, "catch");
    this.proc.task.dispositions.set(SIGSEGV, "catch");
  }
  blockSignals(block: boolean): void {
    this.proc.task.blockSignals([SIGBUS, SIGSEGV], block);
  }
  wake(): void {
    this.proc.task.deliverPending();
  }
  caught(): readonly CaughtSignal[] {
    return this.proc.task.delivered
      .filter((s) => s.outcome === "caught" && (s.signo === SIGBUS || s.signo === SIGSEGV))
      .map((s) => ({ signo: s.signo, code: s.code, addr: s.addr, lsb: s.addrLsb ?? 12 }));
  }
  pagemap(addr: number): PagemapEntry {
    return pagemapEntry(this.proc, addr);
  }
  exit(code: number): void {
    if (this.proc.alive) this.c.exit(code);
  }
}

const SECTOR = 512;
/** `UIO_MAXIOV`-era io_uring limit on one registered buffer (`io_buffer_validate()`: SZ_1G). */
const IO_URING_MAX_BUFFER = 1024 * 1024 * 1024;

/**
 * The block layer's direct I/O and io_uring's registered buffers, as the helpers use them.
 *
 * @see block/fops.c blkdev_direct_IO() (alignment to the logical block size, reads
 *      clipped at the device end); block/bio.c bio_iov_iter_get_pages() (pin_user_pages_fast
 *      FOLL_WRITE for a read), bio_release_pages() (dirty + unpin); io_uring/rsrc.c
 *      io_sqe_buffer_register(), io_pin_pages() (FOLL_WRITE | FOLL_LONGTERM)
 *
 * Simplified: the "DMA" is a synchronous copy from the pmem namespace into the pinned pages.
 */
export class KernelPinningProc extends KernelHelperProc implements PinningProc {
  private readonly bdevs = new Map<number, true>();

  openBlockDevice(path: string): number {
    if (path !== `/dev/${this.m.devName}`) throw new KernelError("ENOENT");
    const fd = 1000 + this.bdevs.size;
    this.bdevs.set(fd, true);
    return fd;
  }

  preadDirect(fd: number, addr: number, len: number, offset: number): number {
    if (!this.bdevs.has(fd)) throw new KernelError("EBADF");
    if (offset % SECTOR || len % SECTOR || addr % SECTOR) throw new KernelError("EINVAL");
    const bdev = this.m.ns.blockDevice!;
    const size = bdev.nrSectors * SECTOR;
    const n = Math.max(0, Math.min(len, size - offset));
    if (n === 0) return 0;
    const first = addr - (addr % PAGE_SIZE);
    const nrPages = Math.ceil((addr + n - first) / PAGE_SIZE);
    const vm = this.m.vm;
    const r = runSync(pinUserPagesFast(first, nrPages, FOLL_WRITE), this.proc.task);
    if (r.nr < nrPages) {
      unpinUserPages(vm, r.pages.slice(0, r.nr));
      throw new KernelError("EFAULT");
    }
    const data = new Uint8Array(n);
    bdev.read(offset / SECTOR, data);
    let done = 0;
    r.pages.forEach((page, i) => {
      const start = i === 0 ? addr - first : 0;
      const k = Math.min(PAGE_SIZE - start, n - done);
      vm.physMem.write(handleToPfn(page), start, data.subarray(done, done + k));
      done += k;
    });
    runSync(unpinUserPagesDirtyLock(vm, r.pages, true), this.proc.task);
    return n;
  }

  registerBuffer(addr: number, len: number): void {
    if (addr === 0 || len === 0 || len > IO_URING_MAX_BUFFER) throw new KernelError("EFAULT");
    const first = addr - (addr % PAGE_SIZE);
    const nrPages = Math.ceil((addr + len - first) / PAGE_SIZE);
    const r = runSync(pinUserPagesFast(first, nrPages, FOLL_WRITE | FOLL_LONGTERM), this.proc.task);
    unpinUserPages(this.m.vm, r.pages.slice(0, r.nr));
    if (r.nr < nrPages) throw new KernelError("EFAULT");
  }
}
