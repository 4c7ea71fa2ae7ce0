/**
 * Address Range Scrub: the platform firmware reads a system-physical-address range
 * and reports the uncorrectable errors it finds, so the OS learns of poison before
 * a load consumes it.
 *
 * @see drivers/acpi/nfit/core.c ars_start(), ars_status_process_records(),
 *      acpi_nfit_ars_rescan(), ars_complete(); Documentation/firmware-guide/acpi/nfit
 *
 * Simplified: synchronous (no ARS_START/ARS_STATUS polling, no short vs long scrub,
 * no overflow of the status buffer), and a record is a merged run of poisoned cache
 * lines rather than the firmware's clear-error-unit granules.
 */
import { CACHELINE_SIZE } from "../types.js";
import { type BadRange, lineRangesToBadRanges } from "./badrange.js";
import type { NdRegion } from "./region.js";

/** The errors firmware finds in `[physStart, physEnd)` of `region`. */
export function arsScanRegion(region: NdRegion, physStart: number, physEnd: number): BadRange[] {
  const s = Math.max(physStart, region.physAddr) - region.physAddr;
  const e = Math.min(physEnd, region.physAddr + region.size) - region.physAddr;
  if (s >= e) return [];
  const lines = region.media.poison.ranges(Math.floor(s / CACHELINE_SIZE), Math.ceil(e / CACHELINE_SIZE));
  return lineRangesToBadRanges(lines, region.physAddr);
}
