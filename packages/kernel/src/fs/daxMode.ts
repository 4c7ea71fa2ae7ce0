/**
 * S_DAX: whether an inode's data goes through DAX, decided from the mount option and the
 * inode's FS_XFLAG_DAX, as `xfs_inode_should_enable_dax()` does at iget.
 *
 * @see fs/xfs/xfs_iops.c xfs_inode_should_enable_dax(), xfs_diflags_to_iflags();
 *      fs/xfs/xfs_super.c xfs_setup_dax_always()
 *
 * xfs-lite's `XfsInode.isDax()` reads the on-disk flag only (no in-core S_DAX yet, see
 * /work/notes/lead-requests.md); until it has one, each inode the kernel layer touches
 * gets an own `isDax` that applies the mount mode. The decision is re-evaluated on every
 * call, so `dax=inode` follows FS_FSSETXATTR at once (the kernel waits for the inode to
 * be evicted and read again).
 */
import { type DaxMountMode, daxInodeShouldEnable } from "@pagelab/dax";
import { XFS_DIFLAG2_DAX, type XfsInode } from "@pagelab/xfs-lite";

const applied = new WeakSet<XfsInode>();

/** IS_DAX(inode) under `mode`. */
export function inodeIsDax(mode: DaxMountMode, ip: XfsInode): boolean {
  return daxInodeShouldEnable(mode, { supportsDax: ip.isReg() && !ip.freed, flagDax: (ip.diflags2 & XFS_DIFLAG2_DAX) !== 0 });
}

/** Make `ip.isDax()` answer IS_DAX under the mount mode (idempotent). */
export function applyDaxMode(mode: DaxMountMode, ip: XfsInode): XfsInode {
  if (applied.has(ip)) return ip;
  applied.add(ip);
  Object.defineProperty(ip, "isDax", { value: () => inodeIsDax(mode, ip), configurable: true, writable: true });
  return ip;
}
