import { describe, expect, it } from "vitest";
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, pfn } from "../types.js";
import {
  PageTables, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, isHwpoisonEntry, makeHwpoisonEntry, pfnPmd, pfnPte, pmdLeaf,
  ptePfn, ptePresent, pteDirty, pteMkdevmap, pteMkdirty, pteDevmap, pteSpecial, pteUserAccessible, pteWrite,
  pteWrprotect, swpOffset, pteModify, _PAGE_PROTNONE, pfnPud, pudDevmap, pudDirty, pudLeaf, pudMkdevmap, pudMkdirty,
  pudPfn, pudWrite,
} from "./pgtable.js";

const RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;

describe("page table entries", () => {
  it("keep the pfn and bits of an entry apart, beyond 2^32 pfns", () => {
    const big = pfn(2 ** 36 + 5);
    const v = pteMkdirty(pfnPte(big, RW));
    expect(ptePfn(v)).toBe(big);
    expect(ptePresent(v) && pteWrite(v) && pteDirty(v)).toBe(true);
    const ro = pteWrprotect(v);
    expect(pteWrite(ro)).toBe(false);
    expect(ptePfn(ro)).toBe(big);
  });

  it("marks devmap entries special too, as x86 pte_mkdevmap does", () => {
    const v = pteMkdevmap(pfnPte(pfn(7), RW));
    expect(pteDevmap(v) && pteSpecial(v)).toBe(true);
  });

  it("treats PROT_NONE entries as present to the kernel but not to the MMU", () => {
    const v = pteModify(pfnPte(pfn(9), RW), _PAGE_PROTNONE);
    expect(ptePresent(v)).toBe(true);
    expect(pteUserAccessible(v)).toBe(false);
    expect(ptePfn(v)).toBe(9);
  });

  it("encodes a hwpoison entry as a non-present swap entry naming the pfn", () => {
    const v = makeHwpoisonEntry(pfn(0x40018));
    expect(ptePresent(v)).toBe(false);
    expect(isHwpoisonEntry(v)).toBe(true);
    expect(swpOffset(v)).toBe(0x40018);
  });
});

describe("PageTables", () => {
  it("allocates a PTE table on demand and reads back what was set", () => {
    const pt = new PageTables();
    const addr = 0x7fff_f000_0000;
    expect(pt.pteOffset(addr)).toBe(-1);
    const h = pt.pteAlloc(addr);
    pt.pteSet(h, pfnPte(pfn(42), RW));
    expect(ptePfn(pt.pteAt(addr))).toBe(42);
    expect(pt.pteAt(addr + PAGE_SIZE)).toBe(0);
    expect(pt.stats.pteTables).toBe(1);
  });

  it("refuses a PTE table under a PMD leaf and walks the leaf once", () => {
    const pt = new PageTables();
    const addr = 4 * PMD_SIZE;
    pt.pmdSet(pt.pmdOffset(addr, true), pfnPmd(pfn(512), RW));
    expect(pmdLeaf(pt.pmdAt(addr + PAGE_SIZE))).toBe(true);
    expect(pt.pteAlloc(addr + PAGE_SIZE)).toBe(-1);
    const seen: number[] = [];
    pt.walk(addr, addr + PMD_SIZE, { pmd: (_h, a) => seen.push(a), pte: () => seen.push(-1) });
    expect(seen).toEqual([addr]);
  });

  it("walks only present entries in range and frees tables left empty", () => {
    const pt = new PageTables();
    const base = 0x1000_0000;
    for (const i of [0, 3, 511, 512]) pt.pteSet(pt.pteAlloc(base + i * PAGE_SIZE), pfnPte(pfn(100 + i), RW));
    const seen: number[] = [];
    pt.walk(base + PAGE_SIZE, base + 513 * PAGE_SIZE, { pte: (_h, a) => seen.push((a - base) / PAGE_SIZE) });
    expect(seen).toEqual([3, 511, 512]);
    expect(pt.stats.pteTables).toBe(2);
    for (const i of [0, 3, 511]) pt.pteClear(pt.pteOffset(base + i * PAGE_SIZE));
    pt.freePgtables(base, base + 2 * PMD_SIZE);
    expect(pt.stats.pteTables).toBe(1);
    expect(pt.pteOffset(base)).toBe(-1);
    expect(ptePfn(pt.pteAt(base + 512 * PAGE_SIZE))).toBe(612);
    expect(pt.countMapped()).toEqual({ ptes: 1, pmds: 0, puds: 0 });
  });
});

