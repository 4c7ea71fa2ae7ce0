import { runSync } from "@pagelab/mm-core";
import { FMODE_READ, FMODE_WRITE, xfsCheckFs } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine } from "./machine.js";

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
