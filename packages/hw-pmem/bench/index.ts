/**
 * `pnpm bench` for @pagelab/hw-pmem: host throughput of the hot paths (stores through
 * the cache model, flush + fence, the block write path, loads, DAX address lookup) and
 * the simulated cost of one 4 KiB persist, one figure per line.
 */
import { Bench } from "tinybench";
import { createPmemPlatform } from "../src/index.js";

const BASE = 0x40000000;
const PAGE = 4096;
const WINDOW = 64 * 1024 * 1024; // cycle through 64 MiB so the sparse media stops growing

const p = createPmemPlatform();
const pmem0 = p.namespace("pmem0")!;
const bdev = pmem0.blockDevice!;
const page = new Uint8Array(PAGE).fill(0xa5);
const mib = new Uint8Array(1024 * 1024).fill(0x5a);
const readBuf = new Uint8Array(PAGE);
let at = 0;
let sector = 0;
let readAt = 0;
let pg = 0;

function next(len: number): number {
  const addr = BASE + at;
  at = (at + len) % WINDOW;
  return addr;
}

// Warm the read window so loads hit populated media.
for (let off = 0; off < WINDOW; off += PAGE) p.storeNt(BASE + off, page);
p.sfence();

const bench = new Bench({ time: 500 });
bench
  .add("pmem store+flush 4KiB/s", () => {
    const addr = next(PAGE);
    p.store(addr, page);
    p.clwb(addr, PAGE);
    p.sfence();
  })
  .add("pmem storeNt+fence 4KiB/s", () => {
    const addr = next(PAGE);
    p.storeNt(addr, page);
    p.sfence();
  })
  .add("pmem store+flush 1MiB/s", () => {
    const addr = next(mib.length);
    p.store(addr, mib);
    p.clwb(addr, mib.length);
    p.sfence();
  })
  .add("pmem block write 4KiB+fua/s", () => {
    bdev.write(sector, page, { fua: true });
    sector = (sector + 8) % (WINDOW / 512);
  })
  .add("pmem load 4KiB/s", () => {
    p.load(BASE + readAt, readBuf);
    readAt = (readAt + PAGE) % WINDOW;
  })
  .add("pmem daxDirectAccess/s", () => {
    pmem0.daxDirectAccess(pg, 512);
    pg = (pg + 1) % 65536;
  });

await bench.run();

for (const task of bench.tasks) {
  const r = task.result;
  if (r.state === "completed") console.log(`${task.name}: ${Math.round(r.throughput.mean)}`);
  else console.log(`${task.name}: ${r.state}`);
}

// Simulated cost (default latencies) of persisting one 4 KiB page both ways.
const sim = createPmemPlatform();
let before = sim.costs.snapshot();
sim.store(BASE, page);
sim.clwb(BASE, PAGE);
sim.sfence();
console.log(`pmem simulated ns per 4KiB store+clwb+sfence: ${sim.costs.since(before).totalNs}`);
before = sim.costs.snapshot();
sim.namespace("pmem0")!.blockDevice!.write(8, page, { fua: true });
console.log(`pmem simulated ns per 4KiB block write+fua: ${sim.costs.since(before).totalNs}`);
before = sim.costs.snapshot();
sim.load(BASE + PAGE * 100, readBuf);
console.log(`pmem simulated ns per 4KiB cold load: ${sim.costs.since(before).totalNs}`);