describe("PUD level", () => {
  const GIB = PUD_SIZE;

  it("holds a 1 GiB devmap leaf that hides the PMD and PTE levels beneath it", () => {
    const pt = new PageTables();
    const addr = 3 * GIB;
    const h = pt.pudOffset(addr + 5 * PMD_SIZE);
    expect(pt.pudGet(h)).toBe(0);
    const leaf = pudMkdevmap(pudMkdirty(pfnPud(pfn(0x40000), RW)));
    pt.pudSet(h, leaf);
    const v = pt.pudAt(addr + GIB - 1);
    expect(pudLeaf(v) && pudDevmap(v) && pudDirty(v) && pudWrite(v)).toBe(true);
    expect(pudPfn(v)).toBe(0x40000);
    expect(pmdLeaf(v)).toBe(true);
    expect(pt.pmdOffset(addr + PMD_SIZE)).toBe(-1);
    expect(pt.pmdOffset(addr + PMD_SIZE, true)).toBe(-1);
    expect(pt.pteAlloc(addr + PAGE_SIZE)).toBe(-1);
    expect(pt.pteAt(addr)).toBe(0);
    expect(pt.pudAt(addr + GIB)).toBe(0);
    expect(pt.stats).toMatchObject({ pudLeaves: 1, pmdTables: 0 });
    expect(pt.countMapped()).toEqual({ ptes: 0, pmds: 0, puds: 1 });
  });

  it("names the PMD table when the gigabyte is mapped by smaller pages, and refuses a leaf over it", () => {
    const pt = new PageTables();
    pt.pteSet(pt.pteAlloc(GIB + PAGE_SIZE), pfnPte(pfn(1), RW));
    const pud = pt.pudAt(GIB);
    expect(ptePresent(pud) && !pudLeaf(pud)).toBe(true);
    expect(() => pt.pudSet(pt.pudOffset(GIB), pfnPud(pfn(0x40000), RW))).toThrow(/PMD table/);
    expect(() => pt.pudSet(pt.pudOffset(0), pfnPte(pfn(1), RW))).toThrow(/only leaves/);
  });

  it("walks a PUD leaf once at its aligned address, even for a range inside it, and zaps it", () => {
    const pt = new PageTables();
    const h = pt.pudOffset(2 * GIB);
    pt.pudSet(h, pfnPud(pfn(0x80000), RW));
    pt.pteSet(pt.pteAlloc(GIB - PAGE_SIZE), pfnPte(pfn(3), RW));
    const seen: [string, number][] = [];
    pt.walk(GIB - PAGE_SIZE, 2 * GIB + 3 * PMD_SIZE, {
      pud: (_h, a) => void seen.push(["pud", a]),
      pmd: (_h, a) => void seen.push(["pmd", a]),
      pte: (_h, a) => void seen.push(["pte", a]),
    });
    expect(seen).toEqual([["pte", GIB - PAGE_SIZE], ["pud", 2 * GIB]]);
    pt.walk(2 * GIB + PMD_SIZE, 2 * GIB + 2 * PMD_SIZE, { pud: (ph) => pt.pudSet(ph, 0) });
    expect(pt.pudAt(2 * GIB)).toBe(0);
    expect(pt.stats.pudLeaves).toBe(0);
    expect(pt.pmdOffset(2 * GIB, true)).toBeGreaterThanOrEqual(0);
  });
});
