import {
  AddressSpace,
  AS_DAX,
  MAP_SHARED,
  PAGE_SIZE,
  PMD_ORDER,
  PROT_READ,
  Scheduler,
  type Sleepable,
  createProcess,
  load,
  runSync,
  schedule,
  taskMm,
  vmMmap,
} from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { bootDaxMachine } from "../testing/machine.js";
import { DAX_EMPTY, daxIsLocked, daxIsPmdEntry, daxMakeEntry } from "./entry.js";
import { daxUnlockEntry, grabMappingEntry, isGrabFault } from "./lock.js";

function mappingOf(): AddressSpace {
  const m = new AddressSpace({ iSize: 1 << 30 }, {}, "f");
  m.setFlag(AS_DAX);
  return m;
}

describe("grab_mapping_entry", () => {
  it("inserts a locked empty entry, and a second grabber sleeps until the unlock wakes it", () => {
    const { dax } = bootDaxMachine();
    const mapping = mappingOf();
    const s = new Scheduler({ seed: 1 });
    const log: string[] = [];
    s.spawn("a", function* (): Sleepable {
      const e = yield* grabMappingEntry(dax, mapping, 7, 0);
      if (isGrabFault(e)) throw new Error("fault");
      log.push("a locked");
      for (let i = 0; i < 5; i++) yield* schedule();
      log.push("a unlocks");
      daxUnlockEntry(dax, mapping, 7, e);
    });
    const b = s.spawn("b", function* (): Sleepable {
      for (let i = 0; i < 1; i++) yield* schedule();
      const e = yield* grabMappingEntry(dax, mapping, 7, 0);
      if (isGrabFault(e)) throw new Error("fault");
      log.push("b locked");
      daxUnlockEntry(dax, mapping, 7, e);
    });
    // Run until b is asleep on the entry.
    while (b.state !== "blocked") s.step();
    expect(daxIsLocked(mapping.iPages.load(7)!)).toBe(true);
    s.run();
    expect(log).toEqual(["a locked", "a unlocks", "b locked"]);
    expect(dax.costs.lockWaits).toBe(1);
    expect(mapping.iPages.load(7)).toBe(daxMakeEntry(0, DAX_EMPTY));
    expect(mapping.nrpages).toBe(1);
  });

  it("a PTE request over an empty PMD entry downgrades it; a PMD request over PTE entries falls back", () => {
    const { dax } = bootDaxMachine();
    const mapping = mappingOf();
    const pmd = runSync(grabMappingEntry(dax, mapping, 515, PMD_ORDER));
    if (isGrabFault(pmd)) throw new Error("fault");
    expect(daxIsPmdEntry(pmd)).toBe(true);
    daxUnlockEntry(dax, mapping, 512, pmd);
    expect(mapping.nrpages).toBe(512);
    const pte = runSync(grabMappingEntry(dax, mapping, 600, 0));
    if (isGrabFault(pte)) throw new Error("fault");
    daxUnlockEntry(dax, mapping, 600, pte);
    expect(mapping.iPages.load(512)).toBeUndefined();
    expect(mapping.iPages.load(600)).toBe(daxMakeEntry(0, DAX_EMPTY));
    expect(mapping.nrpages).toBe(1);
    const again = runSync(grabMappingEntry(dax, mapping, 513, PMD_ORDER));
    expect(isGrabFault(again) && again.vmFault).toBe(0x800);
  });
});

describe("two tasks faulting the same DAX page", () => {
  it("the second really waits on the entry lock held across iomap_begin, then maps the same pfn", () => {
    const m = bootDaxMachine();
    const f = m.fs.create("f");
    m.fs.write(f, 0, new Uint8Array(PAGE_SIZE).fill(0x5a));
    let waited = 0;
    for (let seed = 0; seed < 8; seed++) {
      const before = m.dax.costs.lockWaits;
      const s = new Scheduler({ seed });
      const results: number[] = [];
      for (const name of ["t1", "t2"]) {
        const t = createProcess(m.ctx, `${name}-${seed}`);
        const addr = runSync(vmMmap(taskMm(t), { len: PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED, file: m.fs.open(f) }), t);
        s.spawn(t, function* (): Sleepable {
          const r = yield* load(addr + 9, 1);
          if (r.ok) results.push(r.data[0]!);
        });
      }
      s.run();
      expect(results).toEqual([0x5a, 0x5a]);
      waited += m.dax.costs.lockWaits - before;
    }
    expect(waited).toBeGreaterThan(0);
  });
});
