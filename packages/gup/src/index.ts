/**
 * @pagelab/gup: get_user_pages() / pin_user_pages() with the FOLL_* flags, the pin
 * counting bias, the long-term pin rules for fsdax, historic-bug switches, page proxies
 * and a simulated DMA engine.
 */
export {
  FOLL_WRITE, FOLL_GET, FOLL_DUMP, FOLL_FORCE, FOLL_NOWAIT, FOLL_NOFAULT, FOLL_HWPOISON, FOLL_ANON, FOLL_LONGTERM,
  FOLL_SPLIT_PMD, FOLL_PCI_P2PDMA, FOLL_INTERRUPTIBLE, FOLL_HONOR_NUMA_FAULT, FOLL_TOUCH, FOLL_TRIED, FOLL_REMOTE,
  FOLL_PIN, FOLL_FAST_ONLY, FOLL_UNLOCKABLE, FOLL_MADV_POPULATE, INTERNAL_GUP_FLAGS, formatFollFlags, isValidGupArgs,
} from "./foll.js";
export type { GupArgsCheck } from "./foll.js";
export { NO_GUP_BUGS, gupState, gupSetup } from "./config.js";
export type { GupBugSwitches, GupStats, GupState } from "./config.js";
export {
  gupPagePfn, tryGrabFolio, gupPutFolio, unpinUserPage, unpinUserPages, putUserPageRef, setPageDirtyLock,
  unpinUserPagesDirtyLock, unpinUserPageRangeDirtyLock, folioAddPin,
} from "./grab.js";
export { vmaIsDax, vmaIsFsdax, vmaNeedsDirtyTracking, writableFileMappingAllowed, checkVmaFlags } from "./vmaFlags.js";
export { followPageMask, followPageContextDone, gupMustUnshare } from "./follow.js";
export type { FollowResult, FollowPageContext } from "./follow.js";
export { vmFaultToErrno, fatalSignalPending, gupSignalPending, faultinPage } from "./faultin.js";
export type { GupLocked } from "./faultin.js";
export {
  mmSetHasPinnedFlag, getUserPagesCore, gupLongtermLocked, getUserPages, getUserPagesRemote, getUserPagesUnlocked,
  pinUserPages, pinUserPagesRemote, pinUserPagesUnlocked, faultinPageRange,
} from "./gup.js";
export type { GupResult, GupRemoteOptions } from "./gup.js";
export { folioIsLongtermPinnable, getUserPagesFast, pinUserPagesFast, getUserPagesFastOnly } from "./fast.js";
export { PROXY_METADATA_BYTES, ProxyTable } from "./proxy.js";
export type { ProxyStats, ProxyInfo } from "./proxy.js";
export { pinUserPagesProxied, getUserPagesProxied } from "./proxyGup.js";
export { DmaEngine, DmaRequest } from "./dma.js";
export type { DmaDirection, DmaRequestInit, DmaFinding } from "./dma.js";
export { accessRemoteVm, procPidMemRw } from "./access.js";
export {
  bootGupMachine, runAs, withMmapReadLock, mmapPages, ascii, poke, peek, peekText, SparseBacking, addDevicePages, daxFile,
} from "./testing.js";
export type { GupMachineOptions } from "./testing.js";
