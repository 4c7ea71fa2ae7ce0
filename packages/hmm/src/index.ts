/**
 * @pagelab/hmm: ZONE_DEVICE memory types, hmm_range_fault, migrate_vma and a simulated
 * HMM device (test_hmm's dmirror). Each area's index lists its exports by name.
 */
export * from "./zoneDevice/index.js";
export * from "./hmm/index.js";
export * from "./migrate/index.js";
export * from "./dmirror/index.js";
