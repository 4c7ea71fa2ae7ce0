import { describe, expect, it } from "vitest";
import { Scheduler, exploreSchedules, vmMunmap } from "@pagelab/mm-core";
import { P, boot, mmapAnon, pattern, wr } from "../testing/machine.js";

describe("dmirror: racing the CPU side", () => {
  it("a device read racing munmap never leaves a mirror entry for an unmapped page (every schedule explored)", () => {
    let runs = 0;
    let readFailed = 0;
    const res = exploreSchedules((choices) => {
      runs++;
      const { task, mm, dmirror } = boot();
      const a = mmapAnon(task, 2);
      wr(task, a, pattern(2 * P, 1));
      const s = new Scheduler({ choices });
      const device = s.spawn("device", () => dmirror.read(a, 2));
      s.adopt(task, vmMunmap(mm, a + P, P));
      s.run();
      if (device.failed) {
        // The read lost the race for the second page: hmm_range_fault found no VMA.
        expect(String(device.error)).toMatch(/EFAULT/);
        readFailed++;
      } else expect(device.result!.data).toEqual(pattern(2 * P, 1));
      expect(dmirror.mirrorEntry(a + P)).toBeUndefined();
      expect(mm.pgtables.pteAt(a + P)).toBe(0);
    }, 300);
    expect(res.runs).toBe(runs);
    expect(readFailed).toBeGreaterThan(0);
    expect(readFailed).toBeLessThan(runs);
  });
});
