/**
 * Pre-faulting a range (`MAP_POPULATE`, `mm_populate()`): fault in every page as the
 * first access would, writes for private writable mappings so CoW is already broken.
 *
 * @see mm/gup.c __mm_populate(), populate_vma_page_range(), faultin_page()
 *
 * Simplified: faults are driven directly through handleMmFault rather than through GUP;
 * errors stop the population of that VMA silently, as mm_populate ignores them.
 */
import type { Sleepable } from "../sched/sleepable.js";
import { PAGE_SIZE } from "../types.js";
import { handleMmFault } from "./fault.js";
import { FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_SHARED, VM_WRITE, VM_READ, VM_EXEC } from "./flags.js";
import type { MmStruct } from "./mm.js";
import { pmdLeaf, ptePresent, pteWrite, pudLeaf } from "./pgtable.js";

/** `mm_populate()`: takes mmap_lock for reading. */
export function* mmPopulate(mm: MmStruct, start: number, len: number): Sleepable {
  yield* mm.mmapLock.downRead();
  try {
    for (const vma of mm.vmas.intersecting(start, start + len)) {
      if (!(vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC))) continue;
      const write = (vma.vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
      const s = Math.max(start, vma.vmStart);
      const e = Math.min(start + len, vma.vmEnd);
      for (let addr = s; addr < e; addr += PAGE_SIZE) {
        for (let tries = 0; tries < 4; tries++) {
          if (pudLeaf(mm.pgtables.pudAt(addr)) || pmdLeaf(mm.pgtables.pmdAt(addr))) break;
          const pte = mm.pgtables.pteAt(addr);
          if (ptePresent(pte) && (!write || pteWrite(pte))) break;
          const ret = yield* handleMmFault(vma, addr, write ? FAULT_FLAG_WRITE : 0);
          if (ret & VM_FAULT_ERROR) return;
        }
      }
    }
  } finally {
    mm.mmapLock.upRead();
  }
}
