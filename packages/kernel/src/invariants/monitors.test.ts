import { DmaEngine, FOLL_WRITE, ascii, pinUserPages, unpinUserPages, withMmapReadLock } from "@pagelab/gup";
import { MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, SIGBUS, Scheduler, type Sleepable, runSync, taskMm } from "@pagelab/mm-core";
import { FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE } from "@pagelab/xfs-lite";
import { describe, expect, it } from "vitest";
import { bootMachine, type Machine } from "../machine.js";
import { MADV_HWPOISON } from "../syscalls/mman.js";
import { PR_MCE_KILL } from "../syscalls/process.js";
import { O_APPEND, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC } from "../vfs/file.js";
import type { Process } from "../vfs/process.js";
import type { MechanismId } from "@pagelab/dax";

const K = 4096;
const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

function verdict(m: Machine): Record<string, boolean> {
  return Object.fromEntries(m.invariants().map((r) => [r.name, r.ok]));
}
function detail(m: Machine, name: string): string {
  return m.invariants().find((r) => r.name === name)!.detail;
}
const ALL_OK = { "poison-owners-reached": true, "no-page-freed-while-pinned": true, "stores-reach-only-their-file": true, "xfs-check-clean": true, "no-warn": true };

/** W's six blocks reflinked into X, Y, Z rotated; each file mapped by its own process. */
function rotationMapped(mechanism: MechanismId, early: boolean): { p: Process; addr: number }[] {
  const m = machines.get(mechanism)!;
  const c = m.calls(m.spawn("setup"));
  const w = c.open("/mnt/W", O_CREAT | O_RDWR);
  for (let i = 0; i < 6; i++) c.pwrite(w, bytes(K, 0x30 + i), i * K);
  ["X", "Y", "Z"].forEach((name, r) => {
    const fd = c.open(`/mnt/${name}`, O_CREAT | O_RDWR);
    for (let i = 0; i < 6; i++) c.clone(fd, { srcFd: w, srcOffset: i * K, srcLength: K, destOffset: ((i + r + 1) % 6) * K });
    c.close(fd);
  });
  c.close(w);
  return ["W", "X", "Y", "Z"].map((name, i) => {
    const p = m.spawn(`plchild${i}`);
    p.task.dispositions.set(SIGBUS, "catch");
    const pc = m.calls(p);
    if (early) pc.prctl(PR_MCE_KILL, 1, 1);
    const fd = pc.open(`/mnt/${name}`, O_RDONLY);
    const addr = pc.mmap({ len: 6 * K, prot: PROT_READ, flags: MAP_SHARED, fd });
    for (let b = 0; b < 6; b++) pc.load(addr + b * K, 1);
    return { p, addr };
  });
}
const machines = new Map<MechanismId, Machine>();

