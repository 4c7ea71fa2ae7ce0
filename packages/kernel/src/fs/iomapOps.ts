/**
 * xfs-lite's iomap as the `IomapOps` DAX consumes: `xfs_read_iomap_ops` for read faults
 * and reads, `xfs_dax_write_iomap_ops` for write faults and writes.
 *
 * @see fs/xfs/xfs_iomap.c xfs_read_iomap_begin(), xfs_direct_write_iomap_begin(),
 *      xfs_dax_write_iomap_end(), xfs_bmbt_to_iomap() (iomap->addr = BBTOB(xfs_fsb_to_db()))
 *
 * xfs-lite reports `addr` as fs block number × block size; fs block numbers pack the AG
 * number above `sb_agblklog` bits, so the disk byte address DAX needs is recomputed
 * through `xfs_fsb_to_db()` (identical when agblocks is a power of two). iomap_end gets
 * back the map xfs-lite produced.
 */
import type { Iomap as DaxIomap, IomapOps as DaxIomapOps } from "@pagelab/dax";
import {
  IOMAP_NULL_ADDR,
  type Iomap,
  type XfsFileSystem,
  type XfsInode,
  type XfsMount,
  xfsFsbToDaddr,
  xfsReadIomapBegin,
  xfsWriteIomapBegin,
  xfsWriteIomapEnd,
} from "@pagelab/xfs-lite";

function toDisk(mp: XfsMount, bs: number, map: Iomap): Iomap {
  if (map.addr === IOMAP_NULL_ADDR) return map;
  const fsb = Math.floor(map.addr / bs);
  return { ...map, addr: xfsFsbToDaddr(mp, fsb) * 512 + (map.addr % bs) };
}

/** The read and write iomap ops of a mounted xfs-lite for DAX. */
export function xfsDaxIomapOps(fs: XfsFileSystem, mp: XfsMount): { readOps: DaxIomapOps<XfsInode>; writeOps: DaxIomapOps<XfsInode> } {
  const bs = fs.blockSize;
  const origin = new WeakMap<DaxIomap, Iomap>();
  const out = (map: Iomap): DaxIomap => {
    const d = toDisk(mp, bs, map) as DaxIomap;
    origin.set(d, map);
    return d;
  };
  const readOps: DaxIomapOps<XfsInode> = {
    iomapBegin(ip, pos, length) {
      return { iomap: out(xfsReadIomapBegin(fs, ip, pos, length)), srcmap: undefined };
    },
    iomapEnd() {},
  };
  const writeOps: DaxIomapOps<XfsInode> = {
    iomapBegin(ip, pos, length, flags) {
      const { iomap, srcmap } = xfsWriteIomapBegin(fs, ip, pos, length, flags);
      return { iomap: out(iomap), srcmap: srcmap === undefined ? undefined : out(srcmap) };
    },
    iomapEnd(ip, pos, length, written, _flags, iomap) {
      xfsWriteIomapEnd(fs, ip, pos, length, written, origin.get(iomap) ?? (iomap as Iomap));
    },
  };
  return { readOps, writeOps };
}
