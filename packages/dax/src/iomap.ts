/**
 * The iomap interface DAX consumes: what a filesystem says about the blocks behind a file
 * range, and the begin/end calls around each use of them.
 *
 * @see include/linux/iomap.h struct iomap, struct iomap_ops, IOMAP_HOLE..IOMAP_INLINE,
 *      IOMAP_F_*, IOMAP_WRITE..IOMAP_DAX, iomap_iter_srcmap(); fs/iomap/iter.c iomap_iter()
 *
 * dax owns this interface (the consumer declares what it needs); a filesystem such as
 * xfs-lite implements `IomapOps` with the same names and values, structurally. Addresses
 * are bytes on the dax device (`iomap->addr`); dax has one dax device per filesystem, so
 * the iomap carries no `dax_dev`. Simplified: one iteration per call (faults and the
 * read/write loop ask for what they need and iterate themselves).
 */
import type { MappingHost } from "@pagelab/mm-core";

export const IOMAP_HOLE = 0;
export const IOMAP_DELALLOC = 1;
export const IOMAP_MAPPED = 2;
export const IOMAP_UNWRITTEN = 3;
export const IOMAP_INLINE = 4;
export type IomapType =
  | typeof IOMAP_HOLE
  | typeof IOMAP_DELALLOC
  | typeof IOMAP_MAPPED
  | typeof IOMAP_UNWRITTEN
  | typeof IOMAP_INLINE;

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

/** `struct iomap` (bytes). */
export interface Iomap {
  /** Byte address on the dax device of `offset`, or IOMAP_NULL_ADDR. */
  addr: number;
  /** File offset in bytes. */
  offset: number;
  length: number;
  type: IomapType;
  flags: number;
}

/** `struct iomap_ops`. `srcmap` is the data-fork mapping a CoW write copies from. */
export interface IomapOps<I> {
  iomapBegin(inode: I, pos: number, length: number, flags: number): { iomap: Iomap; srcmap: Iomap | undefined };
  iomapEnd(inode: I, pos: number, length: number, written: number, flags: number, iomap: Iomap): void;
}

/** What DAX needs of an inode: its size (it is the host of its mapping). */
export type DaxInode = MappingHost;

/** One step of `iomap_iter()`: the maps for [pos, pos + len) and the usable length. */
export interface IomapIter<I> {
  readonly inode: I;
  readonly pos: number;
  readonly len: number;
  readonly flags: number;
  readonly iomap: Iomap;
  readonly srcmap: Iomap;
}

/** `iomap_length()`: bytes of the request the current map covers from `pos`. */
export function iomapLength(it: IomapIter<unknown>): number {
  return Math.min(it.len, it.iomap.offset + it.iomap.length - it.pos);
}

/**
 * One `iomap_iter()` round: ->iomap_begin, `body` (returns bytes processed, or a negative
 * errno), ->iomap_end with what was written. `srcmap` defaults to the iomap itself.
 */
export function iomapIterOnce<I, T>(
  ops: IomapOps<I>,
  inode: I,
  pos: number,
  len: number,
  flags: number,
  body: (it: IomapIter<I>) => { processed: number; value: T },
): T {
  const { iomap, srcmap } = ops.iomapBegin(inode, pos, len, flags);
  const it: IomapIter<I> = { inode, pos, len, flags, iomap, srcmap: srcmap ?? iomap };
  let processed = 0;
  try {
    const r = body(it);
    processed = Math.max(0, r.processed);
    return r.value;
  } finally {
    ops.iomapEnd(inode, pos, len, processed, flags, iomap);
  }
}

/** `iomapIterOnce` for a body that may sleep. */
export function* iomapIterOnceSleepable<I, T>(
  ops: IomapOps<I>,
  inode: I,
  pos: number,
  len: number,
  flags: number,
  body: (it: IomapIter<I>) => Generator<import("@pagelab/mm-core").SchedOp, { processed: number; value: T }, unknown>,
): Generator<import("@pagelab/mm-core").SchedOp, T, unknown> {
  const { iomap, srcmap } = ops.iomapBegin(inode, pos, len, flags);
  const it: IomapIter<I> = { inode, pos, len, flags, iomap, srcmap: srcmap ?? iomap };
  let processed = 0;
  try {
    const r = yield* body(it);
    processed = Math.max(0, r.processed);
    return r.value;
  } finally {
    ops.iomapEnd(inode, pos, len, processed, flags, iomap);
  }
}
