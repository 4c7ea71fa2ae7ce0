import { MAP_SHARED, PROT_READ, TraceBuffer, runSync } from "@pagelab/mm-core";
import { FMODE_READ, FMODE_WRITE, FS_XFLAG_EXTSIZE, xfsCheckFs } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine } from "./machine.js";
import { O_CREAT, O_RDWR } from "./vfs/file.js";

describe("bootMachine", () => {
  it("boots the oracle's defaults: 512 MiB pmem at pfn 0x40000, xfs-lite mounted with DAX on every regular file", () => {
    const m = bootMachine();
    expect(m.ns.pfnStart).toBe(0x40000);
    expect(m.ns.nrPages).toBe(131072);
    const fs = m.kfs.fs;
    const ip = runSync(fs.create(fs.root, "a"));
    expect(m.kfs.isDax(ip)).toBe(true);
    const f = m.kfs.open(ip, FMODE_READ | FMODE_WRITE, 0);
    expect(runSync(m.kfs.write(f, 0, new Uint8Array(5000).fill(7)))).toBe(5000);
    expect([...runSync(m.kfs.read(ip, 4990, 20))]).toEqual(new Array(10).fill(7));
    expect(xfsCheckFs(fs)).toEqual([]);
    expect(m.dmesg.format()).toContain("Mounting V5 Filesystem 4f524143-4c45-0000-0000-000000000001");
  });
});

describe("mkfs options", () => {
  it("a 2 MiB stripe unit and a 2 MiB extent size hint put a 4 MiB file on 2 MiB-aligned blocks, read through PMD faults", () => {
    const m = bootMachine({ mkfs: { agcount: 2, sunit: 512, swidth: 512 } });
    const c = m.calls(m.spawn("t"));
    const fd = c.open("/mnt/p", O_CREAT | O_RDWR);
    expect(c.fsSetXattr(fd, { xflags: FS_XFLAG_EXTSIZE, extsize: 2 * 1024 * 1024 })).toBe(0);
    c.pwrite(fd, new Uint8Array(4 * 1024 * 1024).fill(0x61), 0);
    const ext = c.fiemap(fd);
    expect(Array.isArray(ext) && ext.every((e) => e.fePhysical % (2 * 1024 * 1024) === 0)).toBe(true);
    m.trace.enable("fs_dax/dax_pmd_fault_done");
    const addr = c.mmap({ len: 4 * 1024 * 1024, prot: PROT_READ, flags: MAP_SHARED, fd });
    c.load(addr, 1);
    expect(m.trace.drain().map(TraceBuffer.format)[0]).toMatch(/ pgoff 0x0 max_pgoff 0x400 NOPAGE$/);
  });
});
