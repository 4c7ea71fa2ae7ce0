/**
 * Memory failure on DAX pages: the filesystem-driven path (holder → rmap → kill the
 * processes of each owning (file, offset)) and the generic path that trusts
 * page->mapping/index through `dax_lock_folio()` — which oopses on a shared page.
 *
 * @see mm/memory-failure.c mf_dax_kill_procs(), collect_procs_fsdax(), unmap_and_kill(),
 *      mf_generic_kill_procs(); fs/dax.c dax_lock_folio(), dax_unlock_folio(),
 *      dax_lock_mapping_entry(), dax_unlock_mapping_entry(); include/linux/dax.h dax_mapping()
 *
 * The ZONE_DEVICE memory-failure path in mm-core is not sleepable, so where the kernel
 * waits for a locked entry (wait_entry_unlocked) this returns "busy" (-EBUSY).
 * The Oops: 6.12's dax_lock_folio() reads `folio->mapping` = PAGE_MAPPING_DAX_SHARED (0x1)
 * and dax_mapping() dereferences `mapping->host` at offset 0: a NULL-page fault at address
 * 1. The model logs the Oops as the kernel prints it, records it on the DaxContext and
 * throws `KernelOops`; a scheduler ends the task that hit it (the kernel kills it, or
 * panics with oops=panic as the oracle runs) and the simulator carries on.
 */
