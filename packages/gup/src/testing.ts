/**
 * A small machine for GUP tests, examples and benchmarks: DRAM, processes with
 * anonymous or file mappings, and helpers that run GUP as a task under mmap_lock.
 *
 * @see mm/gup_test.c (the kernel's own GUP test driver does the same from an ioctl)
 */
import {
  AS_DAX, AddressSpace, DevPagemap, MEMORY_DEVICE_FS_DAX, PFN_DEV, PFN_MAP, VM_MIXEDMAP, memremapPages, pfnToPfnT,
  vmfInsertMixed, type MemoryBacking, type MemoryType, type Pfn, type VmContext, type VmFault,
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, bootVm, load, runSync, store, taskMm,
  vmMmap, FAULT_FLAG_WRITE, PUD_NR, PUD_ORDER, VM_FAULT_FALLBACK, vmfInsertPfnPud, type MmStruct, type Sleepable, type Task, type VmFile, type VmMachine,
} from "@pagelab/mm-core";
import { gupSetup, type GupBugSwitches } from "./config.js";

export interface GupMachineOptions {
  readonly dramBytes?: number;
  readonly bugs?: Partial<GupBugSwitches>;
}

/** Boot DRAM and a VmContext, and set GUP's historic-bug switches. */
export function bootGupMachine(opts: GupMachineOptions = {}): VmMachine {
  const m = bootVm({ dramBytes: opts.dramBytes ?? 32 * 1024 * 1024 });
  gupSetup(m.ctx, opts.bugs ?? {});
  return m;
}

/** Run a sleepable to completion as `task`. */
export function runAs<T>(task: Task, gen: Sleepable<T>): T {
  return runSync(gen, task);
}

/** `mmap_read_lock(); body(); mmap_read_unlock()`. */
export function* withMmapReadLock<T>(mm: MmStruct, body: () => Sleepable<T>): Sleepable<T> {
  yield* mm.mmapLock.downRead();
  try {
    return yield* body();
  } finally {
    mm.mmapLock.upRead();
  }
}

/** Map `pages` pages: anonymous private by default, or `file` shared/private. */
export function mmapPages(
  task: Task,
  pages: number,
  opts: { prot?: number; shared?: boolean; file?: VmFile; pgoff?: number; addr?: number } = {},
): number {
  const flags = (opts.shared ? MAP_SHARED : MAP_PRIVATE) | (opts.file ? 0 : MAP_ANONYMOUS) | (opts.addr ? MAP_FIXED : 0);
  return runAs(
    task,
    vmMmap(taskMm(task), {
      ...(opts.addr ? { addr: opts.addr } : {}),
      len: pages * 4096,
      prot: opts.prot ?? PROT_READ | PROT_WRITE,
      flags,
      ...(opts.file ? { file: opts.file, pgoff: opts.pgoff ?? 0 } : {}),
    }),
  );
}

/** The bytes of an ASCII string. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** The task writes `bytes` at `addr` (faulting as needed); throws if it got a signal. */
export function poke(task: Task, addr: number, bytes: Uint8Array | string): void {
  const data = typeof bytes === "string" ? ascii(bytes) : bytes;
  const r = runAs(task, store(addr, data));
  if (!r.ok) throw new Error(`poke ${addr.toString(16)}: signal ${r.signal.signo}`);
}

/** The task reads `len` bytes at `addr`; throws if it got a signal. */
export function peek(task: Task, addr: number, len: number): Uint8Array {
  const r = runAs(task, load(addr, len));
  if (!r.ok) throw new Error(`peek ${addr.toString(16)}: signal ${r.signal.signo}`);
  return r.data;
}

/** Text of the first `len` bytes at `addr`. */
export function peekText(task: Task, addr: number, len: number): string {
  return String.fromCharCode(...peek(task, addr, len));
}

/** Byte-addressable device memory that stores only what was written. */
export class SparseBacking implements MemoryBacking {
  private readonly pages = new Map<number, Uint8Array>();
  load(physAddr: number, dst: Uint8Array): void {
    const page = this.pages.get(Math.floor(physAddr / 4096));
    const off = physAddr % 4096;
    if (page) dst.set(page.subarray(off, off + dst.length));
    else dst.fill(0);
  }
  store(physAddr: number, src: Uint8Array): void {
    const key = Math.floor(physAddr / 4096);
    let page = this.pages.get(key);
    if (!page) this.pages.set(key, (page = new Uint8Array(4096)));
    page.set(src, physAddr % 4096);
  }
}

/**
 * ZONE_DEVICE pages of `type` (FS_DAX by default) at physical address `physStart`, with a
 * sparse backing, as pmem's memremap would create them (FS_DAX pages idle at refcount 1).
 */
export function addDevicePages(ctx: VmContext, opts: { physStart?: number; pages?: number; type?: MemoryType } = {}): DevPagemap {
  const start = opts.physStart ?? 1024 * 1024 * 1024;
  const bytes = Math.max(opts.pages ?? 512, 512) * 4096;
  const pgmap = new DevPagemap({ type: opts.type ?? MEMORY_DEVICE_FS_DAX, range: { start, end: start + bytes - 1 } });
  memremapPages({ memmap: ctx.memmap, physMem: ctx.physMem }, pgmap, new SparseBacking());
  return pgmap;
}

/**
 * A DAX file (or, with `charDevice`, a device-dax character device) whose page `i` is
 * device page `pgmap.startPfn + i`, mapped with devmap PTEs as fsdax/device-dax do; with
 * `gigantic`, by 1 GiB devmap PUDs where the VMA covers an aligned gigabyte (1 GiB
 * device-dax), with PTEs elsewhere.
 */
export function daxFile(
  ctx: VmContext,
  pgmap: DevPagemap,
  opts: { charDevice?: boolean; name?: string; gigantic?: boolean } = {},
): VmFile {
  const mapping = new AddressSpace({ iSize: pgmap.nrPages * 4096 }, {}, opts.name ?? "daxfile");
  mapping.setFlag(AS_DAX);
  // device-dax has no writeback and no ->pfn_mkwrite; fsdax files have both (dirty tracking)
  const charDevice = opts.charDevice ?? false;
  if (charDevice) mapping.canWriteback = false;
  return {
    mapping,
    readable: true,
    writable: true,
    isCharDevice: charDevice,
    mmap(vma) {
      vma.vmFlags |= VM_MIXEDMAP;
      vma.vmOps = {
        name: "dax_vm_ops",
        *fault(vmf: VmFault): Sleepable<number> {
          return vmfInsertMixed(vma, vmf.address, pfnToPfnT((pgmap.startPfn + vmf.pgoff) as Pfn, PFN_DEV | PFN_MAP));
        },
        ...(opts.gigantic
          ? {
              *hugeFault(vmf: VmFault, order: number): Sleepable<number> {
                if (order !== PUD_ORDER) return VM_FAULT_FALLBACK;
                const first = vmf.pgoff - (vmf.pgoff % PUD_NR);
                const p = pfnToPfnT((pgmap.startPfn + first) as Pfn, PFN_DEV | PFN_MAP);
                return vmfInsertPfnPud(vmf, p, (vmf.flags & FAULT_FLAG_WRITE) !== 0);
              },
            }
          : {}),
        ...(charDevice
          ? {}
          : {
              *pfnMkwrite(): Sleepable<number> {
                return 0;
              },
            }),
      };
    },
  };
}

