/**
 * The pagelab-* helpers' processes on @pagelab/kernel: system calls run to completion as
 * the process's task, SIGBUS/SIGSEGV caught and recorded the way `pl_catch()` does, and
 * `/proc/PID/pagemap` read off the page tables.
 *
 * @see fs/proc/task_mmu.c pagemap_pmd_range(), pte_to_pagemap_entry() (PM_PRESENT, PFN)
 *
 * Simplified: pagemap reports present + PFN only (no soft-dirty, exclusive or swap bits).
 */
import { type Machine, type Process, callsOf } from "@pagelab/kernel";
import { type ErrnoName, KernelError, PAGE_SIZE, PMD_SIZE, PUD_SIZE, SIGBUS, SIGSEGV, createProcess, errnoName, pmdLeaf, pmdPfn, ptePfn, ptePresent, pudLeaf, pudPfn, taskMm } from "@pagelab/mm-core";
import type { CaughtSignal, HelperProc, PagemapEntry } from "../helpers/proc.js";

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
