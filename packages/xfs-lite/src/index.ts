/**
 * @pagelab/xfs-lite public API (filled in by the package modules).
 */
export {};
