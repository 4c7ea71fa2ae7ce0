import { describe, expect, it } from "vitest";
import {
  NR_PAGEFLAGS,
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PG,
  PGTY_buddy,
  formatPageFlags,
  pageFlagNames,
  pageTypeHasType,
  pageTypeName,
} from "./flags.js";

describe("page flags", () => {
  it("are numbered as in Linux 6.12 x86_64", () => {
    expect([PG.PG_locked, PG.PG_writeback, PG.PG_referenced, PG.PG_uptodate, PG.PG_dirty, PG.PG_lru]).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect([PG.PG_head, PG.PG_waiters, PG.PG_active, PG.PG_workingset]).toEqual([6, 7, 8, 9]);
    expect([PG.PG_owner_priv_1, PG.PG_owner_2, PG.PG_arch_1, PG.PG_reserved]).toEqual([10, 11, 12, 13]);
    expect([PG.PG_private, PG.PG_private_2, PG.PG_reclaim, PG.PG_swapbacked, PG.PG_unevictable]).toEqual([
      14, 15, 16, 17, 18,
    ]);
    expect([PG.PG_mlocked, PG.PG_hwpoison, PG.PG_young, PG.PG_idle]).toEqual([19, 20, 21, 22]);
    expect(NR_PAGEFLAGS).toBe(23);
  });

  it("alias PG_anon_exclusive and PG_mappedtodisk onto PG_owner_2", () => {
    expect(PG.PG_anon_exclusive).toBe(PG.PG_owner_2);
    expect(PG.PG_mappedtodisk).toBe(PG.PG_owner_2);
    expect(PG.PG_swapcache).toBe(PG.PG_owner_priv_1);
    expect(PG.PG_readahead).toBe(PG.PG_reclaim);
  });

  it("check lru, locked and writeback at free but not dirty or uptodate", () => {
    for (const bit of [PG.PG_lru, PG.PG_locked, PG.PG_writeback, PG.PG_reserved, PG.PG_mlocked])
      expect(PAGE_FLAGS_CHECK_AT_FREE & (1 << bit)).not.toBe(0);
    for (const bit of [PG.PG_dirty, PG.PG_uptodate, PG.PG_hwpoison])
      expect(PAGE_FLAGS_CHECK_AT_FREE & (1 << bit)).toBe(0);
    expect(PAGE_FLAGS_CHECK_AT_PREP & (1 << PG.PG_dirty)).not.toBe(0);
    expect(PAGE_FLAGS_CHECK_AT_PREP & (1 << PG.PG_hwpoison)).toBe(0);
  });

  it("print like %pGp with the node, zone and last_cpupid fields of a Debian kernel", () => {
    expect(formatPageFlags(0, 2)).toBe("0x17ffffc0000000(node=0|zone=2|lastcpupid=0x1fffff)");
    const f = (1 << PG.PG_uptodate) | (1 << PG.PG_dirty) | (1 << PG.PG_lru) | (1 << PG.PG_locked);
    expect(formatPageFlags(f, 2)).toBe("0x17ffffc0000039(locked|uptodate|dirty|lru|node=0|zone=2|lastcpupid=0x1fffff)");
    expect(formatPageFlags(1 << PG.PG_reserved, 4)).toBe("0x27ffffc0002000(reserved|node=0|zone=4|lastcpupid=0x1fffff)");
    expect(pageFlagNames((1 << PG.PG_waiters) | (1 << PG.PG_locked))).toEqual(["locked", "waiters"]);
  });
});

describe("page types", () => {
  it("live in the top byte of page_type, below every map count", () => {
    expect(pageTypeHasType(-1)).toBe(false);
    expect(pageTypeHasType(0)).toBe(false);
    expect(pageTypeHasType(1000)).toBe(false);
    expect(pageTypeHasType((PGTY_buddy << 24) | 0)).toBe(true);
    expect(pageTypeName(PGTY_buddy << 24)).toBe("buddy");
    expect(pageTypeName(0xf5 << 24)).toBe("slab");
  });
});
