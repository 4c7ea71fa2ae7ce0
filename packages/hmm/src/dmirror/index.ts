export {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_ZERO,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_MEMORY_DEVICE_PRIVATE,
  HMM_DMIRROR_MEMORY_DEVICE_COHERENT,
} from "./uapi.js";
export type { DmirrorMemoryType, DmirrorCmdResult } from "./uapi.js";
export { DmirrorDevice, DEVMEM_CHUNK_SIZE } from "./device.js";
export type { DmirrorChunk, DmirrorDeviceOptions } from "./device.js";
export { Dmirror, DMIRROR_RANGE_FAULT_RETRIES } from "./mirror.js";
export type { MirrorEntry } from "./mirror.js";
