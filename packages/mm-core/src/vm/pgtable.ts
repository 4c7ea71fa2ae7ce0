/**
 * Page tables: PUD, PMD and PTE levels of 512 entries each, with the x86-64 entry bits the
 * mm code tests and sets.
 *
 * @see arch/x86/include/asm/pgtable_types.h (_PAGE_* bits), arch/x86/include/asm/pgtable.h
 *      (pte_present(), pte_write(), pte_mkwrite(), pfn_pte(), pmd_trans_huge()…),
 *      include/linux/pgtable.h, include/linux/swapops.h (swap-format entries),
 *      mm/memory.c __pte_alloc(), __pmd_alloc(), free_pgtables()
 *
 * An entry is one double: `pfn * 4096 + bits`, exact while pfn < 2^41. PGD and P4D are not
 * modelled: the PUD level is addressed by `addr / 1 GiB` (the PUD handle), and each PUD
 * entry is none, a pointer to the PMD table for that gigabyte, or a 1 GiB leaf
 * (`pud_trans_huge()`/`pud_devmap()`) with the same bits as a PMD leaf. PMD tables and PUD
 * leaves live in two maps keyed by that handle, never both for one key. A PMD entry that
 * is not a leaf names a PTE table by id instead of the pfn of a page-table page. `_PAGE_DEVMAP` sits in bit 10 here (x86 uses bit 58). Swap-format entries
 * (hwpoison, device-private, migration) keep a type in bits 1-5 and an offset in the
 * pfn field, marked by `_PAGE_SWP` in bit 11.
 */
import type { Pfn } from "../types.js";
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from "../types.js";

export const _PAGE_PRESENT = 0x001;
export const _PAGE_RW = 0x002;
export const _PAGE_USER = 0x004;
export const _PAGE_ACCESSED = 0x020;
export const _PAGE_DIRTY = 0x040;
/** A PMD or PUD leaf (huge page). */
export const _PAGE_PSE = 0x080;
/** x86 reuses the GLOBAL bit for PROT_NONE entries: present to the kernel, not to the MMU. */
export const _PAGE_PROTNONE = 0x100;
export const _PAGE_SPECIAL = 0x200;
export const _PAGE_DEVMAP = 0x400;
export const _PAGE_SWP = 0x800;
const BITS = 4096;

/** `_PAGE_TABLE`: what a PMD entry pointing at a PTE table holds besides the table id. */
const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

export const PTRS_PER_PTE = 512;
export const PTRS_PER_PMD = 512;
export const PTRS_PER_PUD = 512;

/** A page-table entry value (pte_t / pmd_t). 0 is `pte_none`. */
export type PteVal = number;

export function pteBits(v: PteVal): number {
  return v % BITS;
}
function has(v: PteVal, bit: number): boolean {
  return (v % BITS & bit) !== 0;
}
function set(v: PteVal, bit: number): PteVal {
  return has(v, bit) ? v : v + bit;
}
function clear(v: PteVal, bit: number): PteVal {
  return has(v, bit) ? v - bit : v;
}

export const pteNone = (v: PteVal): boolean => v === 0;
/** `pte_present()`: mapped, possibly PROT_NONE. */
export const ptePresent = (v: PteVal): boolean => has(v, _PAGE_PRESENT | _PAGE_PROTNONE);
/** Whether the MMU itself would use the entry for a user access. */
export const pteUserAccessible = (v: PteVal): boolean => has(v, _PAGE_PRESENT) && has(v, _PAGE_USER);
export const pteWrite = (v: PteVal): boolean => has(v, _PAGE_RW);
export const pteDirty = (v: PteVal): boolean => has(v, _PAGE_DIRTY);
export const pteYoung = (v: PteVal): boolean => has(v, _PAGE_ACCESSED);
export const pteSpecial = (v: PteVal): boolean => has(v, _PAGE_SPECIAL);
export const pteDevmap = (v: PteVal): boolean => has(v, _PAGE_DEVMAP);
export const ptePfn = (v: PteVal): Pfn => Math.floor(v / BITS) as Pfn;
export const pteMkwrite = (v: PteVal): PteVal => set(v, _PAGE_RW);
export const pteWrprotect = (v: PteVal): PteVal => clear(v, _PAGE_RW);
export const pteMkdirty = (v: PteVal): PteVal => set(v, _PAGE_DIRTY);
export const pteMkclean = (v: PteVal): PteVal => clear(v, _PAGE_DIRTY);
export const pteMkyoung = (v: PteVal): PteVal => set(v, _PAGE_ACCESSED);
export const pteMkold = (v: PteVal): PteVal => clear(v, _PAGE_ACCESSED);
export const pteMkspecial = (v: PteVal): PteVal => set(v, _PAGE_SPECIAL);
export const pteMkdevmap = (v: PteVal): PteVal => set(v, _PAGE_DEVMAP | _PAGE_SPECIAL);

