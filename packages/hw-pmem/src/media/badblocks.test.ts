import { describe, expect, it } from "vitest";
import { Badblocks } from "./badblocks.js";

describe("Badblocks", () => {
  it("shows entries as 'sector count' lines, merged and split at 512 sectors like the kernel table", () => {
    const bb = new Badblocks();
    bb.set(100, 8);
    bb.set(108, 8);
    bb.set(2000, 600);
    expect(bb.show()).toBe("100 16\n2000 512\n2512 88\n");
    expect(bb.count).toBe(3);
    expect(bb.sectorCount).toBe(616);
  });

  it("check reports the first bad run inside the window; is_bad_pmem ignores sub-sector lengths", () => {
    const bb = new Badblocks();
    bb.set(16, 4);
    expect(bb.check(0, 16)).toBeUndefined();
    expect(bb.check(10, 8)).toEqual({ firstBad: 16, numBad: 2 });
    expect(bb.isBad(16, 512)).toBe(true);
    expect(bb.isBad(16, 100)).toBe(false);
  });

  it("clear removes exactly the given sectors", () => {
    const bb = new Badblocks();
    bb.set(0, 16);
    expect(bb.clear(4, 4)).toBe(4);
    expect(bb.show()).toBe("0 4\n8 8\n");
  });
});
