/** The media: sparse byte storage with per-line poison, and a device's badblocks list. */
export { SparseMedia } from "./sparse-media.js";
export { Badblocks, BB_MAX_LEN } from "./badblocks.js";
export type { BadblocksHit } from "./badblocks.js";
