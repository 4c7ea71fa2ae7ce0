import { describe, expect, it } from "vitest";
import { isPmemError } from "../errors.js";
import { createPmemPlatform } from "../nvdimm/platform.js";
import { SZ_1G } from "../types.js";

const BASE = 0x40000000;

function daxCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isPmemError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("daxDirectAccess (pmem_dax_direct_access)", () => {
  it("returns the pfn and the contiguous pages available, at most what was asked", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    expect(ns.daxDirectAccess(0, 512)).toEqual({ pfn: 0x40000, physAddr: BASE, nrAvailable: 512 });
    expect(ns.daxDirectAccess(100, 1)).toEqual({ pfn: 0x40064, physAddr: BASE + 100 * 4096, nrAvailable: 1 });
    expect(ns.daxDirectAccess(ns.nrPages - 3, 512).nrAvailable).toBe(3);
  });

  it("fails out of range with ERANGE and a negative count with EINVAL", () => {
    const ns = createPmemPlatform().namespace("pmem0")!;
    expect(daxCode(() => ns.daxDirectAccess(ns.nrPages, 1))).toBe("ERANGE");
    expect(daxCode(() => ns.daxDirectAccess(0, -1))).toBe("EINVAL");
  });

  it("fails with EHWPOISON when the range has known bad sectors, but not for a clean range elsewhere", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    p.injectPoison(BASE + 10 * 4096 + 2048, 64);
    expect(ns.daxDirectAccess(0, 16).nrAvailable).toBe(16); // latent: the driver does not know yet
    p.ars();
    expect(daxCode(() => ns.daxDirectAccess(0, 16))).toBe("EHWPOISON");
    expect(daxCode(() => ns.daxDirectAccess(10, 1))).toBe("EHWPOISON");
    expect(ns.daxDirectAccess(11, 8).nrAvailable).toBe(8);
    expect(ns.daxDirectAccess(0, 10).nrAvailable).toBe(10);
  });

  it("in recovery-write mode returns the pages before the first bad one (at least 1)", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    p.injectPoison(BASE + 10 * 4096, 64, { latent: false });
    expect(ns.daxDirectAccess(4, 16, "recovery-write").nrAvailable).toBe(6);
    expect(ns.daxDirectAccess(10, 16, "recovery-write").nrAvailable).toBe(1);
    // A bad sector in the middle of a page: the kernel rounds up and includes that page.
    p.injectPoison(BASE + 20 * 4096 + 2048, 64, { latent: false });
    expect(ns.daxDirectAccess(12, 16, "recovery-write").nrAvailable).toBe(9);
  });

  it("daxRecoveryWrite of a whole page clears the poison; a ragged one writes nothing", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    p.injectPoison(BASE + 10 * 4096 + 2048, 64, { latent: false });
    expect(ns.daxRecoveryWrite(10, new Uint8Array(1024).fill(1))).toBe(1024); // misses the bad sector
    expect(ns.daxRecoveryWrite(10, new Uint8Array(3072).fill(1))).toBe(0);
    expect(ns.badblocks.count).toBe(1);
    expect(ns.daxRecoveryWrite(10, new Uint8Array(4096).fill(2))).toBe(4096);
    expect(ns.badblocks.count).toBe(0);
    expect(ns.daxDirectAccess(10, 1).nrAvailable).toBe(1);
    p.sfence();
    expect(p.peekMedia(BASE + 10 * 4096, 4096).every((b) => b === 2)).toBe(true);
  });

  it("daxZeroPageRange zeroes pages through the write path, clearing known poison", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    ns.store(BASE + 4096, new Uint8Array(8192).fill(5));
    p.injectPoison(BASE + 8192, 64, { latent: false });
    ns.daxZeroPageRange(1, 2);
    expect(ns.badblocks.count).toBe(0);
    const got = new Uint8Array(8192);
    ns.load(BASE + 4096, got);
    expect(got.every((b) => b === 0)).toBe(true);
  });

  it("works on a devdax namespace, from its data area on", () => {
    const p = createPmemPlatform({ regions: [{ physAddr: SZ_1G, size: 2 * SZ_1G, namespaces: [{ mode: "devdax", align: SZ_1G }] }] });
    const dax = p.namespace("dax0.0")!;
    const r = dax.daxDirectAccess(0, 512);
    expect(r.physAddr).toBe(2 * SZ_1G);
    expect(r.pfn).toBe((2 * SZ_1G) / 4096);
    expect(r.nrAvailable).toBe(512);
  });
});
