/**
 * @pagelab/mm-core public API (filled in by the package modules).
 */
export {};
