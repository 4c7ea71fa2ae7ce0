import { MAP_SHARED, MAP_SHARED_VALIDATE, MAP_SYNC, PROT_READ, PROT_WRITE, TraceBuffer } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { bootMachine } from "../machine.js";
import { MS_SYNC } from "../syscalls/mman.js";
import { O_CREAT, O_RDWR } from "../vfs/file.js";

const K = 4096;

/**
 * The oracle's reflink_while_mapped.out prints the same lines with the fault flags
 * `...|INTERRUPTIBLE|VMA_LOCK|0x800`: Linux 6.12 faults under the per-VMA lock and with
 * FAULT_FLAG_ORIG_PTE_VALID set, which mm-core's fault path does not model.
 */
describe("fs_dax tracepoints (TRACE=fs_dax)", () => {
  it("write faults, msync and a reflink's source writeback print 6.12's fs_dax lines", () => {
    const m = bootMachine();
    const p = m.spawn("xfs_io");
    const c = m.calls(p);
    const fd = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(fd, new Uint8Array(4 * K).fill(0x61), 0);
    const ino = `0x${m.kfs.fs.lookup(m.kfs.fs.root, "a").ino.toString(16)}`;
    const addr = c.mmap({ len: 4 * K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd });
    m.trace.enable("fs_dax");
    for (let i = 0; i < 4; i++) expect(c.store(addr + i * K, new Uint8Array(K).fill(0x62)).ok).toBe(true);
    const id = `dev 259:0 ino ${ino}`;
    const wflags = "shared WRITE|ALLOW_RETRY|KILLABLE|USER|INTERRUPTIBLE";
    const faults = [0, 1, 2, 3].flatMap((i) => {
      const at = `address 0x${(addr + i * K).toString(16)} pgoff 0x${i}`;
      return [`dax_pte_fault: ${id} ${wflags} ${at} `, `dax_pte_fault_done: ${id} ${wflags} ${at} NOPAGE`];
    });
    expect(m.trace.drain().map(TraceBuffer.format)).toEqual(faults);
    const b = c.open("/mnt/b", O_CREAT | O_RDWR);
    expect(c.clone(b, { srcFd: fd, srcOffset: 0, srcLength: 4 * K, destOffset: 0 })).toBe(0);
    const writeback = [
      `dax_writeback_range: ${id} pgoff 0x0-0x3`,
      ...[0, 1, 2, 3].map((i) => `dax_writeback_one: ${id} pgoff 0x${i} pglen 0x1`),
      `dax_writeback_range_done: ${id} pgoff 0x40-0x3`,
    ];
    expect(m.trace.drain().map(TraceBuffer.format)).toEqual(writeback);
    expect(c.load(addr + K, 1).ok).toBe(true);
    expect(c.store(addr, Uint8Array.of(0x63)).ok).toBe(true);
    expect(c.msync(addr, 4 * K, MS_SYNC)).toBe(0);
    expect(c.fsync(fd)).toBe(0);
    const lines = m.trace.drain().map(TraceBuffer.format);
    expect(lines).toContain(`dax_pte_fault_done: ${id} shared ALLOW_RETRY|KILLABLE|USER|INTERRUPTIBLE address 0x${(addr + K).toString(16)} pgoff 0x1 NOPAGE`);
    // fsync after it: nothing is tagged dirty any more, so no writeback and no trace
    expect(lines.slice(-3)).toEqual([
      `dax_writeback_range: ${id} pgoff 0x0-0x3`,
      `dax_writeback_one: ${id} pgoff 0x0 pglen 0x1`,
      `dax_writeback_range_done: ${id} pgoff 0x40-0x3`,
    ]);
    expect(c.store(addr + 3 * K, Uint8Array.of(0x65)).ok).toBe(true);
    m.trace.drain();
    expect(c.fsync(fd)).toBe(0);
    expect(m.trace.drain().map(TraceBuffer.format)).toEqual([
      `dax_writeback_range: ${id} pgoff 0x0-0x7ffffffffffff`,
      `dax_writeback_one: ${id} pgoff 0x3 pglen 0x1`,
      `dax_writeback_range_done: ${id} pgoff 0x40-0x7ffffffffffff`,
    ]);
  });

  it("only the enabled events are recorded, and nothing when tracing is off", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("t"));
    const fd = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(fd, new Uint8Array(K).fill(1), 0);
    const addr = c.mmap({ len: K, prot: PROT_READ, flags: MAP_SHARED, fd });
    c.load(addr, 1);
    expect(m.trace.all()).toEqual([]);
    c.munmap(addr, K);
    m.trace.enable("fs_dax/dax_pte_fault_done");
    const addr2 = c.mmap({ len: K, prot: PROT_READ, flags: MAP_SHARED, fd });
    c.load(addr2, 1);
    expect(m.trace.drain().map((e) => e.event)).toEqual(["dax_pte_fault_done"]);
  });
});

describe("a MAP_SYNC write fault on a shared block (reflink_while_mapped)", () => {
  it("is synchronous: NEEDDSYNC, the log forced through fsync's writeback, then dax_insert_pfn_mkwrite", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("xfs_io"));
    const a = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(a, new Uint8Array(4 * K).fill(0x61), 0);
    const b = c.open("/mnt/b", O_CREAT | O_RDWR);
    expect(c.clone(b, { srcFd: a })).toBe(0);
    expect(c.fsync(b)).toBe(0);
    const addr = c.mmap({ len: 4 * K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED_VALIDATE | MAP_SYNC, fd: b });
    m.trace.enable("fs_dax");
    expect(c.store(addr + 2 * K, Uint8Array.of(0x64)).ok).toBe(true);
    const events = m.trace.drain().map((e) => `${e.event} ${e.text.split(" ").at(-1)}`);
    // as 6.12 printed: the sync fault's fsync finds no dirty entry (it is tagged only by
    // dax_insert_pfn_mkwrite), so it writes nothing back and traces nothing
    expect(events).toEqual(["dax_pte_fault ", "dax_pte_fault_done NEEDDSYNC", "dax_insert_pfn_mkwrite NOPAGE"]);
    // FS_IOC_FIEMAP with FIEMAP_FLAG_SYNC (xfs_io's) writes the file back first
    expect(Array.isArray(c.fiemap(b))).toBe(true);
    expect(m.trace.drain().map((e) => `${e.event} ${e.text.split(" ").at(-1)}`)).toEqual([
      "dax_writeback_range 0x0-0x7ffffffffffff",
      "dax_writeback_one 0x1",
      "dax_writeback_range_done 0x40-0x7ffffffffffff",
    ]);
  });
});
