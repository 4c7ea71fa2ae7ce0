/**
 * Finding physical address space for device memory that has no address of its own.
 *
 * @see kernel/resource.c request_free_mem_region(), gfr_start(), gfr_continue();
 *      include/linux/memremap.h (MEMORY_DEVICE_PRIVATE ranges come from here)
 *
 * Like the kernel, the search runs top-down from the end of the physical address space
 * (MAX_PHYSMEM_BITS = 46 on x86-64 4-level paging: 64 TiB), so device-private ranges
 * land above DRAM and above any pmem region, in section-aligned steps. "Free" means no
 * struct pages there yet; the caller then calls `memremapPages()` on the range.
 */
import { KernelError, PAGE_SIZE, PAGES_PER_SECTION, PAGES_PER_SUBSECTION, type Memmap, type PhysRange } from "@pagelab/mm-core";

/** `1 << MAX_PHYSMEM_BITS`. */
export const MAX_PHYSMEM_END = 2 ** 46;
const SECTION_BYTES = PAGES_PER_SECTION * PAGE_SIZE;

/** `request_free_mem_region()`: a free, section-aligned range of `size` bytes, highest first. */
export function requestFreeMemRegion(memmap: Memmap, size: number, reserved: readonly PhysRange[] = []): PhysRange {
  if (!(size > 0) || size % (PAGES_PER_SUBSECTION * PAGE_SIZE) !== 0)
    throw new KernelError("EINVAL", `request_free_mem_region: size ${size} is not a multiple of 2 MiB`);
  const span = Math.ceil(size / SECTION_BYTES) * SECTION_BYTES;
  for (let start = MAX_PHYSMEM_END - span; start >= 0; start -= SECTION_BYTES) {
    const end = start + size;
    if (reserved.some((r) => start <= r.end && r.start < end)) continue;
    let free = true;
    for (let p = start / PAGE_SIZE; p < end / PAGE_SIZE; p += PAGES_PER_SUBSECTION)
      if (memmap.rangeOf(p)) {
        free = false;
        break;
      }
    if (free) return { start, end: end - 1 };
  }
  throw new KernelError("ENOSPC", "request_free_mem_region: no free physical address range");
}
