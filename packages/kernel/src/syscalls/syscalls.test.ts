import { ERRNO, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_SYNC, PROT_READ, PROT_WRITE } from "@pagelab/mm-core";
import { FIEMAP_EXTENT_SHARED, xfsCheckFs } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine } from "../machine.js";
import { O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from "../vfs/file.js";
import { MADV_HWPOISON } from "./mman.js";

const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

describe("system calls on a booted machine", () => {
  it("write, read, fiemap and reflink through syscalls on the default machine", () => {
    const m = bootMachine();
    const p = m.spawn("t");
    const c = m.calls(p);
    const a = c.open("/mnt/a", O_CREAT | O_RDWR);
    expect(a).toBe(3);
    expect(c.write(a, bytes(16384, 0x61))).toBe(16384);
    const b = c.open("/mnt/b", O_CREAT | O_RDWR);
    expect(c.clone(b, { srcFd: a })).toBe(0);
    const buf = new Uint8Array(16384);
    expect(c.pread(b, buf, 0)).toBe(16384);
    expect(buf.every((x) => x === 0x61)).toBe(true);
    const exts = c.fiemap(b);
    expect(Array.isArray(exts) && exts.every((e) => e.feFlags & FIEMAP_EXTENT_SHARED)).toBe(true);
    expect(c.pwrite(b, bytes(10, 0x62), 4096)).toBe(10);
    expect(c.pread(a, buf, 0)).toBe(16384);
    expect(buf.every((x) => x === 0x61)).toBe(true); // CoW: a unchanged
    expect(c.fsync(b)).toBe(0);
    expect(xfsCheckFs(m.kfs.fs)).toEqual([]);
  });

  it("bad input gets Linux's errno and changes nothing", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("t"));
    expect(c.open("/mnt/missing", O_RDONLY)).toBe(-ERRNO.ENOENT);
    expect(c.open("/etc/passwd", O_RDONLY)).toBe(-ERRNO.ENOENT);
    expect(c.open("/mnt", O_RDWR)).toBe(-ERRNO.EISDIR);
    expect(c.open("/mnt/x", O_CREAT | 3)).toBe(-ERRNO.EINVAL);
    const fd = c.open("/mnt/x", O_CREAT | O_WRONLY);
    expect(c.open("/mnt/x", O_CREAT | O_EXCL | O_RDWR)).toBe(-ERRNO.EEXIST);
    expect(c.open("/mnt/x/y", O_RDONLY)).toBe(-ERRNO.ENOTDIR);
    expect(c.open("/mnt/x", O_RDONLY | O_DIRECTORY)).toBe(-ERRNO.ENOTDIR);
    expect(c.read(fd, new Uint8Array(4))).toBe(-ERRNO.EBADF);
    expect(c.read(99, new Uint8Array(4))).toBe(-ERRNO.EBADF);
    expect(c.pwrite(fd, bytes(4, 1), -1)).toBe(-ERRNO.EINVAL);
    expect(c.lseek(fd, -5, 0)).toBe(-ERRNO.EINVAL);
    expect(c.lseek(fd, 0, 7)).toBe(-ERRNO.EINVAL);
    expect(c.ftruncate(fd, -1)).toBe(-ERRNO.EINVAL);
    expect(c.mmap({ len: 4096, prot: PROT_READ, flags: MAP_SHARED, fd, offset: 0 })).toBe(-ERRNO.EACCES);
    const ro = c.open("/mnt/x", O_RDONLY);
    expect(c.mmap({ len: 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd: ro })).toBe(-ERRNO.EACCES);
    expect(c.mmap({ len: 4096, prot: PROT_READ, flags: MAP_SHARED, fd: ro, offset: 100 })).toBe(-ERRNO.EINVAL);
    expect(c.mmap({ len: 4096, prot: PROT_READ, flags: MAP_SHARED, fd: 42 })).toBe(-ERRNO.EBADF);
    expect(c.clone(ro, { srcFd: fd })).toBe(-ERRNO.EBADF);
    expect(c.msync(1, 4096, 4)).toBe(-ERRNO.EINVAL);
    expect(c.msync(0x10000, 4096, 4 | 1)).toBe(-ERRNO.EINVAL);
    expect(c.msync(0x10000, 4096, 4)).toBe(-ERRNO.ENOMEM);
    expect(c.madvise(0x10000, 4096, 12345)).toBe(-ERRNO.EINVAL);
    expect(c.madvise(0x10000, 4096, 4)).toBe(-ERRNO.ENOMEM);
    expect(c.madvise(0x10000, 4096, MADV_HWPOISON)).toBe(-ERRNO.EFAULT);
    expect(c.unlink("/mnt")).toBe(-ERRNO.EBUSY);
    expect(c.unlink("/mnt/nope")).toBe(-ERRNO.ENOENT);
    expect(c.rename("/mnt/nope", "/mnt/z")).toBe(-ERRNO.ENOENT);
    expect(c.close(77)).toBe(-ERRNO.EBADF);
    expect(c.prctl(33, 1, 9)).toBe(-ERRNO.EINVAL);
    expect(c.kill(999999, 9)).toBe(-ERRNO.ESRCH);
    expect(c.statx("/mnt/x")).toMatchObject({ size: 0 });
    expect(xfsCheckFs(m.kfs.fs)).toEqual([]);
  });

  it("MAP_SYNC is accepted on a DAX file and refused (EOPNOTSUPP) on a page-cache file", () => {
    for (const dax of ["always", "never"] as const) {
      const m = bootMachine({ dax });
      const c = m.calls(m.spawn("t"));
      const fd = c.open("/mnt/f", O_CREAT | O_RDWR);
      c.pwrite(fd, bytes(4096, 1), 0);
      const r = c.mmap({ len: 4096, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED_VALIDATE | MAP_SYNC, fd });
      if (dax === "always") expect(r).toBeGreaterThan(0);
      else expect(r).toBe(-ERRNO.EOPNOTSUPP);
    }
  });

  it("a store through a shared mapping reaches the file; a private mapping's does not; past EOF is SIGBUS", () => {
    const m = bootMachine();
    const p = m.spawn("t");
    const c = m.calls(p);
    const fd = c.open("/mnt/f", O_CREAT | O_RDWR | O_TRUNC);
    c.pwrite(fd, bytes(8192, 0x30), 0);
    const sh = c.mmap({ len: 8192, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd });
    const pr = c.mmap({ len: 8192, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, fd });
    expect(c.store(sh, Uint8Array.of(0x41)).ok).toBe(true);
    expect(c.store(pr + 4096, Uint8Array.of(0x42)).ok).toBe(true);
    const buf = new Uint8Array(8192);
    c.pread(fd, buf, 0);
    expect(buf[0]).toBe(0x41);
    expect(buf[4096]).toBe(0x30);
    expect(c.msync(sh, 8192, 4)).toBe(0);
    const big = c.mmap({ len: 16384, prot: PROT_READ, flags: MAP_SHARED, fd });
    const r = c.load(big + 12288, 1);
    expect(r.ok).toBe(false);
    expect(p.alive).toBe(false); // default action of SIGBUS
  });
});

