/**
 * One open of the dmirror device (test_hmm's `struct dmirror`): a device page table
 * mirroring part of one process's address space, kept coherent by an
 * mmu_interval_notifier, and the ioctls that read, write, snapshot and migrate through it.
 *
 * @see lib/test_hmm.c dmirror_fops_open(), dmirror_fops_release(),
 *      dmirror_interval_invalidate(), dmirror_do_update(), dmirror_range_fault(),
 *      dmirror_fault(), dmirror_do_fault(), dmirror_read(), dmirror_write(),
 *      dmirror_migrate_to_device(), dmirror_migrate_alloc_and_copy(),
 *      dmirror_migrate_finalize_and_map(), dmirror_migrate_to_system(),
 *      dmirror_snapshot(), dmirror_range_snapshot(), dmirror_mkentry();
 *      Documentation/mm/hmm.rst (the driver loop)
 *
 * The mirror page table is test_hmm's XArray `pt`: device virtual page → pfn, tagged
 * writable or not; it holds no page references, because the notifier removes entries
 * before the CPU side lets a page go. The device reads and writes memory by pfn through
 * PhysMem (DRAM, or its own device memory). Ioctls are sleepables that throw KernelError
 * with the errno the ioctl would return. The notifier watches [0, TASK_SIZE) of the mm.
 *
 * Simplified: no HMM_DMIRROR_EXCLUSIVE / CHECK_EXCLUSIVE (make_device_exclusive), no
 * fault timeout in jiffies (a retry limit instead).
 */
import {
  ERRNO,
  KernelBug,
  KernelError,
  MmuIntervalNotifier,
  MMU_NOTIFY_MIGRATE,
  Mutex,
  PAGE_SIZE,
  PMD_SHIFT,
  PUD_SHIFT,
  PAGE_SHIFT,
  VM_READ,
  VM_WRITE,
  errnoName,
  isDevicePrivatePage,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  mmuNotifierRangeBlockable,
  type MmStruct,
  type MmuNotifierRange,
  type Pfn,
  type Sleepable,
} from "@pagelab/mm-core";
import {
  HMM_PFN_ERROR,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  hmmPfnToMapOrder,
  hmmPfnsAlloc,
} from "../hmm/flags.js";
import { hmmRangeFault, type HmmRange } from "../hmm/rangeFault.js";
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_SYSTEM,
  migratePfn,
  migratePfnHas,
  migratePfnToPage,
} from "../migrate/migratePfn.js";
import {
  migrateVmaFinalize,
  migrateVmaInit,
  migrateVmaPages,
  migrateVmaSetup,
  type MigrateVma,
} from "../migrate/migrateDevice.js";
import { isDeviceCoherentPage } from "../zoneDevice/types.js";
import type { DmirrorDevice } from "./device.js";
import {
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  type DmirrorCmdResult,
} from "./uapi.js";


/** `DPT_XA_TAG_WRITE`: the mirror entry allows device writes. */
const DPT_XA_TAG_WRITE = 3;
const TAGS = 4;
/** Pages per hmm_range_fault / migrate_vma round (test_hmm's on-stack arrays of 64). */
const BATCH = 64;
/** Stands in for HMM_RANGE_DEFAULT_TIMEOUT: give up with EBUSY after this many retries. */
export const DMIRROR_RANGE_FAULT_RETRIES = 1000;

const ENOENT = -ERRNO.ENOENT;
const EBUSY = -ERRNO.EBUSY;
const EFAULT = -ERRNO.EFAULT;
const EINVAL = -ERRNO.EINVAL;

function fail(ret: number, what: string): never {
  throw new KernelError(errnoName(ret) ?? "EIO", `dmirror ${what}`);
}

/** A mirror entry as tests see it. */
export interface MirrorEntry {
  readonly pfn: Pfn;
  readonly write: boolean;
}

/** `struct dmirror`. */
export class Dmirror {
  /** The device page table: virtual page number → pfn * 4 + tag. */
  private readonly pt = new Map<number, number>();
  readonly notifier: MmuIntervalNotifier;
  readonly mutex = new Mutex("dmirror->mutex");
  /** Invalidation callbacks that zapped entries (events other than our own migrations). */
  invalidations = 0;
  /** Events seen by ->invalidate, in order (MMU_NOTIFY_*). */
  readonly events: number[] = [];

