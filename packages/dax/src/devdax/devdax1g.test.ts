import { createPmemPlatform } from "@pagelab/hw-pmem";
import {
  FAULT_FLAG_WRITE,
  MAP_FIXED,
  MAP_SHARED,
  PAGE_SIZE,
  PMD_ORDER,
  PROT_READ,
  PROT_WRITE,
  PUD_SIZE,
  SIGBUS,
  VM_FAULT_NOPAGE,
  VM_FAULT_SIGBUS,
  bootVm,
  createProcess,
  forkProcess,
  isKernelError,
  load,
  newVmFault,
  pudDevmap,
  pudLeaf,
  pudPfn,
  pudWrite,
  runSync,
  store,
  sysMprotect,
  taskMm,
  vmMmap,
  vmMunmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { DevDax } from "./devdax.js";

/** A 3 GiB region at 4 GiB: the 1 GiB-aligned namespace keeps 2 GiB of data after its info block and memmap. */
function boot() {
  const vm = bootVm();
  const pmem = createPmemPlatform({
    regions: [{ physAddr: 4 * PUD_SIZE, size: 3 * PUD_SIZE, namespaces: [{ mode: "devdax", align: PUD_SIZE }] }],
  });
  const dev = new DevDax(vm.ctx, pmem.namespace("namespace0.0")!);
  const t = createProcess(vm.ctx, "app");
  t.dispositions.set(SIGBUS, "catch");
  return { vm, dev, t };
}

const DEEP = 0x2345_6000 + 0x7b;

function mapGiB(dev: DevDax, t: ReturnType<typeof boot>["t"], opts: { addr?: number; len?: number; pgoff?: number; flags?: number } = {}) {
  return runSync(
    vmMmap(taskMm(t), {
      addr: opts.addr ?? 0,
      len: opts.len ?? PUD_SIZE,
      prot: PROT_READ | PROT_WRITE,
      flags: opts.flags ?? MAP_SHARED,
      file: dev.open(),
      pgoff: opts.pgoff ?? 0,
    }),
    t,
  );
}

describe("device DAX with 1 GiB alignment", () => {
  it("maps a whole gigabyte with one PUD fault; a store deep inside lands at the right pmem offset", () => {
    const { vm, dev, t } = boot();
    expect(dev.ns.dataPhysAddr % PUD_SIZE).toBe(0);
    const a = mapGiB(dev, t);
    expect(a % PUD_SIZE).toBe(0);
    const before = vm.ctx.stats.hugeFaults;
    expect(runSync(store(a + DEEP, Uint8Array.of(0x5a, 0xa5)), t).ok).toBe(true);
    expect(vm.ctx.stats.hugeFaults - before).toBe(1);
    const pud = taskMm(t).pgtables.pudAt(a + DEEP);
    expect(pudLeaf(pud) && pudDevmap(pud) && pudWrite(pud)).toBe(true);
    expect(pudPfn(pud)).toBe(dev.ns.pfnStart);
    expect(taskMm(t).pgtables.countMapped()).toEqual({ ptes: 0, pmds: 0, puds: 1 });

    const media = new Uint8Array(2);
    dev.ns.load(dev.ns.dataPhysAddr + DEEP, media);
    expect([...media]).toEqual([0x5a, 0xa5]);
    // a load elsewhere in the gigabyte is served by the same leaf, with no further fault
    const faults = vm.ctx.stats.faults;
    const r = runSync(load(a + PUD_SIZE - PAGE_SIZE, 1), t);
    expect(r.ok).toBe(true);
    expect(vm.ctx.stats.faults).toBe(faults);
    // dax_set_mapping(): the subpage under the store knows the device file and its offset
    const sub = dev.ns.pfnStart + Math.floor(DEEP / PAGE_SIZE);
    expect(vm.ctx.memmap.pageIndex(sub)).toBe(Math.floor(DEEP / PAGE_SIZE));
  });

  it("maps the second gigabyte of the device for a mapping at pgoff 1 GiB", () => {
    const { dev, t } = boot();
    const a = mapGiB(dev, t, { pgoff: PUD_SIZE / PAGE_SIZE });
    expect(runSync(store(a + DEEP, Uint8Array.of(0x11)), t).ok).toBe(true);
    expect(pudPfn(taskMm(t).pgtables.pudAt(a))).toBe(dev.ns.pfnStart + PUD_SIZE / PAGE_SIZE);
    const media = new Uint8Array(1);
    dev.ns.load(dev.ns.dataPhysAddr + PUD_SIZE + DEEP, media);
    expect(media[0]).toBe(0x11);
  });

  it("munmap zaps the PUD leaf with one counted TLB flush", () => {
    const { vm, dev, t } = boot();
    const mm = taskMm(t);
    const a = mapGiB(dev, t);
    expect(runSync(load(a + DEEP, 1), t).ok).toBe(true);
    const flushes = mm.counters.tlbFlushes;
    runSync(vmMunmap(mm, a, PUD_SIZE), t);
    expect(mm.pgtables.pudAt(a)).toBe(0);
    expect(mm.counters.pudsUnmapped).toBe(1);
    expect(vm.ctx.stats.pudsZapped).toBe(1);
    expect(mm.counters.tlbFlushes - flushes).toBe(1);
    expect(mm.pgtables.countMapped()).toEqual({ ptes: 0, pmds: 0, puds: 0 });
  });

  it("fork copies the shared PUD leaf: the child reaches the same pmem without faulting", () => {
    const { vm, dev, t } = boot();
    const a = mapGiB(dev, t);
    expect(runSync(store(a + DEEP, Uint8Array.of(0x42)), t).ok).toBe(true);
    const child = runSync(forkProcess(vm.ctx, t), t);
    const cpud = taskMm(child).pgtables.pudAt(a);
    expect(pudLeaf(cpud) && pudPfn(cpud)).toBe(dev.ns.pfnStart);
    const faults = vm.ctx.stats.faults;
    expect(runSync(store(a + DEEP + 1, Uint8Array.of(0x43)), child).ok).toBe(true);
    expect(vm.ctx.stats.faults).toBe(faults);
    const r = runSync(load(a + DEEP, 2), t);
    expect(r.ok && [...r.data]).toEqual([0x42, 0x43]);
  });

  it("mprotect of the whole gigabyte keeps the leaf read-only; a write then faults with SIGSEGV", () => {
    const { dev, t } = boot();
    const mm = taskMm(t);
    const a = mapGiB(dev, t);
    expect(runSync(store(a, Uint8Array.of(1)), t).ok).toBe(true);
    runSync(sysMprotect(mm, a, PUD_SIZE, PROT_READ), t);
    const pud = mm.pgtables.pudAt(a);
    expect(pudLeaf(pud) && !pudWrite(pud)).toBe(true);
    expect(runSync(load(a + DEEP, 1), t).ok).toBe(true);
    const w = runSync(store(a + DEEP, Uint8Array.of(2)), t);
    expect(!w.ok && w.signal.signo).toBe(11);
  });

  it("refuses mappings that are not 1 GiB-aligned in address or size, and splits at 2 MiB", () => {
    const { dev, t } = boot();
    const err = (fn: () => unknown) => {
      try {
        fn();
        return "ok";
      } catch (e) {
        return isKernelError(e) ? e.code : String(e);
      }
    };
    expect(err(() => mapGiB(dev, t, { len: 512 * 1024 * 1024 }))).toBe("EINVAL");
    expect(err(() => mapGiB(dev, t, { addr: 8 * PUD_SIZE + 2 * 1024 * 1024, flags: MAP_SHARED | MAP_FIXED }))).toBe("EINVAL");
    const a = mapGiB(dev, t, { addr: 8 * PUD_SIZE, flags: MAP_SHARED | MAP_FIXED });
    expect(a).toBe(8 * PUD_SIZE);
    expect(err(() => runSync(vmMunmap(taskMm(t), a, 2 * 1024 * 1024), t))).toBe("EINVAL");
  });

  it("answers PTE and PMD faults with SIGBUS: the device maps only at its own alignment", () => {
    const { dev, t } = boot();
    const a = mapGiB(dev, t);
    const vma = taskMm(t).findVma(a)!;
    const pmdFault = runSync(dev.hugeFault(newVmFault(vma, a + DEEP, FAULT_FLAG_WRITE), PMD_ORDER), t);
    expect(pmdFault).toBe(VM_FAULT_SIGBUS);
    expect(runSync(dev.hugeFault(newVmFault(vma, a + DEEP, 0), 0), t)).toBe(VM_FAULT_SIGBUS);
    expect(taskMm(t).pgtables.countMapped()).toEqual({ ptes: 0, pmds: 0, puds: 0 });
    expect(runSync(dev.hugeFault(newVmFault(vma, a + DEEP, 0), 18), t)).toBe(VM_FAULT_NOPAGE);
  });
});
