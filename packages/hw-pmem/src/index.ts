/**
 * @pagelab/hw-pmem: the NVDIMM hardware and the pmem driver — regions, namespaces,
 * sparse media, CPU cache persistence (ADR/eADR), poison and badblocks, ARS, and a
 * latency/cost model.
 */
export type { Brand, Pfn, Pgoff } from "./types.js";
export {
  pfn,
  pgoff,
  physPfn,
  pfnPhys,
  PAGE_SHIFT,
  PAGE_SIZE,
  CACHELINE_SIZE,
  SECTOR_SHIFT,
  SECTOR_SIZE,
  SZ_4K,
  SZ_2M,
  SZ_1G,
} from "./types.js";
export { PmemError, MachineCheckError, isPmemError, isMachineCheck, PMEM_ERRNO } from "./errors.js";
export type { PmemErrno } from "./errors.js";
export { SparseMedia, Badblocks, BB_MAX_LEN } from "./media/index.js";
export type { BadblocksHit } from "./media/index.js";
export { PmemCostModel, DEFAULT_PMEM_LATENCY } from "./cpu/index.js";
export type {
  PmemCounters,
  PmemLatency,
  PmemCpuAccess,
  PersistenceDomain,
  PowerFailOptions,
  PowerFailReport,
  VolatileLineKind,
} from "./cpu/index.js";
export {
  PmemPlatform,
  createPmemPlatform,
  DEFAULT_PMEM_REGION,
  MAX_PHYS_ADDR,
  NdRegion,
  NdNamespace,
  layoutNamespace,
  pfnDataOffset,
  PFN_ALIGNMENTS,
  MAX_STRUCT_PAGE_SIZE,
  PFN_INFO_SIZE,
} from "./nvdimm/index.js";
export type {
  ArsOptions,
  ArsResult,
  BadRange,
  InjectPoisonOptions,
  MachineCheckEvent,
  MachineCheckKind,
  NamespaceConfig,
  NamespaceLayout,
  NamespaceMode,
  PfnMap,
  PgmapType,
  PmemPlatformConfig,
  PoisonClearedEvent,
  RegionConfig,
} from "./nvdimm/index.js";
export { PmemBlockDevice } from "./pmem/index.js";
export type { PmemWriteFlags, DaxAccessMode, DaxDirectAccessResult } from "./pmem/index.js";
