/**
 * The pmem driver's DAX face: translate a page offset of the device to a pfn and say
 * how many pages from there may be mapped directly; the recovery-write and zeroing
 * paths that clear poison.
 *
 * @see drivers/nvdimm/pmem.c __pmem_direct_access(), pmem_dax_direct_access(),
 *      pmem_recovery_write(), pmem_dax_zero_page_range();
 *      drivers/dax/super.c dax_direct_access() (EINVAL, ERANGE, min(avail, nr_pages))
 *
 * Known bad sectors in the range fail with EHWPOISON (Linux 6.4+, what the 6.12 oracle
 * runs; before, -EIO); fs/dax.c turns it into VM_FAULT_HWPOISON for a fault and EIO
 * for read(2). In "recovery-write" mode (DAX_RECOVERY_WRITE) it instead returns the
 * pages before the first bad sector, at least 1, so the caller can recover page by page.
 * Simplified: the count is also clamped to the end of the device when badblocks
 * exist (the kernel then returns `nr_pages` unclamped).
 */
import { PmemError } from "../errors.js";
import { type Pfn, PAGE_SIZE, SECTOR_SIZE, physPfn } from "../types.js";
import type { NdNamespace } from "../nvdimm/namespace.js";
import { pmemClearPoison, pmemDoWrite } from "./pmem-io.js";

/** `enum dax_access_mode`: DAX_ACCESS or DAX_RECOVERY_WRITE. */
export type DaxAccessMode = "access" | "recovery-write";

export interface DaxDirectAccessResult {
  /** pfn of `pgoff`. */
  readonly pfn: Pfn;
  /** Physical address of `pgoff`. */
  readonly physAddr: number;
  /** Contiguous usable pages from `pgoff` on (1..nrPages). */
  readonly nrAvailable: number;
}

const SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;

export function pmemDaxDirectAccess(
  ns: NdNamespace,
  pgoff: number,
  nrPages: number,
  mode: DaxAccessMode,
): DaxDirectAccessResult {
  if (!Number.isSafeInteger(nrPages) || nrPages < 0) throw new PmemError("EINVAL", `nr_pages ${nrPages}`);
  if (!Number.isSafeInteger(pgoff) || pgoff < 0 || pgoff >= ns.nrPages) {
    throw new PmemError("ERANGE", `pgoff ${pgoff} is outside ${ns.devName} (${ns.nrPages} pages)`);
  }
  const physAddr = ns.dataPhysAddr + pgoff * PAGE_SIZE;
  const pfn = physPfn(physAddr);
  const remaining = ns.nrPages - pgoff;
  const sector = pgoff * SECTORS_PER_PAGE;
  const hit = ns.badblocks.count ? ns.badblocks.check(sector, nrPages * SECTORS_PER_PAGE) : undefined;
  if (hit) {
    if (mode !== "recovery-write") {
      throw new PmemError("EHWPOISON", `${ns.devName}: bad sector ${hit.firstBad} in pages [${pgoff}, +${nrPages})`);
    }
    const before = Math.ceil(((hit.firstBad - sector) * SECTOR_SIZE) / PAGE_SIZE);
    return { pfn, physAddr, nrAvailable: Math.max(before, 1) };
  }
  const avail = Math.min(remaining, nrPages);
  if (avail === 0 && ns.badblocks.count) throw new PmemError("ERANGE", "no pages requested");
  return { pfn, physAddr, nrAvailable: avail };
}

/**
 * `pmem_recovery_write()`: write `src` at page `pgoff`. Over known poison only whole
 * pages can be recovered: the poison is cleared, then the data written; a ragged
 * write over poison writes nothing and returns 0, like the kernel.
 */
export function pmemRecoveryWrite(ns: NdNamespace, pgoff: number, src: Uint8Array): number {
  const physAddr = ns.offsetToPhys(pgoff * PAGE_SIZE);
  if (!ns.contains(physAddr, src.length)) throw new PmemError("ERANGE", `write past the end of ${ns.devName}`);
  const sector = pgoff * SECTORS_PER_PAGE;
  if (ns.badblocks.isBad(sector, src.length)) {
    if (src.length % PAGE_SIZE !== 0) return 0;
    try {
      pmemClearPoison(ns, physAddr, src.length);
    } catch {
      return 0;
    }
  }
  ns.memcpyFlushcache(physAddr, src);
  return src.length;
}

/** `pmem_dax_zero_page_range()`: zero whole pages through `pmem_do_write()` (clears known poison). */
export function pmemDaxZeroPageRange(ns: NdNamespace, pgoff: number, nrPages: number): void {
  if (!Number.isSafeInteger(nrPages) || nrPages < 0) throw new PmemError("EINVAL", `nr_pages ${nrPages}`);
  if (!Number.isSafeInteger(pgoff) || pgoff < 0 || pgoff + nrPages > ns.nrPages) {
    throw new PmemError("ERANGE", `pages [${pgoff}, +${nrPages}) outside ${ns.devName}`);
  }
  const zero = new Uint8Array(PAGE_SIZE);
  for (let i = 0; i < nrPages; i++) pmemDoWrite(ns, (pgoff + i) * SECTORS_PER_PAGE, zero);
}
