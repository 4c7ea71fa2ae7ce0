/**
 * GFP flags: how an allocation may behave and which zones it may use.
 *
 * @see include/linux/gfp_types.h (6.12 bit numbers); include/linux/gfp.h gfp_zone()
 *
 * The allocator honours the zone modifiers, `__GFP_ZERO` and `__GFP_NOWARN`; the reclaim
 * and I/O bits are carried for callers' sake and change nothing (no reclaim is modelled).
 */
import { ZONE } from "./flags.js";

export type Gfp = number;

export const __GFP_DMA = 1 << 0;
export const __GFP_HIGHMEM = 1 << 1;
export const __GFP_DMA32 = 1 << 2;
export const __GFP_MOVABLE = 1 << 3;
export const __GFP_RECLAIMABLE = 1 << 4;
export const __GFP_HIGH = 1 << 5;
export const __GFP_IO = 1 << 6;
export const __GFP_FS = 1 << 7;
export const __GFP_ZERO = 1 << 8;
export const __GFP_DIRECT_RECLAIM = 1 << 10;
export const __GFP_KSWAPD_RECLAIM = 1 << 11;
export const __GFP_WRITE = 1 << 12;
export const __GFP_NOWARN = 1 << 13;
export const __GFP_RETRY_MAYFAIL = 1 << 14;
export const __GFP_NOFAIL = 1 << 15;
export const __GFP_NORETRY = 1 << 16;
export const __GFP_MEMALLOC = 1 << 17;
export const __GFP_NOMEMALLOC = 1 << 19;
export const __GFP_HARDWALL = 1 << 20;
export const __GFP_THISNODE = 1 << 21;
export const __GFP_ACCOUNT = 1 << 22;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA = __GFP_DMA;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;

/** `gfp_zone()`: the highest zone an allocation may use (no ZONE_MOVABLE is populated). */
export function gfpZone(gfp: Gfp): number {
  if (gfp & __GFP_DMA) return ZONE.DMA;
  if (gfp & __GFP_DMA32) return ZONE.DMA32;
  return ZONE.NORMAL;
}
