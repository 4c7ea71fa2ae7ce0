/**
 * Value entries: small integers stored in an XArray slot instead of a pointer.
 *
 * @see include/linux/xarray.h xa_mk_value(), xa_is_value(), xa_to_value()
 *
 * The kernel tags a value by setting bit 0 (pointers are 4-byte aligned). Entries here are
 * JS values, and numeric entries follow the same rule: an odd number is a value entry
 * (`v * 2 + 1`), an even number is a "pointer" such as a page handle (`pfn * 2`).
 */

/** `xa_mk_value()`. */
export function xaMkValue(v: number): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > (Number.MAX_SAFE_INTEGER - 1) / 2)
    throw new RangeError(`xaMkValue: ${v} does not fit in a value entry`);
  return v * 2 + 1;
}

/** `xa_is_value()`. */
export function xaIsValue(entry: unknown): entry is number {
  return typeof entry === "number" && entry % 2 === 1;
}

/** `xa_to_value()`. */
export function xaToValue(entry: number): number {
  if (!xaIsValue(entry)) throw new RangeError(`xaToValue: ${entry} is not a value entry`);
  return (entry - 1) / 2;
}
