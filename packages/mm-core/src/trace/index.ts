export { TraceBuffer, tracePrintFlags, traceHex, FAULT_FLAG_TRACE, VM_FAULT_RESULT_TRACE } from "./trace.js";
export type { TraceEvent, TraceFlagNames } from "./trace.js";
