/**
 * Which inodes are DAX (S_DAX) and the hooks through which the DAX code keeps its mapping
 * entries in step with extent changes.
 *
 * @see fs/xfs/xfs_iops.c xfs_inode_supports_dax(), xfs_inode_should_enable_dax(),
 *      xfs_diflags_to_iflags(); fs/xfs/xfs_super.c xfs_mount_set_dax_mode();
 *      fs/xfs/xfs_ioctl.c xfs_ioctl_setattr_prepare_dax(); fs/xfs/xfs_bmap_util.c
 *      xfs_flush_unmap_range(); mm/truncate.c truncate_pagecache_range(),
 *      truncate_inode_pages_final()
 *
 * S_DAX is decided once, when the in-core inode is set up (create, iget); changing
 * FS_XFLAG_DAX under dax=inode only marks the inode I_DONTCACHE, and the new S_DAX takes
 * effect when the last reference is dropped and the inode is read again.
 *
 * Simplified: no fs-verity check; "the data device has a dax_device" is a mount option
 * (`daxCapable`), since xfs-lite does not know what its block device is backed by.
 */
import { PAGE_SIZE, type Sleepable } from "@pagelab/mm-core";
import type { XfsInode } from "../inode/inode.js";

/** `-o dax=always|never|inode` (no option: inode). */
export type XfsDaxMode = "always" | "never" | "inode";

/**
 * What the DAX code does where the page-cache path writes back and drops pages. Called for
 * DAX inodes only, with i_rwsem and the MMAPLOCK held and after the layout break, over the
 * byte range the page-cache path would use (rounded out to whole pages).
 */
export interface XfsDaxOps {
  /** `filemap_write_and_wait_range()` of a DAX mapping: `dax_writeback_mapping_range()`. */
  writeback(ip: XfsInode, pos: number, len: number): Sleepable;
  /**
   * `truncate_pagecache_range()` of a DAX mapping: unmap the range from every VMA and
   * `dax_delete_mapping_entry()` each entry. Also run over the whole file at eviction
   * (`truncate_inode_pages_final()`), where nothing holds the inode any more.
   */
  invalidate(ip: XfsInode, pos: number, len: number): Sleepable;
}

/** `xfs_inode_supports_dax()`: a regular file, block size = page size, a DAX-capable device. */
export function xfsInodeSupportsDax(ip: XfsInode, blockSize: number, daxCapable: boolean): boolean {
  return ip.isReg() && blockSize === PAGE_SIZE && daxCapable;
}

/** `xfs_inode_should_enable_dax()`: whether `xfs_diflags_to_iflags(ip, true)` sets S_DAX. */
export function xfsInodeShouldEnableDax(ip: XfsInode, mode: XfsDaxMode, blockSize: number, daxCapable: boolean): boolean {
  if (mode === "never") return false;
  if (!xfsInodeSupportsDax(ip, blockSize, daxCapable)) return false;
  if (mode === "always") return true;
  return ip.flagDax();
}
