/**
 * Whole-machine figures: boot (mkfs + mount of 512 MiB pmem) and 4 KiB DAX write(2)
 * throughput through the kernel layer. Prints `kernel boot ms: N` and
 * `kernel dax write 4k/s: N`.
 */
import { runSync } from "@pagelab/mm-core";
import { FMODE_READ, FMODE_WRITE } from "@pagelab/xfs-lite";
import { bootMachine } from "../src/index.js";

const t0 = performance.now();
const m = bootMachine();
console.log(`kernel boot ms: ${(performance.now() - t0).toFixed(1)}`);
const fs = m.kfs.fs;
const ip = runSync(fs.create(fs.root, "bench"));
const f = m.kfs.open(ip, FMODE_READ | FMODE_WRITE, 0);
const block = new Uint8Array(4096).fill(0x5a);
let n = 0;
const start = performance.now();
while (performance.now() - start < 500) runSync(m.kfs.write(f, (n++ % 4096) * 4096, block));
console.log(`kernel dax write 4k/s: ${Math.round((n * 1000) / (performance.now() - start))}`);
