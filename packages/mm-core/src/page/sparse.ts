/**
 * SPARSEMEM geometry on x86_64.
 *
 * @see include/linux/mmzone.h PAGES_PER_SECTION, PAGES_PER_SUBSECTION;
 *      arch/x86/include/asm/sparsemem.h SECTION_SIZE_BITS
 */
export const SECTION_SIZE_BITS = 27;
export const PFN_SECTION_SHIFT = SECTION_SIZE_BITS - 12;
/** 32768 pages: 128 MiB. */
export const PAGES_PER_SECTION = 1 << PFN_SECTION_SHIFT;
/** 512 pages: 2 MiB, the memory hotplug (and memremap) granularity. */
export const PAGES_PER_SUBSECTION = 512;
