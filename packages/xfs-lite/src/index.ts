/**
 * @pagelab/xfs-lite: an XFS-like filesystem with reflink. The infrastructure layer
 * (block device, xfs_buf cache, transactions and log, btrees, allocation groups, mkfs and
 * mount) and the file layers (extent trees, bmap, refcount, rmap, reflink and CoW,
 * inodes, directories, the filesystem API, iomap, the checker) each list their exports
 * by name.
 */
export * from "./infra.js";
export * from "./files.js";
