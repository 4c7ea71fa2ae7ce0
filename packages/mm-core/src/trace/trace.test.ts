import { describe, expect, it } from "vitest";
import { FAULT_FLAG_DEFAULT, FAULT_FLAG_ORIG_PTE_VALID, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, VM_FAULT_MAJOR, VM_FAULT_NOPAGE } from "../vm/flags.js";
import { FAULT_FLAG_TRACE, TraceBuffer, VM_FAULT_RESULT_TRACE, traceHex, tracePrintFlags } from "./trace.js";

describe("tracepoints", () => {
  it("records only enabled events, by system or by system/event, and builds no text otherwise", () => {
    const t = new TraceBuffer();
    let built = 0;
    t.emit("fs_dax", "dax_pte_fault", () => `${++built}`);
    expect(built).toBe(0);
    t.enable("fs_dax/dax_pmd_fault_done fs_dax:dax_pte_fault_done");
    t.emit("fs_dax", "dax_pte_fault", "a");
    t.emit("fs_dax", "dax_pte_fault_done", "b");
    t.emit("fs_dax", "dax_pmd_fault_done", "c");
    t.emit("xfs", "xfs_reflink_remap", "d");
    expect(t.all().map(TraceBuffer.format)).toEqual(["dax_pte_fault_done: b", "dax_pmd_fault_done: c"]);
    t.enable("fs_dax");
    t.emit("fs_dax", "dax_writeback_one", "e");
    expect(t.drain().map((e) => e.event)).toEqual(["dax_pte_fault_done", "dax_pmd_fault_done", "dax_writeback_one"]);
    expect(t.all()).toEqual([]);
    t.disableAll();
    t.emit("fs_dax", "dax_writeback_one", "f");
    expect(t.all()).toEqual([]);
  });

  it("__print_flags: names in table order, leftover bits in hex, nothing for 0", () => {
    const user = FAULT_FLAG_DEFAULT | FAULT_FLAG_USER | FAULT_FLAG_VMA_LOCK | FAULT_FLAG_ORIG_PTE_VALID;
    expect(tracePrintFlags(user | FAULT_FLAG_WRITE, "|", FAULT_FLAG_TRACE)).toBe("WRITE|ALLOW_RETRY|KILLABLE|USER|INTERRUPTIBLE|VMA_LOCK|0x800");
    expect(tracePrintFlags(VM_FAULT_NOPAGE | VM_FAULT_MAJOR, "|", VM_FAULT_RESULT_TRACE)).toBe("MAJOR|NOPAGE");
    expect(tracePrintFlags(0, "|", VM_FAULT_RESULT_TRACE)).toBe("");
    expect(traceHex(0)).toBe("0x0");
    expect(traceHex(2 ** 51 - 1)).toBe("0x7ffffffffffff");
  });
});
