/**
 * The constants of the mm API, with the kernel's values: VMA flags, fault flags, fault
 * results, mmap/mprotect/mremap arguments and memory-failure flags.
 *
 * @see include/linux/mm.h VM_*, include/linux/mm_types.h enum fault_flag and
 *      enum vm_fault_reason, include/uapi/asm-generic/mman-common.h, mman.h,
 *      include/uapi/linux/mman.h, include/linux/mm.h enum mf_flags
 *
 * VM_MERGEABLE (bit 31) and the arch bits are left out so every flag fits a signed
 * 32-bit JS bitwise operation.
 */

// --- vm_flags (include/linux/mm.h) ---
export const VM_NONE = 0x00000000;
export const VM_READ = 0x00000001;
export const VM_WRITE = 0x00000002;
export const VM_EXEC = 0x00000004;
export const VM_SHARED = 0x00000008;
export const VM_MAYREAD = 0x00000010;
export const VM_MAYWRITE = 0x00000020;
export const VM_MAYEXEC = 0x00000040;
export const VM_MAYSHARE = 0x00000080;
export const VM_GROWSDOWN = 0x00000100;
export const VM_PFNMAP = 0x00000400;
export const VM_LOCKED = 0x00002000;
export const VM_IO = 0x00004000;
export const VM_DONTCOPY = 0x00020000;
export const VM_DONTEXPAND = 0x00040000;
export const VM_ACCOUNT = 0x00100000;
export const VM_NORESERVE = 0x00200000;
export const VM_HUGETLB = 0x00400000;
export const VM_SYNC = 0x00800000;
export const VM_WIPEONFORK = 0x02000000;
export const VM_DONTDUMP = 0x04000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
/** Flags a VMA split or merge must agree on besides protection. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

const VM_FLAG_NAMES: readonly [number, string][] = [
  [VM_READ, "read"], [VM_WRITE, "write"], [VM_EXEC, "exec"], [VM_SHARED, "shared"],
  [VM_MAYREAD, "mayread"], [VM_MAYWRITE, "maywrite"], [VM_MAYEXEC, "mayexec"],
  [VM_MAYSHARE, "mayshare"], [VM_GROWSDOWN, "growsdown"], [VM_PFNMAP, "pfnmap"],
  [VM_LOCKED, "locked"], [VM_IO, "io"], [VM_DONTCOPY, "dontcopy"], [VM_DONTEXPAND, "dontexpand"],
  [VM_ACCOUNT, "account"], [VM_NORESERVE, "noreserve"], [VM_HUGETLB, "hugetlb"], [VM_SYNC, "sync"],
  [VM_WIPEONFORK, "wipeonfork"], [VM_DONTDUMP, "dontdump"], [VM_MIXEDMAP, "mixedmap"],
  [VM_HUGEPAGE, "hugepage"], [VM_NOHUGEPAGE, "nohugepage"],
];

/** `%pGv`-style rendering of vm_flags, as dump_vma() prints them. */
export function formatVmFlags(flags: number): string {
  return VM_FLAG_NAMES.filter(([f]) => (flags & f) !== 0).map(([, n]) => n).join("|");
}

// --- enum fault_flag (include/linux/mm_types.h) ---
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_MKWRITE = 1 << 1;
export const FAULT_FLAG_ALLOW_RETRY = 1 << 2;
export const FAULT_FLAG_RETRY_NOWAIT = 1 << 3;
export const FAULT_FLAG_KILLABLE = 1 << 4;
export const FAULT_FLAG_TRIED = 1 << 5;
export const FAULT_FLAG_USER = 1 << 6;
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_INSTRUCTION = 1 << 8;
export const FAULT_FLAG_INTERRUPTIBLE = 1 << 9;
export const FAULT_FLAG_UNSHARE = 1 << 10;
export const FAULT_FLAG_ORIG_PTE_VALID = 1 << 11;
export const FAULT_FLAG_VMA_LOCK = 1 << 12;
/** What the arch fault handler passes for a user access (`FAULT_FLAG_DEFAULT`). */
export const FAULT_FLAG_DEFAULT = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE;

// --- enum vm_fault_reason (include/linux/mm_types.h, 6.12) ---
export const VM_FAULT_OOM = 0x000001;
export const VM_FAULT_SIGBUS = 0x000002;
export const VM_FAULT_MAJOR = 0x000004;
export const VM_FAULT_HWPOISON = 0x000010;
export const VM_FAULT_HWPOISON_LARGE = 0x000020;
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_NOPAGE = 0x000100;
export const VM_FAULT_LOCKED = 0x000200;
export const VM_FAULT_RETRY = 0x000400;
export const VM_FAULT_FALLBACK = 0x000800;
export const VM_FAULT_DONE_COW = 0x001000;
export const VM_FAULT_NEEDDSYNC = 0x002000;
export const VM_FAULT_COMPLETED = 0x004000;
export const VM_FAULT_HINDEX_MASK = 0x0f0000;
export const VM_FAULT_ERROR =
  VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK;

const VM_FAULT_NAMES: readonly [number, string][] = [
  [VM_FAULT_OOM, "OOM"], [VM_FAULT_SIGBUS, "SIGBUS"], [VM_FAULT_MAJOR, "MAJOR"],
  [VM_FAULT_HWPOISON, "HWPOISON"], [VM_FAULT_HWPOISON_LARGE, "HWPOISON_LARGE"],
  [VM_FAULT_SIGSEGV, "SIGSEGV"], [VM_FAULT_NOPAGE, "NOPAGE"], [VM_FAULT_LOCKED, "LOCKED"],
  [VM_FAULT_RETRY, "RETRY"], [VM_FAULT_FALLBACK, "FALLBACK"], [VM_FAULT_DONE_COW, "DONE_COW"],
  [VM_FAULT_NEEDDSYNC, "NEEDDSYNC"], [VM_FAULT_COMPLETED, "COMPLETED"],
];

/** `VM_FAULT_RESULT_TRACE` names joined by `|`, as the fs_dax tracepoints print them. */
export function formatVmFault(ret: number): string {
  const names = VM_FAULT_NAMES.filter(([f]) => (ret & f) !== 0).map(([, n]) => n);
  return names.length ? names.join("|") : "0x0";
}

// --- mmap(2), mprotect(2), mremap(2) arguments ---
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_SYNC = 0x80000;
export const MAP_FIXED_NOREPLACE = 0x100000;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

// --- enum mf_flags (include/linux/mm.h) ---
export const MF_COUNT_INCREASED = 1 << 0;
export const MF_ACTION_REQUIRED = 1 << 1;
export const MF_MUST_KILL = 1 << 2;
export const MF_SOFT_OFFLINE = 1 << 3;
export const MF_UNPOISON = 1 << 4;
export const MF_SW_SIMULATED = 1 << 5;
export const MF_NO_RETRY = 1 << 6;
export const MF_MEM_PRE_REMOVE = 1 << 7;
