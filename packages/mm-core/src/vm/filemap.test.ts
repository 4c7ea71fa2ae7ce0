import { describe, expect, it } from "vitest";
import { PG_dirty, PG_locked, PG_uptodate } from "../page/flags.js";
import { Scheduler, runSync } from "../sched/scheduler.js";
import { schedule } from "../sched/sleepable.js";
import { BUS_ADRERR, SIGBUS, SIGSEGV } from "../task/signal.js";
import { PAGE_SIZE, type Pfn } from "../types.js";
import { PAGECACHE_TAG_DIRTY } from "../xarray/index.js";
import { load } from "./access.js";
import { filemapPeek, filemapRead, genericPerformWrite, mappingDirtyIndexes, truncateInodePagesRange } from "./filemap.js";
import { MAP_SHARED, PROT_READ } from "./flags.js";
import { createProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { MemFile } from "./memfile.js";
import { vmMmap } from "./mmap.js";
import { ptePfn, ptePresent } from "./pgtable.js";

const P = PAGE_SIZE;

describe("page cache read and write", () => {
  it("buffered writes dirty whole and partial pages; reads see them without touching the disk", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(2 * P).fill(0x61));
    const wrote = runSync(genericPerformWrite(ctx, f.mapping, P - 2, Uint8Array.of(1, 2, 3, 4)));
    expect(wrote).toBe(4);
    expect(f.readFolioCalls).toBe(2); // both partial pages were read first
    expect(mappingDirtyIndexes(f.mapping)).toEqual([0, 1]);
    const r = runSync(filemapRead(ctx, f.mapping, P - 3, 6));
    expect([...r]).toEqual([0x61, 1, 2, 3, 4, 0x61]);
    expect(f.disk[P - 2]).toBe(0x61);
    const pfn = filemapPeek(f.mapping, 0)!;
    expect(ctx.memmap.testPageFlag(pfn, PG_dirty) && ctx.memmap.testPageFlag(pfn, PG_uptodate)).toBe(true);
    expect(ctx.memmap.testPageFlag(pfn, PG_locked)).toBe(false);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
  });

  it("truncation drops whole pages, zeroes the tail of a partial one, and clears dirty tags", () => {
    const { ctx } = bootVm();
    const f = new MemFile(ctx, "f", new Uint8Array(3 * P).fill(7));
    runSync(genericPerformWrite(ctx, f.mapping, 0, new Uint8Array(3 * P).fill(9)));
    const last = filemapPeek(f.mapping, 2)! as Pfn;
    runSync(truncateInodePagesRange(ctx, f.mapping, P + 100));
    expect(f.mapping.nrpages).toBe(2);
    expect(f.mapping.iPages.getMark(2, PAGECACHE_TAG_DIRTY)).toBe(false);
    expect(ctx.memmap.pageRefCount(last)).toBe(0);
    const page1 = new Uint8Array(P);
    ctx.physMem.read(filemapPeek(f.mapping, 1)!, 0, page1);
    expect([page1[99], page1[100], page1[P - 1]]).toEqual([9, 0, 0]);
  });
});

describe("fault against truncate, interleaved", () => {
  it("never leaves a mapping of a page past EOF or outside the cache, under any of 40 schedules", () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const { ctx } = bootVm();
      const f = new MemFile(ctx, "f", new Uint8Array(2 * P).fill(0x55));
      const reader = createProcess(ctx, "reader");
      reader.dispositions.set(SIGBUS, "catch");
      reader.dispositions.set(SIGSEGV, "catch");
      const a = runSync(vmMmap(taskMm(reader), { len: 2 * P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") }), reader);
      const s = new Scheduler({ seed });
      const r = s.spawn(reader, () => load(a + P, 1));
      s.spawn("truncate", function* () {
        for (let i = 0; i < seed % 8; i++) yield* schedule();
        yield* f.truncate(P);
      });
      s.run();
      const res = r.result!;
      if (res.ok) {
        expect(res.data[0]).toBe(0x55);
        outcomes.add("read");
      } else {
        expect(res.signal).toEqual({ signo: SIGBUS, code: BUS_ADRERR, addr: a + P });
        outcomes.add("sigbus");
      }
      const pte = taskMm(reader).pgtables.pteAt(a + P);
      expect(ptePresent(pte)).toBe(false);
      // filemap_fault may leave a clean page past EOF in the cache, as the kernel does; never mapped.
      const stale = filemapPeek(f.mapping, 1);
      if (stale !== null) expect([ctx.memmap.pageMapcount(stale), ctx.memmap.testPageFlag(stale, PG_dirty)]).toEqual([0, false]);
      if (ptePresent(taskMm(reader).pgtables.pteAt(a))) expect(filemapPeek(f.mapping, 0)).toBe(ptePfn(taskMm(reader).pgtables.pteAt(a)));
    }
    expect(outcomes).toEqual(new Set(["read", "sigbus"]));
  });
});
