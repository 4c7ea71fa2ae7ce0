/**
 * Page proxies (Dan Williams / Dave Hansen, LKML Dec 2018 – Feb 2019, never merged): GUP
 * hands drivers a proxy object instead of the `struct page *` — a tagged pointer with bit 0
 * set — that fronts one real page and overrides its `(mapping, index)`. Many proxies may
 * front one page (N:1), so a pmem block shared by reflinked files can be named by each
 * owner at its own offset. Drivers take extra references with `ref_user_page()` (the
 * proposed opposite of `put_user_page()`) and drop them with `put_user_page()`.
 *
 * @see seeds 002/003 of the design threads; mm/gup.c (pin_user_pages, which this extends);
 *      include/linux/mm.h put_user_page() (5.2–5.5, renamed unpin_user_page() in 5.6)
 *
 * Each proxy holds one GUP reference (a pin or a plain reference) on its page, taken at
 * creation and dropped when its own count reaches zero, so the page is freed only after
 * the last proxy is put. Proxies live in typed arrays indexed by proxy id; the handle is
 * `taggedHandle(id)`. Costs: metadata bytes per live proxy (the size a kernel
 * `struct page_proxy { page; mapping; index; refcount }` would take) and one pointer chase
 * per resolution from proxy to page.
 */
import {
  KernelBug, isTaggedHandle, pfnToHandle, taggedHandle, taggedHandleId, type PageHandle, type Pfn, type VmContext,
} from "@pagelab/mm-core";
import { FOLL_GET, FOLL_PIN } from "./foll.js";
import { gupPutFolio, tryGrabFolio } from "./grab.js";

/** Bytes a kernel proxy would take: page pointer, mapping pointer, index, refcount (+pad). */
export const PROXY_METADATA_BYTES = 32;

export interface ProxyStats {
  proxiesAlive: number;
  proxiesCreated: number;
  proxiesFreed: number;
  /** `proxiesAlive * PROXY_METADATA_BYTES`. */
  metadataBytes: number;
  /** Proxy → page dereferences (every resolve, every put that reaches the page). */
  pointerChases: number;
}

/** What a proxy says about its page. */
export interface ProxyInfo {
  readonly pfn: Pfn;
  /** The overriding `page->mapping` (an AddressSpace, an anon_vma…), or null. */
  readonly mapping: object | null;
  readonly index: number;
  readonly refcount: number;
  /** The kind of GUP reference the proxy holds on its page. */
  readonly pinned: boolean;
}

export class ProxyTable {
  private pfnArr = new Float64Array(64);
  private indexArr = new Float64Array(64);
  private mappingId = new Uint32Array(64);
  private refs = new Int32Array(64);
  private pin = new Uint8Array(64);
  private next = 0;
  private readonly freeIds: number[] = [];
  readonly stats: ProxyStats = { proxiesAlive: 0, proxiesCreated: 0, proxiesFreed: 0, metadataBytes: 0, pointerChases: 0 };

  constructor(readonly ctx: VmContext) {}

  /**
   * A new proxy for `pfn` naming `(mapping, index)`, holding a pin (`pin`, the default) or a
   * plain reference on the page, with a proxy refcount of 1.
   */
  create(pfn: Pfn, mapping: object | null, index: number, opts: { pin?: boolean } = {}): PageHandle {
    const pin = opts.pin ?? true;
    const ret = tryGrabFolio(this.ctx, pfn, 1, pin ? FOLL_PIN : FOLL_GET);
    if (ret) throw new KernelBug(`page proxy for free page 0x${pfn.toString(16)}`);
    return this.adopt(pfn, mapping, index, pin);
  }

