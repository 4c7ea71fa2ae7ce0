import { describe, expect, it } from "vitest";
import { DevPagemap, MEMORY_DEVICE_GENERIC, memremapPages } from "../page/memremap.js";
import type { MemoryBacking } from "../page/physmem.js";
import { runSync } from "../sched/scheduler.js";
import type { Sleepable } from "../sched/sleepable.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE, PUD_NR, PUD_ORDER, PUD_SIZE } from "../types.js";
import { AddressSpace } from "./addressSpace.js";
import { load, store } from "./access.js";
import { FAULT_FLAG_WRITE, MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE, VM_FAULT_FALLBACK, VM_MIXEDMAP } from "./flags.js";
import { createProcess, taskMm } from "./fork.js";
import { PFN_DEV, PFN_MAP, pfnToPfnT, vmfInsertMixedMkwrite, vmfInsertPfnPud } from "./insertPfn.js";
import { bootVm } from "./machine.js";
import { sysMprotect, sysMremap, vmMmap, vmMunmap } from "./mmap.js";
import { MREMAP_FIXED, MREMAP_MAYMOVE } from "./flags.js";
import { ptePfn, pteWrite, pudLeaf, pudPfn, pudWrite } from "./pgtable.js";
import type { VmFault, VmFile } from "./vma.js";

class Sparse implements MemoryBacking {
  readonly pages = new Map<number, Uint8Array>();
  load(physAddr: number, dst: Uint8Array): void {
    const p = this.pages.get(Math.floor(physAddr / PAGE_SIZE));
    const off = physAddr % PAGE_SIZE;
    if (p) dst.set(p.subarray(off, off + dst.length));
    else dst.fill(0);
  }
  store(physAddr: number, src: Uint8Array): void {
    const k = Math.floor(physAddr / PAGE_SIZE);
    let p = this.pages.get(k);
    if (!p) this.pages.set(k, (p = new Uint8Array(PAGE_SIZE)));
    p.set(src, physAddr % PAGE_SIZE);
  }
}

/**
 * A driver over 2 GiB of device memory that maps read faults with 1 GiB PUDs and, because
 * it has ->pfn_mkwrite (write-notify), answers write faults on a PUD with FALLBACK so they
 * end at the PTE level.
 */
function setup() {
  const { ctx } = bootVm();
  const pgmap = new DevPagemap({ type: MEMORY_DEVICE_GENERIC, range: { start: 2 ** 40, end: 2 ** 40 + 2 * PUD_SIZE - 1 } });
  memremapPages({ memmap: ctx.memmap, physMem: ctx.physMem }, pgmap, new Sparse());
  const base = pgmap.startPfn;
  const mapping = new AddressSpace({ iSize: 2 * PUD_SIZE }, {}, "drv");
  mapping.canWriteback = false;
  const file: VmFile = {
    mapping,
    readable: true,
    writable: true,
    mmap(vma) {
      vma.vmFlags |= VM_MIXEDMAP;
      vma.vmOps = {
        name: "drv_vm_ops",
        *fault(vmf: VmFault): Sleepable<number> {
          return vmfInsertMixedMkwrite(vmf.vma, vmf.address, pfnToPfnT((base + vmf.pgoff) as Pfn, PFN_DEV | PFN_MAP));
        },
        *hugeFault(vmf: VmFault, order: number): Sleepable<number> {
          if (order !== PUD_ORDER || vmf.flags & FAULT_FLAG_WRITE) return VM_FAULT_FALLBACK;
          const first = vmf.pgoff - (vmf.pgoff % PUD_NR);
          return vmfInsertPfnPud(vmf, pfnToPfnT((base + first) as Pfn, PFN_DEV | PFN_MAP), false);
        },
        *pfnMkwrite(): Sleepable<number> {
          return 0;
        },
      };
    },
  };
  const t = createProcess(ctx, "t");
  const mm = taskMm(t);
  const a = runSync(vmMmap(mm, { addr: 4 * PUD_SIZE, len: 2 * PUD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file }), t);
  return { ctx, t, mm, a, base };
}

describe("huge PUD faults", () => {
  it("a read maps a read-only PUD; a write to it falls back: the PUD is zapped and a PTE maps the page", () => {
    const { ctx, t, mm, a, base } = setup();
    const off = 0x1234_5000;
    expect(runSync(load(a + off, 1), t).ok).toBe(true);
    const pud = mm.pgtables.pudAt(a);
    expect(pudLeaf(pud) && !pudWrite(pud) && pudPfn(pud)).toBe(base);
    const flushes = mm.counters.tlbFlushes;
    expect(runSync(store(a + off, Uint8Array.of(7)), t).ok).toBe(true);
    expect(mm.pgtables.pudAt(a) !== 0 && pudLeaf(mm.pgtables.pudAt(a))).toBe(false);
    expect(ctx.stats.pudsZapped).toBe(1);
    expect(mm.counters.tlbFlushes).toBeGreaterThan(flushes);
    const pte = mm.pgtables.pteAt(a + off);
    expect(pteWrite(pte) && ptePfn(pte)).toBe(base + off / PAGE_SIZE);
    const r = runSync(load(a + off, 1), t);
    expect(r.ok && r.data[0]).toBe(7);
  });

  it("mprotect or munmap of part of a PUD leaf zaps the whole leaf; the rest refaults", () => {
    const { ctx, t, mm, a } = setup();
    expect(runSync(load(a, 1), t).ok).toBe(true);
    expect(runSync(load(a + PUD_SIZE, 1), t).ok).toBe(true);
    expect(mm.pgtables.countMapped().puds).toBe(2);
    runSync(sysMprotect(mm, a, PAGE_SIZE, PROT_READ), t);
    expect(pudLeaf(mm.pgtables.pudAt(a))).toBe(false);
    expect(pudLeaf(mm.pgtables.pudAt(a + PUD_SIZE))).toBe(true);
    runSync(vmMunmap(mm, a + PUD_SIZE + PAGE_SIZE, PAGE_SIZE), t);
    expect(mm.pgtables.countMapped().puds).toBe(0);
    expect(ctx.stats.pudsZapped).toBe(2);
    const rr = runSync(load(a + PUD_SIZE + 2 * PAGE_SIZE, 1), t);
    expect(rr.ok ? "ok" : JSON.stringify(rr.signal)).toBe("ok");
    expect(ptePfn(mm.pgtables.pteAt(a + PUD_SIZE + 2 * PAGE_SIZE))).toBeGreaterThan(0);
  });

  it("mremap moves a whole PUD leaf to a PUD-aligned address", () => {
    const { t, mm, a, base } = setup();
    expect(runSync(load(a, 1), t).ok).toBe(true);
    const to = 16 * PUD_SIZE;
    const moved = runSync(sysMremap(mm, a, PUD_SIZE, PUD_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, to), t);
    expect(moved).toBe(to);
    expect(mm.pgtables.pudAt(a)).toBe(0);
    expect(pudPfn(mm.pgtables.pudAt(to))).toBe(base);
  });
});
