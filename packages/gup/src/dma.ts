/**
 * A simulated DMA engine: a device that reads or writes memory through a list of pages
 * a driver handed it (from GUP), at a later scheduler step — long enough for the process
 * to munmap, CoW, truncate or exit in between, as real I/O does.
 *
 * @see Documentation/core-api/pin_user_pages.rst (why DMA needs FOLL_PIN);
 *      drivers/infiniband/core/umem.c, lib/iov_iter.c (drivers that pin, then DMA later);
 *      include/linux/highmem.h memcpy_to_page(), memcpy_from_page()
 *
 * The device runs as a task of its own in a Scheduler and sleeps on a wait queue until
 * `trigger()`. When it transfers, it checks every page against what the memmap says now
 * versus what it said at submission: a DRAM page whose refcount dropped to zero, or an
 * FS_DAX page its file no longer owns (the page *is* the block, so the block is free,
 * pinned or not), is "DMA into a freed page"; a page whose `mapping`/`index` changed is
 * "DMA into a page now owned by X". The bytes move anyway, as they would on hardware.
 * Proxy handles are resolved through their ProxyTable.
 */
import {
  PAGE_SIZE, PGTY_buddy, WaitQueueHead, folioIsFsdax, handleToPfn, isTaggedHandle, type PageHandle, type Pfn,
  type Scheduler, type Sleepable, type Task, type Thread, type VmContext,
} from "@pagelab/mm-core";
import type { ProxyTable } from "./proxy.js";

/** `to-memory`: the device writes (a read(2) into the buffer); `from-memory`: it reads. */
export type DmaDirection = "to-memory" | "from-memory";

export interface DmaRequestInit {
  readonly dir: DmaDirection;
  /** The pages, in order; the transfer covers `length` bytes from `offset` in the first. */
  readonly pages: readonly PageHandle[];
  readonly offset?: number;
  readonly length?: number;
  /** For `to-memory`: the bytes the device produces (repeated if shorter than `length`). */
  readonly data?: Uint8Array;
  readonly label?: string;
}

/** What a page looked like to the driver when the request was submitted. */
interface PageIdentity {
  readonly pfn: Pfn;
  readonly mapping: number;
  readonly index: number;
}

/** One problem found when the device touched a page. */
export interface DmaFinding {
  readonly pfn: Pfn;
  readonly kind: "freed" | "reowned";
  readonly text: string;
}

export class DmaRequest {
  done = false;
  /** For `from-memory`: the bytes the device read. */
  result: Uint8Array | null = null;
  readonly findings: DmaFinding[] = [];
  constructor(
    readonly init: DmaRequestInit,
    readonly identities: readonly PageIdentity[],
  ) {}
}

export class DmaEngine {
  private readonly queue: DmaRequest[] = [];
  private triggers = 0;
  private stopped = false;
  /** The device sleeps here until triggered. */
  readonly wq: WaitQueueHead;
  /** Waiters for completions (`waitIdle`). */
  readonly doneWq: WaitQueueHead;
  readonly completed: DmaRequest[] = [];
  /** Every finding, as the text lines a checker prints. */
  readonly report: string[] = [];
  bytesTransferred = 0;

  constructor(
    readonly ctx: VmContext,
    readonly opts: { readonly name?: string; readonly proxies?: ProxyTable } = {},
  ) {
    this.wq = new WaitQueueHead(`${opts.name ?? "dma"}.wq`);
    this.doneWq = new WaitQueueHead(`${opts.name ?? "dma"}.done`);
  }

  private pfnOf(h: PageHandle): Pfn {
    if (!isTaggedHandle(h)) return handleToPfn(h);
    if (!this.opts.proxies) throw new Error(`dma: proxy handle ${h} but the engine has no ProxyTable`);
    return this.opts.proxies.resolve(h);
  }

  /** Queue a transfer; page identities are recorded now, as the driver saw them. */
  submit(init: DmaRequestInit): DmaRequest {
    const memmap = this.ctx.memmap;
    const ids = init.pages.map((h) => {
      const pfn = this.pfnOf(h);
      return { pfn, mapping: memmap.pageMapping(pfn), index: memmap.pageIndex(pfn) };
    });
    const req = new DmaRequest(init, ids);
    this.queue.push(req);
    return req;
  }

