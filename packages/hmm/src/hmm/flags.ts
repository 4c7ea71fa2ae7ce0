/**
 * `hmm_pfns`: the array hmm_range_fault() fills, one word per page, in the 6.x layout
 * (flags in the top byte of a 64-bit word, the pfn below).
 *
 * @see include/linux/hmm.h enum hmm_pfn_flags, hmm_pfn_to_page(), hmm_pfn_to_map_order()
 *
 * A JS number cannot hold a 64-bit word exactly, so the model splits each word in two
 * typed arrays: `pfn[i]` (bits 0..55, a Float64Array) and `flags[i]` (bits 56..63, a
 * Uint8Array). The flag constants keep the kernel's names and bit positions, expressed
 * in that top byte: HMM_PFN_VALID is bit 63 of the word, so 0x80 in `flags[i]`;
 * HMM_PFN_WRITE (bit 62) is 0x40; HMM_PFN_ERROR (bit 61) is 0x20; the map order sits
 * at HMM_PFN_ORDER_SHIFT (56), the low 5 bits of the byte. `hmmPfnToWord()` and
 * `hmmPfnFromWord()` convert to and from the exact kernel word as a bigint.
 */

/** `BITS_PER_LONG - 8`: where the flag byte (and the map order) starts. */
export const HMM_PFN_ORDER_SHIFT = 56;

/** Output: the entry is valid (bit 63). Input: `HMM_PFN_REQ_FAULT`. */
export const HMM_PFN_VALID = 0x80;
/** Output: the CPU may write (bit 62). Input: `HMM_PFN_REQ_WRITE`. */
export const HMM_PFN_WRITE = 0x40;
/** Output: the address cannot be mirrored (bit 61). */
export const HMM_PFN_ERROR = 0x20;
/** The 5-bit map order field (`(word >> HMM_PFN_ORDER_SHIFT) & 0x1F`). */
export const HMM_PFN_ORDER_MASK = 0x1f;
/** Every flag bit (`0xFFUL << HMM_PFN_ORDER_SHIFT`). */
export const HMM_PFN_FLAGS = 0xff;

/** Input: fault the page in if it is not valid. */
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
/** Input: fault it in writable. */
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;

/** `range->hmm_pfns`, split into pfn and flag columns (see the module header). */
export interface HmmPfns {
  readonly pfn: Float64Array;
  readonly flags: Uint8Array;
}

/** An hmm_pfns array for `npages` pages, every entry 0 (no request). */
export function hmmPfnsAlloc(npages: number): HmmPfns {
  return { pfn: new Float64Array(npages), flags: new Uint8Array(npages) };
}

/** `hmm_pfn_to_map_order()`. */
export function hmmPfnToMapOrder(flags: number): number {
  return flags & HMM_PFN_ORDER_MASK;
}

/** `order << HMM_PFN_ORDER_SHIFT`, in the flag byte. */
export function hmmPfnFlagsOrder(order: number): number {
  return order & HMM_PFN_ORDER_MASK;
}

/** The kernel's 64-bit word for entry `i`. */
export function hmmPfnToWord(pfns: HmmPfns, i: number): bigint {
  return (BigInt(pfns.flags[i]!) << BigInt(HMM_PFN_ORDER_SHIFT)) | BigInt(pfns.pfn[i]!);
}

/** Store a kernel 64-bit word in entry `i`. */
export function hmmPfnFromWord(pfns: HmmPfns, i: number, word: bigint): void {
  const shift = BigInt(HMM_PFN_ORDER_SHIFT);
  pfns.flags[i] = Number((word >> shift) & 0xffn);
  pfns.pfn[i] = Number(word & ((1n << shift) - 1n));
}

/** Render a flag byte the way a debugger would name the bits. */
export function formatHmmPfnFlags(flags: number): string {
  const parts: string[] = [];
  if (flags & HMM_PFN_VALID) parts.push("VALID");
  if (flags & HMM_PFN_WRITE) parts.push("WRITE");
  if (flags & HMM_PFN_ERROR) parts.push("ERROR");
  const order = hmmPfnToMapOrder(flags);
  if (order) parts.push(`ORDER(${order})`);
  return parts.length ? parts.join("|") : "0";
}
