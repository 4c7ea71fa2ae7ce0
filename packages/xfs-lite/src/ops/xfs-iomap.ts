/**
 * XFS's iomap_begin / iomap_end: what blocks back a byte range, allocating them for
 * writes (with copy-on-write for shared blocks) and finishing the write afterwards.
 *
 * @see fs/xfs/xfs_iomap.c xfs_read_iomap_begin(), xfs_direct_write_iomap_begin(),
 *      xfs_iomap_write_direct(), xfs_bmbt_to_iomap(), xfs_dax_write_iomap_end(),
 *      xfs_iomap_write_unwritten(); fs/xfs/xfs_file.c xfs_dio_write_end_io()
 *
 * Writes follow the direct-I/O / DAX path: holes get unwritten blocks (IOMAP_F_NEW),
 * shared blocks get CoW staging blocks converted at once (IOMAP_F_SHARED, with the old
 * mapping as srcmap); iomap_end converts what was written and remaps CoW blocks, or
 * cancels the CoW blocks when nothing was written. Each step is one transaction.
 */
import { xfsBmapConvert, xfsBmapHoleBlocks, xfsBmapiWrite } from "../bmap/bmap.js";
import { xfsBmapiRead } from "../bmap/fork.js";
import type { XfsSpace } from "../bmap/space.js";
import { XFS_DATA_FORK, XFS_EXT_NORM, XFS_EXT_UNWRITTEN, isHole, type XfsBmbtIrec } from "../iext/types.js";
import type { XfsInode } from "../inode/inode.js";
import {
  xfsReflinkAllocateCow,
  xfsReflinkCancelCowRange,
  xfsReflinkCowReservation,
  xfsReflinkEndCow,
  xfsReflinkTrimAroundShared,
} from "../reflink/reflink.js";
import {
  IOMAP_DAX,
  IOMAP_F_DIRTY,
  IOMAP_F_NEW,
  IOMAP_F_SHARED,
  IOMAP_HOLE,
  IOMAP_MAPPED,
  IOMAP_NULL_ADDR,
  IOMAP_UNSHARE,
  IOMAP_UNWRITTEN,
  IOMAP_ZERO,
  type Iomap,
} from "./iomap.js";

export interface XfsIomapEnv {
  readonly blockSize: number;
  /** Run one metadata change as a transaction reserving `resblks`, logging `ip`. */
  trans<T>(resblks: number, fn: (sp: XfsSpace) => T, ...inodes: XfsInode[]): T;
  /** Look at metadata outside a transaction. */
  readSpace<T>(fn: (sp: XfsSpace) => T): T;
  /** Write zeros to fs blocks (`xfs_zero_extent()`, for XFS_BMAPI_ZERO allocations). */
  zeroBlocks(fsb: number, count: number): void;
  /** Whether the inode has metadata changes an fsync would still have to force (pinned). */
  inodeNeedsSync(ip: XfsInode): boolean;
}

/** `xfs_bmbt_to_iomap()`. */
export function xfsBmbtToIomap(env: XfsIomapEnv, irec: XfsBmbtIrec, flags: number): Iomap {
  const bs = env.blockSize;
  const hole = isHole(irec);
  return {
    addr: hole ? IOMAP_NULL_ADDR : irec.brStartblock * bs,
    offset: irec.brStartoff * bs,
    length: irec.brBlockcount * bs,
    type: hole ? IOMAP_HOLE : irec.brState === XFS_EXT_UNWRITTEN ? IOMAP_UNWRITTEN : IOMAP_MAPPED,
    flags,
  };
}

function blockRange(env: XfsIomapEnv, pos: number, length: number): { off: number; len: number } {
  const off = Math.floor(pos / env.blockSize);
  return { off, len: Math.ceil((pos + length) / env.blockSize) - off };
}

/** `xfs_read_iomap_begin()`: the data-fork mapping at `pos`, split where sharing changes. */
export function xfsReadIomapBegin(env: XfsIomapEnv, ip: XfsInode, pos: number, length: number): Iomap {
  const { off, len } = blockRange(env, pos, length);
  const imap = xfsBmapiRead(ip.dataFork, off, len)[0]!;
  if (isHole(imap)) return xfsBmbtToIomap(env, imap, 0);
  const { shared, len: n } = env.readSpace((sp) => xfsReflinkTrimAroundShared(sp, ip, imap));
  return xfsBmbtToIomap(env, { ...imap, brBlockcount: n }, shared ? IOMAP_F_SHARED : 0);
}

/**
 * `xfs_direct_write_iomap_begin()`: blocks to write [pos, pos + length) into, allocating
 * them. For a CoW write `iomap` is the staging extent and `srcmap` the old data mapping.
 * With IOMAP_ZERO or IOMAP_UNSHARE, holes and unwritten extents are left alone. With
 * IOMAP_DAX, holes and unwritten extents become zeroed written blocks (XFS_BMAPI_ZERO:
 * a DAX mapping cannot be converted after the fact), and IOMAP_F_DIRTY tells MAP_SYNC
 * faults that the inode still needs a log force.
 */