  /** Let the device process one queued request (its doorbell). */
  trigger(): void {
    this.triggers++;
    this.wq.wakeUpAll();
  }

  /**
   * Let the device finish the triggered requests and exit; untriggered ones stay queued
   * for a device task spawned later.
   */
  stop(): void {
    this.stopped = true;
    this.wq.wakeUpAll();
  }

  /** Allow a new device task after `stop()`. */
  restart(): void {
    this.stopped = false;
  }


  get pending(): number {
    return this.queue.length;
  }

  /** The device's task body: sleep until triggered, transfer, repeat until stopped. */
  *deviceMain(): Sleepable {
    for (;;) {
      yield* this.wq.waitEvent(() => this.stopped || (this.triggers > 0 && this.queue.length > 0));
      if (this.triggers === 0 || this.queue.length === 0) return;
      const req = this.queue.shift()!;
      this.triggers--;
      this.transfer(req);
      req.done = true;
      this.completed.push(req);
      this.doneWq.wakeUpAll();
    }
  }

  /** Start the device as a task of `sched`. */
  spawn(sched: Scheduler, task: Task | string = this.opts.name ?? "dma-engine"): Thread<void> {
    return sched.spawn(task, () => this.deviceMain());
  }

  /** Sleep until `req` completed. */
  *waitFor(req: DmaRequest): Sleepable {
    yield* this.doneWq.waitEvent(() => req.done);
  }

  /** What the memmap says about a page the device is about to touch. */
  checkPage(id: PageIdentity): DmaFinding | null {
    const memmap = this.ctx.memmap;
    const pfn = id.pfn;
    const hex = `0x${pfn.toString(16)}`;
    const fsdax = folioIsFsdax(memmap, pfn);
    const freedDram = !fsdax && (memmap.pageRefCount(pfn) === 0 || memmap.pageType(pfn) >>> 24 === PGTY_buddy);
    const mapping = memmap.pageMapping(pfn);
    // an fsdax page *is* the block: once its file let go of it, the block is free space
    const freedDax = fsdax && id.mapping !== 0 && mapping === 0;
    if (freedDram || freedDax)
      return { pfn, kind: "freed", text: `DMA into a freed page (pfn ${hex}${fsdax ? ", fsdax block" : ""})` };
    if (mapping !== id.mapping || memmap.pageIndex(pfn) !== id.index) {
      const owner = mapping === 0 ? "nobody" : `${String(memmap.pageMappingObject(pfn) ?? "?")} index ${memmap.pageIndex(pfn)}`;
      return { pfn, kind: "reowned", text: `DMA into a page now owned by ${owner} (pfn ${hex})` };
    }
    return null;
  }

  private transfer(req: DmaRequest): void {
    const { init } = req;
    const offset = init.offset ?? 0;
    const length = init.length ?? init.pages.length * PAGE_SIZE - offset;
    const out = init.dir === "from-memory" ? new Uint8Array(length) : null;
    const label = init.label ? `${init.label}: ` : "";
    let done = 0;
    for (let i = 0; done < length; i++) {
      const id = req.identities[i];
      if (!id) throw new RangeError(`dma: ${length} bytes do not fit in ${init.pages.length} pages`);
      const finding = this.checkPage(id);
      if (finding) {
        req.findings.push(finding);
        this.report.push(label + finding.text);
      }
      const start = i === 0 ? offset : 0;
      const n = Math.min(PAGE_SIZE - start, length - done);
      if (out) this.ctx.physMem.read(id.pfn, start, out.subarray(done, done + n));
      else this.ctx.physMem.write(id.pfn, start, this.bytes(init.data, done, n));
      done += n;
    }
    this.bytesTransferred += length;
    req.result = out;
  }

  private bytes(data: Uint8Array | undefined, at: number, n: number): Uint8Array {
    const chunk = new Uint8Array(n);
    if (!data || data.length === 0) return chunk;
    for (let k = 0; k < n; k++) chunk[k] = data[(at + k) % data.length]!;
    return chunk;
  }
}
