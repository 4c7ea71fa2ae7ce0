export * from "./types.js";
export { XfsRmapMemBtree } from "./rmap-btree.js";
export type { XfsRmapBtree } from "./rmap-btree.js";
export { xfsRmapMap, xfsRmapUnmap, xfsRmapConvert, xfsRmapQueryRange } from "./rmap.js";
export type { XfsRmapCtx } from "./rmap.js";
