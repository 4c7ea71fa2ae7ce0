import { createPmemPlatform } from "@pagelab/hw-pmem";
import {
  MAP_PRIVATE,
  MAP_SHARED,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  SIGBUS,
  bootVm,
  createProcess,
  isKernelError,
  load,
  pmdLeaf,
  ptePfn,
  pteDevmap,
  runSync,
  store,
  taskMm,
  vmMmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { DevDax } from "./devdax.js";

function boot(align: number) {
  const vm = bootVm();
  const pmem = createPmemPlatform({
    regions: [{ physAddr: 1 << 30, size: 64 * 1024 * 1024, namespaces: [{ mode: "devdax", align }] }],
  });
  const dev = new DevDax(vm.ctx, pmem.namespace("namespace0.0")!);
  const t = createProcess(vm.ctx, "app");
  t.dispositions.set(SIGBUS, "catch");
  return { vm, dev, t };
}

describe("device DAX", () => {
  it("a 2 MiB-aligned device is mapped by PMDs; data goes straight to the namespace", () => {
    const { dev, t } = boot(PMD_SIZE);
    const a = runSync(vmMmap(taskMm(t), { addr: 0x4000_0000, len: 2 * PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file: dev.open() }), t);
    expect(runSync(store(a + PMD_SIZE + 3, Uint8Array.of(0x99)), t).ok).toBe(true);
    expect(pmdLeaf(taskMm(t).pgtables.pmdAt(a + PMD_SIZE))).toBe(true);
    const buf = new Uint8Array(1);
    dev.ns.load(dev.ns.dataPhysAddr + PMD_SIZE + 3, buf);
    expect(buf[0]).toBe(0x99);
    expect(dev.mapping.nrpages).toBe(0);
  });

  it("a 4 KiB-aligned device is mapped by PTEs", () => {
    const { dev, t } = boot(PAGE_SIZE);
    const a = runSync(vmMmap(taskMm(t), { len: 4 * PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED, file: dev.open() }), t);
    expect(runSync(load(a + 2 * PAGE_SIZE, 1), t).ok).toBe(true);
    const pte = taskMm(t).pgtables.pteAt(a + 2 * PAGE_SIZE);
    expect(pteDevmap(pte) && ptePfn(pte)).toBe(dev.ns.pfnStart + 2);
  });

  it("refuses private mappings and mappings smaller than its alignment", () => {
    const { dev, t } = boot(PMD_SIZE);
    const err = (flags: number, len: number) => {
      try {
        runSync(vmMmap(taskMm(t), { len, prot: PROT_READ, flags, file: dev.open() }), t);
        return "ok";
      } catch (e) {
        return isKernelError(e) ? e.code : String(e);
      }
    };
    expect(err(MAP_PRIVATE, PMD_SIZE)).toBe("EINVAL");
    expect(err(MAP_SHARED, PAGE_SIZE)).toBe("EINVAL");
    expect(err(MAP_SHARED, PMD_SIZE)).toBe("ok");
  });
});
