/**
 * `struct mmu_gather`: batch the TLB flush of an unmap and free the pages only after it,
 * so no CPU can still reach a freed page through a stale TLB entry.
 *
 * @see include/asm-generic/tlb.h, mm/mmu_gather.c tlb_gather_mmu(), tlb_finish_mmu(),
 *      __tlb_remove_page(), tlb_flush_mmu(); arch/x86/mm/tlb.c flush_tlb_mm_range()
 *
 * The model has no TLB to go stale: flushes are counted on the mm (one per gather that
 * cleared anything) and secondary MMUs are told through mmu notifiers.
 */
import type { Pfn } from "../types.js";
import { PAGE_SIZE } from "../types.js";
import type { MmStruct } from "./mm.js";
import { mmuNotifierArchInvalidateSecondaryTlbs } from "./mmuNotifier.js";

export class MmuGather {
  private start = Infinity;
  private end = 0;
  private readonly pages: Pfn[] = [];
  freedTables = false;

  constructor(readonly mm: MmStruct) {}

  /** `tlb_remove_tlb_entry()`: a present entry covering [addr, addr + size) was cleared. */
  removeTlbEntry(addr: number, size = PAGE_SIZE): void {
    if (addr < this.start) this.start = addr;
    if (addr + size > this.end) this.end = addr + size;
  }

  /** `tlb_remove_page()`: drop the mapping's reference after the flush. */
  removePage(pfn: Pfn): void {
    this.pages.push(pfn);
  }

  /** `tlb_flush_mmu()`: flush what was gathered and free the pages. */
  flushMmu(): void {
    if (this.end > this.start || this.freedTables) {
      const start = this.end > this.start ? this.start : 0;
      const end = this.end > this.start ? this.end : 0;
      this.mm.flushTlbRange(Math.max(0, (end - start) / PAGE_SIZE));
      mmuNotifierArchInvalidateSecondaryTlbs(this.mm, start, end);
    }
    this.start = Infinity;
    this.end = 0;
    this.freedTables = false;
    const memmap = this.mm.ctx.memmap;
    for (const pfn of this.pages.splice(0)) memmap.putPage(pfn);
  }

  /** `tlb_finish_mmu()`. */
  finish(): void {
    this.flushMmu();
  }
}

/** `flush_tlb_page()` / `ptep_clear_flush()`'s flush of one page. */
export function flushTlbPage(mm: MmStruct, addr: number, size = PAGE_SIZE): void {
  mm.flushTlbRange(size / PAGE_SIZE);
  mmuNotifierArchInvalidateSecondaryTlbs(mm, addr, addr + size);
}

/** `flush_tlb_mm()`: flush the whole address space (fork write-protected the parent). */
export function flushTlbMm(mm: MmStruct): void {
  mm.flushTlbRange(0);
  mmuNotifierArchInvalidateSecondaryTlbs(mm, 0, mm.taskSize);
}
