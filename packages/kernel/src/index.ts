/**
 * @pagelab/kernel: a booted machine (DRAM, pmem, xfs-lite with DAX and a sharing
 * mechanism), the system-call layer on tasks, and the invariant monitors.
 */
export { DEFAULT_MACHINE_CONFIG, resolveMachineConfig } from "./config.js";
export type { MachineConfig, MachineConfigInput, MkfsConfig, HistoricBugs } from "./config.js";
export { Machine, bootMachine, FS_UUID } from "./machine.js";
export { KernelFs } from "./fs/kernelFs.js";
export { Monitors } from "./invariants/monitors.js";
export type { InvariantResult } from "./invariants/monitors.js";
export { ShadowFiles } from "./invariants/shadow.js";
export type { ShadowMismatch } from "./invariants/shadow.js";
export type { FailureReport, FailureOwnerReport, KernelFsInit } from "./fs/kernelFs.js";
export { xfsDaxIomapOps } from "./fs/iomapOps.js";
export {
  SHUTDOWN_META_IO_ERROR,
  SHUTDOWN_LOG_IO_ERROR,
  SHUTDOWN_FORCE_UMOUNT,
  SHUTDOWN_CORRUPT_INCORE,
  SHUTDOWN_CORRUPT_ONDISK,
  SHUTDOWN_DEVICE_REMOVED,
} from "./fs/shutdown.js";
export { Syscalls, callsOf } from "./syscalls/table.js";
export type { SyncCalls } from "./syscalls/table.js";
export { Process } from "./vfs/process.js";
export {
  OpenFile,
  FdTable,
  O_ACCMODE,
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_DSYNC,
  O_DIRECT,
  O_DIRECTORY,
  O_SYNC,
} from "./vfs/file.js";
export { MOUNT_POINT, lookupPath, lookupParent, pathComponents } from "./vfs/path.js";
export { SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE } from "./syscalls/files.js";
export {
  FICLONE,
  FICLONERANGE,
  FIDEDUPERANGE,
  FS_IOC_FIEMAP,
  FIEMAP_FLAG_SYNC,
  FS_IOC_FSGETXATTR,
  FS_IOC_FSSETXATTR,
  FILE_DEDUPE_RANGE_SAME,
  FILE_DEDUPE_RANGE_DIFFERS,
} from "./syscalls/ioctl.js";
export type { FileCloneRange, DedupeDest, DedupeInfo } from "./syscalls/ioctl.js";
export {
  MS_ASYNC,
  MS_INVALIDATE,
  MS_SYNC,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_COLD,
  MADV_PAGEOUT,
  MADV_HWPOISON,
} from "./syscalls/mman.js";
export type { MmapRequest, AccessOutcome } from "./syscalls/mman.js";
export { PR_MCE_KILL, PR_MCE_KILL_GET, SI_USER } from "./syscalls/process.js";
export { XFS_SUPER_MAGIC, DT_DIR, DT_REG } from "./syscalls/statfs.js";
export type { Statfs, Dirent } from "./syscalls/statfs.js";