describe("statfs and readdir", () => {
  it("statfs reports XFS's magic and block counts; writing 16 blocks takes 16 from f_bfree, unlink gives them back", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("t"));
    const before = c.statfs("/mnt");
    if (typeof before === "number") throw new Error(`statfs: ${before}`);
    expect(before).toMatchObject({ fType: 0x58465342, fBsize: 4096, fFrsize: 4096, fNamelen: 255 });
    expect(before.fBlocks).toBeLessThan(131072);
    expect(before.fBfree).toBeLessThan(before.fBlocks);
    expect(before.fBavail).toBe(before.fBfree);
    const fd = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(fd, bytes(16 * 4096, 1), 0);
    expect(c.statfs(fd)).toMatchObject({ fBfree: before.fBfree - 16, fFfree: before.fFfree - 1 });
    c.close(fd);
    expect(c.unlink("/mnt/a")).toBe(0);
    expect(c.statfs("/mnt")).toMatchObject({ fBfree: before.fBfree });
    expect(c.statfs("/mnt/nope")).toBe(-ERRNO.ENOENT);
  });

  it("readdir lists ., .. and every name in creation order with its inode number and type", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("t"));
    c.close(c.open("/mnt/b", O_CREAT | O_RDWR));
    expect(c.mkdir("/mnt/d")).toBe(0);
    c.close(c.open("/mnt/d/x", O_CREAT | O_RDWR));
    c.close(c.open("/mnt/a", O_CREAT | O_RDWR));
    const root = c.readdir("/mnt");
    if (typeof root === "number") throw new Error(`readdir: ${root}`);
    expect(root.map((d) => [d.dName, d.dType])).toEqual([[".", 4], ["..", 4], ["b", 8], ["d", 4], ["a", 8]]);
    const sub = c.readdir("/mnt/d");
    if (typeof sub === "number") throw new Error(`readdir: ${sub}`);
    expect(sub.map((d) => d.dName)).toEqual([".", "..", "x"]);
    expect(sub[1]!.dIno).toBe(root[0]!.dIno);
    expect(sub[0]!.dIno).toBe(root.find((d) => d.dName === "d")!.dIno);
    expect(c.readdir("/mnt/b")).toBe(-ERRNO.ENOTDIR);
  });
});
