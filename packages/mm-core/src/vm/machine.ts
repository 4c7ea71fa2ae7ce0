/**
 * A small machine for the vm layer: DRAM (memmap, buddy allocator, contents), a kernel
 * log and the VmContext tying them together — what tests, benchmarks and examples boot.
 *
 * @see init/main.c start_kernel() (in spirit: mm_core_init(), the zero page, the log)
 */
import { Dmesg } from "../task/dmesg.js";
import { __GFP_ZERO, GFP_HIGHUSER_MOVABLE } from "../page/gfp.js";
import { createMemory, type Memory } from "../page/memory.js";
import { VmContext } from "./context.js";

export interface BootVmOptions {
  /** DRAM size in bytes (a multiple of 2 MiB); default 64 MiB. */
  dramBytes?: number;
  mmapBase?: number;
  dmesg?: Dmesg;
}

export interface VmMachine {
  readonly ctx: VmContext;
  readonly mem: Memory;
  readonly dmesg: Dmesg;
}

/** Boot DRAM and a VmContext over it. */
export function bootVm(opts: BootVmOptions = {}): VmMachine {
  const mem = createMemory({ dramBytes: opts.dramBytes ?? 64 * 1024 * 1024 });
  const dmesg = opts.dmesg ?? new Dmesg();
  const ctx = new VmContext({
    memmap: mem.memmap,
    physMem: mem.physMem,
    allocator: mem.buddy,
    dmesg,
    gfpUser: GFP_HIGHUSER_MOVABLE,
    gfpZero: __GFP_ZERO,
    ...(opts.mmapBase !== undefined ? { mmapBase: opts.mmapBase } : {}),
  });
  return { ctx, mem, dmesg };
}
