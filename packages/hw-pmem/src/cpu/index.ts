/** The CPU side: cache persistence model, physical-address access interface, cost model. */
export { CpuCache } from "./cache.js";
export type { LineBacking, PersistenceDomain, PowerFailOptions, PowerFailReport, VolatileLineKind } from "./cache.js";
export { PmemCostModel, DEFAULT_PMEM_LATENCY } from "./costs.js";
export type { PmemCounters, PmemLatency } from "./costs.js";
export { PmemAccessWindow } from "./access.js";
export type { PmemCpuAccess } from "./access.js";
