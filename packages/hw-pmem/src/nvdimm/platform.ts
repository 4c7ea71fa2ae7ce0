/**
 * The machine's persistent memory: the NVDIMM bus with its regions, the CPU cache
 * between them and the processor, the bus's list of known media errors, and the
 * machine-check path that reports poison a load consumed.
 *
 * @see drivers/nvdimm/bus.c (nvdimm_bus, nvdimm_clear_poison(), nvdimm_bus_add_badrange()),
 *      drivers/nvdimm/region_devs.c nvdimm_region_notify() (NVDIMM_REVALIDATE_POISON),
 *      drivers/acpi/nfit/mce.c nfit_handle_mce() (a consumed error joins the badrange list),
 *      drivers/acpi/nfit/core.c (ARS, error injection), arch/x86/lib/usercopy_64.c
 *      __memcpy_flushcache(), arch/x86/lib/copy_mc.c copy_mc_to_kernel()
 *
 * Every CPU access takes an absolute physical address inside one region (else
 * RangeError: a bug, not an I/O error). Poison lives in the media per 64-byte line and
 * is either latent (unknown to the OS) or known (in the badrange list, hence in the
 * namespaces' badblocks); ARS or consuming it makes it known; only the driver's clear
 * path removes it. Simplified: one CPU (one cache); power failure affects only the
 * cache, not the OS's view of bad ranges.
 */
import type { PmemCpuAccess } from "../cpu/access.js";
import {
  CpuCache,
  type LineBacking,
  type PersistenceDomain,
  type PowerFailOptions,
  type PowerFailReport,
} from "../cpu/cache.js";
import { type PmemCounters, PmemCostModel, type PmemLatency } from "../cpu/costs.js";
import { MachineCheckError, PmemError } from "../errors.js";
import { type Pfn, CACHELINE_SIZE, PAGE_SIZE, SZ_1G, alignDown, alignUp, isAligned, physPfn } from "../types.js";
import { RangeSet } from "../util/range-set.js";
import { arsScanRegion } from "./ars.js";
import { type BadRange, lineRangesToBadRanges, nvdimmBadblocksPopulate } from "./badrange.js";
import type { NdNamespace } from "./namespace.js";
import { NdRegion, type RegionConfig } from "./region.js";

/** The oracle's pmem: `memmap=512M!1G` → region0 at 0x40000000 (pfn 0x40000), raw namespace0.0, /dev/pmem0. */
export const DEFAULT_PMEM_REGION: RegionConfig = Object.freeze({
  physAddr: SZ_1G,
  size: 512 * 1024 * 1024,
  pagemap: true,
  namespaces: Object.freeze([Object.freeze({ mode: "raw" as const })]),
});

/** Highest physical address + 1 (x86-64 MAX_PHYSMEM_BITS with 5-level paging). */
export const MAX_PHYS_ADDR = 2 ** 52;

export interface PmemPlatformConfig {
  /** ADR (default): only the memory controller is persistent; eADR: the CPU caches too. */
  readonly persistenceDomain?: PersistenceDomain;
  /** Overrides of the default latencies (assumptions, see cpu/costs.ts). */
  readonly latency?: Partial<PmemLatency>;
  /** Clean cache lines held before the oldest is evicted (prices loads only). */
  readonly cacheResidentLines?: number;
  /** Default: [DEFAULT_PMEM_REGION]. */
  readonly regions?: readonly RegionConfig[];
}

/** How poison was consumed: a plain load (a machine check the OS must handle) or copy_mc (recovered). */
export type MachineCheckKind = "load" | "copy-mc";

export interface MachineCheckEvent {
  /** Order of the event since the platform started. */
  readonly seq: number;
  /** The poisoned cache line. */
  readonly physAddr: number;
  readonly pfn: Pfn;
  readonly kind: MachineCheckKind;
}

export interface PoisonClearedEvent {
  readonly physAddr: number;
  readonly length: number;
}

export interface ArsOptions {
  /** Default: every region. */
  readonly physAddr?: number;
  readonly length?: number;
}

