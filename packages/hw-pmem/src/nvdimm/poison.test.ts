import { describe, expect, it } from "vitest";
import { MachineCheckError, isMachineCheck, isPmemError } from "../errors.js";
import { SZ_1G } from "../types.js";
import { type MachineCheckEvent, createPmemPlatform } from "./platform.js";

const BASE = 0x40000000;

function ioCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isPmemError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("poison and machine checks", () => {
  it("a load of a poisoned line raises MachineCheckError with the line's address, after copying what precedes it", () => {
    const p = createPmemPlatform();
    const events: MachineCheckEvent[] = [];
    p.onMachineCheck((e) => events.push(e));
    p.store(BASE + 4096, new Uint8Array(64).fill(0x11));
    p.injectPoison(BASE + 4096 + 100, 1);
    const dst = new Uint8Array(4096);
    let err: unknown;
    try {
      p.load(BASE + 4096, dst);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MachineCheckError);
    expect(isMachineCheck(err)).toBe(true);
    expect((err as MachineCheckError).name).toBe("MachineCheckError");
    expect((err as MachineCheckError).physAddr).toBe(BASE + 4096 + 64);
    expect((err as MachineCheckError).pfn).toBe(0x40001);
    expect(dst.subarray(0, 64).every((b) => b === 0x11)).toBe(true);
    expect(events).toEqual([{ seq: 1, physAddr: BASE + 4160, pfn: 0x40001, kind: "load" }]);
    expect(p.machineCheckLog).toEqual(events);
    expect(p.counters.machineChecks).toBe(1);
  });

  it("a consumed error becomes known (nfit_handle_mce): it joins the badrange list and pmem0's badblocks", () => {
    const p = createPmemPlatform();
    p.injectPoison(BASE + 4160, 64);
    expect(p.badRanges()).toEqual([]);
    expect(() => p.load(BASE + 4160, new Uint8Array(8))).toThrow(MachineCheckError);
    expect(p.badRanges()).toEqual([{ physAddr: BASE + 4160, length: 64 }]);
    expect(p.namespace("pmem0")!.badblocks.show()).toBe("8 1\n");
    expect(p.latentPoison()).toEqual([]);
  });

  it("unsubscribed listeners are not called; stores to a poisoned line do not clear it", () => {
    const p = createPmemPlatform();
    let calls = 0;
    const off = p.onMachineCheck(() => calls++);
    off();
    p.injectPoison(BASE, 64);
    p.store(BASE, new Uint8Array(64).fill(1));
    p.clwb(BASE, 64);
    p.sfence();
    expect(p.isPoisoned(BASE)).toBe(true);
    expect(() => p.load(BASE, new Uint8Array(1))).toThrow(MachineCheckError);
    expect(calls).toBe(0);
  });

  it("ARS finds injected latent errors and reports badblocks in 512-byte sectors", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    p.injectPoison(BASE + 100 * 512 + 64, 64); // sector 100
    p.injectPoison(BASE + 1000 * 512 - 64, 128); // sectors 999 and 1000
    p.injectPoison(BASE + 300 * 1024 * 1024, 4096); // sectors 614400..614407
    expect(ns.badblocks.count).toBe(0);
    expect(p.latentPoison()).toHaveLength(3);

    const res = p.ars();
    expect(res.records).toEqual([
      { physAddr: BASE + 100 * 512 + 64, length: 64 },
      { physAddr: BASE + 1000 * 512 - 64, length: 128 },
      { physAddr: BASE + 300 * 1024 * 1024, length: 4096 },
    ]);
    expect(res.newRecords).toEqual(res.records);
    expect(ns.badblocks.show()).toBe("100 1\n999 2\n614400 8\n");
    expect(p.latentPoison()).toEqual([]);
    expect(p.counters.arsScans).toBe(1);

    const again = p.ars();
    expect(again.records).toHaveLength(3);
    expect(again.newRecords).toEqual([]);
  });

  it("ARS of a sub-range finds only the errors inside it", () => {
    const p = createPmemPlatform();
    p.injectPoison(BASE, 64);
    p.injectPoison(BASE + 1024 * 1024, 64);
    const res = p.ars({ physAddr: BASE + 512 * 1024, length: 1024 * 1024 });
    expect(res.records).toEqual([{ physAddr: BASE + 1024 * 1024, length: 64 }]);
    expect(p.latentPoison()).toEqual([{ physAddr: BASE, length: 64 }]);
  });

  it("an error injected as known is in badblocks at once; one in an fsdax info block is not", () => {
    const p = createPmemPlatform({ regions: [{ physAddr: 4 * SZ_1G, size: SZ_1G, namespaces: [{ mode: "fsdax", map: "mem" }] }] });
    const ns = p.namespace("pmem0")!;
    expect(ns.dataOffset).toBe(2 * 1024 * 1024);
    p.injectPoison(ns.physAddr + 4096, 64, { latent: false }); // info block area
    p.injectPoison(ns.dataPhysAddr + 1024, 512, { latent: false });
    expect(p.badRanges()).toHaveLength(2);
    expect(ns.badblocks.show()).toBe("2 1\n");
  });

  it("clearing poison tells listeners and updates media, badrange and badblocks", () => {
    const p = createPmemPlatform();
    const cleared: Array<{ physAddr: number; length: number }> = [];
    p.onPoisonCleared((e) => cleared.push(e));
    p.injectPoison(BASE + 512, 1024, { latent: false });
    expect(p.namespace("pmem0")!.badblocks.show()).toBe("1 2\n");
    expect(p.clearPoison(BASE + 512, 100)).toBe(0); // not line aligned: nothing
    expect(p.clearPoison(BASE + 512, 512)).toBe(512);
    expect(cleared).toEqual([{ physAddr: BASE + 512, length: 512 }]);
    expect(p.namespace("pmem0")!.badblocks.show()).toBe("2 1\n");
    expect(p.isPoisoned(BASE + 512, 512)).toBe(false);
    expect(p.isPoisoned(BASE + 1024, 512)).toBe(true);
    expect(p.badRanges()).toEqual([{ physAddr: BASE + 1024, length: 512 }]);
  });

  it("copy_mc consumes poison without throwing: bytes not copied are returned, the event is logged", () => {
    const p = createPmemPlatform();
    p.injectPoison(BASE + 256, 1);
    const dst = new Uint8Array(512);
    expect(p.copyMcToKernel(dst, BASE)).toBe(256);
    expect(p.machineCheckLog.map((e) => e.kind)).toEqual(["copy-mc"]);
    expect(ioCode(() => p.namespace("pmem0")!.blockDevice!.read(0, dst))).toBe("EIO");
    expect(p.counters.machineChecks).toBe(1); // the second read failed on badblocks, before touching media
  });
});
