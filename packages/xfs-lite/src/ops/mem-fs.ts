/**
 * A file system on in-memory metadata and data blocks — the file layers without a block
 * device or a log (nothing survives a "power loss"; use the mounted file system for that).
 *
 * @see fs/xfs/xfs_super.c xfs_fs_fill_super() (what a mount assembles)
 */
import type { VmContext } from "@pagelab/mm-core";
import { XfsMemSpace } from "../bmap/mem-space.js";
import { XfsMemBackend } from "./backend.js";
import { XfsMemDataDevice } from "./data-dev.js";
import type { XfsDaxMode } from "./xfs-dax-mode.js";
import { XfsFileSystem } from "./xfs-fs.js";

export interface XfsMemFsOptions {
  agcount?: number;
  agblocks?: number;
  reflink?: boolean;
  rmapbt?: boolean;
  /** DRAM for the page cache of regular non-DAX files (default: none, data goes to blocks). */
  pageCache?: VmContext;
  /** `-o dax=` (default "inode": S_DAX follows FS_XFLAG_DAX). */
  daxMode?: XfsDaxMode;
  /** Whether the data device supports DAX (default true). */
  daxCapable?: boolean;
}

export function xfsMemFs(opts: XfsMemFsOptions = {}): XfsFileSystem {
  const agblocks = opts.agblocks ?? 16384;
  const agblklog = Math.ceil(Math.log2(agblocks));
  const geo = { blockSize: 4096, agblklog, agcount: opts.agcount ?? 4, agblocks };
  const space = new XfsMemSpace(geo, opts.reflink ?? true, opts.rmapbt ?? true);
  return new XfsFileSystem({ backend: new XfsMemBackend(space), dev: new XfsMemDataDevice(geo.blockSize),
    ...(opts.pageCache !== undefined ? { pageCache: opts.pageCache } : {}),
    ...(opts.daxMode !== undefined ? { daxMode: opts.daxMode } : {}),
    ...(opts.daxCapable !== undefined ? { daxCapable: opts.daxCapable } : {}),
  });
}
