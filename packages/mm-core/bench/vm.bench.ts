/**
 * Anonymous write-fault throughput: one task stores one byte into each page of a large
 * fresh anonymous mapping, so every store takes the full path — MMU miss, x86 fault
 * handler, mmap_lock, do_anonymous_page (allocate, zero, rmap, PTE) — and retries.
 *
 * Exported for bench/index.ts; prints exactly `anon write faults/s: N`.
 */
import { runSync } from "../src/sched/index.js";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, bootVm, createProcess, store, taskMm, vmMmap, vmMunmap } from "../src/vm/index.js";
import { PAGE_SIZE } from "../src/types.js";

export interface AnonFaultBenchOptions {
  /** Pages faulted per round (default 32768 = 128 MiB of mappings). */
  pages?: number;
  /** Rounds; the best is reported (default 3). */
  rounds?: number;
}

/** Measure and print `anon write faults/s: N`; returns N. */
export function benchAnonWriteFaults(opts: AnonFaultBenchOptions = {}): number {
  const pages = opts.pages ?? 32768;
  const rounds = opts.rounds ?? 3;
  const { ctx } = bootVm({ dramBytes: (pages + 4096) * PAGE_SIZE * 2 });
  const task = createProcess(ctx, "bench");
  const mm = taskMm(task);
  const one = Uint8Array.of(1);
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const len = pages * PAGE_SIZE;
    const addr = runSync(vmMmap(mm, { len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), task);
    const faultsBefore = ctx.stats.anonFaults;
    const t0 = performance.now();
    runSync(
      (function* () {
        for (let p = 0; p < pages; p++) {
          const res = yield* store(addr + p * PAGE_SIZE, one);
          if (!res.ok) throw new Error(`store at page ${p} failed`);
        }
      })(),
      task,
    );
    const seconds = (performance.now() - t0) / 1000;
    const faults = ctx.stats.anonFaults - faultsBefore;
    if (faults !== pages) throw new Error(`expected ${pages} anonymous faults, saw ${faults}`);
    best = Math.max(best, faults / seconds);
    runSync(vmMunmap(mm, addr, len), task);
  }
  console.log(`anon write faults/s: ${Math.round(best)}`);
  return best;
}

const invokedDirectly = import.meta.url === `file://${process.argv[1]}`;
if (invokedDirectly) benchAnonWriteFaults();
