/**
 * Invariant monitors any scenario can ask about at its end (`machine.invariants()`),
 * computed from ground truth — page tables, the memmap, the files' block maps, the bytes
 * programs wrote — and never from the sharing mechanism under test:
 *
 * - `poison-owners-reached`: for every injected memory failure, each process that had a
 *   PTE (or PMD/PUD leaf) on the poisoned pfn was reached as the kernel's policy says
 *   (6.12: the poisoner gets BUS_MCEERR_AR, early-kill tasks BUS_MCEERR_AO; a late-kill
 *   task must at least be unmapped or map a page marked PG_hwpoison, so that its next
 *   access gets SIGBUS); and when the filesystem was told
 *   (notify_failure succeeded), it learned every in-core file owner the block maps name.
 * - `no-page-freed-while-pinned`: a pmem page with references beyond its idle one
 *   (pins, FOLL_GET) never has its block freed or handed to other (file, offset) owners.
 * - `stores-reach-only-their-file`: every file reads back (read(2)) what the shadow of
 *   programs' writes says (shadow.ts).
 * - `xfs-check-clean`: xfs-lite's checker finds nothing.
 * - `no-warn`: nothing WARNed.
 *
 * @see mm/memory-failure.c collect_procs_fsdax(), kill_procs(), task_early_kill();
 *      fs/dax.c dax_layout_busy_page(); Documentation/core-api/pin_user_pages.rst
 *
 * Simplified: pins are sampled at each system call's entry and exit and after each user access
 * (a block freed and reused within one call is seen as reused); the owners of a block are
 * read from the files' extent maps (what the rmapbt must agree with), DRAM pages are
 * trusted to their refcount.
 */
import { gupState } from "@pagelab/gup";
import {
  BUS_MCEERR_AO,
  BUS_MCEERR_AR,
  PG_hwpoison,
  type Pfn,
  SIGBUS,
  type Task,
  initTask,
  pmdLeaf,
  pmdPfn,
  ptePfn,
  ptePresent,
  pudLeaf,
  pudPfn,
  runSync,
  taskMm,
} from "@pagelab/mm-core";
import { type XfsInode, xfsCheckFs } from "@pagelab/xfs-lite";
import type { Machine } from "../machine.js";
import { ShadowFiles } from "./shadow.js";

/** One monitor's verdict. */
export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A process mapping a poisoned pfn when the failure was injected. */
interface Exposure {
  readonly task: Task;
  readonly addr: number;
  readonly early: boolean;
  readonly sentBefore: number;
}

interface PoisonSnapshot {
  readonly pfn: Pfn;
  readonly poisoner: Task;
  readonly exposures: Exposure[];
  /** `ino@pgoff` of every file owner of the block (pmem pfns only). */
  readonly owners: string[];
  readonly reportsBefore: number;
}

export class Monitors {
  readonly shadow: ShadowFiles;
  private readonly poisonFindings: string[] = [];
  private poisonEvents = 0;
  private readonly pinFindings: string[] = [];
  /** Busy pmem pfns → owner keys when first seen busy. */
  private readonly busy = new Map<number, Set<string>>();
  private lastRefsTaken = 0;

  constructor(private readonly m: Machine) {
    this.shadow = new ShadowFiles((ip) => this.readAll(ip) ?? new Uint8Array(0));
  }

  // ---- ground truth helpers -------------------------------------------------------

  /** The bytes of `ip` through the read path (null if it cannot be read: EIO, poison). */
  private readAll(ip: XfsInode): Uint8Array | null {
    if (!this.m.mounted) return null;
    try {
      return runSync(this.m.kfs.read(ip, 0, ip.size), initTask);
    } catch {
      return null;
    }
  }

  /** Disk block → `ino@fileblock` of every regular file mapping it (from the extent maps). */
  private blockOwners(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    if (!this.m.mounted) return out;
    const fs = this.m.kfs.fs;
    const bs = fs.blockSize;
    for (const ip of fs.inodes.values()) {
      if (!ip.isReg() || ip.freed) continue;
      for (const e of fs.fiemap(ip)) {
        for (let i = 0; i < e.feLength / bs; i++) {
          const blk = e.fePhysical / bs + i;
          const key = `${ip.ino}@${e.feLogical / bs + i}`;
          const list = out.get(blk);
          if (list) list.push(key);
          else out.set(blk, [key]);
        }
      }
    }
    return out;
  }

