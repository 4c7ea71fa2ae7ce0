/**
 * The swap-format page-table entries device memory and migration leave in CPU page
 * tables: device-private entries (a CPU access faults into `migrate_to_ram`) and
 * migration entries (the page is being moved; wait and retry).
 *
 * @see include/linux/swapops.h make_readable_device_private_entry(),
 *      make_writable_device_private_entry(), is_device_private_entry(),
 *      is_writable_device_private_entry(), make_readable_migration_entry(),
 *      make_writable_migration_entry(), is_migration_entry(),
 *      is_writable_migration_entry(), pfn_swap_entry_to_page()
 *
 * Built on mm-core's encoding (vm/pgtable.ts: `mkSwapEntry`, `SWP_DEVICE_*`,
 * `SWP_MIGRATION_*`). Simplified: no readable-exclusive migration entries and no
 * young/dirty bits in migration entries (the restored PTE is young, and dirty when the
 * page is dirty and the entry writable).
 */
import {
  SWP_DEVICE_READ,
  SWP_DEVICE_WRITE,
  SWP_MIGRATION_READ,
  SWP_MIGRATION_WRITE,
  isSwapPte,
  mkSwapEntry,
  swpOffset,
  swpType,
  type Pfn,
  type PteVal,
} from "@pagelab/mm-core";

export function makeReadableDevicePrivateEntry(pfn: Pfn): PteVal {
  return mkSwapEntry(SWP_DEVICE_READ, pfn);
}
export function makeWritableDevicePrivateEntry(pfn: Pfn): PteVal {
  return mkSwapEntry(SWP_DEVICE_WRITE, pfn);
}
export function isDevicePrivateEntry(v: PteVal): boolean {
  if (!isSwapPte(v)) return false;
  const t = swpType(v);
  return t === SWP_DEVICE_READ || t === SWP_DEVICE_WRITE;
}
export function isWritableDevicePrivateEntry(v: PteVal): boolean {
  return isSwapPte(v) && swpType(v) === SWP_DEVICE_WRITE;
}

export function makeReadableMigrationEntry(pfn: Pfn): PteVal {
  return mkSwapEntry(SWP_MIGRATION_READ, pfn);
}
export function makeWritableMigrationEntry(pfn: Pfn): PteVal {
  return mkSwapEntry(SWP_MIGRATION_WRITE, pfn);
}
export function isMigrationEntry(v: PteVal): boolean {
  if (!isSwapPte(v)) return false;
  const t = swpType(v);
  return t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE;
}
export function isWritableMigrationEntry(v: PteVal): boolean {
  return isSwapPte(v) && swpType(v) === SWP_MIGRATION_WRITE;
}

/** `pfn_swap_entry_to_page()` for device-private and migration entries. */
export function pfnSwapEntryToPfn(v: PteVal): Pfn {
  return swpOffset(v) as Pfn;
}
