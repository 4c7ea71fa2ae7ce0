import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KernelBug, KernelError } from "../errno.js";
import { PAGE_MAPPING_ANON, PG_hwpoison, PG_locked } from "./flags.js";
import { GFP_DMA, GFP_KERNEL, __GFP_ZERO } from "./gfp.js";
import { MAX_PAGE_ORDER } from "./buddy.js";
import { createMemory } from "./memory.js";
import { pfn } from "../types.js";

const MiB = 1024 * 1024;

describe("buddy allocator", () => {
  it("hands out an order-0 page with refcount 1 by splitting a larger block", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const before = mem.buddy.nrFreePages();
    expect(before).toBe(1023);
    const pfn = mem.buddy.allocPages(GFP_KERNEL, 0);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
    expect(mem.memmap.pageBuddy(pfn)).toBe(false);
    expect(mem.memmap.pagePrivate(pfn)).toBe(0);
    expect(mem.buddy.nrFreePages()).toBe(before - 1);
    mem.buddy.freePages(pfn, 0);
    expect(mem.buddy.nrFreePages()).toBe(before);
  });

  it("puts the split-off halves on the lower free lists and merges them back", () => {
    const mem = createMemory({ dramBytes: 4 * MiB, reservedLowPages: 0 });
    const initial = mem.buddy.freeAreaSnapshot();
    expect(mem.buddy.nrFreeBlocks(MAX_PAGE_ORDER)).toBe(1);
    const pfn = mem.buddy.allocPages(GFP_KERNEL, 2);
    expect(pfn).toBe(0);
    for (let o = 2; o < MAX_PAGE_ORDER; o++) expect(mem.buddy.nrFreeBlocks(o)).toBe(1);
    expect(mem.memmap.pageBuddy(4)).toBe(true);
    expect(mem.memmap.pagePrivate(4)).toBe(2);
    expect(mem.memmap.pagePrivate(512)).toBe(9);
    mem.buddy.freePages(pfn, 2);
    expect(mem.buddy.freeAreaSnapshot()).toEqual(initial);
  });

  it("fails with ENOMEM when no block is large enough, changing nothing", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const before = mem.buddy.freeAreaSnapshot();
    expect(() => mem.buddy.allocPages(GFP_KERNEL, 10)).toThrow(KernelError);
    expect(mem.buddy.freeAreaSnapshot()).toEqual(before);
    const pages: number[] = [];
    for (let i = 0; i < 1023; i++) pages.push(mem.buddy.allocPage());
    expect(new Set(pages).size).toBe(1023);
    expect(mem.buddy.nrFreePages()).toBe(0);
    try {
      mem.buddy.allocPage();
      expect.unreachable();
    } catch (e) {
      expect((e as KernelError).code).toBe("ENOMEM");
    }
    expect(() => mem.buddy.allocPages(GFP_KERNEL, MAX_PAGE_ORDER + 1)).toThrow(/ENOMEM/);
  });

  it("zeroes the pages of a __GFP_ZERO allocation", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pfn = mem.buddy.allocPages(GFP_KERNEL, 1);
    mem.physMem.write(pfn + 1, 100, new Uint8Array([1, 2, 3]));
    mem.buddy.freePages(pfn, 1);
    const again = mem.buddy.allocPages(GFP_KERNEL | __GFP_ZERO, 1);
    expect(again).toBe(pfn);
    const buf = new Uint8Array(3);
    mem.physMem.read(pfn + 1, 100, buf);
    expect([...buf]).toEqual([0, 0, 0]);
  });

  it("serves GFP_KERNEL from the highest zone and GFP_DMA from ZONE_DMA only", () => {
    const mem = createMemory({ dramBytes: 32 * MiB });
    const normal = mem.buddy.allocPage(GFP_KERNEL);
    expect(mem.memmap.pageZone(normal)).toBe("DMA32");
    const dma = mem.buddy.allocPage(GFP_DMA);
    expect(mem.memmap.pageZone(dma)).toBe("DMA");
    expect(mem.buddy.zoneFreePages("DMA")).toBe(4095 - 1);
  });

  it("frees all but the head when someone else still holds the head (__free_pages)", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const free = mem.buddy.nrFreePages();
    const pfn = mem.buddy.allocPages(GFP_KERNEL, 3);
    mem.memmap.pageRefInc(pfn);
    mem.buddy.freePages(pfn, 3);
    expect(mem.buddy.nrFreePages()).toBe(free - 1);
    expect(mem.memmap.pageRefCount(pfn)).toBe(1);
    mem.memmap.putPage(pfn);
    expect(mem.buddy.nrFreePages()).toBe(free);
  });

  it("keeps a poisoned page off the free lists", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const free = mem.buddy.nrFreePages();
    const pfn = mem.buddy.allocPage();
    mem.memmap.setPageFlag(pfn, PG_hwpoison);
    mem.memmap.putPage(pfn);
    expect(mem.buddy.nrFreePages()).toBe(free - 1);
    expect(mem.buddy.hwpoisonedPages).toBe(1);
    expect(mem.memmap.pageBuddy(pfn)).toBe(false);
  });

  it("reports a locked page freed as a bad page state", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pfn = mem.buddy.allocPage();
    mem.memmap.setPageFlag(pfn, PG_locked);
    let err: unknown;
    try {
      mem.memmap.putPage(pfn);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelBug);
    const hex = pfn.toString(16).padStart(5, "0");
    expect((err as KernelBug).message).toContain(`BUG: Bad page state in process swapper/0  pfn:${hex}`);
    expect((err as KernelBug).dump).toContain("page dumped because: PAGE_FLAGS_CHECK_AT_FREE flag(s) set");
    expect((err as KernelBug).dump).toContain("flags: 0x");
  });

  it("reports a still-mapped page freed as nonzero mapcount", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pfn = mem.buddy.allocPage();
    mem.memmap.pageMapcountInc(pfn);
    expect(() => mem.memmap.putPage(pfn)).toThrow(/Bad page state/);
  });

  it("clears an anon mapping when the page is freed", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pfn = mem.buddy.allocPage();
    mem.memmap.setPageMapping(pfn, {}, PAGE_MAPPING_ANON);
    mem.memmap.putPage(pfn);
    expect(mem.memmap.pageMapping(pfn)).toBe(0);
    expect(mem.memmap.pageBuddy(pfn) || mem.memmap.pageRefCount(pfn) === 0).toBe(true);
  });
});

