export {
  XArray,
  XA_CHUNK_SHIFT,
  XA_CHUNK_SIZE,
  XA_MARK_0,
  XA_MARK_1,
  XA_MARK_2,
  XA_MAX_INDEX,
  XA_NODE_BYTES,
  PAGECACHE_TAG_DIRTY,
  PAGECACHE_TAG_WRITEBACK,
  PAGECACHE_TAG_TOWRITE,
} from "./xarray.js";
export type { XaMark } from "./xarray.js";
export { xaMkValue, xaIsValue, xaToValue } from "./value.js";