export interface ArsResult {
  /** Every error found in the scanned range. */
  readonly records: readonly BadRange[];
  /** Lines that were latent before this scan, as ranges. */
  readonly newRecords: readonly BadRange[];
}

export interface InjectPoisonOptions {
  /** Latent (default): the OS learns of it only by ARS or by consuming it. */
  readonly latent?: boolean;
}

const MACHINE_CHECK_LOG_LIMIT = 1024;
const LINE = CACHELINE_SIZE;

export class PmemPlatform implements PmemCpuAccess {
  readonly costs: PmemCostModel;
  private readonly cache: CpuCache;
  private readonly regionList: NdRegion[] = [];
  private lastRegion: NdRegion | undefined;
  /** The nvdimm bus's badrange list, in absolute cache lines. */
  private readonly knownBad = new RangeSet();
  private readonly mceListeners = new Set<(e: MachineCheckEvent) => void>();
  private readonly clearListeners = new Set<(e: PoisonClearedEvent) => void>();
  private readonly mceLog: MachineCheckEvent[] = [];
  private mceSeq = 0;

  constructor(config: PmemPlatformConfig = {}) {
    this.costs = new PmemCostModel(config.latency);
    const backing: LineBacking = {
      readMedia: (physAddr, dst, dstOff, len) => {
        const r = this.regionFor(physAddr, len);
        r.media.read(physAddr - r.physAddr, dst, dstOff, len);
      },
      writeMedia: (physAddr, src, srcOff, len) => {
        const r = this.regionFor(physAddr, len);
        if (len === LINE) r.media.writeLine(physAddr - r.physAddr, src, srcOff);
        else r.media.write(physAddr - r.physAddr, src, srcOff, len);
      },
    };
    this.cache = new CpuCache(backing, this.costs, config.persistenceDomain ?? "adr", config.cacheResidentLines);
    for (const rc of config.regions ?? [DEFAULT_PMEM_REGION]) this.addRegion(rc);
  }

  get persistenceDomain(): PersistenceDomain {
    return this.cache.persistenceDomain;
  }
  set persistenceDomain(d: PersistenceDomain) {
    this.cache.persistenceDomain = d;
  }

  /** Live counters (see `costs.snapshot()` / `costs.reset()`). */
  get counters(): Readonly<PmemCounters> {
    return this.costs.counters;
  }

  /** Cache lines whose newest content has not reached the media. */
  get pendingLines(): { dirty: number; flushed: number; wc: number } {
    return this.cache.pendingLines;
  }

  // ---- topology -----------------------------------------------------------------------

  get regions(): readonly NdRegion[] {
    return this.regionList;
  }

  get namespaces(): NdNamespace[] {
    return this.regionList.flatMap((r) => r.namespaces);
  }

  /** Registers a region (an NFIT SPA range or e820 pmem range). Throws EINVAL or EBUSY. */
  addRegion(cfg: RegionConfig): NdRegion {
    const { physAddr, size } = cfg;
    if (!Number.isSafeInteger(physAddr) || !Number.isSafeInteger(size) || size <= 0 || physAddr < 0) {
      throw new PmemError("EINVAL", `region [${physAddr}, +${size}) is not a positive range`);
    }
    if (!isAligned(physAddr, PAGE_SIZE) || !isAligned(size, PAGE_SIZE)) {
      throw new PmemError("EINVAL", `region [0x${physAddr.toString(16)}, +0x${size.toString(16)}) is not page aligned`);
    }
    if (physAddr + size > MAX_PHYS_ADDR) throw new PmemError("EINVAL", "region beyond the physical address space");
    const clash = this.regionList.find((r) => physAddr < r.physAddr + r.size && r.physAddr < physAddr + size);
    if (clash) throw new PmemError("EBUSY", `region overlaps ${clash.name}`);
    const id = this.regionList.reduce((m, r) => Math.max(m, r.id + 1), 0);
    const region = new NdRegion(this, id, cfg, (ns, added) => {
      if (added) nvdimmBadblocksPopulate(ns, this.knownBad);
    });
    this.regionList.push(region);
    this.regionList.sort((a, b) => a.physAddr - b.physAddr);
    for (const nc of cfg.namespaces ?? []) region.createNamespace(nc);
    return region;
  }