  constructor(
    readonly mdevice: DmirrorDevice,
    mm: MmStruct,
  ) {
    this.notifier = new MmuIntervalNotifier({
      invalidate: (sub, range, curSeq) => this.intervalInvalidate(sub, range, curSeq),
    });
    mmuIntervalNotifierInsert(this.notifier, mm, 0, mm.taskSize);
  }

  get mm(): MmStruct {
    const mm = this.notifier.mm;
    if (!mm) throw new KernelBug("dmirror: released");
    return mm;
  }

  /** The mirror entry for `addr`, if the device has it mapped. */
  mirrorEntry(addr: number): MirrorEntry | undefined {
    const e = this.pt.get(Math.floor(addr / PAGE_SIZE));
    if (e === undefined) return undefined;
    return { pfn: Math.floor(e / TAGS) as Pfn, write: e % TAGS === DPT_XA_TAG_WRITE };
  }

  /** Device pages mapped right now. */
  get mirroredPages(): number {
    return this.pt.size;
  }

  /** `xa_erase()` of one entry (migration back to RAM drops it before copying). */
  mirrorErase(addr: number): void {
    this.pt.delete(Math.floor(addr / PAGE_SIZE));
  }

  /** `dmirror_do_update()`: drop mirror entries for [start, end). */
  private doUpdate(start: number, end: number): void {
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.ceil(end / PAGE_SIZE);
    if (last - first > this.pt.size) {
      for (const vpfn of this.pt.keys()) if (vpfn >= first && vpfn < last) this.pt.delete(vpfn);
    } else for (let v = first; v < last; v++) this.pt.delete(v);
  }

  /** `dmirror_interval_invalidate()`. */
  private intervalInvalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean {
    this.events.push(range.event);
    // Our own migrations handle the mirror themselves.
    if (range.event === MMU_NOTIFY_MIGRATE && range.owner === this.mdevice) return true;
    if (!this.mutex.tryLock()) {
      if (mmuNotifierRangeBlockable(range))
        throw new KernelBug("dmirror: invalidate would sleep on dmirror->mutex (held across a switch point)");
      return false;
    }
    mmuIntervalSetSeq(sub, curSeq);
    this.invalidations++;
    this.doUpdate(range.start, range.end);
    this.mutex.unlock();
    return true;
  }

  /** `mmget_not_zero()`: the mirrored process still has its address space. */
  private mmAlive(): MmStruct | null {
    const mm = this.notifier.mm;
    return mm && !mm.dead && mm.users > 0 ? mm : null;
  }

