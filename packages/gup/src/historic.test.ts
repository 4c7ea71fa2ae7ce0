import {
  MemFile, PROT_READ, Scheduler, createProcess, exploreSchedules, filemapRead, filemapWriteAndWaitRange, forkProcess,
  handleToPfn, ptePfn, runSync, taskMm, vmMunmap, zapPageRange, type ChoiceSource, type Pfn,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { procPidMemRw } from "./access.js";
import { putUserPageRef, unpinUserPages } from "./grab.js";
import { getUserPages, pinUserPages } from "./gup.js";
import { ascii, bootGupMachine, mmapPages, peekText, poke, runAs, withMmapReadLock } from "./testing.js";

const P = 4096;

function readPinned(ctx: { physMem: { read(p: number, o: number, d: Uint8Array): void } }, pfn: Pfn, len: number): string {
  const buf = new Uint8Array(len);
  ctx.physMem.read(pfn, 0, buf);
  return String.fromCharCode(...buf);
}

describe("CVE-2020-29374: GUP after fork ('COW can break either way')", () => {
  /** vmsplice-style: the child takes the parent's page read-only, drops its mapping, waits. */
  function scenario(cowLeakAfterFork: boolean, how: "pin" | "get"): string {
    const { ctx } = bootGupMachine({ bugs: { cowLeakAfterFork } });
    const parent = createProcess(ctx, "parent");
    const a = mmapPages(parent, 1);
    poke(parent, a, "secret-1");
    const child = runAs(parent, forkProcess(ctx, parent));
    const mm = taskMm(child);
    const r = runAs(child, withMmapReadLock(mm, () => (how === "pin" ? pinUserPages(a, 1, 0) : getUserPages(a, 1, 0))));
    const pfn = handleToPfn(r.pages[0]!);
    runAs(child, vmMunmap(mm, a, P));
    poke(parent, a, "secret-2"); // written after the child let go of its mapping
    const seen = readPinned(ctx, pfn, 8);
    if (how === "pin") unpinUserPages(ctx, r.pages);
    else putUserPageRef(ctx, r.pages[0]!);
    expect(peekText(parent, a, 8)).toBe("secret-2");
    return seen;
  }

  it("with the switch on, the child's read-only GUP reference sees the parent's later write", () => {
    expect(scenario(true, "get")).toBe("secret-2");
    expect(scenario(true, "pin")).toBe("secret-2");
  });

  it("with the switch off (6.12), a R/O pin unshares and a plain reference makes the parent copy", () => {
    expect(scenario(false, "pin")).toBe("secret-1");
    expect(scenario(false, "get")).toBe("secret-1");
  });
});

describe("CVE-2016-5195 Dirty COW: FOLL_FORCE write to a private read-only file mapping vs MADV_DONTNEED", () => {
  /** One run: a /proc/self/mem writer and a madvise(MADV_DONTNEED) thread on one mm. */
  function race(dirtyCow: boolean, choices: ChoiceSource): { file: string; disk: string; written: number } {
    const { ctx } = bootGupMachine({ bugs: { dirtyCow } });
    const f = new MemFile(ctx, "/etc/passwd", ascii("root:x:0:0"));
    const victim = createProcess(ctx, "dirtyc0w");
    const a = mmapPages(victim, 1, { prot: PROT_READ, file: f.open("r") });
    const mm = taskMm(victim);
    const sched = new Scheduler({ choices });
    const writer = sched.spawn("procselfmem", () => procPidMemRw(mm, a, ascii("HACK"), true));
    sched.spawn("madvise", function* () {
      yield* mm.mmapLock.downRead();
      zapPageRange(mm, a, P); // madvise(MADV_DONTNEED)
      mm.mmapLock.upRead();
    });
    sched.run();
    if (writer.failed) throw writer.error;
    const file = String.fromCharCode(...runSync(filemapRead(ctx, f.mapping, 0, 10)));
    runSync(filemapWriteAndWaitRange(ctx, f.mapping, 0, P - 1));
    return { file, disk: String.fromCharCode(...f.disk.subarray(0, 10)), written: writer.result as number };
  }

  it("with the switch on, some interleaving lands the write in the file's page cache (and on disk)", () => {
    const corrupting: string[] = [];
    const { runs, exhausted } = exploreSchedules((choices) => {
      const r = race(true, choices);
      expect(r.written).toBe(4);
      if (r.file !== "root:x:0:0") {
        expect(r.file).toBe("HACK:x:0:0");
        expect(r.disk).toBe("HACK:x:0:0");
        corrupting.push(r.file);
      }
    }, 2000);
    expect(exhausted).toBe(true);
    expect(corrupting.length).toBeGreaterThan(0);
    expect(corrupting.length).toBeLessThan(runs);
  });

  it("with the switch off, no interleaving changes the file: the write goes to the private CoW copy", () => {
    const { runs, exhausted } = exploreSchedules((choices) => {
      const r = race(false, choices);
      expect(r.written).toBe(4);
      expect(r.file).toBe("root:x:0:0");
      expect(r.disk).toBe("root:x:0:0");
    }, 2000);
    expect(exhausted).toBe(true);
    expect(runs).toBeGreaterThan(1);
  });

  it("without the race, the FOLL_FORCE write is visible in the process's private copy only", () => {
    const { ctx } = bootGupMachine();
    const f = new MemFile(ctx, "f", ascii("root:x:0:0"));
    const t = createProcess(ctx, "gdb-target");
    const a = mmapPages(t, 1, { prot: PROT_READ, file: f.open("r") });
    expect(runAs(t, procPidMemRw(taskMm(t), a, ascii("BRK!"), true))).toBe(4);
    expect(peekText(t, a, 10)).toBe("BRK!:x:0:0");
    expect(ctx.memmap.folioTestAnon(ptePfn(taskMm(t).pgtables.pteAt(a)))).toBe(true);
    expect(String.fromCharCode(...runSync(filemapRead(ctx, f.mapping, 0, 10)))).toBe("root:x:0:0");
  });
});

