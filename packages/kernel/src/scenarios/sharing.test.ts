import { MAP_SHARED, PROT_READ, PROT_WRITE, SIGBUS, siCodeName } from "@pagelab/mm-core";
import { xfsCheckFs } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine, type Machine } from "../machine.js";
import { MADV_HWPOISON } from "../syscalls/mman.js";
import { PR_MCE_KILL } from "../syscalls/process.js";
import { O_CREAT, O_RDONLY, O_RDWR } from "../vfs/file.js";
import type { Process } from "../vfs/process.js";

const K = 4096;
const FILES = ["W", "X", "Y", "Z"] as const;

/** Dave Chinner's rotation: W's blocks A..F (bytes '0'..'5'); X, Y, Z rotated by 1, 2, 3 blocks. */
function rotation(m: Machine): void {
  const c = m.calls(m.spawn("setup"));
  const w = c.open("/mnt/W", O_CREAT | O_RDWR);
  for (let i = 0; i < 6; i++) c.pwrite(w, new Uint8Array(K).fill(0x30 + i), i * K);
  c.fsync(w);
  FILES.slice(1).forEach((name, r) => {
    const fd = c.open(`/mnt/${name}`, O_CREAT | O_RDWR);
    for (let i = 0; i < 6; i++) {
      const dest = ((i + r + 1) % 6) * K;
      expect(c.clone(fd, { srcFd: w, srcOffset: i * K, srcLength: K, destOffset: dest })).toBe(0);
    }
    c.close(fd);
  });
  c.close(w);
  c.exit(0);
}

/** The byte file number `f` (W = 0 … Z = 3) holds at block `blk`: W's block A is its block f. */
const expected = (f: number, blk: number) => 0x30 + ((blk - f + 6) % 6);

function mapAll(m: Machine, opts: { early?: boolean; rw?: boolean } = {}): { p: Process; addr: number }[] {
  return FILES.map((name, i) => {
    const p = m.spawn(`plchild${i}`);
    const c = m.calls(p);
    if (opts.early) expect(c.prctl(PR_MCE_KILL, 1, 1)).toBe(0);
    const fd = c.open(`/mnt/${name}`, opts.rw ? O_RDWR : O_RDONLY);
    const addr = c.mmap({ len: 6 * K, prot: PROT_READ | (opts.rw ? PROT_WRITE : 0), flags: MAP_SHARED, fd });
    c.close(fd);
    for (let b = 0; b < 6; b++) expect(c.load(addr + b * K, 1).ok).toBe(true);
    return { p, addr };
  });
}

describe("the W/X/Y/Z rotation mapped by four processes", () => {
  for (const mechanism of ["one-to-one", "shared-count", "page-cache-copy"] as const) {
    it(`every mapping reads its own data under ${mechanism}`, () => {
      const m = bootMachine({ mechanism });
      rotation(m);
      const maps = mapAll(m);
      maps.forEach(({ p, addr }, r) => {
        const c = m.calls(p);
        for (let b = 0; b < 6; b++) {
          const got = c.load(addr + b * K, K);
          expect(got.ok && got.data.every((x) => x === expected(r, b))).toBe(true);
        }
      });
      expect(xfsCheckFs(m.kfs.fs)).toEqual([]);
      if (mechanism === "one-to-one") expect(m.dmesg.warnCount).toBeGreaterThan(0);
      else expect(m.dmesg.warnCount).toBe(0);
      const failed = m.invariants().filter((r) => !r.ok).map((r) => r.name);
      expect(failed).toEqual(mechanism === "one-to-one" ? ["no-warn"] : []);
    });
  }

  it("generic/578 shape: a store to every copy of a shared block changes each file only where written", () => {
    const m = bootMachine();
    rotation(m);
    const maps = mapAll(m, { rw: true });
    // each file writes its own byte at a different offset inside block A
    maps.forEach(({ p, addr }, r) => {
      const blkOfA = r;
      expect(m.calls(p).store(addr + blkOfA * K + r * 100, Uint8Array.of(0xf0 + r)).ok).toBe(true);
    });
    const c = m.calls(m.spawn("check"));
    FILES.forEach((name, r) => {
      const fd = c.open(`/mnt/${name}`, O_RDONLY);
      const buf = new Uint8Array(6 * K);
      c.pread(fd, buf, 0);
      const want = new Uint8Array(6 * K);
      for (let b = 0; b < 6; b++) want.fill(expected(r, b), b * K, (b + 1) * K);
      want[r * K + r * 100] = 0xf0 + r;
      expect(buf.findIndex((x, i) => x !== want[i])).toBe(-1);
    });
    expect(xfsCheckFs(m.kfs.fs)).toEqual([]);
    expect(m.invariants().filter((r) => !r.ok)).toEqual([]);
  });
});

