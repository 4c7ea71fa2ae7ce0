/** The pmem driver: block device and DAX faces over a namespace. */
export { PmemBlockDevice } from "./block-device.js";
export type { PmemWriteFlags } from "./block-device.js";
export type { DaxAccessMode, DaxDirectAccessResult } from "./dax.js";
