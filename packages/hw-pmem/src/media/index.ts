export { SparseMedia } from "./sparse-media.js";
export { Badblocks, BB_MAX_LEN } from "./badblocks.js";
export type { BadblocksHit } from "./badblocks.js";