  private pmemBlock(pfn: number): number | null {
    const dev = this.m.dax.dev;
    if (pfn < dev.pfnStart || pfn >= dev.pfnStart + dev.nrPages) return null;
    return dev.pfnToOffset(pfn) / this.m.kfs.fs.blockSize;
  }

  /** Whether `task`'s page tables map `pfn` at `addr` (PTE or a huge leaf covering it). */
  private static maps(task: Task, addr: number, pfn: number): boolean {
    if (!task.alive || task.mm === null) return false;
    const pt = taskMm(task).pgtables;
    const pud = pt.pudAt(addr);
    if (pudLeaf(pud)) return pudPfn(pud) + Math.floor((addr % 2 ** 30) / 4096) === pfn;
    const pmd = pt.pmdAt(addr);
    if (pmdLeaf(pmd)) return pmdPfn(pmd) + Math.floor((addr % 2 ** 21) / 4096) === pfn;
    const pte = pt.pteAt(addr);
    return ptePresent(pte) && ptePfn(pte) === pfn;
  }

  // ---- (a) memory failure -----------------------------------------------------------

  /** Before `memory_failure(pfn)` from `poisoner`: who maps the pfn, who owns the block. */
  poisonStart(pfn: Pfn, poisoner: Task): PoisonSnapshot {
    const exposures: Exposure[] = [];
    const early = this.m.vm.sysctl.memoryFailureEarlyKill;
    for (const p of this.m.processes) {
      if (!p.alive || p.task.mm === null) continue;
      const t = p.task;
      const hit = (addr: number) => exposures.push({ task: t, addr, early: t.mceEarlyKill(early), sentBefore: t.sent.length });
      const leaf = (addr: number, base: number, nr: number) => {
        if (pfn >= base && pfn < base + nr) hit(addr + (pfn - base) * 4096);
      };
      const mm = taskMm(t);
      for (const vma of mm.vmas.intersecting(0, Number.MAX_SAFE_INTEGER)) {
        mm.pgtables.walk(vma.vmStart, vma.vmEnd, {
          pud: (_h, addr, v) => pudLeaf(v) && leaf(addr, pudPfn(v), 2 ** 18),
          pmd: (_h, addr, v) => pmdLeaf(v) && leaf(addr, pmdPfn(v), 512),
          pte: (_h, addr, v) => ptePresent(v) && ptePfn(v) === pfn && hit(addr),
        });
      }
    }
    const blk = this.m.mounted ? this.pmemBlock(pfn) : null;
    const owners = blk === null ? [] : (this.blockOwners().get(blk) ?? []);
    return { pfn, poisoner, exposures, owners, reportsBefore: this.m.mounted ? this.m.kfs.failureReports.length : 0 };
  }

  /** After `memory_failure()` returned: was every exposure reached as policy says? */
  poisonEnd(s: PoisonSnapshot): void {
    this.poisonEvents++;
    const hex = `pfn 0x${s.pfn.toString(16)}`;
    for (const e of s.exposures) {
      const signalled = e.task.sent
        .slice(e.sentBefore)
        .some((si) => si.signo === SIGBUS && (si.code === BUS_MCEERR_AR || si.code === BUS_MCEERR_AO));
      // a late-kill task is left to find out on its next access: unmapped (the refault
      // sees the poison) or still mapping a page marked PG_hwpoison (the access MCEs)
      const armed = !Monitors.maps(e.task, e.addr, s.pfn) || this.m.vm.memmap.testPageFlag(s.pfn, PG_hwpoison);
      const mustSignal = e.task === s.poisoner || e.early;
      if (signalled || (!mustSignal && armed) || !e.task.alive) continue;
      this.poisonFindings.push(`${hex}: ${e.task.comm}/${e.task.pid} at 0x${e.addr.toString(16)} ${mustSignal ? "not signalled" : "neither signalled, unmapped nor marked poisoned"}`);
    }
    if (!this.m.mounted) return;
    const kfs = this.m.kfs;
    // a filesystem that refused (no rmapbt: -EOPNOTSUPP, shut down: -EIO) learned nothing by
    // design; memory_failure() then fell back to the page's own mapping
    const reports = kfs.failureReports.slice(s.reportsBefore).filter((r) => r.ret === 0);
    if (reports.length === 0) return;
    const learned = new Set(reports.flatMap((r) => r.owners.filter((o) => !o.metadata).flatMap((o) => Array.from({ length: Math.max(1, o.count) }, (_, i) => `${o.ino}@${o.pgoff + i}`))));
    for (const o of s.owners) {
      const ip = kfs.fs.inodes.get(Number(o.split("@")[0]));
      // xfs_iget(XFS_IGET_INCORE): the kernel skips files nobody has in core
      if (ip === undefined || ip.mapping === null) continue;
      if (!learned.has(o)) this.poisonFindings.push(`${hex}: the filesystem did not learn owner ino ${o.replace("@", " pgoff ")}`);
    }
  }

