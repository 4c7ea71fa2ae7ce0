/**
 * A file whose "disk" is a byte array: the smallest filesystem that can back a page-cache
 * mapping, for examples, tests and benchmarks of the vm layer.
 *
 * @see fs/ramfs/file-mmu.c (a page-cache-only file), mm/filemap.c (the generic paths it
 * relies on)
 *
 * ->read_folio copies from the array (zeroes past EOF), ->writepage copies back, and the
 * mapping uses generic_file_vm_ops. `readFolioCalls` / `writepageCalls` count the I/O.
 */
import { PG_uptodate } from "../page/flags.js";
import type { Sleepable } from "../sched/sleepable.js";
import type { Pfn } from "../types.js";
import { PAGE_SIZE } from "../types.js";
import { AddressSpace } from "./addressSpace.js";
import type { VmContext } from "./context.js";
import { genericFileVmOps, truncatePagecache } from "./filemap.js";
import { unlockPage } from "../page/pagelock.js";
import type { VmAreaStruct, VmFile } from "./vma.js";

export class MemFile {
  readonly mapping: AddressSpace;
  disk: Uint8Array;
  iSize: number;
  readFolioCalls = 0;
  writepageCalls = 0;

  constructor(
    readonly ctx: VmContext,
    readonly name: string,
    content: Uint8Array = new Uint8Array(0),
  ) {
    this.disk = new Uint8Array(content);
    this.iSize = content.length;
    const self = this;
    this.mapping = new AddressSpace(this, {
      *readFolio(_m: AddressSpace, pfn: Pfn): Sleepable {
        self.readFolioCalls++;
        const index = ctx.memmap.pageIndex(pfn);
        const page = new Uint8Array(PAGE_SIZE);
        const start = index * PAGE_SIZE;
        if (start < self.disk.length) page.set(self.disk.subarray(start, Math.min(start + PAGE_SIZE, self.disk.length)));
        ctx.physMem.write(pfn, 0, page);
        ctx.memmap.setPageFlag(pfn, PG_uptodate);
        unlockPage(ctx.memmap, pfn);
      },
      *writepage(_m: AddressSpace, pfn: Pfn): Sleepable {
        self.writepageCalls++;
        const index = ctx.memmap.pageIndex(pfn);
        const page = new Uint8Array(PAGE_SIZE);
        ctx.physMem.read(pfn, 0, page);
        const start = index * PAGE_SIZE;
        const end = Math.min(start + PAGE_SIZE, self.iSize);
        if (end <= start) return;
        if (self.disk.length < end) {
          const grown = new Uint8Array(end);
          grown.set(self.disk);
          self.disk = grown;
        }
        self.disk.set(page.subarray(0, end - start), start);
      },
    }, name);
  }

  /** An open file description for mmap (`readable`/`writable` as O_RDONLY / O_RDWR). */
  open(mode: "r" | "rw" = "rw"): VmFile {
    return {
      mapping: this.mapping,
      readable: true,
      writable: mode === "rw",
      mmap(vma: VmAreaStruct) {
        vma.vmOps = genericFileVmOps;
      },
    };
  }

  /**
   * `truncate()`: set i_size and drop pages and mappings past it, holding the mapping's
   * invalidate_lock so no fault can bring a page back meanwhile (as filesystems do).
   */
  *truncate(size: number): Sleepable {
    yield* this.mapping.invalidateLock.downWrite();
    try {
      this.iSize = size;
      if (this.disk.length > size) this.disk = this.disk.slice(0, size);
      yield* truncatePagecache(this.ctx, this.mapping, size);
    } finally {
      this.mapping.invalidateLock.upWrite();
    }
  }
}
