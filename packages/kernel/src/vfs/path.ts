/**
 * Path lookup of absolute paths under the mount point.
 *
 * @see fs/namei.c path_lookupat(), link_path_walk(), lookup_open() (O_CREAT)
 *
 * Simplified: one filesystem mounted at /mnt, no symlinks, `.` and `..` handled
 * textually; any other absolute path is ENOENT.
 */
import { KernelError } from "@pagelab/mm-core";
import type { XfsFileSystem, XfsInode } from "@pagelab/xfs-lite";

export const MOUNT_POINT = "/mnt";
const PATH_MAX = 4096;

/** The components of `path` below the mount point. */
export function pathComponents(path: string): string[] {
  if (typeof path !== "string" || path.length === 0) throw new KernelError("ENOENT");
  if (path.length >= PATH_MAX) throw new KernelError("ENAMETOOLONG");
  if (!path.startsWith("/")) throw new KernelError("ENOENT", `${path}: relative paths are not supported`);
  const parts: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") parts.pop();
    else parts.push(c);
  }
  if (parts[0] !== MOUNT_POINT.slice(1)) throw new KernelError("ENOENT", path);
  return parts.slice(1);
}

/** The inode at `path`. */
export function lookupPath(fs: XfsFileSystem, path: string): XfsInode {
  let ip = fs.root;
  for (const c of pathComponents(path)) {
    if (!ip.isDir()) throw new KernelError("ENOTDIR", path);
    ip = fs.lookup(ip, c);
  }
  return ip;
}

/** The parent directory of `path` and the last name (`EEXIST`-style callers check the name). */
export function lookupParent(fs: XfsFileSystem, path: string): { dir: XfsInode; name: string } {
  const parts = pathComponents(path);
  const name = parts.pop();
  if (name === undefined) throw new KernelError("EBUSY", `${path} is the mount point`);
  let dir = fs.root;
  for (const c of parts) {
    if (!dir.isDir()) throw new KernelError("ENOTDIR", path);
    dir = fs.lookup(dir, c);
  }
  if (!dir.isDir()) throw new KernelError("ENOTDIR", path);
  return { dir, name };
}
