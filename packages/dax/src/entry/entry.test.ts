import { PMD_ORDER, PMD_SIZE, PAGE_SIZE, xaIsValue } from "@pagelab/mm-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DAX_EMPTY,
  DAX_LOCKED,
  DAX_PMD,
  DAX_ZERO_PAGE,
  daxEntryOrder,
  daxEntrySize,
  daxIsEmptyEntry,
  daxIsLocked,
  daxIsPmdEntry,
  daxIsZeroEntry,
  daxLockedValue,
  daxMakeEntry,
  daxToPfn,
  daxUnlockedValue,
  formatDaxEntry,
} from "./entry.js";

describe("DAX entry encoding", () => {
  it("is xa_mk_value(flags | pfn << 4), as the kernel builds it", () => {
    const e = daxMakeEntry(0x40018, DAX_PMD);
    expect(e).toBe(((0x40018 << 4) | DAX_PMD) * 2 + 1);
    expect(xaIsValue(e)).toBe(true);
    expect(formatDaxEntry(daxLockedValue(e))).toBe("pfn 0x40018 PMD|LOCKED");
  });

  it("round-trips pfn and flags for any pfn up to 2^40 and any flag set", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 15 }), (pfn, flags) => {
        const e = daxMakeEntry(pfn, flags);
        expect(daxToPfn(e)).toBe(pfn);
        expect(daxIsLocked(e)).toBe((flags & DAX_LOCKED) !== 0);
        expect(daxIsPmdEntry(e)).toBe((flags & DAX_PMD) !== 0);
        expect(daxIsZeroEntry(e)).toBe((flags & DAX_ZERO_PAGE) !== 0);
        expect(daxIsEmptyEntry(e)).toBe((flags & DAX_EMPTY) !== 0);
        expect(daxUnlockedValue(daxLockedValue(e))).toBe(daxMakeEntry(pfn, flags & ~DAX_LOCKED));
        expect(daxToPfn(daxLockedValue(e))).toBe(pfn);
      }),
    );
  });

  it("sizes: zero and empty entries cover no media; PMD entries are order 9", () => {
    expect(daxEntrySize(daxMakeEntry(5, 0))).toBe(PAGE_SIZE);
    expect(daxEntrySize(daxMakeEntry(512, DAX_PMD))).toBe(PMD_SIZE);
    expect(daxEntrySize(daxMakeEntry(0, DAX_EMPTY | DAX_PMD))).toBe(0);
    expect(daxEntrySize(daxMakeEntry(7, DAX_ZERO_PAGE))).toBe(0);
    expect(daxEntryOrder(daxMakeEntry(0, DAX_EMPTY | DAX_PMD))).toBe(PMD_ORDER);
  });
});
