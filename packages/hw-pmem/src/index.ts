/**
 * @pagelab/hw-pmem public API (filled in by the package modules).
 */
export {};