/** `pfn_pte(pfn, prot)`: `prot` is a `pgprot` made of _PAGE_* bits. */
export function pfnPte(pfn: Pfn, prot: number): PteVal {
  return pfn * BITS + (prot % BITS);
}
/** `pte_modify()`: keep pfn, dirty, young, special, devmap; take protection from `prot`. */
export function pteModify(v: PteVal, prot: number): PteVal {
  const keep = pteBits(v) & (_PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_SPECIAL | _PAGE_DEVMAP | _PAGE_PSE);
  const protBits = prot & (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_PROTNONE);
  return ptePfn(v) * BITS + (keep | protBits);
}

// PMD leaves use the same bits plus _PAGE_PSE.
export const pmdNone = pteNone;
export const pmdPresent = ptePresent;
/** `pmd_trans_huge()` / `pmd_leaf()`: a 2 MiB mapping rather than a PTE table. */
export const pmdLeaf = (v: PteVal): boolean => ptePresent(v) && has(v, _PAGE_PSE);
export const pmdWrite = pteWrite;
export const pmdDirty = pteDirty;
export const pmdYoung = pteYoung;
export const pmdDevmap = pteDevmap;
export const pmdPfn = ptePfn;
export const pmdMkwrite = pteMkwrite;
export const pmdWrprotect = pteWrprotect;
export const pmdMkdirty = pteMkdirty;
export const pmdMkclean = pteMkclean;
export const pmdMkyoung = pteMkyoung;
export const pmdMkdevmap = pteMkdevmap;
export const pmdMkhuge = (v: PteVal): PteVal => set(v, _PAGE_PSE);
export function pfnPmd(pfn: Pfn, prot: number): PteVal {
  return pmdMkhuge(pfnPte(pfn, prot));
}

// PUD leaves (1 GiB) use the same bits as PMD leaves.
export const pudNone = pteNone;
export const pudPresent = ptePresent;
/** `pud_trans_huge()` / `pud_leaf()`: a 1 GiB mapping rather than a PMD table. */
export const pudLeaf = (v: PteVal): boolean => ptePresent(v) && has(v, _PAGE_PSE);
export const pudWrite = pteWrite;
export const pudDirty = pteDirty;
export const pudYoung = pteYoung;
export const pudDevmap = pteDevmap;
export const pudPfn = ptePfn;
export const pudMkwrite = pteMkwrite;
export const pudWrprotect = pteWrprotect;
export const pudMkdirty = pteMkdirty;
export const pudMkclean = pteMkclean;
export const pudMkyoung = pteMkyoung;
export const pudMkold = pteMkold;
export const pudMkdevmap = pteMkdevmap;
export const pudMkspecial = pteMkspecial;
export const pudMkhuge = pmdMkhuge;
export function pfnPud(pfn: Pfn, prot: number): PteVal {
  return pudMkhuge(pfnPte(pfn, prot));
}

// --- swap-format (non-present) entries ---
export const SWP_HWPOISON = 1;
export const SWP_DEVICE_READ = 2;
export const SWP_DEVICE_WRITE = 3;
export const SWP_MIGRATION_READ = 4;
export const SWP_MIGRATION_WRITE = 5;

export function mkSwapEntry(type: number, offset: number): PteVal {
  return offset * BITS + _PAGE_SWP + type * 2;
}
export const isSwapPte = (v: PteVal): boolean => !ptePresent(v) && has(v, _PAGE_SWP);
export const swpType = (v: PteVal): number => (pteBits(v) & 0x3e) / 2;
export const swpOffset = (v: PteVal): number => Math.floor(v / BITS);
/** `make_hwpoison_entry()`: what try_to_unmap(TTU_HWPOISON) leaves behind. */
export const makeHwpoisonEntry = (pfn: Pfn): PteVal => mkSwapEntry(SWP_HWPOISON, pfn);
export const isHwpoisonEntry = (v: PteVal): boolean => isSwapPte(v) && swpType(v) === SWP_HWPOISON;

/** Page-table memory and work, for cost reports. */
export interface PgtableStats {
  pteTables: number;
  pmdTables: number;
  /** PUD entries that are 1 GiB leaves. */
  pudLeaves: number;
  pteTablesAllocated: number;
  pteTablesFreed: number;
}

/**
 * The page tables of one mm. Entries are addressed through handles, the model's
 * `pte_t *` / `pmd_t *` / `pud_t *`: `pteOffset()`, `pmdOffset()` and `pudOffset()` return
 * one (or -1 when the level above is empty or a huge leaf), and `pteGet`/`pteSet` read and
 * write through it.
 */
