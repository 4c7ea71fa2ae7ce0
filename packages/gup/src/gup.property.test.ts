import {
  GUP_PIN_COUNTING_BIAS, PGTY_buddy, createProcess, forkProcess, handleToPfn, isKernelError, taskMm, vmMunmap,
  type Pfn, type Sleepable, type Task,
} from "@pagelab/mm-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FOLL_WRITE } from "./foll.js";
import { putUserPageRef, unpinUserPage } from "./grab.js";
import { getUserPages, pinUserPages, type GupResult } from "./gup.js";
import { bootGupMachine, mmapPages, poke, runAs, withMmapReadLock } from "./testing.js";

const P = 4096;
const PAGES = 4;

type Op =
  | { op: "pin" | "get"; proc: number; page: number; write: boolean }
  | { op: "release"; which: number }
  | { op: "fork"; proc: number }
  | { op: "write"; proc: number; page: number; byte: number }
  | { op: "munmap"; proc: number; page: number }
  | { op: "exit"; proc: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom("pin" as const, "get" as const), proc: fc.nat(3), page: fc.nat(PAGES - 1), write: fc.boolean() }),
  fc.record({ op: fc.constant("release" as const), which: fc.nat(7) }),
  fc.record({ op: fc.constant("fork" as const), proc: fc.nat(3) }),
  fc.record({ op: fc.constant("write" as const), proc: fc.nat(3), page: fc.nat(PAGES - 1), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant("munmap" as const), proc: fc.nat(3), page: fc.nat(PAGES - 1) }),
  fc.record({ op: fc.constant("exit" as const), proc: fc.nat(3) }),
);

interface Hold {
  readonly pfn: Pfn;
  readonly pin: boolean;
}

describe("GUP references under fork, CoW, munmap and exit (property)", () => {
  it("never frees a held page and returns every page to the allocator at the end", { timeout: 30000 }, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const { ctx, mem } = bootGupMachine({ dramBytes: 8 * 1024 * 1024 });
        void ctx.zeroPfn; // allocated once, reserved forever: take it before counting
        const free0 = mem.buddy.nrFreePages();
        const first = createProcess(ctx, "p0");
        const base = mmapPages(first, PAGES);
        for (let i = 0; i < PAGES; i++) poke(first, base + i * P, Uint8Array.of(i + 1));
        const procs: Task[] = [first];
        const holds: Hold[] = [];
        const alive = () => procs.filter((t) => t.alive);
        const pick = (n: number): Task | undefined => {
          const live = alive();
          return live.length ? live[n % live.length] : undefined;
        };
        const gup = (t: Task, body: () => Sleepable<GupResult>): GupResult | null => {
          try {
            return runAs(t, withMmapReadLock(taskMm(t), body));
          } catch (e) {
            if (isKernelError(e, "EFAULT")) return null; // the page was unmapped in this process
            throw e;
          }
        };

        for (const o of ops) {
          if (o.op === "release") {
            const h = holds.splice(o.which % Math.max(holds.length, 1), 1)[0];
            if (h) {
              const handle = (h.pfn * 2) as never;
              if (h.pin) unpinUserPage(ctx, handle);
              else putUserPageRef(ctx, handle);
            }
            continue;
          }
          const t = pick(o.proc);
          if (!t) continue;
          const mm = taskMm(t);
          const addr = "page" in o ? base + o.page * P : 0;
          switch (o.op) {
            case "pin":
            case "get": {
              const flags = o.write ? FOLL_WRITE : 0;
              const r = gup(t, () => (o.op === "pin" ? pinUserPages(addr, 1, flags) : getUserPages(addr, 1, flags)));
              if (!r) break;
              holds.push({ pfn: handleToPfn(r.pages[0]!), pin: o.op === "pin" });
              break;
            }
            case "fork":
              procs.push(runAs(t, forkProcess(ctx, t)));
              break;
            case "write":
              if (mm.vmaLookup(addr)) poke(t, addr, Uint8Array.of(o.byte));
              break;
            case "munmap":
              runAs(t, vmMunmap(mm, addr, P));
              break;
            case "exit":
              t.exit(0);
              break;
          }
          for (const h of holds) {
            const pins = holds.filter((x) => x.pfn === h.pfn && x.pin).length;
            const gets = holds.filter((x) => x.pfn === h.pfn && !x.pin).length;
            const isZero = ctx.isZeroPfn(h.pfn);
            expect(ctx.memmap.pageRefCount(h.pfn)).toBeGreaterThanOrEqual((isZero ? 0 : pins * GUP_PIN_COUNTING_BIAS) + gets);
            expect(ctx.memmap.pageType(h.pfn) >>> 24).not.toBe(PGTY_buddy);
          }
        }
        for (const h of holds.splice(0)) {
          if (h.pin) unpinUserPage(ctx, (h.pfn * 2) as never);
          else putUserPageRef(ctx, (h.pfn * 2) as never);
        }
        for (const t of alive()) t.exit(0);
        expect(ctx.tasks).toEqual([]);
        expect(mem.buddy.nrFreePages()).toBe(free0);
      }),
      { numRuns: 60 },
    );
  });
});