describe("invariant monitors", () => {
  it("a clean scenario of writes, mapped stores, truncate, fallocate, clone and dedupe passes every monitor", () => {
    const m = bootMachine();
    const p = m.spawn("t");
    const c = m.calls(p);
    const a = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(a, bytes(8 * K, 0x61), 0);
    c.write(c.open("/mnt/a", O_RDWR | O_APPEND), bytes(100, 0x7a));
    const sh = c.mmap({ len: 8 * K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd: a });
    const pr = c.mmap({ len: 8 * K, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE, fd: a });
    c.store(sh + 100, bytes(K, 0x62));
    c.store(pr, bytes(K, 0x63)); // private: not the file's
    const b = c.open("/mnt/b", O_CREAT | O_RDWR);
    c.clone(b, { srcFd: a });
    c.store(sh + 3 * K, bytes(10, 0x64)); // CoW: a changes, b does not
    c.fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, K, K);
    c.fallocate(b, FALLOC_FL_ZERO_RANGE, 2 * K + 5, 100);
    c.fallocate(b, FALLOC_FL_COLLAPSE_RANGE, 0, K);
    c.fallocate(b, FALLOC_FL_INSERT_RANGE, K, 2 * K);
    c.fallocate(b, 0, 20 * K, K);
    const d = c.open("/mnt/d", O_CREAT | O_RDWR);
    c.pwrite(d, bytes(2 * K, 0x61), 0);
    c.dedupeRange(a, 4 * K, K, [{ destFd: d, destOffset: 0 }]);
    c.ftruncate(a, 5 * K + 17);
    c.close(c.open("/mnt/b", O_RDWR | O_TRUNC));
    expect(m.invariants().filter((r) => !r.ok)).toEqual([]);
    expect(detail(m, "stores-reach-only-their-file")).toBe("3 file(s) read back as written");
  });

  it("poison-owners-reached: shared-count reaches all four owners (late and early kill); one-to-one misses three", () => {
    for (const [mechanism, early] of [["shared-count", false], ["shared-count", true], ["one-to-one", true]] as const) {
      const m = bootMachine({ mechanism });
      machines.set(mechanism, m);
      const maps = rotationMapped(mechanism, early);
      const owner = maps.find(({ p, addr }) => m.calls(p).madvise(addr, K, MADV_HWPOISON) === 0)!;
      expect(owner).toBeDefined();
      const v = verdict(m);
      if (mechanism === "shared-count") {
        expect(v["poison-owners-reached"]).toBe(true);
        expect(detail(m, "poison-owners-reached")).toBe("1 memory failure(s), every owner reached");
      } else {
        expect(v["poison-owners-reached"]).toBe(false);
        expect(detail(m, "poison-owners-reached").match(/not signalled/g)).toHaveLength(3);
        expect(v["no-warn"]).toBe(false); // one-to-one WARNs on the second association
      }
    }
  });

  function dmaVersusTruncate(daxTruncateWithoutBusyWait: boolean): Machine {
    const m = bootMachine({ bugs: { daxTruncateWithoutBusyWait } });
    const pa = m.spawn("a");
    const ca = m.calls(pa);
    const fd = ca.open("/mnt/a", O_CREAT | O_RDWR);
    ca.pwrite(fd, bytes(K, 0x61), 0);
    const addr = ca.mmap({ len: K, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, fd });
    ca.load(addr, 1);
    const r = runSync(withMmapReadLock(taskMm(pa.task), () => pinUserPages(addr, 1, FOLL_WRITE)), pa.task);
    const dma = new DmaEngine(m.vm);
    dma.submit({ dir: "to-memory", pages: r.pages, length: 8, data: ascii("DMA-LATE"), label: "dio" });
    const pb = m.spawn("b");
    const sched = new Scheduler({ seed: 1 });
    sched.spawn(pa.task, function* (): Sleepable {
      yield* m.sys.ftruncate(pa, fd, 0);
    });
    sched.spawn(pb.task, function* (): Sleepable {
      yield* m.sys.sync(pb);
      const bfd = yield* m.sys.open(pb, "/mnt/b", O_CREAT | O_RDWR);
      yield* m.sys.pwrite(pb, bfd, bytes(K, 0x62), 0);
      dma.trigger();
    });
    dma.spawn(sched);
    sched.spawn("driver", function* (): Sleepable {
      yield* dma.doneWq.waitEvent(() => dma.completed.length > 0);
      unpinUserPages(m.vm, r.pages);
      dma.stop();
    });
    sched.run();
    return m;
  }

  it("no-page-freed-while-pinned: holds with the busy-page wait, fails with the pre-4.17 truncate switch", () => {
    expect(verdict(dmaVersusTruncate(false))).toEqual(ALL_OK);
    const bad = dmaVersusTruncate(true);
    const v = verdict(bad);
    expect(v["no-page-freed-while-pinned"]).toBe(false);
    expect(detail(bad, "no-page-freed-while-pinned")).toMatch(/^pfn 0x[0-9a-f]+: block (freed|reused by \d+@0) while referenced \(owned by \d+@0\)$/);
    // the late DMA landed in b's block: bytes b never wrote
    expect(v["stores-reach-only-their-file"]).toBe(false);
  });

  it("stores-reach-only-their-file fails when bytes reach a file's block behind the programs' back", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("t"));
    const fd = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(fd, bytes(2 * K, 0x61), 0);
    expect(verdict(m)["stores-reach-only-their-file"]).toBe(true);
    const ext = c.fiemap(fd);
    if (!Array.isArray(ext)) throw new Error("fiemap");
    const pfn = m.dax.dev.pfnStart + ext[0]!.fePhysical / K + 1;
    m.vm.physMem.write(pfn, 10, Uint8Array.of(0xee));
    expect(verdict(m)["stores-reach-only-their-file"]).toBe(false);
    expect(detail(m, "stores-reach-only-their-file")).toMatch(/byte 4106 differs/);
  });

  it("xfs-check-clean and no-warn report what the checker and the WARN count say", () => {
    const m = bootMachine();
    const c = m.calls(m.spawn("t"));
    const fd = c.open("/mnt/a", O_CREAT | O_RDWR);
    c.pwrite(fd, bytes(K, 1), 0);
    expect(verdict(m)).toEqual(ALL_OK);
    m.kfs.fs.lookup(m.kfs.fs.root, "a").nblocks += 1;
    m.dmesg.warnOnOnce(true, "test");
    const v = verdict(m);
    expect(v["xfs-check-clean"]).toBe(false);
    expect(v["no-warn"]).toBe(false);
  });
});

describe("poison-owners-reached: what the filesystem learned", () => {
  it("fails when notify_failure succeeds but misses an owner the extent maps name", () => {
    const m = bootMachine();
    machines.set("shared-count", m);
    const maps = rotationMapped("shared-count", false);
    // a filesystem whose rmap walk forgets every owner but the first
    const fs = m.kfs.fs;
    const query = fs.rmapQueryOwners.bind(fs);
    fs.rmapQueryOwners = (fsb, len) => query(fsb, len).slice(0, 1);
    expect(m.calls(maps[0]!.p).madvise(maps[0]!.addr, K, MADV_HWPOISON)).toBe(0);
    const d = detail(m, "poison-owners-reached");
    expect(verdict(m)["poison-owners-reached"]).toBe(false);
    expect(d.match(/the filesystem did not learn owner ino \d+ pgoff \d/g)).toHaveLength(3);
  });
});