  /** `dmirror_do_fault()`: program the mirror from a successful hmm_range_fault. */
  private doFault(range: HmmRange): number {
    const { pfn, flags } = range.hmmPfns;
    const n = (range.end - range.start) / PAGE_SIZE;
    const base = range.start / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      const f = flags[i]!;
      if (f & HMM_PFN_ERROR || !(f & HMM_PFN_VALID)) return EFAULT;
      let entry = pfn[i]! * TAGS;
      if (f & HMM_PFN_WRITE) entry += DPT_XA_TAG_WRITE;
      else if (range.defaultFlags & HMM_PFN_REQ_WRITE) return EFAULT;
      this.pt.set(base + i, entry);
    }
    return 0;
  }

  /**
   * `dmirror_range_fault()`: the documented driver loop — read_begin, hmm_range_fault
   * under mmap_lock, take the driver lock, read_retry, program the device.
   */
  private *rangeFault(range: HmmRange): Sleepable<number> {
    const mm = this.mm;
    for (let tries = 0; ; tries++) {
      if (tries >= DMIRROR_RANGE_FAULT_RETRIES) return EBUSY;
      range.notifierSeq = yield* mmuIntervalReadBegin(range.notifier);
      yield* mm.mmapLock.downRead();
      let ret: number;
      try {
        ret = yield* hmmRangeFault(range);
      } finally {
        mm.mmapLock.upRead();
      }
      if (ret) {
        if (ret === EBUSY) continue;
        return ret;
      }
      yield* this.mutex.lock();
      if (mmuIntervalReadRetry(range.notifier, range.notifierSeq)) {
        this.mutex.unlock();
        continue;
      }
      break;
    }
    const ret = this.doFault(range);
    this.mutex.unlock();
    return ret;
  }

  /** `dmirror_fault()`: mirror [start, end), faulting pages in (writable if `write`). */
  private *fault(start: number, end: number, write: boolean): Sleepable<number> {
    if (!this.mmAlive()) return EINVAL;
    const range: HmmRange = {
      notifier: this.notifier,
      notifierSeq: 0,
      start,
      end: start,
      hmmPfns: hmmPfnsAlloc(BATCH),
      defaultFlags: HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
      pfnFlagsMask: 0,
      devPrivateOwner: this.mdevice,
    };
    for (let addr = start; addr < end; addr = range.end) {
      range.start = addr;
      range.end = Math.min(addr + BATCH * PAGE_SIZE, end);
      const ret = yield* this.rangeFault(range);
      if (ret) return ret;
    }
    return 0;
  }

  /** `dmirror_do_read()`: copy mirrored pages into `bounce`; -ENOENT at the first hole. */
  private doRead(start: number, end: number, bounceAddr: number, bounce: Uint8Array, cmd: DmirrorCmdResult): number {
    const physMem = this.mdevice.ctx.physMem;
    for (let addr = start; addr < end; addr += PAGE_SIZE) {
      const e = this.pt.get(addr / PAGE_SIZE);
      if (e === undefined) return ENOENT;
      const off = addr - bounceAddr;
      physMem.read(Math.floor(e / TAGS), 0, bounce.subarray(off, off + PAGE_SIZE));
      cmd.cpages++;
    }
    return 0;
  }

  /** `dmirror_do_write()`: copy `bounce` into mirrored pages; -ENOENT at the first non-writable one. */
  private doWrite(start: number, end: number, bounceAddr: number, bounce: Uint8Array, cmd: DmirrorCmdResult): number {
    const physMem = this.mdevice.ctx.physMem;
    for (let addr = start; addr < end; addr += PAGE_SIZE) {
      const e = this.pt.get(addr / PAGE_SIZE);
      if (e === undefined || e % TAGS !== DPT_XA_TAG_WRITE) return ENOENT;
      const off = addr - bounceAddr;
      physMem.write(Math.floor(e / TAGS), 0, bounce.subarray(off, off + PAGE_SIZE));
      cmd.cpages++;
    }
    return 0;
  }

  private checkCmd(addr: number, npages: number): number {
    if (addr % PAGE_SIZE || !(npages > 0) || !Number.isInteger(npages)) throw new KernelError("EINVAL", "dmirror: bad range");
    return addr + npages * PAGE_SIZE;
  }

  /** HMM_DMIRROR_READ: the device reads `npages` pages at `addr`, faulting them in as needed. */
  *read(addr: number, npages: number): Sleepable<DmirrorCmdResult & { data: Uint8Array }> {
    const end = this.checkCmd(addr, npages);
    const data = new Uint8Array(npages * PAGE_SIZE);
    const cmd: DmirrorCmdResult = { cpages: 0, faults: 0 };
    let start = addr;
    for (;;) {
      yield* this.mutex.lock();
      let ret = this.doRead(start, end, addr, data, cmd);
      this.mutex.unlock();
      if (ret !== ENOENT) break;
      start = addr + cmd.cpages * PAGE_SIZE;
      ret = yield* this.fault(start, end, false);
      if (ret) fail(ret, "read");
      cmd.faults++;
    }
    return { ...cmd, data };
  }

  /** HMM_DMIRROR_WRITE: the device writes `bytes` (whole pages) at `addr`. */
  *write(addr: number, bytes: Uint8Array): Sleepable<DmirrorCmdResult> {
    if (bytes.length % PAGE_SIZE) throw new KernelError("EINVAL", "dmirror write: not whole pages");
    const end = this.checkCmd(addr, bytes.length / PAGE_SIZE);
    const cmd: DmirrorCmdResult = { cpages: 0, faults: 0 };
    let start = addr;
    for (;;) {
      yield* this.mutex.lock();
      let ret = this.doWrite(start, end, addr, bytes, cmd);
      this.mutex.unlock();
      if (ret !== ENOENT) break;
      start = addr + cmd.cpages * PAGE_SIZE;
      ret = yield* this.fault(start, end, true);
      if (ret) fail(ret, "write");
      cmd.faults++;
    }
    return cmd;
  }

  /** `dmirror_migrate_alloc_and_copy()`: a device page for each collected system page (or hole). */
  private migrateAllocAndCopy(args: MigrateVma): void {
    const { mdevice } = this;
    const { ctx } = mdevice;
    const memmap = ctx.memmap;
    for (let i = 0; i < args.npages; i++) {
      const src = args.src[i]!;
      if (!migratePfnHas(src, MIGRATE_PFN_MIGRATE)) continue;
      const spage = migratePfnToPage(src);
      if (spage !== null && memmap.isZoneDevicePage(spage)) {
        memmap.warnOnce("dmirror-migrate", `page already in device spage pfn: 0x${spage.toString(16)}`);
        continue;
      }
      const dpage = mdevice.devmemAllocPage();
      if (dpage === null) continue;
      if (spage !== null) ctx.physMem.copyPage(dpage, spage);
      else ctx.physMem.zeroPage(dpage);
      mdevice.setPageOwner(dpage, this);
      let dst = migratePfn(dpage);
      if (migratePfnHas(src, MIGRATE_PFN_WRITE) || (spage === null && args.vma.vmFlags & VM_WRITE)) dst += MIGRATE_PFN_WRITE;
      args.dst[i] = dst;
    }
  }

  /** `dmirror_migrate_finalize_and_map()`: map the new device pages in the mirror. */
  private *migrateFinalizeAndMap(args: MigrateVma): Sleepable {
    yield* this.mutex.lock();
    const base = args.start / PAGE_SIZE;
    for (let i = 0; i < args.npages; i++) {
      if (!migratePfnHas(args.src[i]!, MIGRATE_PFN_MIGRATE)) continue;
      const dpage = migratePfnToPage(args.dst[i]!);
      if (dpage === null) continue;
      this.pt.set(base + i, dpage * TAGS + (migratePfnHas(args.dst[i]!, MIGRATE_PFN_WRITE) ? DPT_XA_TAG_WRITE : 0));
    }
    this.mutex.unlock();
  }

  /** The VMA-by-VMA, 64-page-batch loop both migration ioctls share. */
  private *migrateLoop(addr: number, end: number, flags: number, body: (args: MigrateVma) => Sleepable): Sleepable<number> {
    const mm = this.mmAlive();
    if (!mm) return EINVAL;
    yield* mm.mmapLock.downRead();
    try {
      for (let a = addr, next: number; a < end; a = next) {
        const vma = mm.vmaLookup(a);
        if (!vma || !(vma.vmFlags & VM_READ)) return EINVAL;
        next = Math.min(end, a + BATCH * PAGE_SIZE, vma.vmEnd);
        const args = migrateVmaInit(vma, a, next, { pgmapOwner: this.mdevice, flags });
        const ret = migrateVmaSetup(args);
        if (ret) return ret;
        yield* body(args);
      }
      return 0;
    } finally {
      mm.mmapLock.upRead();
    }
  }

  /**
   * HMM_DMIRROR_MIGRATE_TO_DEV: move anonymous memory at [addr, +npages) into device
   * memory; returns the data as the device now sees it.
   */
  *migrateToDevice(addr: number, npages: number): Sleepable<DmirrorCmdResult & { data: Uint8Array }> {
    const end = this.checkCmd(addr, npages);
    const self = this;
    const ret = yield* this.migrateLoop(addr, end, MIGRATE_VMA_SELECT_SYSTEM, function* (args) {
      self.migrateAllocAndCopy(args);
      migrateVmaPages(args);
      yield* self.migrateFinalizeAndMap(args);
      migrateVmaFinalize(args);
    });
    if (ret) fail(ret, "migrate to device");
    const data = new Uint8Array(npages * PAGE_SIZE);
    const cmd: DmirrorCmdResult = { cpages: 0, faults: 0 };
    yield* this.mutex.lock();
    const r = this.doRead(addr, end, addr, data, cmd);
    this.mutex.unlock();
    if (r) fail(r, "migrate to device (read back)");
    return { ...cmd, data };
  }

  /** HMM_DMIRROR_MIGRATE_TO_SYS: move this device's pages at [addr, +npages) back to RAM. */
  *migrateToSystem(addr: number, npages: number): Sleepable<DmirrorCmdResult> {
    const end = this.checkCmd(addr, npages);
    const cmd: DmirrorCmdResult = { cpages: 0, faults: 0 };
    const self = this;
    const ret = yield* this.migrateLoop(addr, end, this.mdevice.selectDevice, function* (args) {
      self.mdevice.devmemFaultAllocAndCopy(args, self);
      migrateVmaPages(args);
      for (let i = 0; i < args.npages; i++)
        if (migratePfnHas(args.src[i]!, MIGRATE_PFN_VALID) && migratePfnHas(args.src[i]!, MIGRATE_PFN_MIGRATE)) cmd.cpages++;
      migrateVmaFinalize(args);
    });
    if (ret) fail(ret, "migrate to system");
    return cmd;
  }

  /** `dmirror_mkentry()`: one snapshot byte from an hmm_pfns entry. */
  private mkentry(flags: number, pfn: number): number {
    if (flags & HMM_PFN_ERROR) return HMM_DMIRROR_PROT_ERROR;
    if (!(flags & HMM_PFN_VALID)) return HMM_DMIRROR_PROT_NONE;
    const { ctx } = this.mdevice;
    const memmap = ctx.memmap;
    let perm: number;
    if (isDevicePrivatePage(memmap, pfn))
      perm = memmap.pagePgmap(pfn)?.owner === this.mdevice ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
    else if (isDeviceCoherentPage(memmap, pfn))
      perm = memmap.pagePgmap(pfn)?.owner === this.mdevice ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL : HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
    else if (ctx.isZeroPfn(pfn)) perm = HMM_DMIRROR_PROT_ZERO;
    else perm = HMM_DMIRROR_PROT_NONE;
    perm |= flags & HMM_PFN_WRITE ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
    if (hmmPfnToMapOrder(flags) + PAGE_SHIFT === PMD_SHIFT) perm |= HMM_DMIRROR_PROT_PMD;
    else if (hmmPfnToMapOrder(flags) + PAGE_SHIFT === PUD_SHIFT) perm |= HMM_DMIRROR_PROT_PUD;
    return perm;
  }

  /** `dmirror_range_snapshot()`: one batch under a temporary interval notifier. */
  private *rangeSnapshot(range: HmmRange, perm: Uint8Array, off: number): Sleepable<number> {
    const mm = this.mm;
    const self = this;
    const notifier = new MmuIntervalNotifier({
      invalidate(sub, r, curSeq) {
        if (!self.mutex.tryLock()) {
          if (mmuNotifierRangeBlockable(r)) throw new KernelBug("dmirror: snapshot invalidate would sleep");
          return false;
        }
        // Any invalidation in the interval invalidates the whole snapshot.
        mmuIntervalSetSeq(sub, curSeq);
        self.mutex.unlock();
        return true;
      },
    });
    range.notifier = notifier;
    mmuIntervalNotifierInsert(notifier, mm, range.start, range.end - range.start);
    try {
      for (let tries = 0; ; tries++) {
        if (tries >= DMIRROR_RANGE_FAULT_RETRIES) return EBUSY;
        range.notifierSeq = yield* mmuIntervalReadBegin(notifier);
        yield* mm.mmapLock.downRead();
        let ret: number;
        try {
          ret = yield* hmmRangeFault(range);
        } finally {
          mm.mmapLock.upRead();
        }
        if (ret) {
          if (ret === EBUSY) continue;
          return ret;
        }
        yield* this.mutex.lock();
        if (mmuIntervalReadRetry(notifier, range.notifierSeq)) {
          this.mutex.unlock();
          continue;
        }
        break;
      }
      const n = (range.end - range.start) / PAGE_SIZE;
      for (let i = 0; i < n; i++) perm[off + i] = this.mkentry(range.hmmPfns.flags[i]!, range.hmmPfns.pfn[i]!);
      this.mutex.unlock();
      return 0;
    } finally {
      yield* mmuIntervalNotifierRemove(notifier);
    }
  }

  /**
   * HMM_DMIRROR_SNAPSHOT: per page, how the CPU page table maps it right now, without
   * faulting anything in (HMM_DMIRROR_PROT_* bytes).
   */
  *snapshot(addr: number, npages: number): Sleepable<Uint8Array> {
    const end = this.checkCmd(addr, npages);
    if (!this.mmAlive()) throw new KernelError("EINVAL", "dmirror snapshot: no mm");
    const perm = new Uint8Array(npages);
    const range: HmmRange = {
      notifier: this.notifier,
      notifierSeq: 0,
      start: addr,
      end: addr,
      hmmPfns: hmmPfnsAlloc(BATCH),
      defaultFlags: 0,
      pfnFlagsMask: 0,
      devPrivateOwner: this.mdevice,
    };
    for (let a = addr; a < end; a = range.end) {
      range.start = a;
      range.end = Math.min(a + BATCH * PAGE_SIZE, end);
      range.hmmPfns.flags.fill(0);
      const ret = yield* this.rangeSnapshot(range, perm, (a - addr) / PAGE_SIZE);
      if (ret) fail(ret, "snapshot");
    }
    return perm;
  }

  /** `dmirror_fops_release()`: stop mirroring. */
  *release(): Sleepable {
    yield* mmuIntervalNotifierRemove(this.notifier);
    this.pt.clear();
  }
}
