/**
 * The iomap vocabulary: what a file system tells the page cache, direct I/O and DAX about
 * the blocks behind a file range.
 *
 * @see include/linux/iomap.h struct iomap, IOMAP_HOLE..IOMAP_INLINE, IOMAP_F_*, IOMAP_WRITE..
 *      IOMAP_DAX, IOMAP_NULL_ADDR
 *
 * Declared here until the dax package (the consumer) declares its own IomapOps; the names
 * and values are the kernel's so the types can move without changes.
 */

export const IOMAP_HOLE = 0;
export const IOMAP_DELALLOC = 1;
export const IOMAP_MAPPED = 2;
export const IOMAP_UNWRITTEN = 3;
export const IOMAP_INLINE = 4;
export type IomapType = typeof IOMAP_HOLE | typeof IOMAP_DELALLOC | typeof IOMAP_MAPPED | typeof IOMAP_UNWRITTEN | typeof IOMAP_INLINE;

export const IOMAP_F_NEW = 1 << 0;
export const IOMAP_F_DIRTY = 1 << 1;
export const IOMAP_F_SHARED = 1 << 2;
export const IOMAP_F_MERGED = 1 << 3;

export const IOMAP_WRITE = 1 << 0;
export const IOMAP_ZERO = 1 << 1;
export const IOMAP_REPORT = 1 << 2;
export const IOMAP_FAULT = 1 << 3;
export const IOMAP_DIRECT = 1 << 4;
export const IOMAP_NOWAIT = 1 << 5;
export const IOMAP_OVERWRITE_ONLY = 1 << 6;
export const IOMAP_UNSHARE = 1 << 7;
export const IOMAP_DAX = 1 << 8;

/** `IOMAP_NULL_ADDR`: the address of a hole or delalloc range. */
export const IOMAP_NULL_ADDR = -1;

/** `struct iomap` (byte units, like the kernel). */
export interface Iomap {
  /** Disk address in bytes of `offset`, or IOMAP_NULL_ADDR. */
  addr: number;
  /** File offset in bytes. */
  offset: number;
  length: number;
  type: IomapType;
  flags: number;
}

/** `struct iomap_ops`: what the consumers (page cache, DAX) call. */
export interface IomapOps<I> {
  iomapBegin(inode: I, pos: number, length: number, flags: number): { iomap: Iomap; srcmap: Iomap | undefined };
  iomapEnd(inode: I, pos: number, length: number, written: number, flags: number, iomap: Iomap): void;
}
