/**
 * What the file-system API needs underneath it: transactions over the space-management
 * layer, inode numbers, directory storage and durability. Two implementations: in memory
 * (`XfsMemBackend`, nothing persists) and on a mounted device (`mounted-fs.ts`).
 *
 * @see fs/xfs/xfs_trans.c xfs_trans_alloc(), xfs_trans_commit(), xfs_trans_cancel();
 *      fs/xfs/xfs_inode.c xfs_trans_log_inode() (inodes named at commit are logged)
 */
import { KernelError } from "@pagelab/mm-core";
import type { XfsMemSpace } from "../bmap/mem-space.js";
import type { XfsGeometry, XfsSpace } from "../bmap/space.js";
import type { XfsInode } from "../inode/inode.js";

export interface XfsFsBackend {
  readonly geo: XfsGeometry;
  readonly hasReflink: boolean;
  readonly hasRmapbt: boolean;
  /**
   * One transaction: reserve `resblks` (ENOSPC before anything changes), run `fn`, log
   * `inodes`, commit; cancel if `fn` throws.
   */
  trans<T>(resblks: number, inodes: readonly XfsInode[], fn: (sp: XfsSpace) => T): T;
  /** A read-only view for lookups outside a transaction (reads, FIEMAP, the checker). */
  readSpace<T>(fn: (sp: XfsSpace) => T): T;
  freeBlocks(): number;
  /** Inside `trans`: a new inode number (`xfs_dialloc`). */
  ialloc(): number;
  /** Inside `trans`: the inode is gone (`xfs_difree`). */
  ifree(ip: XfsInode): void;
  /** Inside `trans`: store a directory's entries. */
  writeDir(dir: XfsInode, entries: ReadonlyMap<string, number>): void;
  /** fsync: make written data and every committed transaction durable. */
  sync(): void;
  /** Whether `ip` was logged since the last `sync()` (`xfs_ipincount()`). */
  inodeNeedsSync(ip: XfsInode): boolean;
}

/** In-memory metadata: a transaction is a reservation check followed by the change. */
export class XfsMemBackend implements XfsFsBackend {
  private nextIno: number;
  constructor(
    readonly space: XfsMemSpace,
    firstIno = 128,
  ) {
    this.nextIno = firstIno;
  }
  get geo(): XfsGeometry {
    return this.space.geo;
  }
  get hasReflink(): boolean {
    return this.space.hasReflink;
  }
  get hasRmapbt(): boolean {
    return this.space.hasRmapbt;
  }
  trans<T>(resblks: number, _inodes: readonly XfsInode[], fn: (sp: XfsSpace) => T): T {
    if (resblks > this.space.freeBlocks()) throw new KernelError("ENOSPC");
    return fn(this.space);
  }
  readSpace<T>(fn: (sp: XfsSpace) => T): T {
    return fn(this.space);
  }
  freeBlocks(): number {
    return this.space.freeBlocks();
  }
  ialloc(): number {
    return this.nextIno++;
  }
  ifree(): void {}
  writeDir(): void {}
  sync(): void {}
  inodeNeedsSync(): boolean {
    return false;
  }
}