export class PageTables {
  private readonly pmdTables = new Map<number, Float64Array>();
  private readonly pudLeaves = new Map<number, PteVal>();
  private readonly pteTables: (Float64Array | undefined)[] = [];
  private readonly pteUsed: number[] = [];
  private readonly freeIds: number[] = [];
  readonly stats: PgtableStats = { pteTables: 0, pmdTables: 0, pudLeaves: 0, pteTablesAllocated: 0, pteTablesFreed: 0 };

  /** `pud_offset()`: the handle of the PUD entry for `addr` (PGD and P4D always exist). */
  pudOffset(addr: number): number {
    return Math.floor(addr / PUD_SIZE);
  }

  /** The PUD entry: a leaf, `_PAGE_TABLE` naming the PMD table, or 0. */
  pudGet(h: number): PteVal {
    const leaf = this.pudLeaves.get(h);
    if (leaf !== undefined) return leaf;
    return this.pmdTables.has(h) ? h * BITS + _PAGE_TABLE : 0;
  }

  /** Set a PUD entry to a leaf or none; PMD tables are attached with `pmdOffset(addr, true)`. */
  pudSet(h: number, v: PteVal): void {
    if (this.pmdTables.has(h)) throw new Error("pudSet over a PMD table: free it first");
    if (v !== 0 && !pudLeaf(v)) throw new Error("pudSet: only leaves or none");
    const had = this.pudLeaves.has(h);
    if (v === 0) {
      if (had) this.stats.pudLeaves--;
      this.pudLeaves.delete(h);
      return;
    }
    if (!had) this.stats.pudLeaves++;
    this.pudLeaves.set(h, v);
  }

  /** The PUD entry for `addr`. */
  pudAt(addr: number): PteVal {
    return this.pudGet(this.pudOffset(addr));
  }

  /**
   * `pmd_offset()`: the handle of the PMD entry for `addr`; allocates the PMD table if asked
   * (`pmd_alloc()`). -1 when there is no table, or a PUD leaf maps the gigabyte.
   */
  pmdOffset(addr: number, alloc = false): number {
    const key = Math.floor(addr / PUD_SIZE);
    if (this.pudLeaves.has(key)) return -1;
    if (!this.pmdTables.has(key)) {
      if (!alloc) return -1;
      this.pmdTables.set(key, new Float64Array(PTRS_PER_PMD));
      this.stats.pmdTables++;
    }
    return key * PTRS_PER_PMD + (Math.floor(addr / PMD_SIZE) % PTRS_PER_PMD);
  }

  pmdGet(h: number): PteVal {
    return this.pmdTables.get(Math.floor(h / PTRS_PER_PMD))![h % PTRS_PER_PMD]!;
  }

  /** Set a PMD entry to a leaf or none; PTE tables are attached with `pteAlloc`. */
  pmdSet(h: number, v: PteVal): void {
    const table = this.pmdTables.get(Math.floor(h / PTRS_PER_PMD))!;
    const i = h % PTRS_PER_PMD;
    const old = table[i]!;
    if (ptePresent(old) && !pmdLeaf(old)) throw new Error("pmdSet over a PTE table: free it first");
    table[i] = v;
  }

  /** The PMD entry for `addr` (0 when nothing is there). */
  pmdAt(addr: number): PteVal {
    const h = this.pmdOffset(addr);
    return h < 0 ? 0 : this.pmdGet(h);
  }

  /** `pte_offset_map()`: the PTE handle for `addr`, or -1 if the PMD is none or a leaf. */
  pteOffset(addr: number): number {
    const h = this.pmdOffset(addr);
    if (h < 0) return -1;
    const pmd = this.pmdGet(h);
    if (!ptePresent(pmd) || pmdLeaf(pmd)) return -1;
    return ptePfn(pmd) * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
  }

  /** `pte_alloc()` + `pte_offset_map()`: -1 if a huge PMD or PUD is in the way. */
  pteAlloc(addr: number): number {
    const h = this.pmdOffset(addr, true);
    if (h < 0) return -1;
    let pmd = this.pmdGet(h);
    if (pmdLeaf(pmd)) return -1;
    if (!ptePresent(pmd)) {
      const id = this.freeIds.pop() ?? this.pteTables.length;
      this.pteTables[id] = new Float64Array(PTRS_PER_PTE);
      this.pteUsed[id] = 0;
      this.stats.pteTables++;
      this.stats.pteTablesAllocated++;
      pmd = id * BITS + _PAGE_TABLE;
      this.pmdTables.get(Math.floor(h / PTRS_PER_PMD))![h % PTRS_PER_PMD] = pmd;
    }
    return ptePfn(pmd) * PTRS_PER_PTE + (Math.floor(addr / PAGE_SIZE) % PTRS_PER_PTE);
  }

  pteGet(h: number): PteVal {
    return this.pteTables[Math.floor(h / PTRS_PER_PTE)]![h % PTRS_PER_PTE]!;
  }

