/**
 * The CPU cache as far as persistence is concerned: which stores sit in volatile
 * places (a dirty cache line, a line being written back, a write-combining buffer)
 * and when they reach the persistence domain.
 *
 * @see arch/x86/include/asm/special_insns.h clwb(), clflushopt();
 *      arch/x86/include/asm/barrier.h wmb() (sfence); arch/x86/lib/usercopy_64.c
 *      __memcpy_flushcache() (movnti); Documentation/driver-api/nvdimm/nvdimm.rst (ADR)
 *
 * Three maps from absolute cache-line number to a 64-byte slot of one slab:
 * - `dirty`: stored by the CPU, only in the cache;
 * - `flushed`: written back by clwb/clflushopt, not yet ordered by a fence (on x86 the
 *   write-back is durable once it reaches the memory controller's WPQ, which only the
 *   sfence guarantees);
 * - `wc`: non-temporal stores in write-combining buffers, likewise waiting for a fence.
 * A load sees the newest copy (dirty, then wc, then flushed, then media: the cache is
 * coherent). sfence writes flushed then wc lines to the media. Power failure keeps what
 * the persistence domain guarantees: under ADR only the media; under eADR also the
 * cache (dirty and written-back lines), but never the write-combining buffers.
 *
 * Simplified: the cache has unbounded room for dirty lines and never evicts one by
 * itself (the worst case for persistence; `powerFail({ survives })` lets a caller
 * decide that some volatile lines made it anyway); clean-line residency, which only
 * prices loads (hit or miss), is a FIFO of bounded size; clflush is not modelled.
 */
import { CACHELINE_SIZE } from "../types.js";
import type { PmemCostModel } from "./costs.js";

/** Where the cache reads lines it does not hold, and writes lines it makes durable. */
export interface LineBacking {
  /** Copies `len` media bytes at absolute `physAddr` into `dst[dstOff..]`. */
  readMedia(physAddr: number, dst: Uint8Array, dstOff: number, len: number): void;
  /** Writes one whole line (absolute line number) from `src[srcOff..srcOff+64)` to the media. */
  writeMediaLine(line: number, src: Uint8Array, srcOff: number): void;
}

export type PersistenceDomain = "adr" | "eadr";

/** Where a not-yet-persistent line is when power fails. */
export type VolatileLineKind = "dirty" | "flushed" | "wc";

export interface PowerFailOptions {
  /**
   * For each line the persistence domain does not guarantee, whether it reached the
   * media anyway (evicted, or its write-back won the race with the power loss).
   * Default: none did.
   */
  readonly survives?: (linePhysAddr: number, kind: VolatileLineKind) => boolean;
}

export interface PowerFailReport {
  /** Lines whose latest content was lost. */
  readonly linesLost: number;
  /** Lines written to media by the power-fail flush (eADR) or by `survives`. */
  readonly linesPersisted: number;
}

const LINE = CACHELINE_SIZE;

export class CpuCache {
  private slab = new Uint8Array(1024 * LINE);
  private freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly dirty = new Map<number, number>();
  private readonly flushed = new Map<number, number>();
  private readonly wc = new Map<number, number>();
  private readonly resident = new Set<number>();

  constructor(
    private readonly backing: LineBacking,
    private readonly costs: PmemCostModel,
    public persistenceDomain: PersistenceDomain,
    /** Clean lines the cache holds before it evicts the oldest (default: a 32 MiB LLC). */
    readonly residentCapacity = (32 * 1024 * 1024) / LINE,
  ) {}

  /** Lines whose newest content is not yet in the media. */
  get pendingLines(): { dirty: number; flushed: number; wc: number } {
    return { dirty: this.dirty.size, flushed: this.flushed.size, wc: this.wc.size };
  }

  private alloc(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if ((this.nextSlot + 1) * LINE > this.slab.length) {
      const grown = new Uint8Array(this.slab.length * 2);
      grown.set(this.slab);
      this.slab = grown;
    }
    return this.nextSlot++;
  }

  private free(slot: number): void {
    this.freeSlots.push(slot);
  }

  private makeResident(line: number): void {
    if (this.resident.has(line)) return;
    if (this.resident.size >= this.residentCapacity) {
      const oldest = this.resident.values().next();
      if (!oldest.done) this.resident.delete(oldest.value);
    }
    this.resident.add(line);
  }

  /** Fills `slot` with the newest content of `line` that is not in the cache. */
  private fillFromBelow(line: number, slot: number): void {
    const below = this.wc.get(line) ?? this.flushed.get(line);
    if (below !== undefined) this.slab.copyWithin(slot * LINE, below * LINE, below * LINE + LINE);
    else this.backing.readMedia(line * LINE, this.slab, slot * LINE, LINE);
  }

  /** Copies the newest content of `[physAddr, physAddr + len)` into `dst[dstOff..]`. */
  private readLatest(physAddr: number, dst: Uint8Array, dstOff: number, len: number, charge: boolean): void {
    let hits = 0;
    let misses = 0;
    let done = 0;
    while (done < len) {
      const addr = physAddr + done;
      const line = Math.floor(addr / LINE);
      const off = addr - line * LINE;
      const n = Math.min(LINE - off, len - done);
      const slot = this.dirty.get(line) ?? this.wc.get(line) ?? this.flushed.get(line);
      if (slot !== undefined) {
        const from = slot * LINE + off;
        for (let i = 0; i < n; i++) dst[dstOff + done + i] = this.slab[from + i]!;
      } else {
        this.backing.readMedia(addr, dst, dstOff + done, n);
      }
      if (charge) {
        if (this.dirty.has(line) || this.resident.has(line)) hits++;
        else {
          misses++;
          this.makeResident(line);
        }
      }
      done += n;
    }
    if (charge) this.costs.chargeRead(hits, misses);
  }

