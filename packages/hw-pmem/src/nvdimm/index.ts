/** The NVDIMM bus: platform, regions, namespaces, badrange list, ARS. */
export { PmemPlatform, createPmemPlatform, DEFAULT_PMEM_REGION, MAX_PHYS_ADDR } from "./platform.js";
export type {
  ArsOptions,
  ArsResult,
  InjectPoisonOptions,
  MachineCheckEvent,
  MachineCheckKind,
  PmemPlatformConfig,
  PoisonClearedEvent,
} from "./platform.js";
export { NdRegion } from "./region.js";
export type { RegionConfig } from "./region.js";
export { NdNamespace } from "./namespace.js";
export type { PgmapType } from "./namespace.js";
export { layoutNamespace, pfnDataOffset, PFN_ALIGNMENTS, MAX_STRUCT_PAGE_SIZE, PFN_INFO_SIZE } from "./namespace-layout.js";
export type { NamespaceConfig, NamespaceLayout, NamespaceMode, PfnMap } from "./namespace-layout.js";
export type { BadRange } from "./badrange.js";
