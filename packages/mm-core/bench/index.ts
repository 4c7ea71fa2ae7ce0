/**
 * mm-core benchmarks: `pnpm bench` in packages/mm-core.
 *
 * Prints one line per measure:
 *   memmap bytes/page: X            16 Mi pages (64 GiB), every section materialised
 *   memmap arrayBuffers bytes/page: X  the same, as Node measures it
 *   xarray store/s, xarray load/s, xarray marked-walk entries/s
 *   buddy alloc+free/s (order 0), buddy alloc+free/s (order 9)
 *   anon write faults/s: N           one store per page of a fresh anonymous mapping
 */
import { Bench } from "tinybench";
import {
  GFP_KERNEL,
  Memmap,
  PAGES_PER_SECTION,
  PG_dirty,
  createMemory,
} from "../src/page/index.js";
import { XA_MARK_0, XArray } from "../src/xarray/index.js";
import { benchAnonWriteFaults } from "./vm.bench.js";

const PAGES_64G = 16 * 1024 * 1024;
const BATCH = 1000;

function memmapBytesPerPage(): void {
  const before = process.memoryUsage().arrayBuffers;
  const memmap = new Memmap();
  memmap.addRange(0, PAGES_64G, { zone: "NORMAL" });
  for (let pfn = 0; pfn < PAGES_64G; pfn += PAGES_PER_SECTION) memmap.setPageFlag(pfn, PG_dirty);
  if (memmap.materializedSections !== PAGES_64G / PAGES_PER_SECTION) throw new Error("not every section materialised");
  const measured = process.memoryUsage().arrayBuffers - before;
  const perPage = memmap.memmapBytes() / PAGES_64G;
  if (perPage > 64) throw new Error(`memmap costs ${perPage} bytes/page, over the kernel's 64`);
  console.log(`memmap bytes/page: ${perPage.toFixed(2)}`);
  console.log(`memmap arrayBuffers bytes/page: ${(measured / PAGES_64G).toFixed(2)}`);
}

function opsPerSecond(bench: Bench, name: string): number {
  const task = bench.getTask(name);
  const result = task?.result;
  if (!result || !("throughput" in result)) throw new Error(`bench task ${name} did not complete`);
  return result.throughput.mean * BATCH;
}

function fmt(n: number): string {
  // Plain integers, so scripts comparing runs can parse every line the same way.
  return String(Math.round(n));
}

async function xarrayRates(): Promise<void> {
  const xa = new XArray<number>();
  const N = 1 << 20;
  for (let i = 0; i < N; i++) xa.store(i, i * 2);
  for (let i = 0; i < N; i += 4096) xa.setMark(i, XA_MARK_0);
  let next = 0;
  let sink = 0;
  const bench = new Bench({ time: 500 });
  bench
    .add("xarray store", () => {
      for (let i = 0; i < BATCH; i++) {
        xa.store(next, next * 2);
        next = (next + 7919) % N;
      }
    })
    .add("xarray load", () => {
      for (let i = 0; i < BATCH; i++) {
        sink += xa.load(next) ?? 0;
        next = (next + 7919) % N;
      }
    })
    .add("xarray marked walk", () => {
      let n = 0;
      for (const [index] of xa.marked(0, N, XA_MARK_0)) {
        sink += index;
        if (++n === BATCH) break;
      }
    });
  await bench.run();
  console.log(`xarray store/s: ${fmt(opsPerSecond(bench, "xarray store"))}`);
  console.log(`xarray load/s: ${fmt(opsPerSecond(bench, "xarray load"))}`);
  console.log(`xarray marked-walk entries/s: ${fmt(((N / 4096) / BATCH) * opsPerSecond(bench, "xarray marked walk"))}`);
  if (sink === -1) console.log("");
}

async function buddyRates(): Promise<void> {
  const { buddy } = createMemory({ dramBytes: 1024 * 1024 * 1024 });
  const pfns = new Array<number>(BATCH);
  const bench = new Bench({ time: 500 });
  for (const order of [0, 9]) {
    bench.add(`buddy order ${order}`, () => {
      const n = order === 0 ? BATCH : 200;
      for (let i = 0; i < n; i++) pfns[i] = buddy.allocPages(GFP_KERNEL, order);
      for (let i = 0; i < n; i++) buddy.freePages(pfns[i]!, order);
    });
  }
  await bench.run();
  console.log(`buddy alloc+free/s (order 0): ${fmt(opsPerSecond(bench, "buddy order 0"))}`);
  console.log(`buddy alloc+free/s (order 9): ${fmt((opsPerSecond(bench, "buddy order 9") * 200) / BATCH)}`);
}

memmapBytesPerPage();
await xarrayRates();
await buddyRates();
benchAnonWriteFaults();
