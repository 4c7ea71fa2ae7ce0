import { describe, expect, it } from "vitest";
import { runSync } from "../sched/scheduler.js";
import type { Sleepable } from "../sched/sleepable.js";
import { PAGE_SIZE } from "../types.js";
import type { VmContext } from "./context.js";
import { handleMmFault } from "./fault.js";
import {
  FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, VM_FAULT_ERROR, VM_FAULT_SIGSEGV,
} from "./flags.js";
import { createProcess, forkProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { MemFile } from "./memfile.js";
import type { MmStruct } from "./mm.js";
import { vmMmap } from "./mmap.js";
import { ptePfn, ptePresent, pteDirty, pteWrite } from "./pgtable.js";
import { store } from "./access.js";

const P = PAGE_SIZE;

/** handle_mm_fault() as GUP calls it: under mmap_lock (read), on the VMA at `addr`. */
function* faultAt(mm: MmStruct, addr: number, flags: number): Sleepable<number> {
  yield* mm.mmapLock.downRead();
  try {
    return yield* handleMmFault(mm.findVma(addr)!, addr, flags);
  } finally {
    mm.mmapLock.upRead();
  }
}

function fileWith(ctx: VmContext, byte: number): MemFile {
  return new MemFile(ctx, "f", new Uint8Array(P).fill(byte));
}

describe("sanitize_fault_flags()", () => {
  it("a forced write to a private read-only mapping CoWs into a read-only, dirty anonymous page", () => {
    const { ctx } = bootVm();
    const t = createProcess(ctx, "t");
    const mm = taskMm(t);
    const f = fileWith(ctx, 0x41);
    const a = runSync(vmMmap(mm, { len: P, prot: PROT_READ, flags: MAP_PRIVATE, file: f.open("r") }), t);
    expect(runSync(faultAt(mm, a, FAULT_FLAG_WRITE), t) & VM_FAULT_ERROR).toBe(0);
    const pte = mm.pgtables.pteAt(a);
    expect(ptePresent(pte) && !pteWrite(pte) && pteDirty(pte)).toBe(true);
    expect(ctx.memmap.folioTestAnon(ptePfn(pte))).toBe(true);
    expect(f.mapping.nrpages).toBe(1); // the page-cache page stays, untouched
  });

  it("a write to a shared mapping of a read-only file (no VM_MAYWRITE) is SIGSEGV; UNSHARE there is a read", () => {
    const { ctx } = bootVm();
    const t = createProcess(ctx, "t");
    const mm = taskMm(t);
    const f = fileWith(ctx, 0x42);
    const a = runSync(vmMmap(mm, { len: P, prot: PROT_READ, flags: MAP_SHARED, file: f.open("r") }), t);
    expect(runSync(faultAt(mm, a, FAULT_FLAG_WRITE), t)).toBe(VM_FAULT_SIGSEGV);
    expect(runSync(faultAt(mm, a, FAULT_FLAG_UNSHARE), t) & VM_FAULT_ERROR).toBe(0);
    expect(ctx.memmap.folioTestAnon(ptePfn(mm.pgtables.pteAt(a)))).toBe(false);
    expect(runSync(faultAt(mm, a, FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE), t)).toBe(VM_FAULT_SIGSEGV);
  });
});

describe("historicBugs.cowReuseByMapcount (CVE-2020-29374)", () => {
  function scenario(bug: boolean): { before: number; after: number } {
    const { ctx } = bootVm();
    if (bug) ctx.historicBugs.cowReuseByMapcount = true;
    const parent = createProcess(ctx, "parent");
    const mm = taskMm(parent);
    const a = runSync(vmMmap(mm, { len: P, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS }), parent);
    runSync(store(a, Uint8Array.of(1)), parent);
    const child = runSync(forkProcess(ctx, parent), parent);
    const before = ptePfn(mm.pgtables.pteAt(a));
    ctx.memmap.pageRefInc(before); // a GUP reference taken while shared
    child.exit(0); // mapcount back to 1, refcount 2
    runSync(store(a, Uint8Array.of(2)), parent);
    return { before, after: ptePfn(mm.pgtables.pteAt(a)) };
  }

  it("off (default): the extra reference forces a copy on the write fault", () => {
    const { before, after } = scenario(false);
    expect(after).not.toBe(before);
  });

  it("on: pre-5.9 reuse by mapcount alone keeps the page the reference still points at", () => {
    const { before, after } = scenario(true);
    expect(after).toBe(before);
  });
});
