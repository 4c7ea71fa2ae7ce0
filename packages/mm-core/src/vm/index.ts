export {
  VM_NONE, VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_MAYREAD, VM_MAYWRITE, VM_MAYEXEC, VM_MAYSHARE, VM_GROWSDOWN,
  VM_PFNMAP, VM_LOCKED, VM_IO, VM_DONTCOPY, VM_DONTEXPAND, VM_ACCOUNT, VM_NORESERVE, VM_HUGETLB, VM_SYNC,
  VM_WIPEONFORK, VM_DONTDUMP, VM_MIXEDMAP, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_ACCESS_FLAGS, VM_SPECIAL, formatVmFlags,
  FAULT_FLAG_WRITE, FAULT_FLAG_MKWRITE, FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_RETRY_NOWAIT, FAULT_FLAG_KILLABLE,
  FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_REMOTE, FAULT_FLAG_INSTRUCTION, FAULT_FLAG_INTERRUPTIBLE,
  FAULT_FLAG_UNSHARE, FAULT_FLAG_ORIG_PTE_VALID, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_DEFAULT,
  VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_MAJOR, VM_FAULT_HWPOISON, VM_FAULT_HWPOISON_LARGE, VM_FAULT_SIGSEGV,
  VM_FAULT_NOPAGE, VM_FAULT_LOCKED, VM_FAULT_RETRY, VM_FAULT_FALLBACK, VM_FAULT_DONE_COW, VM_FAULT_NEEDDSYNC,
  VM_FAULT_COMPLETED, VM_FAULT_HINDEX_MASK, VM_FAULT_ERROR, formatVmFault,
  PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE, MAP_FIXED,
  MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_SYNC, MAP_FIXED_NOREPLACE, MREMAP_MAYMOVE, MREMAP_FIXED,
  MREMAP_DONTUNMAP, MF_COUNT_INCREASED, MF_ACTION_REQUIRED, MF_MUST_KILL, MF_SOFT_OFFLINE, MF_UNPOISON,
  MF_SW_SIMULATED, MF_NO_RETRY, MF_MEM_PRE_REMOVE,
} from "./flags.js";
export {
  PageTables, PTRS_PER_PTE, PTRS_PER_PMD, PTRS_PER_PUD, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE,
  _PAGE_PROTNONE, _PAGE_SPECIAL, _PAGE_DEVMAP, _PAGE_SWP, pteNone, ptePresent, pteUserAccessible, pteWrite, pteDirty,
  pteYoung, pteSpecial, pteDevmap, ptePfn, pteBits, pteMkwrite, pteWrprotect, pteMkdirty, pteMkclean, pteMkyoung,
  pteMkold, pteMkspecial, pteMkdevmap, pfnPte, pteModify, pmdNone, pmdPresent, pmdLeaf, pmdWrite, pmdDirty, pmdYoung,
  pmdDevmap, pmdPfn, pmdMkwrite, pmdWrprotect, pmdMkdirty, pmdMkclean, pmdMkyoung, pmdMkdevmap, pmdMkhuge, pfnPmd,
  pudNone, pudPresent, pudLeaf, pudWrite, pudDirty, pudYoung, pudDevmap, pudPfn, pudMkwrite, pudWrprotect, pudMkdirty,
  pudMkclean, pudMkyoung, pudMkold, pudMkdevmap, pudMkspecial, pudMkhuge, pfnPud,
  SWP_HWPOISON, SWP_DEVICE_READ, SWP_DEVICE_WRITE, SWP_MIGRATION_READ, SWP_MIGRATION_WRITE, mkSwapEntry, isSwapPte,
  swpType, swpOffset, makeHwpoisonEntry, isHwpoisonEntry,
} from "./pgtable.js";
export type { PteVal, PgtableStats } from "./pgtable.js";
export { IntervalTree } from "./intervalTree.js";
export { VmaTree } from "./vmaTree.js";
export {
  VmAreaStruct, vmaIsAnonymous, isCowMapping, vmGetPageProt, vmaWantsWritenotify, vmaSetPageProt, vmaIsWritable,
} from "./vma.js";
export type { VmFile, VmFault, VmOperationsStruct } from "./vma.js";
export { AnonVma, anonVmaPrepare, anonVmaClone, anonVmaFork, unlinkAnonVmas, anonVmaUpdate } from "./anonVma.js";
export {
  AddressSpace, AS_EIO, AS_ENOSPC, AS_MM_ALL_LOCKS, AS_UNEVICTABLE, AS_EXITING, AS_NO_WRITEBACK_TAGS,
  AS_RELEASE_ALWAYS, AS_STABLE_WRITES, AS_INACCESSIBLE, AS_DAX, mappingSetError, iMmapUpdate,
} from "./addressSpace.js";
export type { AddressSpaceOperations, MappingHost } from "./addressSpace.js";
export { VmContext, DEFAULT_MMAP_BASE, TASK_SIZE, MMAP_MIN_ADDR } from "./context.js";
export type { VmContextInit, VmPageAllocator, MfDaxHooks, VmSysctl, VmStats } from "./context.js";
export { MmStruct, MMF_HAS_PINNED } from "./mm.js";
export type { MmRss, MmCountersVm } from "./mm.js";
export {
  MMU_NOTIFY_UNMAP, MMU_NOTIFY_CLEAR, MMU_NOTIFY_PROTECTION_VMA, MMU_NOTIFY_PROTECTION_PAGE, MMU_NOTIFY_SOFT_DIRTY,
  MMU_NOTIFY_RELEASE, MMU_NOTIFY_MIGRATE, MMU_NOTIFY_EXCLUSIVE, MMU_NOTIFIER_RANGE_BLOCKABLE, MmuNotifier,
  MmuIntervalNotifier, MmuNotifierSubscriptions, mmuNotifierRangeInit, mmuNotifierRangeBlockable, mmuNotifierRegister,
  mmuNotifierUnregister, mmuNotifierRelease, mmuNotifierInvalidateRangeStart, mmuNotifierInvalidateRangeStartNonblock, mmuNotifierInvalidateRangeEnd,
  mmuNotifierArchInvalidateSecondaryTlbs, mmuNotifierClearFlushYoung, mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove, mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalCheckRetry, mmuIntervalSetSeq,
} from "./mmuNotifier.js";
export type { MmuNotifierRange, MmuNotifierOps, MmuIntervalNotifierOps } from "./mmuNotifier.js";
export { MmuGather, flushTlbPage, flushTlbMm } from "./tlb.js";
export {
  TTU_SPLIT_HUGE_PMD, TTU_IGNORE_MLOCK, TTU_SYNC, TTU_HWPOISON, TTU_BATCH_FLUSH, TTU_RMAP_LOCKED, GUP_PIN_COUNTING_BIAS,
  vmNormalPage, folioAddNewAnonRmap, folioAddAnonRmapPte, folioTryDupAnonRmapPte, folioMaybeDmaPinned,
  folioAddFileRmapPte, folioRemoveRmapPte, folioMoveAnonRmap, folioAnonVma, rmapWalk, pageVmaMapped,
  pageMappedInVma, tryToUnmap, folioMkclean, folioReferenced, rmapMappings,
} from "./rmap.js";
export type { RmapHit, PvmwHit } from "./rmap.js";
export {
  filemapDirtyFolio, folioMarkDirty, folioClearDirtyForIo, folioStartWriteback, folioEndWriteback,
  tagPagesForWriteback,
} from "./dirty.js";
export {
  unmapSingleVma, unmapVmas, zapPageRangeSingle, zapPageRange, unmapMappingPages, unmapMappingRange, unmapMappingFolio,
} from "./zap.js";
export type { ZapDetails } from "./zap.js";
export {
  isPageEntry, filemapPeek, filemapGetFolio, findGetPage, filemapAddFolio, addToPageCache, filemapRemoveFolio, deleteFromPageCache,
  filemapGrabFolio, filemapReadFolio, filemapFault, filemapPageMkwrite, genericFileVmOps, truncateInodeFolio,
  truncateInodePagesRange, truncatePagecache, truncatePagecacheRange, mappingEvictFolio, genericErrorRemoveFolio,
  filemapRead, genericPerformWrite, filemapWriteAndWaitRange, mappingDirtyIndexes,
} from "./filemap.js";
export { shmemZeroSetup, shmemAnonVmOps } from "./shmem.js";
export {
  calcVmProtBits, vmUnmappedAreaTopdown, archGetUnmappedAreaTopdown, thpGetUnmappedArea, getUnmappedArea, doMmap,
  mmapRegion, splitVma, doMunmap, doMprotect, doMremap, vmMmap, vmMunmap, sysMprotect, sysMremap, exitMmap,
} from "./mmap.js";
export type { MmapArgs, UnmappedAreaInfo } from "./mmap.js";
export { mmPopulate } from "./populate.js";
export { handleMmFault, handleMmFaultVmf, newVmFault, finishFault, rssCounter, isMachineCheck } from "./fault.js";
export {
  PFN_SG_CHAIN, PFN_SG_LAST, PFN_DEV, PFN_MAP, PFN_SPECIAL, pfnToPfnT, pfnTDevmap, vmfInsertPfnProt, vmfInsertPfn,
  vmfInsertMixed, vmfInsertMixedMkwrite, vmfInsertPfnPmd, vmfInsertPfnPud, vmfIsWrite,
} from "./insertPfn.js";
export type { PfnT } from "./insertPfn.js";
export { copyPageRange, dupMmap, mmput, createProcess, forkProcess, taskMm } from "./fork.js";
export { X86_PF_PROT, X86_PF_WRITE, X86_PF_USER, doUserAddrFault, accessVm, load, store } from "./access.js";
export type { AccessResult } from "./access.js";
export {
  MF_IGNORED, MF_FAILED, MF_DELAYED, MF_RECOVERED, MF_MSG, actionResult, taskEarlyKill, devPagemapMappingShift,
  addToKill, collectProcs, collectProcsFsdax, killProc, killProcs, unmapAndKill, mfGenericKillProcs,
  memoryFailureDevPagemap, memoryFailure,
} from "./memoryFailure.js";
export type { MfMsg, ToKill } from "./memoryFailure.js";
export { bootVm } from "./machine.js";
export type { BootVmOptions, VmMachine } from "./machine.js";
export { MemFile } from "./memfile.js";
