/**
 * The CPU cache as far as persistence is concerned: which stores sit in volatile
 * places (a dirty cache line, a line being written back, a write-combining buffer)
 * and when they reach the persistence domain.
 *
 * @see arch/x86/include/asm/special_insns.h clwb(), clflushopt();
 *      arch/x86/include/asm/barrier.h wmb() (sfence); arch/x86/lib/usercopy_64.c
 *      __memcpy_flushcache() (movnti); Documentation/driver-api/nvdimm/nvdimm.rst (ADR)
 *
 * Each 64-byte line may have up to three volatile copies:
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
 * Layout, for speed: state is kept per 4 KiB page that has volatile lines (a Map from
 * page number to a per-line state byte and up to three lazily allocated 4 KiB copies),
 * so a page-sized store, clwb or fence is a few array copies, not 64 map operations.
 *
 * Simplified: the cache has unbounded room for dirty lines and never evicts one by
 * itself (the worst case for persistence; `powerFail({ survives })` lets a caller
 * decide that some volatile lines made it anyway); clean-line residency, which only
 * prices loads (hit or miss), is a direct-mapped tag array of LLC size; clflush is not
 * modelled.
 */
import { CACHELINE_SIZE, PAGE_SIZE } from "../types.js";
import type { PmemCostModel } from "./costs.js";

/** Where the cache reads what it does not hold, and writes what it makes durable. */
export interface LineBacking {
  /** Copies `len` media bytes at absolute `physAddr` into `dst[dstOff..]` (within one 4 KiB page). */
  readMedia(physAddr: number, dst: Uint8Array, dstOff: number, len: number): void;
  /** Writes `src[srcOff..srcOff+len)` to the media at absolute `physAddr` (within one 4 KiB page). */
  writeMedia(physAddr: number, src: Uint8Array, srcOff: number, len: number): void;
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
const LINES_PER_PAGE = PAGE_SIZE / LINE;
const DIRTY = 1;
const FLUSHED = 2;
const WC = 4;
const BUFFER_POOL_LIMIT = 1024;

/** The volatile lines of one 4 KiB page. */
class CachePage {
  /** Per line: DIRTY | FLUSHED | WC bits. */
  readonly state = new Uint8Array(LINES_PER_PAGE);
  dirty: Uint8Array | null = null;
  flushed: Uint8Array | null = null;
  wc: Uint8Array | null = null;
  nDirty = 0;
  nFlushed = 0;
  nWc = 0;
  /** In the fence queue (has flushed or write-combined lines). */
  queued = false;
  constructor(readonly pno: number) {}
}

function copyLine(from: Uint8Array, to: Uint8Array, i: number): void {
  const o = i * LINE;
  for (let b = o; b < o + LINE; b++) to[b] = from[b]!;
}

export class CpuCache {
  private readonly pages = new Map<number, CachePage>();
  private fenceQueue: CachePage[] = [];
  private readonly pool: Uint8Array[] = [];
  private dirtyLines = 0;
  private flushedLines = 0;
  private wcLines = 0;
  /** Direct-mapped tags of clean resident lines: `line + 1` at `line % residentCapacity`, 0 = empty. */
  private residentTags: Float64Array | undefined;

  constructor(
    private readonly backing: LineBacking,
    private readonly costs: PmemCostModel,
    public persistenceDomain: PersistenceDomain,
    /** Clean lines the cache holds (direct-mapped; default: a 32 MiB LLC). */
    readonly residentCapacity = (32 * 1024 * 1024) / LINE,
  ) {}

  /** Lines whose newest content is not yet in the media, by where they are. */
  get pendingLines(): { dirty: number; flushed: number; wc: number } {
    return { dirty: this.dirtyLines, flushed: this.flushedLines, wc: this.wcLines };
  }

  private buffer(): Uint8Array {
    return this.pool.pop() ?? new Uint8Array(PAGE_SIZE);
  }

  private release(b: Uint8Array | null): null {
    if (b && this.pool.length < BUFFER_POOL_LIMIT) this.pool.push(b);
    return null;
  }

  private page(pno: number): CachePage {
    let pg = this.pages.get(pno);
    if (!pg) {
      pg = new CachePage(pno);
      this.pages.set(pno, pg);
    }
    return pg;
  }

  private enqueue(pg: CachePage): void {
    if (!pg.queued) {
      pg.queued = true;
      this.fenceQueue.push(pg);
    }
  }

  private makeResident(line: number): void {
    this.residentTags ??= new Float64Array(this.residentCapacity);
    this.residentTags[line % this.residentCapacity] = line + 1;
  }

  private isResident(line: number): boolean {
    return this.residentTags !== undefined && this.residentTags[line % this.residentCapacity] === line + 1;
  }

  private evict(line: number): void {
    if (this.isResident(line)) this.residentTags![line % this.residentCapacity] = 0;
  }

