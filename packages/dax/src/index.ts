/**
 * @pagelab/dax: fs/dax.c and drivers/dax — DAX entries and their locking, PTE/PMD faults
 * with CoW, read/write, writeback, layout breaking, memory failure through the dax holder,
 * device DAX, mount modes — and the sharing-mechanism interface with its mechanisms.
 */
export * from "./iomap.js";
export * from "./entry/index.js";
export { createDaxCosts, snapshotCosts, costsSince } from "./costs.js";
export type { DaxCosts } from "./costs.js";
export { DaxContext, setupFsDax } from "./context.js";
export type { FsDaxSetup } from "./context.js";
export { DaxDevice, DAX_WHOLE_DEVICE, fsDaxGetByBdev, fsPutDax, daxHolderNotifyFailure, killDax } from "./device/daxDevice.js";
export type { DaxHolderOperations } from "./device/daxDevice.js";
export {
  MECHANISM_IDS,
  IMPLEMENTED_MECHANISMS,
  createMechanism,
  OneToOneMechanism,
  SharedCountMechanism,
  PageCacheCopyMechanism,
  COPY_RECORD_BYTES,
  checkDaxReflinkMount,
  daxPageIsShared,
  daxPageShareGet,
  daxPageSharePut,
  forEachMappedPfn,
  pageFieldOwner,
} from "./mechanism/index.js";
export type { MechanismId, SharingMechanism, InsertRequest, MapTarget, PageOwnerAnswer, OneToOneOptions } from "./mechanism/index.js";
export { daxIomapFault, daxFaultCheckFallback } from "./fault/fault.js";
export type { PfnOut } from "./fault/fault.js";
export { daxInsertEntry } from "./fault/insert.js";
export { daxIomapPgoff, daxIomapDirectAccess, daxIomapCopyAround, daxFaultReturn } from "./fault/access.js";
export { daxFinishSyncFault, daxInsertPfnMkwrite } from "./fault/sync.js";
export { daxVmOps, daxMmap, daxFilemapFault } from "./fault/vmops.js";
export type { DaxFileOps } from "./fault/vmops.js";
export {
  KernelOops,
  DAX_LOCK_FOLIO_RIP,
  daxLockFolio,
  daxUnlockFolio,
  daxLockMappingEntry,
  daxUnlockMappingEntry,
  mfDaxKillProcs,
} from "./mf/memoryFailure.js";
export type { KernelOopsReport, DaxCookie } from "./mf/memoryFailure.js";
export {
  daxLayoutBusyPageRange,
  daxLayoutBusyPage,
  daxPageIsIdle,
  daxBreakLayouts,
  daxPinPage,
  daxUnpinPage,
} from "./layout/busy.js";
export type { BreakLayoutLocks } from "./layout/busy.js";
export { FixtureFs, FixtureInode } from "./testing/fixture.js";
export type { FixtureFsOptions, FixtureOwner } from "./testing/fixture.js";
export { bootDaxMachine } from "./testing/machine.js";
export type { DaxMachine, DaxMachineOptions } from "./testing/machine.js";
export { daxIomapRw, daxZeroRange, daxTruncatePage, daxFileUnshare, daxDedupeFileRangeCompare } from "./rw/rw.js";
export { daxWritebackMappingRange } from "./writeback/writeback.js";
export { DevDax } from "./devdax/devdax.js";
export { FS_XFLAG_DAX, STATX_ATTR_DAX, parseDaxMountOption, daxInodeShouldEnable } from "./mode/mount.js";
export type { DaxMountMode, DaxInodeState } from "./mode/mount.js";
export {
  traceDaxPteFault,
  traceDaxPmdFault,
  traceDaxPmdLoadHole,
  traceDaxWritebackRange,
  traceDaxWritebackOne,
} from "./trace/fsDax.js";
export type { DaxTraceHost, DaxPteFaultEvent } from "./trace/fsDax.js";
