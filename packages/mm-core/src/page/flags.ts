/**
 * Page flag bits, page types and zones, numbered as Linux 6.12 numbers them on x86_64.
 *
 * @see include/linux/page-flags.h enum pageflags, enum pagetype, PAGE_FLAGS_CHECK_AT_FREE,
 *      PAGE_FLAGS_CHECK_AT_PREP; include/trace/events/mmflags.h __def_pageflag_names;
 *      include/linux/mmzone.h enum zone_type; lib/vsprintf.c format_page_flags() (%pGp)
 *
 * 6.12 has no PG_error (removed in 6.12) and no PG_slab (a page type since 6.10);
 * PG_mappedtodisk and PG_anon_exclusive are aliases of PG_owner_2. Page types (PG_buddy…)
 * live in the top byte of `page_type`, which overlays `_mapcount`, exactly as in 6.12.
 *
 * The model keeps the flag bits (bits 0..22) in a 32-bit word. The upper "fields" of the
 * kernel's 64-bit `page->flags` (node, zone, last_cpupid) are derived from the page's
 * range when printed, with the layout of a Debian 6.12 amd64 kernel (NODES_SHIFT 10,
 * ZONES_SHIFT 3, LAST_CPUPID_SHIFT 21, SPARSEMEM_VMEMMAP so no section field).
 */

export const PG = {
  PG_locked: 0,
  PG_writeback: 1,
  PG_referenced: 2,
  PG_uptodate: 3,
  PG_dirty: 4,
  PG_lru: 5,
  PG_head: 6,
  PG_waiters: 7,
  PG_active: 8,
  PG_workingset: 9,
  PG_owner_priv_1: 10,
  PG_owner_2: 11,
  PG_arch_1: 12,
  PG_reserved: 13,
  PG_private: 14,
  PG_private_2: 15,
  PG_reclaim: 16,
  PG_swapbacked: 17,
  PG_unevictable: 18,
  PG_mlocked: 19,
  PG_hwpoison: 20,
  PG_young: 21,
  PG_idle: 22,
  // aliases (same bit, another meaning depending on the page's owner)
  PG_readahead: 16,
  PG_swapcache: 10,
  PG_checked: 10,
  PG_anon_exclusive: 11,
  PG_mappedtodisk: 11,
  PG_fscache: 15,
  PG_pinned: 10,
  PG_savepinned: 4,
  PG_foreign: 10,
  PG_xen_remapped: 10,
  PG_isolated: 16,
  PG_reported: 3,
} as const;

export type PageFlagName = keyof typeof PG;
/** A page flag bit number (0..NR_PAGEFLAGS-1). */
export type PageFlag = (typeof PG)[PageFlagName];

export const {
  PG_locked,
  PG_writeback,
  PG_referenced,
  PG_uptodate,
  PG_dirty,
  PG_lru,
  PG_head,
  PG_waiters,
  PG_active,
  PG_workingset,
  PG_owner_priv_1,
  PG_owner_2,
  PG_arch_1,
  PG_reserved,
  PG_private,
  PG_private_2,
  PG_reclaim,
  PG_swapbacked,
  PG_unevictable,
  PG_mlocked,
  PG_hwpoison,
  PG_young,
  PG_idle,
  PG_readahead,
  PG_swapcache,
  PG_checked,
  PG_anon_exclusive,
  PG_mappedtodisk,
} = PG;

/** `__NR_PAGEFLAGS` on x86_64 with MMU, MEMORY_FAILURE and PAGE_IDLE_FLAG. */
export const NR_PAGEFLAGS = 23;

function mask(...bits: number[]): number {
  return bits.reduce((m, b) => (m | (1 << b)) >>> 0, 0);
}

/** Flags a page must not carry when it is freed (`PAGE_FLAGS_CHECK_AT_FREE`, no LRU_GEN bits). */
export const PAGE_FLAGS_CHECK_AT_FREE = mask(
  PG_lru,
  PG_locked,
  PG_private,
  PG_private_2,
  PG_writeback,
  PG_reserved,
  PG_active,
  PG_unevictable,
  PG_mlocked,
);

/** Flags a page must not carry when handed out, and cleared when freed (`PAGE_FLAGS_CHECK_AT_PREP`). */
export const PAGE_FLAGS_CHECK_AT_PREP = ((1 << NR_PAGEFLAGS) - 1) & ~mask(PG_hwpoison);

