import { describe, expect, it } from "vitest";
import { KernelBug } from "../errno.js";
import {
  PAGE_MAPPING_ANON,
  PAGE_MAPPING_DAX_SHARED,
  PAGE_MAPPING_KSM,
  PG_dirty,
  PG_locked,
  PG_reserved,
  PGTY_buddy,
} from "./flags.js";
import { MEMMAP_BYTES_PER_PAGE, Memmap } from "./memmap.js";
import { PAGES_PER_SECTION } from "./sparse.js";

const GiB = 1024 ** 3;

function smallMemmap(): Memmap {
  const mm = new Memmap();
  mm.addRange(0, 2048, { zone: "NORMAL" });
  return mm;
}

describe("Memmap sections", () => {
  it("costs nothing for a 64 GiB range until a page is written", () => {
    const mm = new Memmap();
    const pages = (64 * GiB) / 4096;
    mm.addRange(0, pages, { zone: "NORMAL" });
    expect(mm.materializedSections).toBe(0);
    expect(mm.memmapBytes()).toBeLessThan(2 * 1024 * 1024);
    const last = pages - 1;
    expect(mm.pageRefCount(last)).toBe(1);
    expect(mm.pageMapcount(last)).toBe(0);
    expect(mm.rawMapcount(last)).toBe(-1);
    expect(mm.testPageFlag(last, PG_reserved)).toBe(true);
    expect(mm.pageMapping(last)).toBe(0);
    expect(mm.materializedSections).toBe(0);

    mm.setPageFlag(last, PG_dirty);
    expect(mm.materializedSections).toBe(1);
    expect(mm.memmapBytes()).toBeLessThan(PAGES_PER_SECTION * MEMMAP_BYTES_PER_PAGE + 2 * 1024 * 1024);
    expect(mm.testPageFlag(last, PG_dirty)).toBe(true);
    expect(mm.testPageFlag(last - 1, PG_dirty)).toBe(false);
    expect(mm.pageRefCount(last - 1)).toBe(1);
    expect(mm.testPageFlag(last - 1, PG_reserved)).toBe(true);
  });

  it("keeps 50 bytes per page", () => {
    expect(MEMMAP_BYTES_PER_PAGE).toBeLessThanOrEqual(64);
    const mm = smallMemmap();
    mm.setPageCount(0, 3);
    expect(mm.materializedSections).toBe(1);
    expect(mm.memmapBytes() / PAGES_PER_SECTION).toBeLessThanOrEqual(64);
  });

  it("has no struct page outside its ranges", () => {
    const mm = smallMemmap();
    expect(mm.pfnValid(2047)).toBe(true);
    expect(mm.pfnValid(2048)).toBe(false);
    expect(mm.pfnValid(-1)).toBe(false);
    expect(() => mm.pageRefCount(4096)).toThrow(KernelBug);
    expect(() => mm.setPageFlag(2048, PG_dirty)).toThrow(KernelBug);
  });

  it("refuses overlapping and unaligned ranges", () => {
    const mm = smallMemmap();
    expect(() => mm.addRange(1024, 512, { zone: "NORMAL" })).toThrow(RangeError);
    expect(() => mm.addRange(4096, 100, { zone: "NORMAL" })).toThrow(RangeError);
    mm.addRange(PAGES_PER_SECTION + 512, 512, { zone: "NORMAL" });
    expect(mm.pfnValid(PAGES_PER_SECTION)).toBe(false);
    expect(mm.pfnValid(PAGES_PER_SECTION + 512)).toBe(true);
  });

  it("forgets a removed range and its section arrays", () => {
    const mm = smallMemmap();
    mm.addRange(PAGES_PER_SECTION, 512, { zone: "NORMAL" });
    mm.setPageFlag(PAGES_PER_SECTION, PG_locked);
    expect(mm.materializedSections).toBe(1);
    mm.removeRange(PAGES_PER_SECTION);
    expect(mm.pfnValid(PAGES_PER_SECTION)).toBe(false);
    expect(mm.materializedSections).toBe(0);
    mm.addRange(PAGES_PER_SECTION, 512, { zone: "NORMAL" });
    expect(mm.testPageFlag(PAGES_PER_SECTION, PG_locked)).toBe(false);
  });
});

