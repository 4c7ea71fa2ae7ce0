/**
 * The latency/cost model: simulated nanoseconds per cache-line operation, accumulated
 * into counters where the work happens, for fault-cost figures.
 *
 * @see arch/x86/include/asm/special_insns.h clwb(), clflushopt(); arch/x86/include/asm/barrier.h wmb()
 *
 * The default latencies are ASSUMPTIONS, loosely after published Optane DC PMM
 * measurements (Izraelevitz et al., "Basic Performance Measurements of the Intel Optane
 * DC Persistent Memory Module", 2019: ~300 ns random read, ~100 ns write to the
 * persistence domain): a line read that misses the CPU cache 300 ns, a hit 10 ns, a
 * store or non-temporal store 100 ns per line, a clwb/clflushopt 100 ns per line, an
 * sfence 50 ns. They are not a timing simulation: no overlap, bandwidth or queueing.
 */

export interface PmemLatency {
  /** A load of a line not in the CPU cache (first touch). */
  readonly readMissNs: number;
  /** A load of a line already in the CPU cache. */
  readonly readHitNs: number;
  /** A store, per cache line written. */
  readonly writeNs: number;
  /** A non-temporal store (movnt), per cache line written. */
  readonly ntWriteNs: number;
  /** A clwb / clflushopt, per cache line. */
  readonly flushNs: number;
  /** An sfence. */
  readonly fenceNs: number;
}

export const DEFAULT_PMEM_LATENCY: Readonly<PmemLatency> = Object.freeze({
  readMissNs: 300,
  readHitNs: 10,
  writeNs: 100,
  ntWriteNs: 100,
  flushNs: 100,
  fenceNs: 50,
});

export interface PmemCounters {
  /** load() / copyMcToKernel() calls. */
  loads: number;
  /** store() calls. */
  stores: number;
  /** storeNt() calls (memcpy_flushcache's movnt part included). */
  ntStores: number;
  /** Cache lines clwb'd or clflushopt'd. */
  flushes: number;
  /** sfence instructions. */
  fences: number;
  /** Cache lines read by loads. */
  lineReads: number;
  /** ... of which missed the CPU cache. */
  lineReadMisses: number;
  /** Cache lines written by stores. */
  lineWrites: number;
  /** Cache lines written by non-temporal stores. */
  ntLineWrites: number;
  /** Cache lines that reached the media (made durable). */
  mediaLineWrites: number;
  bytesLoaded: number;
  bytesStored: number;
  /** Poison consumed (machine checks raised or recovered by copy_mc). */
  machineChecks: number;
  powerFails: number;
  /** Address range scrubs run. */
  arsScans: number;
  readNs: number;
  writeNs: number;
  flushNs: number;
  fenceNs: number;
  /** Sum of the *Ns counters. */
  totalNs: number;
}

function zeroCounters(): PmemCounters {
  return {
    loads: 0,
    stores: 0,
    ntStores: 0,
    flushes: 0,
    fences: 0,
    lineReads: 0,
    lineReadMisses: 0,
    lineWrites: 0,
    ntLineWrites: 0,
    mediaLineWrites: 0,
    bytesLoaded: 0,
    bytesStored: 0,
    machineChecks: 0,
    powerFails: 0,
    arsScans: 0,
    readNs: 0,
    writeNs: 0,
    flushNs: 0,
    fenceNs: 0,
    totalNs: 0,
  };
}

/** Counters plus the latencies that price them. */
export class PmemCostModel {
  readonly latency: Readonly<PmemLatency>;
  /** Live counters, updated in place by the CPU model. */
  readonly counters: PmemCounters = zeroCounters();

  constructor(latency: Partial<PmemLatency> = {}) {
    this.latency = Object.freeze({ ...DEFAULT_PMEM_LATENCY, ...latency });
  }

  chargeRead(hits: number, misses: number): void {
    const ns = hits * this.latency.readHitNs + misses * this.latency.readMissNs;
    this.counters.lineReads += hits + misses;
    this.counters.lineReadMisses += misses;
    this.counters.readNs += ns;
    this.counters.totalNs += ns;
  }

  chargeWrite(lines: number, nt: boolean): void {
    const ns = lines * (nt ? this.latency.ntWriteNs : this.latency.writeNs);
    if (nt) this.counters.ntLineWrites += lines;
    else this.counters.lineWrites += lines;
    this.counters.writeNs += ns;
    this.counters.totalNs += ns;
  }

  chargeFlush(lines: number): void {
    const ns = lines * this.latency.flushNs;
    this.counters.flushes += lines;
    this.counters.flushNs += ns;
    this.counters.totalNs += ns;
  }

  chargeFence(): void {
    this.counters.fences++;
    this.counters.fenceNs += this.latency.fenceNs;
    this.counters.totalNs += this.latency.fenceNs;
  }

  /** A copy of the counters at this moment. */
  snapshot(): PmemCounters {
    return { ...this.counters };
  }

  /** Counters accumulated since `before` (a snapshot). */
  since(before: PmemCounters): PmemCounters {
    const out = zeroCounters();
    for (const k of Object.keys(out) as (keyof PmemCounters)[]) out[k] = this.counters[k] - before[k];
    return out;
  }

  reset(): void {
    Object.assign(this.counters, zeroCounters());
  }
}