export function xfsWriteIomapBegin(
  env: XfsIomapEnv,
  ip: XfsInode,
  pos: number,
  length: number,
  flags: number,
): { iomap: Iomap; srcmap: Iomap | undefined } {
  const { off, len } = blockRange(env, pos, length);
  let imap = xfsBmapiRead(ip.dataFork, off, len)[0]!;
  const quiet = (flags & (IOMAP_ZERO | IOMAP_UNSHARE)) !== 0;
  if (ip.isReflink() && !(quiet && (isHole(imap) || imap.brState !== XFS_EXT_NORM))) {
    const n0 = imap.brBlockcount;
    const want = xfsReflinkCowReservation(ip, off, n0);
    const r = env.trans(0, (sp) => {
      // drop the cowextsize preallocation rather than fail when space is short
      const ext = sp.freeBlocks() >= want ? ip.cowextszHint() : 1;
      return xfsReflinkAllocateCow(sp, ip, off, n0, ext);
    }, ip);
    if (r.cow !== undefined) {
      const src = { ...imap, brBlockcount: r.len };
      // xfs_bmbt_to_iomap() marks the CoW map IOMAP_F_DIRTY too: the staging allocation
      // just logged the inode, so a MAP_SYNC fault must force the log before mapping
      const dirty = quiet || !env.inodeNeedsSync(ip) ? 0 : IOMAP_F_DIRTY;
      return { iomap: xfsBmbtToIomap(env, r.cow, IOMAP_F_SHARED | dirty), srcmap: xfsBmbtToIomap(env, src, 0) };
    }
    imap = { ...imap, brBlockcount: r.len };
  }
  const dax = (flags & IOMAP_DAX) !== 0;
  const dirty = () => (env.inodeNeedsSync(ip) ? IOMAP_F_DIRTY : 0);
  if (quiet || (!isHole(imap) && !(dax && imap.brState === XFS_EXT_UNWRITTEN))) {
    return { iomap: xfsBmbtToIomap(env, imap, quiet ? 0 : dirty()), srcmap: undefined };
  }
  const n = imap.brBlockcount;
  if (dax) {
    // xfs_iomap_write_direct() with XFS_BMAPI_ZERO: written, zeroed blocks
    if (!isHole(imap)) {
      env.zeroBlocks(imap.brStartblock, n);
      env.trans(0, (sp) => xfsBmapConvert(sp, ip, XFS_DATA_FORK, off, n, XFS_EXT_NORM), ip);
      return { iomap: xfsBmbtToIomap(env, { ...imap, brState: XFS_EXT_NORM }, IOMAP_F_NEW | dirty()), srcmap: undefined };
    }
    // the whole allocation is zeroed, extent-size-hint padding included (XFS_ALLOC_USERDATA_ZERO)
    const need = xfsBmapHoleBlocks(ip, XFS_DATA_FORK, off, n);
    const made = env.trans(need, (sp) => xfsBmapiWrite(sp, ip, XFS_DATA_FORK, off, n, XFS_EXT_NORM, (fsb, len) => env.zeroBlocks(fsb, len)), ip);
    return { iomap: xfsBmbtToIomap(env, made[0]!, IOMAP_F_NEW | dirty()), srcmap: undefined };
  }
  // xfs_iomap_write_direct(): allocate unwritten blocks, converted when the write completes
  const made = env.trans(xfsBmapHoleBlocks(ip, XFS_DATA_FORK, off, n), (sp) => xfsBmapiWrite(sp, ip, XFS_DATA_FORK, off, n, XFS_EXT_UNWRITTEN), ip);
  return { iomap: xfsBmbtToIomap(env, made[0]!, IOMAP_F_NEW | dirty()), srcmap: undefined };
}

/**
 * `xfs_dax_write_iomap_end()` / the direct-I/O end_io: finish a write of `written` bytes
 * at `pos` through `iomap`.
 */
export function xfsWriteIomapEnd(env: XfsIomapEnv, ip: XfsInode, pos: number, length: number, written: number, iomap: Iomap): void {
  const { off, len } = blockRange(env, pos, length);
  if (iomap.flags & IOMAP_F_SHARED) {
    if (written <= 0) {
      env.trans(0, (sp) => xfsReflinkCancelCowRange(sp, ip, off, len, true), ip);
      return;
    }
    const w = blockRange(env, pos, written);
    env.trans(0, (sp) => xfsReflinkEndCow(sp, ip, w.off, w.len), ip);
    return;
  }
  if (iomap.type === IOMAP_UNWRITTEN && written > 0) {
    const w = blockRange(env, pos, written);
    env.trans(0, (sp) => xfsBmapConvert(sp, ip, XFS_DATA_FORK, w.off, w.len, XFS_EXT_NORM), ip);
  }
}

