export * from "./types.js";
export { XfsRefcountMemBtree } from "./refcount-btree.js";
export type { XfsRefcountBtree } from "./refcount-btree.js";
export {
  xfsRefcountAdjust,
  xfsRefcountIncrease,
  xfsRefcountDecrease,
  xfsRefcountAllocCow,
  xfsRefcountFreeCow,
  xfsRefcountFindShared,
  xfsRefcountOf,
  xfsRefcountCowLeftovers,
} from "./refcount.js";
export type { XfsRefcountCtx } from "./refcount.js";
