/**
 * Whether a file is DAX: the mount option dax=always|never|inode and the per-inode flag.
 *
 * @see fs/xfs/xfs_super.c xfs_fs_parse_param() (Opt_dax, Opt_dax_enum, "Bad value for
 *      'dax'"), xfs_mount_set_dax_mode(); fs/xfs/xfs_iops.c xfs_inode_should_enable_dax(),
 *      xfs_inode_supports_dax(); include/uapi/linux/fs.h FS_XFLAG_DAX;
 *      include/uapi/linux/stat.h STATX_ATTR_DAX; Documentation/filesystems/dax.rst
 *
 * The filesystem owns its inode flags; this is the decision every DAX filesystem makes
 * the same way, so it lives with DAX.
 */
import { KernelError } from "@pagelab/mm-core";

export type DaxMountMode = "always" | "never" | "inode";

/** `FS_XFLAG_DAX`: the per-inode DAX flag (chattr +x), inherited by new files in a directory. */
export const FS_XFLAG_DAX = 0x00008000;
/** `STATX_ATTR_DAX`: statx reports a file that is DAX now. */
export const STATX_ATTR_DAX = 0x00200000;

/**
 * Parse `-o dax` / `-o dax=<mode>` (plain `dax` is the old spelling of always; no option
 * is "inode"). A bad value fails with EINVAL, as "xfs: Bad value for 'dax'".
 */
export function parseDaxMountOption(value: string | null | undefined, present = value !== undefined): DaxMountMode {
  if (!present) return "inode";
  if (value === null || value === undefined || value === "" || value === "always") return "always";
  if (value === "never" || value === "inode") return value;
  throw new KernelError("EINVAL", "xfs: Bad value for 'dax'");
}

export interface DaxInodeState {
  /** A regular file on a device with a dax device (`xfs_inode_supports_dax`). */
  readonly supportsDax: boolean;
  /** FS_XFLAG_DAX set on the inode. */
  readonly flagDax: boolean;
}

/** `xfs_inode_should_enable_dax()`: whether the inode gets S_DAX. */
export function daxInodeShouldEnable(mode: DaxMountMode, inode: DaxInodeState): boolean {
  if (mode === "never") return false;
  if (!inode.supportsDax) return false;
  if (mode === "always") return true;
  return inode.flagDax;
}
