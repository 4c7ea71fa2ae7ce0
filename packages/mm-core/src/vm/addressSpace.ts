/**
 * `struct address_space`: a file's page cache (`i_pages`), the VMAs that map the file
 * (`i_mmap`), the locks around them, and the operations the filesystem supplies.
 *
 * @see include/linux/fs.h struct address_space, struct address_space_operations,
 *      mapping_set_error(), mapping_can_writeback(); include/linux/pagemap.h AS_* flags;
 *      mm/interval_tree.c vma_interval_tree_*()
 *
 * `host` is opaque to mm except for its size (`i_size`), which the fault path checks.
 * Page-cache entries are numbers: a `PageHandle` (pfn * 2) for a page, an odd number for
 * a value entry (DAX, shadow). AS_DAX is a model bit standing for `IS_DAX(host)`.
 */
import type { Sleepable } from "../sched/sleepable.js";
import { RwSemaphore } from "../sched/rwsem.js";
import type { Pfn } from "../types.js";
import { XArray } from "../xarray/index.js";
import { IntervalTree } from "./intervalTree.js";
import type { VmAreaStruct } from "./vma.js";

export const AS_EIO = 0;
export const AS_ENOSPC = 1;
export const AS_MM_ALL_LOCKS = 2;
export const AS_UNEVICTABLE = 3;
export const AS_EXITING = 4;
export const AS_NO_WRITEBACK_TAGS = 5;
export const AS_RELEASE_ALWAYS = 6;
export const AS_STABLE_WRITES = 7;
export const AS_INACCESSIBLE = 8;
/** Model bit: the host inode is DAX (`IS_DAX()`); faults go to the DAX code, not the page cache. */
export const AS_DAX = 16;

/** What mm needs of the inode behind a mapping. */
export interface MappingHost {
  /** `i_size` in bytes. */
  readonly iSize: number;
}

/**
 * `struct address_space_operations`, as far as mm calls them. Callbacks get the page
 * locked (PG_locked) and as a pfn.
 */
export interface AddressSpaceOperations {
  /**
   * `->read_folio`: fill the page, set PG_uptodate and unlock it (`folio_end_read`).
   * On an I/O error unlock it without PG_uptodate (or throw a KernelError).
   */
  readFolio?(mapping: AddressSpace, pfn: Pfn): Sleepable;
  /** `->writepage`: write the page out; called locked with PG_writeback set. */
  writepage?(mapping: AddressSpace, pfn: Pfn): Sleepable;
  /** `->dirty_folio`; default `filemapDirtyFolio`. Returns whether it newly dirtied. */
  dirtyFolio?(mapping: AddressSpace, pfn: Pfn): boolean;
  /** `->error_remove_folio` (memory failure); 0 or -errno. */
  errorRemoveFolio?(mapping: AddressSpace, pfn: Pfn): number;
  /** `->release_folio`: drop private data; false if it cannot be released now. */
  releaseFolio?(mapping: AddressSpace, pfn: Pfn): boolean;
  /** `->invalidate_folio`: part or all of the page is being truncated. */
  invalidateFolio?(mapping: AddressSpace, pfn: Pfn, offset: number, length: number): void;
}

let nextMappingId = 1;

export class AddressSpace {
  readonly id = nextMappingId++;
  /** `i_pages`: page handles (pfn * 2) and value entries, with the PAGECACHE_TAG marks. */
  readonly iPages = new XArray<number>();
  nrpages = 0;
  /** `i_mmap`: VMAs by [vm_pgoff, vm_pgoff + pages - 1]. */
  readonly iMmap = new IntervalTree<VmAreaStruct>();
  readonly iMmapRwsem: RwSemaphore;
  /** `invalidate_lock` (XFS's MMAPLOCK): serialises faults against truncate and hole punch. */
  readonly invalidateLock: RwSemaphore;
  /** AS_* bits. */
  flags = 0;
  /** `private_data` / `i_private_list` owner data. */
  privateData: unknown = null;
  /** Whether dirty pages are written back (`mapping_can_writeback`). */
  canWriteback = true;
  /** Write-back error seen by mapping_set_error(), for the next fsync (`wb_err`). */
  wbErr = 0;

  constructor(
    public host: MappingHost | null,
    public aOps: AddressSpaceOperations = {},
    readonly name = `mapping#${nextMappingId}`,
  ) {
    this.iMmapRwsem = new RwSemaphore(`${name}.i_mmap_rwsem`);
    this.invalidateLock = new RwSemaphore(`${name}.invalidate_lock`);
  }

  testFlag(bit: number): boolean {
    return (this.flags & (1 << bit)) !== 0;
  }
  setFlag(bit: number): void {
    this.flags |= 1 << bit;
  }
  clearFlag(bit: number): void {
    this.flags &= ~(1 << bit);
  }

  /** `IS_DAX(mapping->host)`. */
  get isDax(): boolean {
    return this.testFlag(AS_DAX);
  }

  /** `i_size_read()`, 0 without a host. */
  get iSize(): number {
    return this.host?.iSize ?? 0;
  }

  /** `mapping_mapped()`: any VMA maps the file. */
  get mapped(): boolean {
    return this.iMmap.size > 0;
  }

  /** `vma_interval_tree_insert()`. */
  iMmapInsert(vma: VmAreaStruct): void {
    this.iMmap.insert(vma, vma.vmPgoff, vma.vmPgoff + vma.pages - 1);
  }

  /** `vma_interval_tree_remove()`. */
  iMmapRemove(vma: VmAreaStruct): void {
    this.iMmap.remove(vma);
  }

  /** VMAs mapping any of pages [first, last] (`vma_interval_tree_foreach`). */
  vmasCovering(first: number, last: number): VmAreaStruct[] {
    return this.iMmap.overlapping(first, last);
  }

  toString(): string {
    return this.name;
  }
}

/** `mapping_set_error()`: remember an I/O error for the next fsync. */
export function mappingSetError(mapping: AddressSpace, errno: number): void {
  if (errno === 0) return;
  mapping.wbErr = errno;
  mapping.setFlag(AS_EIO);
}

/** Re-key a file VMA in `i_mmap` around a change to its bounds or pgoff. */
export function iMmapUpdate(vma: VmAreaStruct, change: () => void): void {
  const mapping = vma.mapping;
  const linked = mapping?.iMmap.has(vma) ?? false;
  if (linked) mapping!.iMmapRemove(vma);
  change();
  if (linked) mapping!.iMmapInsert(vma);
}
