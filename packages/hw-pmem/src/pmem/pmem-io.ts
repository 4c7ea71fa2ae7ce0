/**
 * The pmem driver's data path shared by its block-device and DAX faces: read through
 * copy_mc (poison becomes EIO, not a crash), write through memcpy_flushcache, and
 * clear known poison before writing over it.
 *
 * @see drivers/nvdimm/pmem.c pmem_do_read(), pmem_do_write(), read_pmem(), write_pmem(),
 *      pmem_clear_poison() / __pmem_clear_poison(), hwpoison_clear();
 *      drivers/nvdimm/bus.c nvdimm_clear_poison(); drivers/nvdimm/region_devs.c nvdimm_flush()
 *
 * Only *known* bad sectors (the namespace's badblocks) trigger clearing, as in the
 * kernel: a write over latent poison leaves it in place. Simplified: nvdimm_flush() is
 * one sfence (no flush-hint writes, which only matter without ADR).
 */
import { PmemError } from "../errors.js";
import { SECTOR_SIZE } from "../types.js";
import type { NdNamespace } from "../nvdimm/namespace.js";

/** `pmem_clear_poison()`: clears `len` bytes at `physAddr`; EIO if not all of it could be. */
export function pmemClearPoison(ns: NdNamespace, physAddr: number, len: number): void {
  const cleared = ns.clearPoison(physAddr - ns.dataPhysAddr, len);
  if (cleared < len) throw new PmemError("EIO", `${ns.devName}: cleared only ${cleared} of ${len} poisoned bytes`);
}

/** `pmem_do_read()`: known bad sectors fail fast; latent poison is caught by copy_mc. */
export function pmemDoRead(ns: NdNamespace, sector: number, dst: Uint8Array): void {
  if (ns.badblocks.isBad(sector, dst.length)) {
    throw new PmemError("EIO", `${ns.devName}: read of bad sectors at ${sector}`);
  }
  const phys = ns.dataPhysAddr + sector * SECTOR_SIZE;
  const notCopied = ns.copyMcToKernel(dst, phys);
  if (notCopied !== 0) {
    throw new PmemError("EIO", `${ns.devName}: media error at sector ${sector + Math.floor((dst.length - notCopied) / SECTOR_SIZE)}`);
  }
}

/** `pmem_do_write()`: clear known poison in the range, then memcpy_flushcache (no fence). */
export function pmemDoWrite(ns: NdNamespace, sector: number, src: Uint8Array): void {
  const phys = ns.dataPhysAddr + sector * SECTOR_SIZE;
  if (ns.badblocks.isBad(sector, src.length)) pmemClearPoison(ns, phys, src.length);
  ns.memcpyFlushcache(phys, src);
}

/** `nvdimm_flush()`: make every earlier write durable. */
export function nvdimmFlush(ns: NdNamespace): void {
  ns.sfence();
}