  /** A proxy taking over a GUP reference the caller already holds on `pfn`. */
  adopt(pfn: Pfn, mapping: object | null, index: number, pinned: boolean): PageHandle {
    const id = this.freeIds.pop() ?? this.next++;
    if (id >= this.pfnArr.length) this.grow();
    this.pfnArr[id] = pfn;
    this.indexArr[id] = index;
    this.mappingId[id] = mapping === null ? 0 : this.ctx.memmap.registerMappingObject(mapping);
    this.refs[id] = 1;
    this.pin[id] = pinned ? 1 : 0;
    const s = this.stats;
    s.proxiesAlive++;
    s.proxiesCreated++;
    s.metadataBytes = s.proxiesAlive * PROXY_METADATA_BYTES;
    return taggedHandle(id);
  }

  private grow(): void {
    const n = this.pfnArr.length * 2;
    const g = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.pfnArr = g(this.pfnArr, (k) => new Float64Array(k));
    this.indexArr = g(this.indexArr, (k) => new Float64Array(k));
    this.mappingId = g(this.mappingId, (k) => new Uint32Array(k));
    this.refs = g(this.refs, (k) => new Int32Array(k));
    this.pin = g(this.pin, (k) => new Uint8Array(k));
  }

  private idOf(handle: PageHandle): number {
    if (!isTaggedHandle(handle)) throw new KernelBug(`page proxy: ${handle} is a real page, not a proxy`);
    const id = taggedHandleId(handle);
    if (id >= this.next || this.refs[id]! <= 0) throw new KernelBug(`page proxy: handle ${handle} is not a live proxy`);
    return id;
  }

  /** Whether `handle` is a live proxy of this table. */
  has(handle: PageHandle): boolean {
    if (!isTaggedHandle(handle)) return false;
    const id = taggedHandleId(handle);
    return id < this.next && this.refs[id]! > 0;
  }

  /** Proxy → real page (`page_to_pfn()` through the proxy): one pointer chase. */
  resolve(handle: PageHandle): Pfn {
    const id = this.idOf(handle);
    this.stats.pointerChases++;
    return this.pfnArr[id]! as Pfn;
  }

  /** A real page handle, or the page behind a proxy. */
  pageOf(handle: PageHandle): PageHandle {
    return isTaggedHandle(handle) ? pfnToHandle(this.resolve(handle)) : handle;
  }

  /** The proxy's `page->mapping` override. */
  mapping(handle: PageHandle): object | null {
    const id = this.mappingId[this.idOf(handle)]!;
    return id === 0 ? null : (this.ctx.memmap.mappingObjectById(id) ?? null);
  }

  /** The proxy's `page->index` override. */
  index(handle: PageHandle): number {
    return this.indexArr[this.idOf(handle)]!;
  }

  info(handle: PageHandle): ProxyInfo {
    const id = this.idOf(handle);
    return {
      pfn: this.pfnArr[id]! as Pfn,
      mapping: this.mapping(handle),
      index: this.indexArr[id]!,
      refcount: this.refs[id]!,
      pinned: this.pin[id] === 1,
    };
  }

  /** `ref_user_page()`: one more reference on a proxy from GUP. */
  refUserPage(handle: PageHandle): void {
    this.refs[this.idOf(handle)]!++;
  }

  /**
   * `put_user_page()`: drop a proxy reference; the last one frees the proxy and releases
   * its GUP reference on the page (which may free the page).
   */
  putUserPage(handle: PageHandle): void {
    const id = this.idOf(handle);
    if (--this.refs[id]! > 0) return;
    const pfn = this.pfnArr[id]! as Pfn;
    this.stats.pointerChases++;
    gupPutFolio(this.ctx, pfn, 1, this.pin[id] ? FOLL_PIN : FOLL_GET);
    this.freeIds.push(id);
    const s = this.stats;
    s.proxiesAlive--;
    s.proxiesFreed++;
    s.metadataBytes = s.proxiesAlive * PROXY_METADATA_BYTES;
  }

  /** Live proxies of `pfn` (a linear scan: proxies have no reverse index from the page). */
  proxiesOf(pfn: Pfn): PageHandle[] {
    const out: PageHandle[] = [];
    for (let id = 0; id < this.next; id++) if (this.refs[id]! > 0 && this.pfnArr[id] === pfn) out.push(taggedHandle(id));
    return out;
  }
}
