/**
 * GUP's proxy mode: pin (or get) user pages and hand back one proxy per page, each
 * naming the page by the `(mapping, index)` through which this process reached it — the
 * file and offset of a file VMA, the anon_vma and linear index of an anonymous one.
 *
 * @see seeds 002/003 ("Have get_user_pages() allocate a proxy object that gets passed
 *      around to drivers"); mm/gup.c pin_user_pages(), get_user_pages()
 *
 * Same locking as pinUserPages()/getUserPages(): the caller holds mmap_lock for reading.
 */
import { PAGE_SIZE, current, handleToPfn, taskMm, type MmStruct, type PageHandle, type Sleepable } from "@pagelab/mm-core";
import { getUserPages, pinUserPages, type GupResult } from "./gup.js";
import type { ProxyTable } from "./proxy.js";

function toProxies(table: ProxyTable, mm: MmStruct, start: number, r: GupResult, pinned: boolean): GupResult {
  const base = start - (start % PAGE_SIZE);
  const pages: PageHandle[] = r.pages.map((h, i) => {
    const addr = base + i * PAGE_SIZE;
    const vma = mm.vmaLookup(addr);
    const mapping = vma?.vmFile?.mapping ?? vma?.anonVma ?? null;
    const index = vma ? vma.linearPageIndex(addr) : 0;
    return table.adopt(handleToPfn(h), mapping, index, pinned);
  });
  return { nr: r.nr, pages };
}

/** `pin_user_pages()` returning proxies; release each with `table.putUserPage()`. */
export function* pinUserPagesProxied(table: ProxyTable, start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const r = yield* pinUserPages(start, nrPages, gupFlags);
  return toProxies(table, taskMm(current()), start, r, true);
}

/** `get_user_pages()` returning proxies holding plain references. */
export function* getUserPagesProxied(table: ProxyTable, start: number, nrPages: number, gupFlags: number): Sleepable<GupResult> {
  const r = yield* getUserPages(start, nrPages, gupFlags);
  return toProxies(table, taskMm(current()), start, r, false);
}