  /** The region holding `physAddr`, if any. */
  regionOf(physAddr: number): NdRegion | undefined {
    return this.regionList.find((r) => r.contains(physAddr));
  }

  /** A namespace by name (`namespace0.0`) or device name (`pmem0`, `dax0.0`). */
  namespace(name: string): NdNamespace | undefined {
    return this.namespaces.find((ns) => ns.name === name || ns.devName === name);
  }

  /** The namespace whose data area holds `pfn`, if any. */
  namespaceOfPfn(p: Pfn): NdNamespace | undefined {
    return this.namespaces.find((ns) => ns.containsPfn(p));
  }

  private regionFor(physAddr: number, len: number): NdRegion {
    const last = this.lastRegion;
    if (last && physAddr >= last.physAddr && physAddr + len <= last.physAddr + last.size) return last;
    for (const r of this.regionList) {
      if (physAddr >= r.physAddr && physAddr + len <= r.physAddr + r.size) {
        this.lastRegion = r;
        return r;
      }
    }
    throw new RangeError(`no pmem region holds [0x${physAddr.toString(16)}, +0x${len.toString(16)})`);
  }

  private checkAccess(physAddr: number, len: number): NdRegion {
    if (!Number.isSafeInteger(physAddr) || !Number.isSafeInteger(len) || physAddr < 0 || len < 0) {
      throw new RangeError(`bad physical access [${physAddr}, +${len})`);
    }
    return this.regionFor(physAddr, len);
  }

  /** The first poisoned line's address in `[physAddr, physAddr + len)` of `r`, if any. */
  private firstPoison(r: NdRegion, physAddr: number, len: number): number | undefined {
    if (len === 0 || r.media.poison.rangeCount === 0) return undefined;
    const rel = physAddr - r.physAddr;
    const line = r.media.poison.firstIn(Math.floor(rel / LINE), Math.ceil((rel + len) / LINE));
    return line === undefined ? undefined : r.physAddr + line * LINE;
  }

  // ---- CPU access ---------------------------------------------------------------------

  load(physAddr: number, dst: Uint8Array): void {
    const r = this.checkAccess(physAddr, dst.length);
    this.costs.counters.loads++;
    const bad = this.firstPoison(r, physAddr, dst.length);
    const ok = bad === undefined ? dst.length : Math.max(0, bad - physAddr);
    this.cache.load(physAddr, dst, 0, ok);
    this.costs.counters.bytesLoaded += ok;
    if (bad !== undefined) {
      this.costs.chargeRead(0, 1);
      this.machineCheck(bad, "load");
      throw new MachineCheckError(bad);
    }
  }

  copyMcToKernel(dst: Uint8Array, physAddr: number): number {
    const r = this.checkAccess(physAddr, dst.length);
    this.costs.counters.loads++;
    const bad = this.firstPoison(r, physAddr, dst.length);
    const ok = bad === undefined ? dst.length : Math.max(0, bad - physAddr);
    this.cache.load(physAddr, dst, 0, ok);
    this.costs.counters.bytesLoaded += ok;
    if (bad === undefined) return 0;
    this.costs.chargeRead(0, 1);
    this.machineCheck(bad, "copy-mc");
    return dst.length - ok;
  }

  store(physAddr: number, src: Uint8Array): void {
    this.checkAccess(physAddr, src.length);
    this.costs.counters.stores++;
    this.costs.counters.bytesStored += src.length;
    this.cache.store(physAddr, src, 0, src.length);
  }

  storeNt(physAddr: number, src: Uint8Array): void {
    this.checkAccess(physAddr, src.length);
    this.costs.counters.ntStores++;
    this.costs.counters.bytesStored += src.length;
    this.cache.storeNt(physAddr, src, 0, src.length);
  }

  clwb(physAddr: number, len: number): void {
    this.checkAccess(physAddr, len);
    this.cache.writeBack(physAddr, len, false);
  }

