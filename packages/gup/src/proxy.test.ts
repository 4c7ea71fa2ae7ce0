import { PGTY_buddy, MemFile, handleToPfn, isTaggedHandle, ptePfn, taskMm, vmMunmap, type Pfn } from "@pagelab/mm-core";
import { createProcess } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { FOLL_WRITE } from "./foll.js";
import { PROXY_METADATA_BYTES, ProxyTable } from "./proxy.js";
import { pinUserPagesProxied } from "./proxyGup.js";
import { bootGupMachine, mmapPages, poke, runAs, withMmapReadLock } from "./testing.js";

const P = 4096;

describe("page proxies", () => {
  it("N proxies of one page each answer their own (mapping, index) and resolve to the same pfn", () => {
    const { ctx, mem } = bootGupMachine();
    const pfn = mem.buddy.allocPages(0, 0);
    const table = new ProxyTable(ctx);
    const files = ["W", "X", "Y", "Z"].map((n) => new MemFile(ctx, n).mapping);
    const idx = [0, 5, 4, 3]; // block A of the W/X/Y/Z rotation
    const proxies = files.map((m, i) => table.create(pfn, m, idx[i]!));
    expect(proxies.every(isTaggedHandle)).toBe(true);
    expect(new Set(proxies).size).toBe(4);
    proxies.forEach((h, i) => {
      expect(table.mapping(h)).toBe(files[i]);
      expect(table.index(h)).toBe(idx[i]);
      expect(table.resolve(h)).toBe(pfn);
    });
    expect(table.proxiesOf(pfn)).toEqual(proxies);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1 + 4 * 1024);
    expect(table.stats.metadataBytes).toBe(4 * PROXY_METADATA_BYTES);
    expect(table.stats.pointerChases).toBe(4);
    // the struct page itself still has a single (mapping, index): the proxies override it
    expect(ctx.memmap.pageMapping(pfn)).toBe(0);
    proxies.forEach((h) => table.putUserPage(h));
  });

  it("the page is freed only after the last proxy is put; refUserPage keeps a proxy alive", () => {
    const { ctx, mem } = bootGupMachine();
    const pfn = mem.buddy.allocPages(0, 0);
    const table = new ProxyTable(ctx);
    const a = table.create(pfn, null, 0);
    const b = table.create(pfn, null, 1, { pin: false });
    ctx.memmap.putPage(pfn); // the allocator's reference: only the proxies hold it now
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1024 + 1);
    table.refUserPage(a);
    table.putUserPage(a);
    expect(table.has(a)).toBe(true);
    table.putUserPage(a);
    expect(table.has(a)).toBe(false);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(1);
    expect(mem.buddy.isFreeBuddyPage(pfn)).toBe(false);
    table.putUserPage(b);
    expect(ctx.memmap.pageRefCount(pfn)).toBe(0);
    expect(ctx.memmap.pageType(pfn) >>> 24).toBe(PGTY_buddy);
    expect(table.stats).toMatchObject({ proxiesAlive: 0, proxiesCreated: 2, proxiesFreed: 2, metadataBytes: 0 });
    expect(() => table.putUserPage(b)).toThrow(/not a live proxy/);
    expect(() => table.resolve((pfn * 2) as never)).toThrow(/real page/);
  });

  it("GUP's proxy mode names each page by the file and offset this process mapped it at", () => {
    const { ctx } = bootGupMachine();
    const f = new MemFile(ctx, "shared-file", new Uint8Array(8 * P));
    const t = createProcess(ctx, "reader");
    const a = mmapPages(t, 3, { shared: true, file: f.open("rw"), pgoff: 5 });
    const anon = mmapPages(t, 1);
    poke(t, anon, "z");
    const table = new ProxyTable(ctx);
    const mm = taskMm(t);
    const r = runAs(t, withMmapReadLock(mm, () => pinUserPagesProxied(table, a, 3, FOLL_WRITE)));
    expect(r.nr).toBe(3);
    expect(r.pages.map((h) => table.index(h))).toEqual([5, 6, 7]);
    expect(r.pages.map((h) => table.mapping(h))).toEqual([f.mapping, f.mapping, f.mapping]);
    expect(r.pages.map((h) => table.resolve(h))).toEqual([0, 1, 2].map((i) => ptePfn(mm.pgtables.pteAt(a + i * P))));
    const ra = runAs(t, withMmapReadLock(mm, () => pinUserPagesProxied(table, anon, 1, FOLL_WRITE)));
    expect(table.mapping(ra.pages[0]!)).toBe(mm.findVma(anon)!.anonVma);
    expect(table.index(ra.pages[0]!)).toBe(anon / P);

    // munmap: the proxies' pins keep the page-cache pages; the anon page survives until the put
    const anonPfn = table.resolve(ra.pages[0]!) as Pfn;
    runAs(t, vmMunmap(mm, anon, P));
    expect(ctx.memmap.pageRefCount(anonPfn)).toBe(1024);
    table.putUserPage(ra.pages[0]!);
    expect(ctx.memmap.pageRefCount(anonPfn)).toBe(0);
    r.pages.forEach((h) => table.putUserPage(h));
    expect(r.pages.map((h, i) => ctx.memmap.pageRefCount(ptePfn(mm.pgtables.pteAt(a + i * P))))).toEqual([2, 2, 2]);
    void handleToPfn;
  });
});
