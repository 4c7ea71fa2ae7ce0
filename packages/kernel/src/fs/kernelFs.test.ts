import { type AddressSpace, MAP_SHARED, PROT_READ, PROT_WRITE, SIGBUS, ptePresent, taskMm } from "@pagelab/mm-core";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FS_XFLAG_DAX, xfsCheckFs } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine } from "../machine.js";
import { O_CREAT, O_RDWR } from "../vfs/file.js";

const K = 4096;

function mapped(pages: number) {
  const m = bootMachine();
  const p = m.spawn("t");
  p.task.dispositions.set(SIGBUS, "catch");
  const c = m.calls(p);
  const fd = c.open("/mnt/f", O_CREAT | O_RDWR);
  for (let i = 0; i < pages; i++) c.pwrite(fd, new Uint8Array(K).fill(0x41 + i), i * K);
  const addr = c.mmap({ len: pages * K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd });
  for (let i = 0; i < pages; i++) expect(c.load(addr + i * K, 1).ok).toBe(true);
  const present = () => [...Array(pages).keys()].map((i) => ptePresent(taskMm(p.task).pgtables.pteAt(addr + i * K)));
  return { m, p, c, fd, addr, present, mapping: m.kfs.mapping(m.kfs.fs.lookup(m.kfs.fs.root, "f")) };
}

describe("xfs-lite's daxOps and S_DAX wired to DAX", () => {
  const indices = (mapping: AddressSpace) => [...mapping.iPages.entries(0, 64)].map(([i]) => i);

  it("truncate deletes only the DAX entries past the new EOF (the layout break unmaps the whole file, as 6.12)", () => {
    const { m, c, fd, addr, present, mapping } = mapped(4);
    expect(indices(mapping)).toEqual([0, 1, 2, 3]);
    expect(c.ftruncate(fd, 2 * K)).toBe(0);
    expect(present()).toEqual([false, false, false, false]);
    expect(indices(mapping)).toEqual([0, 1]);
    expect(c.load(addr + K, 1)).toMatchObject({ ok: true, data: Uint8Array.of(0x42) });
    expect(c.load(addr + 2 * K, 1).ok).toBe(false);
    expect(xfsCheckFs(m.kfs.fs)).toEqual([]);
  });

  it("a hole punch deletes the punched page's entry only; every page refaults with the right data", () => {
    const { m, c, fd, addr, present, mapping } = mapped(3);
    expect(c.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, K, K)).toBe(0);
    expect(present()).toEqual([false, false, false]);
    expect(indices(mapping)).toEqual([0, 2]);
    expect(c.load(addr + 2 * K, 1)).toMatchObject({ ok: true, data: Uint8Array.of(0x43) });
    expect(c.load(addr + K, 2)).toMatchObject({ ok: true, data: Uint8Array.of(0, 0) });
    expect(xfsCheckFs(m.kfs.fs)).toEqual([]);
  });

  it("dax=inode: FS_XFLAG_DAX takes effect when the last reference is released", () => {
    const m = bootMachine({ dax: "inode" });
    const c = m.calls(m.spawn("t"));
    const fd = c.open("/mnt/f", O_CREAT | O_RDWR);
    c.pwrite(fd, new Uint8Array(K).fill(1), 0);
    const ip = m.kfs.fs.lookup(m.kfs.fs.root, "f");
    expect(ip.isDax()).toBe(false);
    expect(c.fsSetXattr(fd, { xflags: FS_XFLAG_DAX })).toBe(0);
    expect(ip.isDax()).toBe(false);
    expect(c.close(fd)).toBe(0);
    expect(ip.isDax()).toBe(true);
    const fd2 = c.open("/mnt/f", O_RDWR);
    const addr = c.mmap({ len: K, prot: PROT_READ, flags: MAP_SHARED, fd: fd2 });
    expect(c.load(addr, 1)).toMatchObject({ ok: true, data: Uint8Array.of(1) });
    expect(m.kfs.mapping(ip).isDax).toBe(true);
  });
});
