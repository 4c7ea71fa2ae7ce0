import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isKernelError } from "../errno.js";
import { runSync } from "../sched/scheduler.js";
import { SEGV_ACCERR, SEGV_MAPERR, SIGSEGV } from "../task/signal.js";
import type { Task } from "../task/task.js";
import { PAGE_SIZE } from "../types.js";
import { load, store } from "./access.js";
import { DEFAULT_MMAP_BASE } from "./context.js";
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MREMAP_MAYMOVE, PROT_NONE, PROT_READ, PROT_WRITE,
  VM_READ, VM_WRITE,
} from "./flags.js";
import { createProcess, taskMm } from "./fork.js";
import { bootVm } from "./machine.js";
import { doMmap, doMprotect, doMremap, doMunmap } from "./mmap.js";

const P = PAGE_SIZE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function setup(): { task: Task; mm: ReturnType<typeof taskMm> } {
  const { ctx } = bootVm({ dramBytes: 16 * 1024 * 1024 });
  const task = createProcess(ctx, "t");
  task.dispositions.set(SIGSEGV, "catch");
  return { task, mm: taskMm(task) };
}

function errCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return undefined;
}

function layout(mm: ReturnType<typeof taskMm>): [number, number, number, number][] {
  return mm.vmas.all().map((v) => [v.vmStart, v.vmEnd, v.vmFlags & (VM_READ | VM_WRITE), v.vmPgoff]);
}

describe("mmap placement", () => {
  it("places mappings top-down from mmap_base, each below the last", () => {
    const { mm } = setup();
    const a = doMmap(mm, { len: 3 * P, prot: PROT_READ, flags: ANON });
    const b = doMmap(mm, { len: P, prot: PROT_READ, flags: ANON });
    expect(a).toBe(DEFAULT_MMAP_BASE - 3 * P);
    expect(b).toBe(a - P);
    expect(mm.mapCount).toBe(2);
  });

  it("gives an anonymous private VMA vm_pgoff = address >> PAGE_SHIFT", () => {
    const { mm } = setup();
    const a = doMmap(mm, { len: 2 * P, prot: PROT_READ, flags: ANON });
    expect(mm.vmaLookup(a)!.vmPgoff).toBe(a / P);
  });

  it("refuses MAP_FIXED_NOREPLACE over an existing mapping with EEXIST and leaves it alone", () => {
    const { mm } = setup();
    const a = doMmap(mm, { len: 2 * P, prot: PROT_READ, flags: ANON });
    expect(errCode(() => doMmap(mm, { addr: a + P, len: P, prot: PROT_READ, flags: ANON | MAP_FIXED_NOREPLACE }))).toBe("EEXIST");
    expect(layout(mm)).toEqual([[a, a + 2 * P, VM_READ, a / P]]);
  });

  it("MAP_FIXED replaces the middle of a mapping, splitting it in three", () => {
    const { mm } = setup();
    const a = doMmap(mm, { len: 4 * P, prot: PROT_READ, flags: ANON });
    doMmap(mm, { addr: a + P, len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: ANON | MAP_FIXED });
    expect(layout(mm)).toEqual([
      [a, a + P, VM_READ, a / P],
      [a + P, a + 3 * P, VM_READ | VM_WRITE, (a + P) / P],
      [a + 3 * P, a + 4 * P, VM_READ, a / P + 3],
    ]);
  });
});

describe("munmap, mprotect and mremap split and move VMAs", () => {
  it("munmap of a middle page leaves two VMAs with their page offsets", () => {
    const { mm } = setup();
    const a = doMmap(mm, { len: 5 * P, prot: PROT_READ, flags: ANON });
    doMunmap(mm, a + 2 * P, P);
    expect(layout(mm)).toEqual([
      [a, a + 2 * P, VM_READ, a / P],
      [a + 3 * P, a + 5 * P, VM_READ, a / P + 3],
    ]);
    expect(errCode(() => doMunmap(mm, a + 1, P))).toBe("EINVAL");
  });

  it("mprotect splits out the range and later stores there fault with SEGV_ACCERR", () => {
    const { task, mm } = setup();
    const a = doMmap(mm, { len: 3 * P, prot: PROT_READ | PROT_WRITE, flags: ANON });
    expect(runSync(store(a + P, new Uint8Array([1])), task).ok).toBe(true);
    doMprotect(mm, a + P, P, PROT_READ);
    expect(layout(mm).map((l) => l[2])).toEqual([VM_READ | VM_WRITE, VM_READ, VM_READ | VM_WRITE]);
    const r = runSync(store(a + P + 8, new Uint8Array([2])), task);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.signal).toMatchObject({ signo: SIGSEGV, code: SEGV_ACCERR, addr: a + P + 8 });
  });

  it("mprotect over a hole fails with ENOMEM, as does one starting outside any VMA", () => {
    const { mm } = setup();
    const a = doMmap(mm, { len: 3 * P, prot: PROT_READ, flags: ANON });
    doMunmap(mm, a + P, P);
    expect(errCode(() => doMprotect(mm, a, 3 * P, PROT_NONE))).toBe("ENOMEM");
    expect(errCode(() => doMprotect(mm, a + P, P, PROT_NONE))).toBe("ENOMEM");
  });

  it("mremap grows in place when the space above is free, and moves the pages when it is not", () => {
    const { task, mm } = setup();
    const a = doMmap(mm, { len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: ANON });
    expect(runSync(store(a + P, new Uint8Array([0x5a])), task).ok).toBe(true);
    doMunmap(mm, a, 2 * P);
    const b = doMmap(mm, { addr: a, len: 2 * P, prot: PROT_READ | PROT_WRITE, flags: ANON | MAP_FIXED });
    doMmap(mm, { addr: b + 3 * P, len: P, prot: PROT_READ, flags: ANON | MAP_FIXED });
    expect(doMremap(mm, b, 2 * P, 3 * P, 0)).toBe(b);
    expect(mm.vmaLookup(b)!.vmEnd).toBe(b + 3 * P);
    expect(runSync(store(b + P, new Uint8Array([0x77])), task).ok).toBe(true);
    expect(errCode(() => doMremap(mm, b, 3 * P, 5 * P, 0))).toBe("ENOMEM");
    const c = doMremap(mm, b, 3 * P, 5 * P, MREMAP_MAYMOVE);
    expect(c).not.toBe(b);
    const moved = runSync(load(c + P, 1), task);
    expect(moved.ok && moved.data[0]).toBe(0x77);
    const old = runSync(load(b + P, 1), task);
    expect(!old.ok && old.signal).toMatchObject({ signo: SIGSEGV, code: SEGV_MAPERR });
  });

  it("mremap of a range that is not mapped fails with EFAULT", () => {
    const { mm } = setup();
    expect(errCode(() => doMremap(mm, 0x100000, P, 2 * P, MREMAP_MAYMOVE))).toBe("EFAULT");
  });
});