  /** Copies the newest content of line `i` that is not in the cache into `to`. */
  private fillBelowDirty(pg: CachePage, i: number, to: Uint8Array): void {
    const s = pg.state[i]!;
    if (s & WC) copyLine(pg.wc!, to, i);
    else if (s & FLUSHED) copyLine(pg.flushed!, to, i);
    else this.backing.readMedia(pg.pno * PAGE_SIZE + i * LINE, to, i * LINE, LINE);
  }

  /** Copies the newest content of `[physAddr, physAddr + len)` into `dst[dstOff..]`. */
  private readLatest(physAddr: number, dst: Uint8Array, dstOff: number, len: number, charge: boolean): void {
    let hits = 0;
    let misses = 0;
    let done = 0;
    while (done < len) {
      const addr = physAddr + done;
      const pno = Math.floor(addr / PAGE_SIZE);
      const pOff = addr - pno * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - pOff, len - done);
      const pg = this.pages.get(pno);
      if (!pg) {
        this.backing.readMedia(addr, dst, dstOff + done, n);
      } else {
        let at = 0;
        while (at < n) {
          const off = pOff + at;
          const i = Math.floor(off / LINE);
          const m = Math.min(LINE - (off - i * LINE), n - at);
          const s = pg.state[i]!;
          const src = s & DIRTY ? pg.dirty : s & WC ? pg.wc : s & FLUSHED ? pg.flushed : null;
          if (src) dst.set(src.subarray(off, off + m), dstOff + done + at);
          else this.backing.readMedia(addr + at, dst, dstOff + done + at, m);
          at += m;
        }
      }
      if (charge) {
        const first = Math.floor(addr / LINE);
        const last = Math.floor((addr + n - 1) / LINE);
        for (let line = first; line <= last; line++) {
          if ((pg && pg.state[line - pno * LINES_PER_PAGE]! & DIRTY) || this.isResident(line)) hits++;
          else {
            misses++;
            this.makeResident(line);
          }
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
      const pno = Math.floor(addr / PAGE_SIZE);
      const pOff = addr - pno * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - pOff, len - done);
      const pg = this.page(pno);
      const dirty = (pg.dirty ??= this.buffer());
      const first = Math.floor(pOff / LINE);
      const last = Math.floor((pOff + n - 1) / LINE);
      for (let i = first; i <= last; i++) {
        if (pg.state[i]! & DIRTY) continue;
        if (i * LINE < pOff || (i + 1) * LINE > pOff + n) this.fillBelowDirty(pg, i, dirty);
        pg.state[i]! |= DIRTY;
        pg.nDirty++;
        this.dirtyLines++;
      }
      dirty.set(src.subarray(srcOff + done, srcOff + done + n), pOff);
      lines += last - first + 1;
      done += n;
    }
    this.costs.chargeWrite(lines, false);
  }