describe("Memmap fields", () => {
  it("test-and-set and test-and-clear flags atomically", () => {
    const mm = smallMemmap();
    expect(mm.testAndSetPageFlag(7, PG_locked)).toBe(false);
    expect(mm.testAndSetPageFlag(7, PG_locked)).toBe(true);
    expect(mm.pageFlags(7)).toBe((1 << PG_locked) | (1 << PG_reserved));
    expect(mm.testAndClearPageFlag(7, PG_locked)).toBe(true);
    expect(mm.testAndClearPageFlag(7, PG_locked)).toBe(false);
    mm.clearPageFlag(7, PG_reserved);
    expect(mm.pageFlags(7)).toBe(0);
  });

  it("counts mappings from -1 and reports the first and last", () => {
    const mm = smallMemmap();
    expect(mm.pageMapcountInc(3)).toBe(true);
    expect(mm.pageMapcountInc(3)).toBe(false);
    expect(mm.pageMapcount(3)).toBe(2);
    expect(mm.pageMapcountDec(3)).toBe(false);
    expect(mm.pageMapcountDec(3)).toBe(true);
    expect(mm.pageMapped(3)).toBe(false);
    expect(() => mm.pageMapcountDec(3)).toThrow(/mapcount underflow/);
  });

  it("stores page types in the _mapcount word", () => {
    const mm = smallMemmap();
    mm.setPageType(5, PGTY_buddy);
    expect(mm.pageBuddy(5)).toBe(true);
    expect(mm.pageHasType(5)).toBe(true);
    expect(mm.pageMapcount(5)).toBe(0);
    expect(mm.pageType(5) >>> 24).toBe(0xf0);
    expect(() => mm.pageMapcountInc(5)).toThrow(KernelBug);
    mm.clearPageType(5, PGTY_buddy);
    expect(mm.rawMapcount(5)).toBe(-1);
    mm.pageMapcountInc(6);
    expect(() => mm.setPageType(6, PGTY_buddy)).toThrow(KernelBug);
  });

  it("keeps index and share in one word", () => {
    const mm = smallMemmap();
    mm.setPageIndex(9, 2 ** 40 + 3);
    expect(mm.pageIndex(9)).toBe(2 ** 40 + 3);
    mm.setPageShare(9, 4);
    expect(mm.pageIndex(9)).toBe(4);
    mm.setPagePrivate(9, 12345);
    expect(mm.pagePrivate(9)).toBe(12345);
  });
});

describe("page->mapping", () => {
  it("holds a registered object as id * 4 plus tag bits", () => {
    const mm = smallMemmap();
    const file = { name: "file" };
    mm.setPageMapping(1, file);
    const id = mm.mappingObjectId(file)!;
    expect(mm.pageMapping(1)).toBe(id * 4);
    expect(mm.pageMappingObject(1)).toBe(file);
    expect(mm.folioMapping(1)).toBe(file);
    expect(mm.folioTestAnon(1)).toBe(false);
  });

  it("hides anon and KSM owners from folio_mapping()", () => {
    const mm = smallMemmap();
    const anonVma = {};
    const stableNode = {};
    mm.setPageMapping(1, anonVma, PAGE_MAPPING_ANON);
    mm.setPageMapping(2, stableNode, PAGE_MAPPING_KSM);
    expect(mm.folioTestAnon(1)).toBe(true);
    expect(mm.folioMapping(1)).toBeNull();
    expect(mm.pageMappingObject(1)).toBe(anonVma);
    expect(mm.folioTestKsm(2)).toBe(true);
    expect(mm.folioTestAnon(2)).toBe(true);
    expect(mm.folioMapping(2)).toBeNull();
  });

  it("stores the fsdax shared sentinel as a bare 1", () => {
    const mm = smallMemmap();
    mm.setPageMappingRaw(4, PAGE_MAPPING_DAX_SHARED);
    expect(mm.pageMapping(4)).toBe(1);
    expect(mm.folioMapping(4)).toBeNull();
    expect(mm.pageMappingObject(4)).toBeUndefined();
    mm.setPageMapping(4, null);
    expect(mm.pageMapping(4)).toBe(0);
    expect(() => mm.setPageMappingRaw(4, 4 * 999)).toThrow(RangeError);
  });

  it("reuses an object id only after the object is unregistered", () => {
    const mm = smallMemmap();
    const a = {};
    const b = {};
    const ida = mm.registerMappingObject(a);
    expect(mm.registerMappingObject(a)).toBe(ida);
    const idb = mm.registerMappingObject(b);
    expect(idb).not.toBe(ida);
    mm.unregisterMappingObject(a);
    expect(mm.mappingObjectById(ida)).toBeUndefined();
    const c = {};
    expect(mm.registerMappingObject(c)).toBe(ida);
  });
});
