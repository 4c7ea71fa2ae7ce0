import { describe, expect, it } from "vitest";
import { isPmemError } from "../errors.js";
import { SZ_1G, SZ_2M, SZ_4K, pfn } from "../types.js";
import { createPmemPlatform } from "./platform.js";

const MiB = 1024 * 1024;
const GiB = SZ_1G;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isPmemError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("default layout (the oracle's memmap=512M!1G)", () => {
  it("is one 512 MiB e820 region at 0x40000000 with raw namespace0.0 = pmem0, DAX-capable", () => {
    const p = createPmemPlatform();
    expect(p.regions).toHaveLength(1);
    const r = p.regions[0]!;
    expect(r.name).toBe("region0");
    expect(r.physAddr).toBe(0x40000000);
    expect(r.size).toBe(512 * MiB);
    const ns = p.namespace("pmem0")!;
    expect(ns.name).toBe("namespace0.0");
    expect(ns.mode).toBe("raw");
    expect(ns.pfnStart).toBe(0x40000);
    expect(ns.nrPages).toBe(131072);
    expect(ns.pfnEnd).toBe(0x60000);
    expect(ns.blockDevice!.name).toBe("pmem0");
    expect(ns.blockDevice!.nrSectors).toBe(1048576);
    expect(ns.blockDevice!.dax).toBe(true);
    expect(ns.hasStructPages).toBe(true);
    expect(ns.pgmapType).toBe("fsdax");
    expect(p.namespaceOfPfn(pfn(0x40000))).toBe(ns);
    expect(p.namespaceOfPfn(pfn(0x60000))).toBeUndefined();
  });
});