/** `child I ...: SIGBUS CODE at +OFF` lines as pagelab-poison prints the signal part. */
function signals(p: Process, base: number): string[] {
  return p.task.sent.filter((s) => s.signo === SIGBUS).map((s) => `SIGBUS ${siCodeName(s.signo, s.code)} at +${s.addr - base}`);
}

function mfLines(m: Machine): string[] {
  return m.dmesg
    .all()
    .map((l) => l.text)
    .filter((t) => t.startsWith("Memory failure:"))
    .map((t) => t.replace(/0x[0-9a-f]+/, "pfn1").replace(/:\d+ due/, ":PID due"));
}

describe("memory failure on a block shared by four files mapped by four processes (g_poison_shared_block)", () => {
  for (const early of [false, true]) {
    it(`${early ? "early" : "late"} kill matches Linux 6.12's signals and log under shared-count`, () => {
      const m = bootMachine();
      rotation(m);
      const maps = mapAll(m, { early });
      maps.forEach(({ p }) => p.task.dispositions.set(SIGBUS, "catch"));
      const [w] = maps;
      expect(m.calls(w!.p).madvise(w!.addr, K, MADV_HWPOISON)).toBe(0);
      const got = maps.map(({ p, addr }) => signals(p, addr));
      if (early) expect(got).toEqual([["SIGBUS BUS_MCEERR_AR at +0"], ["SIGBUS BUS_MCEERR_AO at +4096"], ["SIGBUS BUS_MCEERR_AO at +8192"], ["SIGBUS BUS_MCEERR_AO at +12288"]]);
      else expect(got).toEqual([["SIGBUS BUS_MCEERR_AR at +0"], [], [], []]);
      const sending = FILES.map((_, i) => `Memory failure: pfn1: Sending SIGBUS to plchild${i}:PID due to hardware memory corruption`);
      expect(mfLines(m)).toEqual([...(early ? sending : sending.slice(0, 1)), "Memory failure: pfn1: recovery action for dax page: Recovered"]);
      expect(m.dmesg.format()).toMatch(/Injecting memory failure for pfn 0x[0-9a-f]+ at process virtual address 0x/);
      // the filesystem learned every owner of the block from its rmap
      expect(m.kfs.failureReports.at(-1)!.owners.map((o) => o.pgoff)).toEqual([0, 1, 2, 3]);
      expect(m.invariants().filter((r) => !r.ok)).toEqual([]);
    });
  }

  it("one-to-one misses the three other owners even with early kill", () => {
    const m = bootMachine({ mechanism: "one-to-one" });
    rotation(m);
    const maps = mapAll(m, { early: true });
    maps.forEach(({ p }) => p.task.dispositions.set(SIGBUS, "catch"));
    const owner = maps.find(({ p, addr }) => m.calls(p).madvise(addr + 0, K, MADV_HWPOISON) === 0)!;
    const signalled = maps.filter(({ p, addr }) => signals(p, addr).length > 0);
    expect(signalled).toEqual([owner]);
  });
});