  // ---- (b) pins -------------------------------------------------------------------

  /** Sample pinned pmem pages (at each system call's exit and after user accesses). */
  samplePins(): void {
    if (!this.m.mounted) return;
    const stats = gupState(this.m.vm).stats;
    const active = stats.pinsAcquired > stats.pinsReleased || stats.refsTaken !== this.lastRefsTaken || this.busy.size > 0;
    this.lastRefsTaken = stats.refsTaken;
    if (!active) return;
    const memmap = this.m.vm.memmap;
    const dev = this.m.dax.dev;
    const nowBusy: number[] = [];
    for (let pfn = dev.pfnStart; pfn < dev.pfnStart + dev.nrPages; pfn++) if (memmap.pageRefCount(pfn) > 1) nowBusy.push(pfn);
    for (const pfn of [...this.busy.keys()]) if (!nowBusy.includes(pfn)) this.busy.delete(pfn);
    if (nowBusy.length === 0) return;
    const owners = this.blockOwners();
    for (const pfn of nowBusy) {
      const cur = new Set(owners.get(this.pmemBlock(pfn)!) ?? []);
      const first = this.busy.get(pfn);
      if (first === undefined) {
        this.busy.set(pfn, cur);
        continue;
      }
      if (first.size === 0) continue;
      const hex = `pfn 0x${pfn.toString(16)}`;
      if (cur.size === 0) this.pinFindings.push(`${hex}: block freed while referenced (owned by ${[...first].join(", ")})`);
      else if (![...cur].some((k) => first.has(k))) this.pinFindings.push(`${hex}: block reused by ${[...cur].join(", ")} while referenced (owned by ${[...first].join(", ")})`);
      else continue;
      this.busy.set(pfn, cur);
    }
  }

  // ---- the verdicts -----------------------------------------------------------------

  invariants(): InvariantResult[] {
    const out: InvariantResult[] = [];
    out.push({
      name: "poison-owners-reached",
      ok: this.poisonFindings.length === 0,
      detail: this.poisonFindings.length ? this.poisonFindings.join("; ") : `${this.poisonEvents} memory failure(s), every owner reached`,
    });
    this.samplePins();
    out.push({
      name: "no-page-freed-while-pinned",
      ok: this.pinFindings.length === 0,
      detail: this.pinFindings.length ? [...new Set(this.pinFindings)].join("; ") : "no referenced page lost its block",
    });
    if (this.m.mounted && !this.m.kfs.shutdown) {
      const fs = this.m.kfs.fs;
      const r = this.shadow.compare(
        (ino) => {
          const ip = fs.inodes.get(ino);
          return ip !== undefined && !ip.freed ? ip : undefined;
        },
        (ip) => this.readAll(ip),
      );
      const bad = r.mismatches.map((x) => `ino ${x.ino}: ${x.offset >= 0 ? `byte ${x.offset} differs` : "size differs"} (expected ${x.expectedSize} bytes, read ${x.actualSize})`);
      const skipped = r.unreadable.length ? `; unreadable (skipped): ino ${r.unreadable.join(", ")}` : "";
      out.push({ name: "stores-reach-only-their-file", ok: bad.length === 0, detail: (bad.length ? bad.join("; ") : `${r.checked} file(s) read back as written`) + skipped });
      const errs = xfsCheckFs(fs);
      out.push({ name: "xfs-check-clean", ok: errs.length === 0, detail: errs.length ? errs.slice(0, 5).join("; ") : "clean" });
    } else {
      out.push({ name: "stores-reach-only-their-file", ok: true, detail: "filesystem not mounted or shut down: not checked" });
      out.push({ name: "xfs-check-clean", ok: true, detail: "filesystem not mounted or shut down: not checked" });
    }
    const warns = this.m.dmesg.warnCount;
    out.push({ name: "no-warn", ok: warns === 0, detail: `${warns} WARN(s)` });
    return out;
  }
}