import {
  type AddressSpace,
  ERRNO,
  MF_ACTION_REQUIRED,
  MF_MEM_PRE_REMOVE,
  MF_MUST_KILL,
  PAGE_MAPPING_DAX_SHARED,
  PG_hwpoison,
  type Pfn,
  type ToKill,
  collectProcsFsdax,
  current,
  unmapAndKill,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";
import { type DaxEntry, daxIsEmptyEntry, daxIsLocked, daxIsZeroEntry, daxToPfn, isDaxEntry } from "../entry/entry.js";
import { daxLockEntry, daxUnlockEntry } from "../entry/lock.js";

/** What the kernel printed for an Oops, kept for reports. */
export interface KernelOopsReport {
  readonly headline: string;
  readonly rip: string;
  readonly callTrace: readonly string[];
  readonly pfn: number;
  readonly task: string;
}

/** An Oops in kernel code: the task that hit it dies; the machine goes on (no panic_on_oops). */
export class KernelOops extends Error {
  override readonly name = "KernelOops";
  constructor(readonly report: KernelOopsReport) {
    super(`${report.headline} at ${report.rip}`);
  }
}

export const DAX_LOCK_FOLIO_RIP = "dax_lock_folio+0x49/0x120";
const MADVISE_TRACE = [
  "<TASK>",
  "mf_generic_kill_procs+0x4a/0x170",
  "memory_failure+0x2bb/0x850",
  "madvise_inject_error+0xd9/0x150",
  "do_madvise+0x26e/0x2c0",
  "__x64_sys_madvise+0x2b/0x40",
  "do_syscall_64+0x82/0x190",
  "entry_SYSCALL_64_after_hwframe+0x76/0x7e",
  "</TASK>",
];

/** Cookie of a locked entry: where it is, and its unlocked value (`~0UL`: nothing locked). */
export interface DaxCookie {
  readonly mapping: AddressSpace;
  readonly index: number;
  readonly entry: DaxEntry | null;
}

function oops(dax: DaxContext, pfn: Pfn, address: number, rip: string): never {
  const t = current();
  const headline = `BUG: kernel NULL pointer dereference, address: ${address.toString(16).padStart(16, "0")}`;
  dax.vm.dmesg.oops(headline, rip, MADVISE_TRACE);
  const report: KernelOopsReport = { headline, rip, callTrace: MADVISE_TRACE, pfn, task: `${t.comm}:${t.pid}` };
  dax.oopses.push(report);
  throw new KernelOops(report);
}

/**
 * `dax_lock_folio()`: lock the entry of a page found through page->mapping/index. Null
 * when the page has no mapping (or the entry is locked: see the module comment). A page
 * whose mapping is the shared marker oopses, as in 6.12.
 */
export function daxLockFolio(dax: DaxContext, pfn: Pfn): DaxCookie | null {
  const memmap = dax.vm.memmap;
  const raw = memmap.pageMapping(pfn);
  if (raw === 0) return null;
  if (raw === PAGE_MAPPING_DAX_SHARED) oops(dax, pfn, PAGE_MAPPING_DAX_SHARED, DAX_LOCK_FOLIO_RIP);
  const mapping = memmap.pageMappingObject(pfn) as AddressSpace | undefined;
  if (!mapping || !mapping.isDax) return null;
  const index = memmap.pageIndex(pfn);
  const entry = mapping.iPages.load(index);
  if (entry === undefined || !isDaxEntry(entry)) return { mapping, index, entry: null };
  if (daxIsLocked(entry)) return null;
  daxLockEntry(dax, mapping, index, entry);
  return { mapping, index, entry };
}

/** `dax_unlock_folio()`. */
export function daxUnlockFolio(dax: DaxContext, cookie: DaxCookie): void {
  if (cookie.entry !== null) daxUnlockEntry(dax, cookie.mapping, cookie.index, cookie.entry);
}

/**
 * `dax_lock_mapping_entry()`: lock the entry at (mapping, index) and say which page it
 * maps. `page` is null for a missing, zero or empty entry (nothing to kill there); the
 * result is null when the entry is locked by someone else (the kernel would wait).
 */
export function daxLockMappingEntry(dax: DaxContext, mapping: AddressSpace, index: number): { cookie: DaxCookie; page: Pfn | null } | null {
  if (!mapping.isDax) return null;
  const entry = mapping.iPages.load(index);
  if (entry !== undefined && isDaxEntry(entry) && daxIsLocked(entry)) return null;
  if (entry === undefined || !isDaxEntry(entry) || daxIsZeroEntry(entry) || daxIsEmptyEntry(entry))
    return { cookie: { mapping, index, entry: null }, page: null };
  daxLockEntry(dax, mapping, index, entry);
  const first = index - (index % 2 ** mapping.iPages.entryOrder(index));
  return { cookie: { mapping, index, entry }, page: (daxToPfn(entry) + (index - first)) as Pfn };
}

/** `dax_unlock_mapping_entry()`. */
export function daxUnlockMappingEntry(dax: DaxContext, cookie: DaxCookie): void {
  daxUnlockFolio(dax, cookie);
}

/**
 * `mf_dax_kill_procs(mapping, index, count, mf_flags)`: for each index, poison the page
 * (not for MF_MEM_PRE_REMOVE), collect the processes whose VMAs of the file map it (the
 * current task and early-kill tasks; everyone before a removal), unmap it from the file
 * and signal them. 0, or -EBUSY if an entry could not be locked.
 */
export function mfDaxKillProcs(dax: DaxContext, mapping: AddressSpace, index: number, count: number, mfFlags: number): number {
  const preRemove = (mfFlags & MF_MEM_PRE_REMOVE) !== 0;
  const flags = mfFlags | MF_ACTION_REQUIRED | MF_MUST_KILL;
  for (let i = index; i < index + count; i++) {
    const locked = daxLockMappingEntry(dax, mapping, i);
    if (!locked) return -ERRNO.EBUSY;
    try {
      const page = locked.page;
      if (page === null) continue;
      if (!preRemove) dax.vm.memmap.setPageFlag(page, PG_hwpoison);
      const tokill: ToKill[] = [];
      collectProcsFsdax(dax.vm, page, mapping, i, tokill, preRemove);
      unmapAndKill(dax.vm, tokill, page, mapping, i, flags);
    } finally {
      daxUnlockMappingEntry(dax, locked.cookie);
    }
  }
  return 0;
}

/** Which DaxContext (device) owns each pfn, per machine: the mm hooks are per machine. */
const contexts = new WeakMap<object, DaxContext[]>();

/** Install `dax_lock_folio()` / `dax_unlock_folio()` into mm's memory-failure path. */
export function installMfDaxHooks(dax: DaxContext): void {
  let list = contexts.get(dax.vm);
  if (!list) contexts.set(dax.vm, (list = []));
  list.push(dax);
  const all = list;
  const find = (pfn: number): DaxContext | undefined => all.find((d) => d.ownsPfn(pfn));
  dax.vm.mfDaxHooks = {
    daxLockFolio(pfn: Pfn): unknown {
      const d = find(pfn);
      return d ? daxLockFolio(d, pfn) : (dax.vm.memmap.folioMapping(pfn) ?? null);
    },
    daxUnlockFolio(pfn: Pfn, cookie: unknown): void {
      const d = find(pfn);
      if (d && cookie && typeof cookie === "object" && "mapping" in cookie) daxUnlockFolio(d, cookie as DaxCookie);
    },
  };
}
