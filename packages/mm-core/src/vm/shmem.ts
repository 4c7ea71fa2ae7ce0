/**
 * Shared anonymous memory: `mmap(MAP_SHARED | MAP_ANONYMOUS)` is backed by an unnamed
 * tmpfs file ("dev/zero") whose pages start zeroed and never reach a disk.
 *
 * @see mm/shmem.c shmem_zero_setup(), shmem_fault(), shmem_get_folio_gfp(),
 *      shmem_anon_vm_ops
 *
 * Simplified: the file is the model's AddressSpace with a zero-filling ->read_folio,
 * faulted through the generic page-cache path, freed when its last VMA closes; no swap,
 * no huge pages, no size limits.
 */
import { PG_swapbacked, PG_uptodate } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import { trylockPage, unlockPage } from "../page/pagelock.js";
import { handleToPfn, type PageHandle, type Pfn } from "../types.js";
import { AddressSpace } from "./addressSpace.js";
import type { VmContext } from "./context.js";
import { filemapFault, filemapRemoveFolio, isPageEntry } from "./filemap.js";
import type { VmAreaStruct, VmFile, VmOperationsStruct } from "./vma.js";

/** How many VMAs hold each shmem file open (the `struct file` refcount). */
const users = new WeakMap<AddressSpace, number>();

/** `shmem_evict_inode()`: the last mapping went away, so the pages go too. */
function shmemEvict(ctx: VmContext, mapping: AddressSpace): void {
  for (const [, entry] of [...mapping.iPages.entries()]) {
    if (!isPageEntry(entry)) continue;
    const pfn = handleToPfn(entry as PageHandle);
    if (!ctx.memmap.getPageUnlessZero(pfn)) continue;
    if (trylockPage(ctx.memmap, pfn)) {
      filemapRemoveFolio(ctx, pfn);
      unlockPage(ctx.memmap, pfn);
    }
    ctx.memmap.putPage(pfn);
  }
}

/** `shmem_anon_vm_ops`: fault through the page cache; the file lives as long as its VMAs. */
export const shmemAnonVmOps: VmOperationsStruct = {
  name: "shmem_anon_vm_ops",
  fault: filemapFault,
  open(vma) {
    const m = vma.mapping!;
    users.set(m, (users.get(m) ?? 0) + 1);
  },
  close(vma) {
    const m = vma.mapping!;
    const n = (users.get(m) ?? 1) - 1;
    users.set(m, n);
    if (n === 0) shmemEvict(vma.vmMm.ctx, m);
  },
};

/** `shmem_zero_setup()`: give a shared anonymous VMA its tmpfs file. */
export function shmemZeroSetup(vma: VmAreaStruct): void {
  const ctx = vma.vmMm.ctx;
  const size = vma.vmEnd - vma.vmStart;
  const mapping = new AddressSpace({ iSize: size }, {}, "dev/zero");
  mapping.canWriteback = false;
  mapping.aOps = {
    *readFolio(_m: AddressSpace, pfn: Pfn): Sleepable {
      ctx.physMem.zeroPage(pfn);
      ctx.memmap.setPageFlag(pfn, PG_swapbacked);
      ctx.memmap.setPageFlag(pfn, PG_uptodate);
      unlockPage(ctx.memmap, pfn);
    },
  };
  const file: VmFile = { mapping, readable: true, writable: true, mmap() {} };
  vma.vmFile = file;
  vma.vmOps = shmemAnonVmOps;
  users.set(mapping, 1);
}
