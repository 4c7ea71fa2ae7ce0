export {
  PG,
  PGTY,
  ZONE,
  NR_PAGEFLAGS,
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PAGE_MAPPING_ANON,
  PAGE_MAPPING_MOVABLE,
  PAGE_MAPPING_KSM,
  PAGE_MAPPING_FLAGS,
  PAGE_MAPPING_DAX_SHARED,
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
  PGTY_buddy,
  PGTY_slab,
  PGTY_table,
  PGTY_offline,
  PGTY_guard,
  pageFlagNames,
  formatPageFlags,
  pageFlagsWord,
  pageTypeHasType,
  pageTypeName,
} from "./flags.js";
export type { PageFlag, PageFlagName, PageType, ZoneName } from "./flags.js";
export { SECTION_SIZE_BITS, PAGES_PER_SECTION, PAGES_PER_SUBSECTION } from "./sparse.js";
export { Memmap, MEMMAP_BYTES_PER_PAGE, SECTION_OVERHEAD_BYTES } from "./memmap.js";
export type { MemRange, AddRangeOptions } from "./memmap.js";
export { dumpPage, hashedPointer } from "./dump.js";
export type { DumpableMapping } from "./dump.js";
export { putDevmapManagedFolioRefs, freeZoneDeviceFolio } from "./refcount.js";
export {
  DevPagemap,
  MEMORY_DEVICE_PRIVATE,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PCI_P2PDMA,
  memremapPages,
  memunmapPages,
  getDevPagemap,
  putDevPagemap,
  zoneDevicePageInit,
  isDevicePrivatePage,
  folioIsFsdax,
} from "./memremap.js";
export type { MemoryType, DevPagemapOps, DevPagemapInit, PhysRange, MemremapTarget } from "./memremap.js";
export { PhysMem, createMmCounters } from "./physmem.js";
export type { MemoryBacking, MmCounters } from "./physmem.js";
export {
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGHMEM,
  __GFP_MOVABLE,
  __GFP_ZERO,
  __GFP_NOWARN,
  __GFP_NOFAIL,
  __GFP_IO,
  __GFP_FS,
  __GFP_RECLAIM,
  __GFP_DIRECT_RECLAIM,
  __GFP_KSWAPD_RECLAIM,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_KERNEL_ACCOUNT,
  GFP_NOWAIT,
  GFP_NOIO,
  GFP_NOFS,
  GFP_USER,
  GFP_DMA,
  GFP_DMA32,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  gfpZone,
} from "./gfp.js";
export type { Gfp } from "./gfp.js";
export { BuddyAllocator, MAX_PAGE_ORDER, NR_PAGE_ORDERS } from "./buddy.js";
export type { FreeAreaSnapshot } from "./buddy.js";
export { createMemory } from "./memory.js";
export type { Memory, MemoryOptions } from "./memory.js";
export {
  lockPage,
  trylockPage,
  unlockPage,
  waitOnPageLocked,
  setPageWriteback,
  endPageWriteback,
  waitOnPageWriteback,
  folioWakeBit,
  folioWaitTable,
  PAGE_WAIT_TABLE_BITS,
} from "./pagelock.js";