describe("property: random mmap/munmap/mprotect/store/load against an interval model", () => {
  type Op =
    | { k: "mmap"; page: number; n: number; prot: number }
    | { k: "munmap"; page: number; n: number }
    | { k: "mprotect"; page: number; n: number; prot: number }
    | { k: "store"; page: number; byte: number }
    | { k: "load"; page: number };
  const W = 24;
  const prot = fc.constantFrom(PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant("mmap" as const), page: fc.nat(W - 1), n: fc.integer({ min: 1, max: 8 }), prot }),
    fc.record({ k: fc.constant("munmap" as const), page: fc.nat(W - 1), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ k: fc.constant("mprotect" as const), page: fc.nat(W - 1), n: fc.integer({ min: 1, max: 8 }), prot }),
    fc.record({ k: fc.constant("store" as const), page: fc.nat(W - 1), byte: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ k: fc.constant("load" as const), page: fc.nat(W - 1) }),
  );

  it("agrees on which pages are mapped, their protection and their data", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { task, mm } = setup();
        const base = 0x4000_0000;
        // model: per page, null = unmapped, else { prot, data }
        const model: ({ prot: number; data: number } | null)[] = Array(W + 8).fill(null);
        for (const o of ops) {
          const addr = base + o.page * P;
          if (o.k === "mmap") {
            doMmap(mm, { addr, len: o.n * P, prot: o.prot, flags: ANON | MAP_FIXED });
            for (let i = o.page; i < o.page + o.n; i++) model[i] = { prot: o.prot, data: 0 };
          } else if (o.k === "munmap") {
            doMunmap(mm, addr, o.n * P);
            for (let i = o.page; i < o.page + o.n; i++) model[i] = null;
          } else if (o.k === "mprotect") {
            let expectErr = false;
            for (let i = o.page; i < o.page + o.n; i++) {
              if (!model[i]) {
                expectErr = true;
                break;
              }
              model[i]!.prot = o.prot;
            }
            expect(errCode(() => doMprotect(mm, addr, o.n * P, o.prot))).toBe(expectErr ? "ENOMEM" : undefined);
          } else if (o.k === "store") {
            const r = runSync(store(addr + 5, new Uint8Array([o.byte])), task);
            const m = model[o.page];
            if (!m) expect(!r.ok && r.signal.code).toBe(SEGV_MAPERR);
            else if (!(m.prot & PROT_WRITE)) expect(!r.ok && r.signal.code).toBe(SEGV_ACCERR);
            else {
              expect(r.ok).toBe(true);
              m.data = o.byte;
            }
          } else {
            const r = runSync(load(addr + 5, 1), task);
            const m = model[o.page];
            if (!m) expect(!r.ok && r.signal.code).toBe(SEGV_MAPERR);
            else if (!(m.prot & PROT_READ)) expect(!r.ok && r.signal.code).toBe(SEGV_ACCERR);
            else expect(r.ok && r.data[0]).toBe(m.data);
          }
          for (let i = 0; i < W + 8; i++) {
            const vma = mm.vmaLookup(base + i * P);
            const m = model[i];
            expect(vma ? (vma.vmFlags & (VM_READ | VM_WRITE)) : null).toBe(m ? m.prot : null);
            if (vma) expect(vma.linearPageIndex(base + i * P)).toBe((base + i * P) / P);
          }
          const all = mm.vmas.all();
          for (let i = 1; i < all.length; i++) expect(all[i - 1]!.vmEnd).toBeLessThanOrEqual(all[i]!.vmStart);
        }
        expect(mm.rss.anon).toBe(model.filter((m) => m && m.data !== 0).length);
      }),
      { numRuns: 150 },
    );
  });
});