  /** Moves the dirty lines `first..last` of a page to its write-back copy (clwb, or eviction). */
  private writeBackLines(pg: CachePage, first: number, last: number): void {
    if (pg.nDirty === 0) return;
    if (first === 0 && last === LINES_PER_PAGE - 1 && pg.nDirty === LINES_PER_PAGE) {
      // The whole page is dirty: its dirty copy becomes the write-back copy.
      this.release(pg.flushed);
      pg.flushed = pg.dirty;
      pg.dirty = null;
      this.flushedLines += LINES_PER_PAGE - pg.nFlushed;
      this.wcLines -= pg.nWc;
      this.dirtyLines -= LINES_PER_PAGE;
      pg.nFlushed = LINES_PER_PAGE;
      pg.nDirty = 0;
      pg.nWc = 0;
      pg.wc = this.release(pg.wc);
      pg.state.fill(FLUSHED);
    } else {
      for (let i = first; i <= last; i++) {
        const s = pg.state[i]!;
        if (!(s & DIRTY)) continue;
        const flushed = (pg.flushed ??= this.buffer());
        copyLine(pg.dirty!, flushed, i);
        // The dirty copy already holds any write-combined bytes of the line: they are superseded.
        if (s & WC) {
          pg.nWc--;
          this.wcLines--;
        }
        if (!(s & FLUSHED)) {
          pg.nFlushed++;
          this.flushedLines++;
        }
        pg.state[i] = FLUSHED;
        pg.nDirty--;
        this.dirtyLines--;
      }
      if (pg.nDirty === 0) pg.dirty = this.release(pg.dirty);
      if (pg.nWc === 0) pg.wc = this.release(pg.wc);
    }
    this.enqueue(pg);
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
      const pno = Math.floor(addr / PAGE_SIZE);
      const pOff = addr - pno * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - pOff, len - done);
      const pg = this.page(pno);
      const first = Math.floor(pOff / LINE);
      const last = Math.floor((pOff + n - 1) / LINE);
      this.writeBackLines(pg, first, last);
      const wc = (pg.wc ??= this.buffer());
      for (let i = first; i <= last; i++) {
        this.evict(pno * LINES_PER_PAGE + i);
        if (pg.state[i]! & WC) continue;
        if (i * LINE < pOff || (i + 1) * LINE > pOff + n) this.fillBelowDirty(pg, i, wc);
        pg.state[i]! |= WC;
        pg.nWc++;
        this.wcLines++;
      }
      wc.set(src.subarray(srcOff + done, srcOff + done + n), pOff);
      this.enqueue(pg);
      lines += last - first + 1;
      done += n;
    }
    this.costs.chargeWrite(lines, true);
  }

  /**
   * clwb (keep the line) or clflushopt (`invalidate`): write back every line of
   * `[physAddr, physAddr + len)`; durable only once a fence orders it.
   */
  writeBack(physAddr: number, len: number, invalidate: boolean): void {
    if (len <= 0) return;
    const firstLine = Math.floor(physAddr / LINE);
    const lastLine = Math.floor((physAddr + len - 1) / LINE);
    for (let pno = Math.floor(firstLine / LINES_PER_PAGE); pno * LINES_PER_PAGE <= lastLine; pno++) {
      const base = pno * LINES_PER_PAGE;
      const first = Math.max(firstLine, base) - base;
      const last = Math.min(lastLine, base + LINES_PER_PAGE - 1) - base;
      const pg = this.pages.get(pno);
      if (pg) this.writeBackLines(pg, first, last);
      for (let i = first; i <= last; i++) {
        if (invalidate) this.evict(base + i);
        else this.makeResident(base + i);
      }
    }
    this.costs.chargeFlush(lastLine - firstLine + 1);
  }

  /** Writes the lines of `pg` whose state has `bit` from `buf` to the media. */
  private persist(pg: CachePage, buf: Uint8Array, bit: number, count: number): void {
    const base = pg.pno * PAGE_SIZE;
    if (count === LINES_PER_PAGE) {
      this.backing.writeMedia(base, buf, 0, PAGE_SIZE);
      return;
    }
    for (let i = 0; i < LINES_PER_PAGE; i++) {
      if (pg.state[i]! & bit) this.backing.writeMedia(base + i * LINE, buf, i * LINE, LINE);
    }
  }

  /** sfence: written-back lines, then write-combined lines, reach the media. */
  fence(): void {
    this.costs.chargeFence();
    let written = 0;
    for (const pg of this.fenceQueue) {
      pg.queued = false;
      if (pg.nFlushed) this.persist(pg, pg.flushed!, FLUSHED, pg.nFlushed);
      if (pg.nWc) this.persist(pg, pg.wc!, WC, pg.nWc);
      written += pg.nFlushed + pg.nWc;
      this.flushedLines -= pg.nFlushed;
      this.wcLines -= pg.nWc;
      pg.nFlushed = 0;
      pg.nWc = 0;
      pg.flushed = this.release(pg.flushed);
      pg.wc = this.release(pg.wc);
      if (pg.nDirty === 0) this.pages.delete(pg.pno);
      else for (let i = 0; i < LINES_PER_PAGE; i++) pg.state[i]! &= DIRTY;
    }
    this.fenceQueue = [];
    this.costs.counters.mediaLineWrites += written;
  }

  /** Power loss: what the persistence domain covers reaches the media, the rest is lost. */
  powerFail(opts: PowerFailOptions = {}): PowerFailReport {
    const eadr = this.persistenceDomain === "eadr";
    const survives = opts.survives;
    let persisted = 0;
    let lost = 0;
    // Oldest copy first, so that a newer copy of a line overwrites an older one.
    const copies: Array<[number, VolatileLineKind, boolean]> = [
      [FLUSHED, "flushed", eadr],
      [WC, "wc", false],
      [DIRTY, "dirty", eadr],
    ];
    for (const pg of this.pages.values()) {
      for (let i = 0; i < LINES_PER_PAGE; i++) {
        const s = pg.state[i]!;
        if (!s) continue;
        const addr = pg.pno * PAGE_SIZE + i * LINE;
        let newestKept = false;
        for (const [bit, kind, guaranteed] of copies) {
          if (!(s & bit)) continue;
          newestKept = guaranteed || (survives !== undefined && survives(addr, kind));
          if (newestKept) {
            const buf = bit === DIRTY ? pg.dirty! : bit === WC ? pg.wc! : pg.flushed!;
            this.backing.writeMedia(addr, buf, i * LINE, LINE);
            persisted++;
          }
        }
        if (!newestKept) lost++;
      }
    }
    this.costs.counters.mediaLineWrites += persisted;
    this.costs.counters.powerFails++;
    this.pages.clear();
    this.fenceQueue = [];
    this.dirtyLines = 0;
    this.flushedLines = 0;
    this.wcLines = 0;
    this.residentTags = undefined;
    return { linesLost: lost, linesPersisted: persisted };
  }
}
