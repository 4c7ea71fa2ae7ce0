/**
 * @pagelab/kernel: a booted machine (DRAM, pmem, xfs-lite with DAX and a sharing
 * mechanism), the system-call layer on tasks, and the invariant monitors.
 */
export { DEFAULT_MACHINE_CONFIG, resolveMachineConfig } from "./config.js";
export type { MachineConfig, MachineConfigInput, MkfsConfig, HistoricBugs } from "./config.js";
export { Machine, bootMachine, FS_UUID } from "./machine.js";
export { KernelFs } from "./fs/kernelFs.js";
export type { FailureReport, FailureOwnerReport, KernelFsInit } from "./fs/kernelFs.js";
export { inodeIsDax, applyDaxMode } from "./fs/daxMode.js";
export { xfsDaxIomapOps } from "./fs/iomapOps.js";
export {
  SHUTDOWN_META_IO_ERROR,
  SHUTDOWN_LOG_IO_ERROR,
  SHUTDOWN_FORCE_UMOUNT,
  SHUTDOWN_CORRUPT_INCORE,
  SHUTDOWN_CORRUPT_ONDISK,
  SHUTDOWN_DEVICE_REMOVED,
} from "./fs/shutdown.js";