describe("buddy allocator under random alloc/free", () => {
  const opArb = fc.array(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ alloc: fc.constant(true), order: fc.nat({ max: MAX_PAGE_ORDER }) }) },
      { weight: 2, arbitrary: fc.record({ alloc: fc.constant(false), pick: fc.nat() }) },
    ),
    { minLength: 1, maxLength: 150 },
  );

  it("never hands out a page twice, never leaks, and merges back to the initial free lists", () => {
    fc.assert(
      fc.property(opArb, fc.constantFrom(0, 1, 3), (ops, reserved) => {
        const mem = createMemory({ dramBytes: 8 * MiB, reservedLowPages: reserved });
        const { buddy, memmap } = mem;
        const initial = buddy.freeAreaSnapshot();
        const total = buddy.nrFreePages();
        const owned = new Map<number, number>();
        const owner = new Map<number, number>();
        let allocated = 0;
        for (const op of ops) {
          if ("order" in op) {
            let pfn: number;
            try {
              pfn = buddy.allocPages(GFP_KERNEL, op.order);
            } catch (e) {
              expect((e as KernelError).code).toBe("ENOMEM");
              continue;
            }
            expect(pfn % 2 ** op.order).toBe(0);
            expect(pfn).toBeGreaterThanOrEqual(reserved);
            const doubles: number[] = [];
            for (let p = pfn; p < pfn + 2 ** op.order; p++) {
              if (owner.has(p)) doubles.push(p);
              owner.set(p, pfn);
            }
            expect(doubles).toEqual([]);
            owned.set(pfn, op.order);
            allocated += 2 ** op.order;
            expect(memmap.pageRefCount(pfn)).toBe(1);
          } else if (owned.size > 0) {
            const keys = [...owned.keys()];
            const pfn = keys[op.pick % keys.length]!;
            const order = owned.get(pfn)!;
            buddy.freePages(pfn, order);
            owned.delete(pfn);
            for (let p = pfn; p < pfn + 2 ** order; p++) owner.delete(p);
            allocated -= 2 ** order;
          }
          expect(buddy.nrFreePages()).toBe(total - allocated);
        }
        for (const [pfn, order] of owned) buddy.freePages(pfn, order);
        expect(buddy.nrFreePages()).toBe(total);
        expect(buddy.freeAreaSnapshot()).toEqual(initial);
      }),
      { numRuns: 100 },
    );
  });
});

describe("BuddyAllocator memory-failure helpers", () => {
  it("takes a poisoned free page off the buddy lists and gives back the rest of its block", () => {
    const { buddy, memmap } = createMemory({ dramBytes: 16 * 1024 * 1024 });
    const before = buddy.nrFreePages();
    const block = buddy.allocPages(GFP_KERNEL, 4);
    buddy.freePages(block, 4);
    const victim = pfn(block + 5);
    expect(buddy.isFreeBuddyPage(victim)).toBe(true);
    expect(buddy.takePageOffBuddy(victim)).toBe(true);
    expect(memmap.testPageFlag(victim, PG_hwpoison)).toBe(true);
    expect(buddy.isFreeBuddyPage(victim)).toBe(false);
    expect(buddy.nrFreePages()).toBe(before - 1);
    expect(buddy.takePageOffBuddy(victim)).toBe(false);
    // The poisoned page is never handed out again.
    const handedOut = new Set<number>();
    for (;;) {
      try {
        handedOut.add(buddy.allocPage());
      } catch {
        break;
      }
    }
    expect(handedOut.has(victim)).toBe(false);
    expect(handedOut.has(block + 4)).toBe(true);
  });

  it("says an allocated page is not a free buddy page", () => {
    const { buddy } = createMemory({ dramBytes: 8 * 1024 * 1024 });
    const p = buddy.allocPage();
    expect(buddy.isFreeBuddyPage(p)).toBe(false);
    expect(buddy.takePageOffBuddy(p)).toBe(false);
  });
});