describe("namespace creation", () => {
  function emptyRegion(size = GiB, physAddr = 4 * GiB) {
    const p = createPmemPlatform({ regions: [{ physAddr, size }] });
    return { p, r: p.regions[0]! };
  }

  it("fsdax reserves the pfn info block, and with map=dev the memmap, before the data (nd_pfn_init)", () => {
    const { r } = emptyRegion();
    const mem = r.createNamespace({ mode: "fsdax", size: 512 * MiB, map: "mem" });
    expect(mem.dataOffset).toBe(2 * MiB);
    const dev = r.createNamespace({ mode: "fsdax", size: 512 * MiB, map: "dev" });
    // 8 KiB + 64 bytes x 131070 pfns, rounded up to 2 MiB
    expect(dev.dataOffset).toBe(10 * MiB);
    expect(dev.blockDevice!.nrSectors).toBe((502 * MiB) / 512);
    expect(dev.pfnStart).toBe((4 * GiB + 512 * MiB + 10 * MiB) / SZ_4K);
    expect(dev.name).toBe("namespace0.1");
    expect(dev.devName).toBe("pmem0.1");
    expect(dev.pgmapType).toBe("fsdax");
    expect(dev.physToOffset(dev.dataPhysAddr + 4096)).toBe(4096);
  });

  it("a raw namespace of a non-legacy region has a block device but no struct pages and no DAX", () => {
    const { r } = emptyRegion();
    const ns = r.createNamespace({ mode: "raw" });
    expect(ns.size).toBe(GiB);
    expect(ns.hasStructPages).toBe(false);
    expect(ns.pgmapType).toBeNull();
    expect(ns.blockDevice!.dax).toBe(false);
    expect(code(() => ns.daxDirectAccess(0, 1))).toBe("EOPNOTSUPP");
  });

  it("devdax accepts 4K, 2M and 1G alignment only, and places data on the alignment", () => {
    const { r } = emptyRegion(2 * GiB, GiB);
    expect(code(() => r.createNamespace({ mode: "devdax", align: 3 * MiB }))).toBe("EINVAL");
    expect(code(() => r.createNamespace({ mode: "devdax", align: SZ_2M, size: 3 * MiB + SZ_4K }))).toBe("EINVAL");
    expect(code(() => r.createNamespace({ mode: "devdax", align: SZ_2M, offset: MiB, size: 4 * MiB }))).toBe("EINVAL");
    const dax = r.createNamespace({ mode: "devdax", align: SZ_1G, size: 2 * GiB });
    expect(dax.devName).toBe("dax0.0");
    expect(dax.blockDevice).toBeNull();
    expect(dax.pgmapType).toBe("devdax");
    expect(dax.dataPhysAddr % SZ_1G).toBe(0);
    expect(dax.dataSize).toBe(GiB);
  });

  it("a 1 GiB-aligned devdax namespace does not fit a 512 MiB region (ENOSPC)", () => {
    const p = createPmemPlatform({ regions: [{ physAddr: GiB, size: 512 * MiB }] });
    expect(code(() => p.regions[0]!.createNamespace({ mode: "devdax", align: SZ_1G }))).toBe("ENOSPC");
    expect(code(() => p.regions[0]!.createNamespace({ mode: "devdax", align: SZ_1G, size: GiB }))).toBe("ENOSPC");
    expect(p.regions[0]!.namespaces).toHaveLength(0);
  });

  it("overlap is EBUSY, too big is ENOSPC, and the free space is found automatically", () => {
    const { r } = emptyRegion();
    const a = r.createNamespace({ mode: "raw", offset: 256 * MiB, size: 256 * MiB });
    expect(code(() => r.createNamespace({ mode: "raw", offset: 384 * MiB, size: 64 * MiB }))).toBe("EBUSY");
    expect(code(() => r.createNamespace({ mode: "raw", offset: 128 * MiB, size: 256 * MiB }))).toBe("EBUSY");
    expect(code(() => r.createNamespace({ mode: "raw", offset: 768 * MiB, size: 512 * MiB }))).toBe("ENOSPC");
    expect(code(() => r.createNamespace({ mode: "raw", size: 768 * MiB }))).toBe("ENOSPC");
    expect(code(() => r.createNamespace({ mode: "raw", size: 1000 }))).toBe("EINVAL");
    const b = r.createNamespace({ mode: "fsdax", size: 256 * MiB });
    expect(b.regionOffset).toBe(0);
    const c = r.createNamespace({ mode: "fsdax" });
    expect(c.regionOffset).toBe(512 * MiB);
    expect(c.size).toBe(512 * MiB);
    expect(r.availableSize).toBe(0);
    expect([a.index, b.index, c.index]).toEqual([0, 1, 2]);
    r.destroyNamespace(b);
    expect(r.createNamespace({ mode: "raw" }).name).toBe("namespace0.1");
  });

  it("regions must be page aligned and may not overlap", () => {
    const p = createPmemPlatform();
    expect(code(() => p.addRegion({ physAddr: 0x40000000 + 256 * MiB, size: GiB }))).toBe("EBUSY");
    expect(code(() => p.addRegion({ physAddr: 0x100000001, size: GiB }))).toBe("EINVAL");
    const r1 = p.addRegion({ physAddr: 8 * GiB, size: GiB, namespaces: [{ mode: "fsdax", map: "mem" }] });
    expect(r1.name).toBe("region1");
    expect(p.namespace("pmem1")!.pfnStart).toBe((8 * GiB + 2 * MiB) / SZ_4K);
  });

  it("CPU access through a namespace is confined to its range", () => {
    const p = createPmemPlatform();
    const ns = p.namespace("pmem0")!;
    // The shape mm-core registers as the backing of ZONE_DEVICE pages.
    const backing: { load(physAddr: number, dst: Uint8Array): void; store(physAddr: number, src: Uint8Array): void } = ns;
    backing.store(ns.physAddr, new Uint8Array([1, 2, 3]));
    const three = new Uint8Array(3);
    p.regions[0]!.load(ns.physAddr, three);
    expect([...three]).toEqual([1, 2, 3]);
    expect(() => ns.store(ns.physAddr + ns.size - 4, new Uint8Array(8))).toThrow(RangeError);
    expect(() => p.load(0x1000, new Uint8Array(1))).toThrow(RangeError);
    ns.store(ns.physAddr + ns.size - 8, new Uint8Array(8).fill(1));
    const got = new Uint8Array(8);
    p.regions[0]!.load(ns.physAddr + ns.size - 8, got);
    expect([...got]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