/** `enum pagetype`: the top byte of `page_type` (which overlays `_mapcount`). */
export const PGTY = {
  PGTY_buddy: 0xf0,
  PGTY_offline: 0xf1,
  PGTY_table: 0xf2,
  PGTY_guard: 0xf3,
  PGTY_hugetlb: 0xf4,
  PGTY_slab: 0xf5,
  PGTY_zsmalloc: 0xf6,
  PGTY_unaccepted: 0xf7,
  PGTY_mapcount_underflow: 0xff,
} as const;
export type PageType = (typeof PGTY)[keyof typeof PGTY];
export const { PGTY_buddy, PGTY_slab, PGTY_table, PGTY_offline, PGTY_guard } = PGTY;

/** `page_type_has_type()`: `_mapcount` values below this are page types, not map counts. */
export function pageTypeHasType(rawMapcount: number): boolean {
  return (rawMapcount | 0) < (PGTY.PGTY_mapcount_underflow << 24) >> 0;
}

/** The names `dump_page()` prints for a page type (mm/debug.c page_type_names). */
export function pageTypeName(pageType: number): string {
  const names = ["buddy", "offline", "table", "guard", "hugetlb", "slab", "zsmalloc", "unaccepted"];
  const i = (pageType >>> 24) - 0xf0;
  return names[i] ?? "unknown";
}

/** `enum zone_type` on x86_64 (no HIGHMEM). */
export const ZONE = { DMA: 0, DMA32: 1, NORMAL: 2, MOVABLE: 3, DEVICE: 4 } as const;
export type ZoneName = keyof typeof ZONE;

/** Names in `%pGp` order (`__def_pageflag_names` in include/trace/events/mmflags.h). */
const PAGEFLAG_NAMES: readonly (readonly [number, string])[] = [
  [PG_locked, "locked"],
  [PG_waiters, "waiters"],
  [PG_referenced, "referenced"],
  [PG_uptodate, "uptodate"],
  [PG_dirty, "dirty"],
  [PG_lru, "lru"],
  [PG_active, "active"],
  [PG_workingset, "workingset"],
  [PG_owner_priv_1, "owner_priv_1"],
  [PG_owner_2, "owner_2"],
  [PG_arch_1, "arch_1"],
  [PG_reserved, "reserved"],
  [PG_private, "private"],
  [PG_private_2, "private_2"],
  [PG_writeback, "writeback"],
  [PG_head, "head"],
  [PG_reclaim, "reclaim"],
  [PG_swapbacked, "swapbacked"],
  [PG_unevictable, "unevictable"],
  [PG_mlocked, "mlocked"],
  [PG_hwpoison, "hwpoison"],
  [PG_idle, "idle"],
  [PG_young, "young"],
];

/** The names of the flags set in `flags`, in the order the kernel prints them. */
export function pageFlagNames(flags: number): string[] {
  return PAGEFLAG_NAMES.filter(([bit]) => (flags >>> bit) & 1).map(([, name]) => name);
}

const NODES_PGSHIFT = 54n;
const ZONES_PGSHIFT = 51n;
const LAST_CPUPID_PGSHIFT = 30n;
/** `page_cpupid_reset_last()` leaves all 21 bits set. */
const LAST_CPUPID_RESET = 0x1fffffn;

/** The full 64-bit `page->flags` word: flag bits plus the node/zone/last_cpupid fields. */
export function pageFlagsWord(flags: number, zone: number, node = 0): bigint {
  return (
    (BigInt(node) << NODES_PGSHIFT) |
    (BigInt(zone) << ZONES_PGSHIFT) |
    (LAST_CPUPID_RESET << LAST_CPUPID_PGSHIFT) |
    BigInt(flags >>> 0)
  );
}

/**
 * `%pGp` (lib/vsprintf.c format_page_flags()):
 * `0x17ffffc0000028(uptodate|lru|node=0|zone=2|lastcpupid=0x1fffff)`.
 */
export function formatPageFlags(flags: number, zone: number, node = 0): string {
  const parts = pageFlagNames(flags);
  const unknown = (flags >>> 0) & ~((1 << NR_PAGEFLAGS) - 1);
  if (unknown) parts.push(`0x${unknown.toString(16)}`);
  parts.push(`node=${node}`, `zone=${zone}`, `lastcpupid=0x${LAST_CPUPID_RESET.toString(16)}`);
  return `0x${pageFlagsWord(flags, zone, node).toString(16)}(${parts.join("|")})`;
}

/** Low bits of `page->mapping` (include/linux/page-flags.h). */
export const PAGE_MAPPING_ANON = 1;
export const PAGE_MAPPING_MOVABLE = 2;
export const PAGE_MAPPING_KSM = 3;
export const PAGE_MAPPING_FLAGS = 3;
/** fsdax's "shared by several files" sentinel: raw 1 with no object (6.2–6.14). */
export const PAGE_MAPPING_DAX_SHARED = 1;