  /** A cached load: sees the newest store, prices hits and misses. */
  load(physAddr: number, dst: Uint8Array, dstOff: number, len: number): void {
    this.readLatest(physAddr, dst, dstOff, len, true);
  }

  /** The newest content, without touching cache state or counters (for inspection). */
  peek(physAddr: number, dst: Uint8Array, dstOff: number, len: number): void {
    this.readLatest(physAddr, dst, dstOff, len, false);
  }

  /** A write-back store: the bytes go to (dirty) cache lines. */
  store(physAddr: number, src: Uint8Array, srcOff: number, len: number): void {
    let lines = 0;
    let done = 0;
    while (done < len) {
      const addr = physAddr + done;
      const line = Math.floor(addr / LINE);
      const off = addr - line * LINE;
      const n = Math.min(LINE - off, len - done);
      let slot = this.dirty.get(line);
      if (slot === undefined) {
        slot = this.alloc();
        if (n < LINE) this.fillFromBelow(line, slot);
        this.dirty.set(line, slot);
        this.resident.delete(line);
      }
      const to = slot * LINE + off;
      for (let i = 0; i < n; i++) this.slab[to + i] = src[srcOff + done + i]!;
      lines++;
      done += n;
    }
    this.costs.chargeWrite(lines, false);
  }

  /**
   * A non-temporal store (movnt): bypasses the cache into a write-combining buffer,
   * durable at the next fence. A dirty copy of the line is evicted (written back) first.
   */
  storeNt(physAddr: number, src: Uint8Array, srcOff: number, len: number): void {
    let lines = 0;
    let done = 0;
    while (done < len) {
      const addr = physAddr + done;
      const line = Math.floor(addr / LINE);
      const off = addr - line * LINE;
      const n = Math.min(LINE - off, len - done);
      this.writeBackLine(line);
      let slot = this.wc.get(line);
      if (slot === undefined) {
        slot = this.alloc();
        if (n < LINE) this.fillFromBelow(line, slot);
        this.wc.set(line, slot);
      }
      const to = slot * LINE + off;
      for (let i = 0; i < n; i++) this.slab[to + i] = src[srcOff + done + i]!;
      this.resident.delete(line);
      lines++;
      done += n;
    }
    this.costs.chargeWrite(lines, true);
  }

  /** Moves a dirty line to the write-back queue (clwb, or eviction by a movnt). */
  private writeBackLine(line: number): void {
    const slot = this.dirty.get(line);
    if (slot === undefined) return;
    this.dirty.delete(line);
    // The dirty copy already holds any write-combined bytes of the line: they are superseded.
    const w = this.wc.get(line);
    if (w !== undefined) {
      this.wc.delete(line);
      this.free(w);
    }
    const old = this.flushed.get(line);
    if (old !== undefined) this.free(old);
    this.flushed.set(line, slot);
  }

  /**
   * clwb (keep the line) or clflushopt (`invalidate`): write back every line of
   * `[physAddr, physAddr + len)`; durable only once a fence orders it.
   */
  writeBack(physAddr: number, len: number, invalidate: boolean): void {
    if (len <= 0) return;
    const first = Math.floor(physAddr / LINE);
    const last = Math.floor((physAddr + len - 1) / LINE);
    for (let line = first; line <= last; line++) {
      this.writeBackLine(line);
      if (invalidate) this.resident.delete(line);
      else this.makeResident(line);
    }
    this.costs.chargeFlush(last - first + 1);
  }

  /** sfence: written-back lines, then write-combined lines, reach the media. */
  fence(): void {
    this.costs.chargeFence();
    this.drain(this.flushed);
    this.drain(this.wc);
  }

  private drain(queue: Map<number, number>): void {
    for (const [line, slot] of queue) {
      this.backing.writeMediaLine(line, this.slab, slot * LINE);
      this.free(slot);
    }
    this.costs.counters.mediaLineWrites += queue.size;
    queue.clear();
  }

  /** Power loss: what the persistence domain covers reaches the media, the rest is lost. */
  powerFail(opts: PowerFailOptions = {}): PowerFailReport {
    const eadr = this.persistenceDomain === "eadr";
    const survives = opts.survives;
    let persisted = 0;
    let lost = 0;
    // Oldest first, so that a newer copy of a line overwrites an older one.
    const order: Array<[Map<number, number>, VolatileLineKind, boolean]> = [
      [this.flushed, "flushed", eadr],
      [this.wc, "wc", false],
      [this.dirty, "dirty", eadr],
    ];
    const newest = new Map<number, boolean>();
    for (const [queue, kind, guaranteed] of order) {
      for (const [line, slot] of queue) {
        const keep = guaranteed || (survives !== undefined && survives(line * LINE, kind));
        if (keep) {
          this.backing.writeMediaLine(line, this.slab, slot * LINE);
          persisted++;
        }
        newest.set(line, keep);
      }
    }
    for (const kept of newest.values()) if (!kept) lost++;
    this.costs.counters.mediaLineWrites += persisted;
    this.costs.counters.powerFails++;
    this.dirty.clear();
    this.flushed.clear();
    this.wc.clear();
    this.resident.clear();
    this.freeSlots = [];
    this.nextSlot = 0;
    return { linesLost: lost, linesPersisted: persisted };
  }
}
