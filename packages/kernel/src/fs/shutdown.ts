/**
 * Forced shutdown of the mounted filesystem and the lines XFS logs for it.
 *
 * @see fs/xfs/xfs_fsops.c xfs_do_force_shutdown(); fs/xfs/xfs_mount.h SHUTDOWN_*;
 *      fs/xfs/xfs_message.c (xfs_alert = KERN_ALERT, xfs_info = KERN_INFO)
 *
 * The `detected at` return address is the one the oracle printed for device removal
 * (`xfs_dax_notify_ddev_failure+0x289/0x430 [xfs]`); the source line numbers are not
 * in the oracle's notes and are this model's constants.
 */
import { type Dmesg, KERN_ALERT } from "@pagelab/mm-core";

export const SHUTDOWN_META_IO_ERROR = 0x1;
export const SHUTDOWN_LOG_IO_ERROR = 0x2;
export const SHUTDOWN_FORCE_UMOUNT = 0x4;
export const SHUTDOWN_CORRUPT_INCORE = 0x8;
export const SHUTDOWN_CORRUPT_ONDISK = 0x10;
export const SHUTDOWN_DEVICE_REMOVED = 0x20;

export interface ShutdownSite {
  readonly symbol: string;
  readonly file: string;
  readonly line: number;
}

export const NOTIFY_DDEV_FAILURE_CORRUPT: ShutdownSite = { symbol: "xfs_dax_notify_ddev_failure+0x1f4/0x430 [xfs]", file: "fs/xfs/xfs_notify_failure.c", line: 242 };
export const NOTIFY_DDEV_FAILURE_REMOVE: ShutdownSite = { symbol: "xfs_dax_notify_ddev_failure+0x289/0x430 [xfs]", file: "fs/xfs/xfs_notify_failure.c", line: 246 };

function why(flags: number): string {
  if (flags & SHUTDOWN_LOG_IO_ERROR) return "Log I/O Error";
  if (flags & SHUTDOWN_CORRUPT_INCORE) return "Corruption of in-memory data";
  if (flags & SHUTDOWN_CORRUPT_ONDISK) return "Corruption of on-disk metadata";
  if (flags & SHUTDOWN_DEVICE_REMOVED) return "Block device removal";
  return "Metadata I/O Error";
}

/** `xfs_do_force_shutdown()`'s messages for `devName`. */
export function logForceShutdown(dmesg: Dmesg, devName: string, flags: number, site: ShutdownSite): void {
  const p = `XFS (${devName}): `;
  if (flags & SHUTDOWN_FORCE_UMOUNT) dmesg.printk(KERN_ALERT, `${p}User initiated shutdown received.`);
  dmesg.printk(
    KERN_ALERT,
    `${p}${why(flags)} (0x${flags.toString(16)}) detected at ${site.symbol} (${site.file}:${site.line}).  Shutting down filesystem.`,
  );
  dmesg.printk(KERN_ALERT, `${p}Please unmount the filesystem and rectify the problem(s)`);
}
