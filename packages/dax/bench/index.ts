/**
 * DAX fault rates per sharing mechanism: read faults on a file whose blocks are all
 * shared with another file (reflinked), write faults on an unshared file, at PTE and PMD
 * size. Every page of an 8 MiB mapping is touched; a figure counts dax_iomap_fault calls
 * per second (a PMD attempt that falls back and its PTE fault count as two). Prints one
 * line per figure: `dax <read|write> faults/s <mechanism> <pte|pmd>: N`.
 */
import {
  MAP_SHARED,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  createProcess,
  load,
  runSync,
  store,
  taskMm,
  vmMmap,
  vmMunmap,
} from "@pagelab/mm-core";
import { IMPLEMENTED_MECHANISMS, bootDaxMachine } from "../src/index.js";

const FILE_BYTES = 8 * PMD_SIZE;
const MIN_MS = 300;

function bench(mech: (typeof IMPLEMENTED_MECHANISMS)[number], kind: "read" | "write", size: "pte" | "pmd"): number {
  const m = bootDaxMachine({ mechanism: mech, pmemBytes: 128 * 1024 * 1024 });
  const a = m.fs.create("a");
  m.fs.write(a, 0, new Uint8Array(FILE_BYTES).fill(1), { align: 512 });
  let target = a;
  if (kind === "read") {
    target = m.fs.create("b");
    m.fs.reflink(a, 0, target, 0, FILE_BYTES / PAGE_SIZE);
  }
  const t = createProcess(m.ctx, "bench");
  const mm = taskMm(t);
  const one = Uint8Array.of(7);
  const faults0 = m.dax.costs.faults;
  const start = performance.now();
  let now = start;
  while (now - start < MIN_MS) {
    const addr = runSync(
      vmMmap(mm, {
        len: FILE_BYTES,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_SHARED,
        file: m.fs.open(target),
        ...(size === "pmd" ? {} : { addr: 0x4000_1000 }),
      }),
      t,
    );
    for (let off = 0; off < FILE_BYTES; off += PAGE_SIZE) {
      const r = kind === "read" ? runSync(load(addr + off, 1), t) : runSync(store(addr + off, one), t);
      if (!r.ok) throw new Error(`bench: fault failed at +${off}`);
    }
    runSync(vmMunmap(mm, addr, FILE_BYTES), t);
    now = performance.now();
  }
  return Math.round(((m.dax.costs.faults - faults0) * 1000) / (now - start));
}

for (const kind of ["read", "write"] as const)
  for (const mech of IMPLEMENTED_MECHANISMS)
    for (const size of ["pte", "pmd"] as const) console.log(`dax ${kind} faults/s ${mech} ${size}: ${bench(mech, kind, size)}`);
