/**
 * The fs_dax tracepoints, with Linux 6.12's `TP_printk()` text.
 *
 * @see include/trace/events/fs_dax.h (dax_pmd_fault_class, dax_pmd_load_hole_class,
 *      dax_pte_fault_class, dax_writeback_range_class, dax_writeback_one);
 *      fs/dax.c (the trace_dax_*() call sites)
 *
 * `dev` is the superblock's device (`DaxContext.sDev`, MAJOR:MINOR of the block device the
 * filesystem sits on) and `ino` the mapping host's `ino` (0 for a host without one).
 * `%p` of the huge zero folio prints its vmemmap address unhashed (as with
 * `no_hash_pointers`). dax_insert_mapping and dax_pmd_insert_mapping are not emitted: 6.12
 * defines them but no longer calls them.
 */
import {
  type AddressSpace,
  FAULT_FLAG_TRACE,
  type Pfn,
  VM_FAULT_RESULT_TRACE,
  VM_SHARED,
  type VmFault,
  traceHex,
  tracePrintFlags,
} from "@pagelab/mm-core";
import type { DaxContext } from "../context.js";

const SYSTEM = "fs_dax";

/** What the tracepoints read of a mapping's host (`inode->i_ino`). */
export interface DaxTraceHost {
  readonly ino?: number;
}

function inodeId(dax: DaxContext, mapping: AddressSpace): string {
  const ino = (mapping.host as DaxTraceHost | null)?.ino ?? 0;
  return `dev ${dax.sDev.major}:${dax.sDev.minor} ino ${traceHex(ino)}`;
}

function sharedOf(vmf: VmFault): string {
  return vmf.vma.vmFlags & VM_SHARED ? "shared" : "private";
}

export type DaxPteFaultEvent = "dax_pte_fault" | "dax_pte_fault_done" | "dax_load_hole" | "dax_insert_pfn_mkwrite_no_entry" | "dax_insert_pfn_mkwrite";

/** dax_pte_fault_class: `dev %d:%d ino %#lx %s %s address %#lx pgoff %#lx %s`. */
export function traceDaxPteFault(dax: DaxContext, event: DaxPteFaultEvent, vmf: VmFault, result: number): void {
  dax.vm.trace.emit(SYSTEM, event, () => {
    const flags = tracePrintFlags(vmf.flags, "|", FAULT_FLAG_TRACE);
    return `${inodeId(dax, vmf.vma.mapping!)} ${sharedOf(vmf)} ${flags} address ${traceHex(vmf.address)} pgoff ${traceHex(vmf.pgoff)} ${tracePrintFlags(result, "|", VM_FAULT_RESULT_TRACE)}`;
  });
}

/**
 * dax_pmd_fault_class: `dev %d:%d ino %#lx %s %s address %#lx vm_start %#lx vm_end %#lx
 * pgoff %#lx max_pgoff %#lx %s`.
 */
export function traceDaxPmdFault(dax: DaxContext, event: "dax_pmd_fault" | "dax_pmd_fault_done", vmf: VmFault, maxPgoff: number, result: number): void {
  dax.vm.trace.emit(SYSTEM, event, () => {
    const v = vmf.vma;
    const flags = tracePrintFlags(vmf.flags, "|", FAULT_FLAG_TRACE);
    return (
      `${inodeId(dax, v.mapping!)} ${sharedOf(vmf)} ${flags} address ${traceHex(vmf.address)} vm_start ${traceHex(v.vmStart)} ` +
      `vm_end ${traceHex(v.vmEnd)} pgoff ${traceHex(vmf.pgoff)} max_pgoff ${traceHex(maxPgoff)} ${tracePrintFlags(result, "|", VM_FAULT_RESULT_TRACE)}`
    );
  });
}

/** The vmemmap address of `pfn`'s struct page, as an unhashed `%p` prints it. */
function pagePointer(pfn: Pfn): string {
  return (0xffffea0000000000n + BigInt(pfn) * 64n).toString(16).padStart(16, "0");
}

/** dax_pmd_load_hole_class: `dev %d:%d ino %#lx %s address %#lx zero_page %p radix_entry %#lx`. */
export function traceDaxPmdLoadHole(dax: DaxContext, event: "dax_pmd_load_hole" | "dax_pmd_load_hole_fallback", vmf: VmFault, zero: Pfn, entry: number): void {
  dax.vm.trace.emit(SYSTEM, event, () => `${inodeId(dax, vmf.vma.mapping!)} ${sharedOf(vmf)} address ${traceHex(vmf.address)} zero_page ${pagePointer(zero)} radix_entry ${traceHex(entry)}`);
}

/** dax_writeback_range_class: `dev %d:%d ino %#lx pgoff %#lx-%#lx`. */
export function traceDaxWritebackRange(dax: DaxContext, event: "dax_writeback_range" | "dax_writeback_range_done", mapping: AddressSpace, startIndex: number | (() => number), endIndex: number): void {
  dax.vm.trace.emit(SYSTEM, event, () => {
    const s = typeof startIndex === "number" ? startIndex : startIndex();
    return `${inodeId(dax, mapping)} pgoff ${traceHex(s)}-${traceHex(endIndex)}`;
  });
}

/** dax_writeback_one: `dev %d:%d ino %#lx pgoff %#lx pglen %#lx`. */
export function traceDaxWritebackOne(dax: DaxContext, mapping: AddressSpace, index: number, count: number): void {
  dax.vm.trace.emit(SYSTEM, "dax_writeback_one", () => `${inodeId(dax, mapping)} pgoff ${traceHex(index)} pglen ${traceHex(count)}`);
}
