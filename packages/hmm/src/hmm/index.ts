export {
  HMM_PFN_ORDER_SHIFT,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  HMM_PFN_ERROR,
  HMM_PFN_ORDER_MASK,
  HMM_PFN_FLAGS,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  hmmPfnsAlloc,
  hmmPfnToMapOrder,
  hmmPfnFlagsOrder,
  hmmPfnToWord,
  hmmPfnFromWord,
  formatHmmPfnFlags,
} from "./flags.js";
export type { HmmPfns } from "./flags.js";
export { hmmRangeFault, hmmStats } from "./rangeFault.js";
export type { HmmRange } from "./rangeFault.js";