  pteSet(h: number, v: PteVal): void {
    const id = Math.floor(h / PTRS_PER_PTE);
    const table = this.pteTables[id]!;
    const i = h % PTRS_PER_PTE;
    const old = table[i]!;
    if (old === 0 && v !== 0) this.pteUsed[id]!++;
    else if (old !== 0 && v === 0) this.pteUsed[id]!--;
    table[i] = v;
  }

  /** `ptep_get_and_clear()`. */
  pteClear(h: number): PteVal {
    const old = this.pteGet(h);
    if (old !== 0) this.pteSet(h, 0);
    return old;
  }

  /** The PTE value for `addr` (0 if there is no PTE table or the PMD is a leaf). */
  pteAt(addr: number): PteVal {
    const h = this.pteOffset(addr);
    return h < 0 ? 0 : this.pteGet(h);
  }

  /**
   * Visit every non-none entry in [start, end): a PUD leaf once through `pud` (with its
   * aligned address, even when the range covers part of it), a PMD leaf once through
   * `pmd`, each PTE through `pte`. Visitors may change the entry they are given.
   */
  walk(
    start: number,
    end: number,
    visit: {
      pud?(h: number, addr: number, v: PteVal): void;
      pmd?(h: number, addr: number, v: PteVal): void;
      pte?(h: number, addr: number, v: PteVal): void;
    },
  ): void {
    let addr = start;
    while (addr < end) {
      const key = Math.floor(addr / PUD_SIZE);
      const pudEnd = Math.min(end, (key + 1) * PUD_SIZE);
      const leaf = this.pudLeaves.get(key);
      if (leaf !== undefined) {
        visit.pud?.(key, key * PUD_SIZE, leaf);
        addr = pudEnd;
        continue;
      }
      if (!this.pmdTables.has(key)) {
        addr = pudEnd;
        continue;
      }
      while (addr < pudEnd) {
        const pmdEnd = Math.min(pudEnd, (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE);
        const ph = this.pmdOffset(addr);
        const pmd = this.pmdGet(ph);
        if (pmdLeaf(pmd) || (!ptePresent(pmd) && pmd !== 0)) {
          visit.pmd?.(ph, Math.floor(addr / PMD_SIZE) * PMD_SIZE, pmd);
        } else if (ptePresent(pmd) && visit.pte) {
          const id = ptePfn(pmd);
          const table = this.pteTables[id]!;
          if (this.pteUsed[id]! > 0) {
            for (let a = addr; a < pmdEnd; a += PAGE_SIZE) {
              const i = Math.floor(a / PAGE_SIZE) % PTRS_PER_PTE;
              const v = table[i]!;
              if (v !== 0) visit.pte(id * PTRS_PER_PTE + i, a, v);
            }
          }
        }
        addr = pmdEnd;
      }
    }
  }

  /**
   * `free_pgtables()` for [start, end): drop PTE tables that no longer hold an entry and
   * lie within the range's PMDs, and PMD tables left with nothing.
   */
  freePgtables(start: number, end: number): void {
    for (let addr = Math.floor(start / PMD_SIZE) * PMD_SIZE; addr < end; addr += PMD_SIZE) {
      const h = this.pmdOffset(addr);
      if (h < 0) {
        addr = (Math.floor(addr / PUD_SIZE) + 1) * PUD_SIZE - PMD_SIZE;
        continue;
      }
      const pmd = this.pmdGet(h);
      if (!ptePresent(pmd) || pmdLeaf(pmd)) continue;
      const id = ptePfn(pmd);
      if (this.pteUsed[id] !== 0) continue;
      this.pteTables[id] = undefined;
      this.freeIds.push(id);
      this.stats.pteTables--;
      this.stats.pteTablesFreed++;
      this.pmdTables.get(Math.floor(h / PTRS_PER_PMD))![h % PTRS_PER_PMD] = 0;
    }
    const firstKey = Math.floor(start / PUD_SIZE);
    const lastKey = Math.floor((end - 1) / PUD_SIZE);
    for (let k = firstKey; k <= lastKey; k++) {
      const t = this.pmdTables.get(k);
      if (t && t.every((v) => v === 0)) {
        this.pmdTables.delete(k);
        this.stats.pmdTables--;
      }
    }
  }

  /** Count present PTEs, PMD leaves and PUD leaves (tests and reports). */
  countMapped(start = 0, end = 2 ** 47): { ptes: number; pmds: number; puds: number } {
    const r = { ptes: 0, pmds: 0, puds: 0 };
    this.walk(start, end, {
      pud: () => void r.puds++,
      pmd: (_h, _a, v) => void (pmdLeaf(v) && r.pmds++),
      pte: (_h, _a, v) => void (ptePresent(v) && r.ptes++),
    });
    return r;
  }
}
