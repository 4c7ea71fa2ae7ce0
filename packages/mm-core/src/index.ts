/**
 * @pagelab/mm-core: the Linux memory-management model. Each area's index lists its
 * exports by name; this file gathers them.
 */
export * from "./types.js";
export * from "./errno.js";
export * from "./sched/index.js";
export * from "./task/index.js";
export * from "./page/index.js";
export * from "./xarray/index.js";
export * from "./vm/index.js";
export * from "./trace/index.js";
