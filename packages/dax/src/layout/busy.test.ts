import {
  MAP_SHARED,
  PAGE_SIZE,
  PROT_READ,
  Scheduler,
  type Sleepable,
  createProcess,
  load,
  ptePfn,
  runSync,
  taskMm,
  vmMmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { bootDaxMachine } from "../testing/machine.js";
import { daxPinPage, daxUnpinPage } from "./busy.js";

describe("truncate of a pinned DAX page", () => {
  it("sleeps until the pin drops, and the block is not freed or reused before", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("f");
    m.fs.write(f, 0, new Uint8Array(2 * PAGE_SIZE).fill(0x11));
    const block = f.blocks.get(1)!;
    const t = createProcess(m.ctx, "dma");
    const addr = runSync(vmMmap(taskMm(t), { len: 2 * PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED, file: m.fs.open(f) }), t);
    expect(runSync(load(addr + PAGE_SIZE, 1), t).ok).toBe(true);
    const pfn = ptePfn(taskMm(t).pgtables.pteAt(addr + PAGE_SIZE));
    daxPinPage(m.dax, pfn);
    expect(m.ctx.memmap.pageRefCount(pfn)).toBe(1025);

    const s = new Scheduler({ seed: 3 });
    const trunc = s.spawn("truncate", function* (): Sleepable<number> {
      return (yield* m.fs.truncate(f, PAGE_SIZE)).layoutSleeps;
    });
    for (let i = 0; i < 50 && trunc.state !== "blocked"; i++) s.step();
    expect(trunc.state).toBe("blocked");
    // Unmapped already, but the block is still the file's and not on the free list.
    expect(f.blocks.get(1)).toBe(block);
    expect(m.fs.freed).not.toContain(block);
    expect(f.mapping.invalidateLock.holders()).toEqual([]); // MMAPLOCK dropped while asleep
    // A new allocation does not get the pinned block.
    expect(m.fs.alloc(1)).not.toBe(block);

    daxUnpinPage(m.dax, pfn);
    s.run();
    expect(trunc.result).toBe(1);
    expect(f.blocks.has(1)).toBe(false);
    expect(m.fs.freed).toContain(block);
    expect(f.mapping.iPages.load(1)).toBeUndefined();
    expect(m.ctx.memmap.pageMapping(pfn)).toBe(0);
  });
});