  clflushopt(physAddr: number, len: number): void {
    this.checkAccess(physAddr, len);
    this.cache.writeBack(physAddr, len, true);
  }

  sfence(): void {
    this.cache.fence();
  }

  memcpyFlushcache(physAddr: number, src: Uint8Array): void {
    this.checkAccess(physAddr, src.length);
    const len = src.length;
    const head = Math.min(len, alignUp(physAddr, 8) - physAddr);
    const body = alignDown(len - head, 4);
    const tail = len - head - body;
    this.costs.counters.bytesStored += len;
    if (head > 0) {
      this.costs.counters.stores++;
      this.cache.store(physAddr, src, 0, head);
      this.cache.writeBack(physAddr, head, false);
    }
    if (body > 0) {
      this.costs.counters.ntStores++;
      this.cache.storeNt(physAddr + head, src, head, body);
    }
    if (tail > 0) {
      this.costs.counters.stores++;
      this.cache.store(physAddr + head + body, src, head + body, tail);
      this.cache.writeBack(physAddr + head + body, tail, false);
    }
  }

  /** The bytes a load would see now, without cache effects, costs or poison checks. */
  peek(physAddr: number, len: number): Uint8Array {
    this.checkAccess(physAddr, len);
    const out = new Uint8Array(len);
    this.cache.peek(physAddr, out, 0, len);
    return out;
  }

  /** The bytes on the media now: what would be read back after a power failure. */
  peekMedia(physAddr: number, len: number): Uint8Array {
    const r = this.checkAccess(physAddr, len);
    const out = new Uint8Array(len);
    r.media.read(physAddr - r.physAddr, out, 0, len);
    return out;
  }

  /** Power loss: the stores the persistence domain does not cover are dropped. */
  powerFail(opts: PowerFailOptions = {}): PowerFailReport {
    return this.cache.powerFail(opts);
  }

  // ---- media errors -------------------------------------------------------------------

  /** Inject an uncorrectable error into every cache line of the range (ACPI error injection). */
  injectPoison(physAddr: number, len: number, opts: InjectPoisonOptions = {}): void {
    const r = this.checkAccess(physAddr, len);
    if (len === 0) return;
    const rel = physAddr - r.physAddr;
    const first = Math.floor(rel / LINE);
    const end = Math.ceil((rel + len) / LINE);
    r.media.poison.add(first, end);
    if (opts.latent === false) this.addBadRange(r.physAddr + first * LINE, r.physAddr + end * LINE);
  }

  /** Whether any line of the range is poisoned (known or latent). */
  isPoisoned(physAddr: number, len = 1): boolean {
    const r = this.checkAccess(physAddr, len);
    return this.firstPoison(r, physAddr, Math.max(len, 1)) !== undefined;
  }

  /** The bus's badrange list: errors the OS knows of. */
  badRanges(): BadRange[] {
    return lineRangesToBadRanges(this.knownBad.ranges());
  }

  /** Poisoned lines the OS does not know of yet (what the next ARS will find). */
  latentPoison(): BadRange[] {
    const out: BadRange[] = [];
    for (const r of this.regionList) {
      for (const [s, e] of r.media.poison.ranges()) {
        const base = r.physAddr / LINE;
        let at = s;
        for (const [k0, k1] of this.knownBad.ranges(base + s, base + e)) {
          if (k0 - base > at) out.push({ physAddr: r.physAddr + at * LINE, length: (k0 - base - at) * LINE });
          at = k1 - base;
        }
        if (at < e) out.push({ physAddr: r.physAddr + at * LINE, length: (e - at) * LINE });
      }
    }
    return out;
  }

  private addBadRange(physStart: number, physEnd: number): void {
    this.knownBad.add(physStart / LINE, physEnd / LINE);
    this.revalidatePoison(physStart, physEnd);
  }

