/**
 * A small machine for the hmm tests: DRAM, a process, and a dmirror device mirroring it;
 * plus helpers to touch user memory as that process and to build a DAX-like file.
 */
import {
  AS_DAX,
  DevPagemap,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MEMORY_DEVICE_FS_DAX,
  MemFile,
  PAGE_SIZE,
  PFN_DEV,
  PFN_MAP,
  PROT_READ,
  PROT_WRITE,
  FAULT_FLAG_WRITE,
  bootVm,
  createProcess,
  load,
  memremapPages,
  pfnToPfnT,
  runSync,
  sleepableOf,
  store,
  taskMm,
  vmMmap,
  vmfInsertMixed,
  vmfInsertMixedMkwrite,
  vmfInsertPfnPmd,
  vmfInsertPfnPud,
  PUD_NR,
  PUD_ORDER,
  PUD_SIZE,
  VM_FAULT_FALLBACK,
  thpGetUnmappedArea,
  SIGBUS,
  SIGSEGV,
  type MmapArgs,
  type MmStruct,
  type Pfn,
  type Sleepable,
  type Task,
  type VmContext,
  type VmFault,
  type VmFile,
  type VmMachine,
} from "@pagelab/mm-core";
import { DmirrorDevice } from "../dmirror/device.js";
import type { Dmirror } from "../dmirror/mirror.js";
import { DeviceMemory } from "../zoneDevice/deviceMemory.js";
import { requestFreeMemRegion } from "../zoneDevice/resource.js";

export const P = PAGE_SIZE;

export interface Bed {
  readonly m: VmMachine;
  readonly ctx: VmContext;
  readonly task: Task;
  readonly mm: MmStruct;
  readonly dev: DmirrorDevice;
  readonly dmirror: Dmirror;
}

/** Boot 64 MiB of DRAM, one process, and a 16 MiB device-private dmirror mirroring it. */
export function boot(opts: { devices?: number } = {}): Bed & { devs: DmirrorDevice[] } {
  const m = bootVm();
  const ctx = m.ctx;
  const task = createProcess(ctx, "hmm-test");
  task.dispositions.set(SIGSEGV, "catch");
  task.dispositions.set(SIGBUS, "catch");
  const devs = Array.from({ length: opts.devices ?? 1 }, (_, i) => new DmirrorDevice(ctx, { name: `hmm_dmirror${i}`, chunkBytes: 16 * 1024 * 1024 }));
  const dev = devs[0]!;
  const mm = taskMm(task);
  return { m, ctx, task, mm, dev, devs, dmirror: dev.open(mm) };
}

export function run<T>(task: Task, gen: Sleepable<T>): T {
  return runSync(gen, task);
}

export function mmap(task: Task, args: MmapArgs): number {
  return run(task, vmMmap(taskMm(task), args));
}

/** A private anonymous read-write mapping of `pages` pages. */
export function mmapAnon(task: Task, pages: number, prot = PROT_READ | PROT_WRITE): number {
  return mmap(task, { len: pages * P, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS });
}

/** The process loads `len` bytes at `addr` (throws on a signal). */
export function rd(task: Task, addr: number, len: number): Uint8Array {
  const r = run(task, load(addr, len));
  if (!r.ok) throw new Error(`load at ${addr.toString(16)}: signal ${r.signal.signo}`);
  return r.data;
}

/** The process stores `bytes` at `addr` (throws on a signal). */
export function wr(task: Task, addr: number, bytes: Uint8Array): void {
  const r = run(task, store(addr, bytes));
  if (!r.ok) throw new Error(`store at ${addr.toString(16)}: signal ${r.signal.signo}`);
}

/** `n` bytes of a recognisable pattern. */
export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed * 13 + Math.floor(i / P)) & 0xff;
  return b;
}

/**
 * A DAX-like file: its pages live in an FS_DAX dev_pagemap with its own storage, faults
 * insert devmap PTEs (read faults read-only, write faults writable), like fs/dax.c does.
 * `huge` adds PMD faults; `gigantic` also PUD faults, as 1 GiB device DAX does.
 */
export function daxFile(
  ctx: VmContext,
  pages: number,
  opts: { huge?: boolean; gigantic?: boolean } = {},
): { file: VmFile; base: Pfn; storage: DeviceMemory } {
  const bytes = 2 * 1024 * 1024 * Math.ceil((pages * P) / (2 * 1024 * 1024));
  let range = requestFreeMemRegion(ctx.memmap, opts.gigantic ? bytes + PUD_SIZE : bytes);
  if (opts.gigantic) {
    // PUD leaves need 1 GiB-aligned pfns: use the aligned part of a larger free range.
    const start = Math.ceil(range.start / PUD_SIZE) * PUD_SIZE;
    range = { start, end: start + bytes - 1 };
  }
  const pgmap = new DevPagemap({ type: MEMORY_DEVICE_FS_DAX, range });
  const storage = new DeviceMemory("pmem0");
  memremapPages({ memmap: ctx.memmap, physMem: ctx.physMem }, pgmap, storage);
  const base = pgmap.startPfn;
  const mf = new MemFile(ctx, "daxfile");
  mf.iSize = pages * P;
  mf.mapping.setFlag(AS_DAX);
  const file: VmFile = {
    mapping: mf.mapping,
    readable: true,
    writable: true,
    ...(opts.huge ? { getUnmappedArea: thpGetUnmappedArea } : {}),
    mmap(vma) {
      vma.vmOps = {
        name: "dax_vm_ops",
        ...(opts.huge || opts.gigantic
          ? {
              *hugeFault(vmf: VmFault, order: number): Sleepable<number> {
                const write = (vmf.flags & FAULT_FLAG_WRITE) !== 0;
                if (order === PUD_ORDER) {
                  if (!opts.gigantic) return VM_FAULT_FALLBACK;
                  const first = vmf.pgoff - (vmf.pgoff % PUD_NR);
                  return vmfInsertPfnPud(vmf, pfnToPfnT((base + first) as Pfn, PFN_DEV | PFN_MAP), write);
                }
                const first = vmf.pgoff - (vmf.pgoff % 512);
                return vmfInsertPfnPmd(vmf, pfnToPfnT((base + first) as Pfn, PFN_DEV | PFN_MAP), write);
              },
            }
          : {}),
        *fault(vmf: VmFault): Sleepable<number> {
          const p = pfnToPfnT((base + vmf.pgoff) as Pfn, PFN_DEV | PFN_MAP);
          return vmf.flags & FAULT_FLAG_WRITE ? vmfInsertMixedMkwrite(vma, vmf.address, p) : vmfInsertMixed(vma, vmf.address, p);
        },
        pfnMkwrite: () => sleepableOf(0),
      };
    },
  };
  return { file, base, storage };
}

export { MAP_SHARED, PROT_READ, PROT_WRITE };