  /** `nvdimm_region_notify(NVDIMM_REVALIDATE_POISON)` → nd_pmem_notify() for the namespaces in range. */
  private revalidatePoison(physStart: number, physEnd: number): void {
    for (const ns of this.namespaces) {
      if (ns.physAddr < physEnd && physStart < ns.physAddr + ns.size) {
        nvdimmBadblocksPopulate(ns, this.knownBad, physStart, physEnd);
      }
    }
  }

  /**
   * `nvdimm_clear_poison()`: the firmware clears the errors of a line-aligned range,
   * the bus forgets them (`badrange_forget()`), the namespaces' badblocks follow, and
   * listeners (mm's PageHWPoison, `hwpoison_clear()`) are told. Returns the bytes
   * cleared: 0 for a misaligned range or one outside a region.
   */
  clearPoison(physAddr: number, len: number): number {
    if (len <= 0 || !isAligned(physAddr, LINE) || !isAligned(len, LINE)) return 0;
    const r = this.regionOf(physAddr);
    if (!r || !r.contains(physAddr, len)) return 0;
    const rel = physAddr - r.physAddr;
    r.media.poison.remove(rel / LINE, (rel + len) / LINE);
    this.knownBad.remove(physAddr / LINE, (physAddr + len) / LINE);
    this.revalidatePoison(physAddr, physAddr + len);
    const event: PoisonClearedEvent = { physAddr, length: len };
    for (const fn of this.clearListeners) fn(event);
    return len;
  }

  /**
   * Address range scrub over `[physAddr, physAddr + length)` (default: every region):
   * latent errors join the badrange list and the namespaces' badblocks.
   */
  ars(opts: ArsOptions = {}): ArsResult {
    const start = opts.physAddr ?? 0;
    const end = opts.length === undefined ? MAX_PHYS_ADDR : start + opts.length;
    this.costs.counters.arsScans++;
    const records: BadRange[] = [];
    const newRecords: BadRange[] = [];
    const latentBefore = this.latentPoison();
    for (const r of this.regionList) {
      for (const rec of arsScanRegion(r, start, end)) {
        records.push(rec);
        this.knownBad.add(rec.physAddr / LINE, (rec.physAddr + rec.length) / LINE);
      }
    }
    for (const l of latentBefore) {
      const s = Math.max(l.physAddr, start);
      const e = Math.min(l.physAddr + l.length, end);
      if (s < e) newRecords.push({ physAddr: s, length: e - s });
    }
    for (const rec of records) this.revalidatePoison(rec.physAddr, rec.physAddr + rec.length);
    return { records, newRecords };
  }

  /** The machine check, and `nfit_handle_mce()`: the consumed line joins the badrange list. */
  private machineCheck(lineAddr: number, kind: MachineCheckKind): void {
    this.costs.counters.machineChecks++;
    if (!this.knownBad.has(lineAddr / LINE)) this.addBadRange(lineAddr, lineAddr + LINE);
    const event: MachineCheckEvent = { seq: ++this.mceSeq, physAddr: lineAddr, pfn: physPfn(lineAddr), kind };
    this.mceLog.push(event);
    if (this.mceLog.length > MACHINE_CHECK_LOG_LIMIT) this.mceLog.shift();
    for (const fn of this.mceListeners) fn(event);
  }

  /** Calls `fn` on every machine check; returns the unsubscribe function. */
  onMachineCheck(fn: (e: MachineCheckEvent) => void): () => void {
    this.mceListeners.add(fn);
    return () => this.mceListeners.delete(fn);
  }

  /** Calls `fn` whenever the driver clears poison; returns the unsubscribe function. */
  onPoisonCleared(fn: (e: PoisonClearedEvent) => void): () => void {
    this.clearListeners.add(fn);
    return () => this.clearListeners.delete(fn);
  }

  /** The last machine checks (at most 1024), oldest first. */
  get machineCheckLog(): readonly MachineCheckEvent[] {
    return this.mceLog;
  }
}

/** A platform with the given regions, by default the oracle's 512 MiB pmem0 at 0x40000000. */
export function createPmemPlatform(config: PmemPlatformConfig = {}): PmemPlatform {
  return new PmemPlatform(config);
}
