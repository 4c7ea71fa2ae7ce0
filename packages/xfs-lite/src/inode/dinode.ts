/**
 * The on-disk inode (`struct xfs_dinode`, version 3, 512 bytes) and its buffer verifier:
 * encoding the in-core inode's core fields and data fork, decoding them at iget.
 *
 * @see fs/xfs/libxfs/xfs_format.h struct xfs_dinode, XFS_DINODE_MAGIC,
 *      XFS_DINODE_FMT_LOCAL/EXTENTS/BTREE; fs/xfs/libxfs/xfs_inode_buf.c
 *      xfs_inode_to_disk(), xfs_inode_from_disk(), xfs_dinode_verify(), xfs_dinode_calc_crc();
 *      fs/xfs/libxfs/xfs_inode_fork.c xfs_iformat_extents(), xfs_iextents_copy()
 *
 * Simplified: the data fork's literal area holds either packed extent records (extents
 * format, up to XFS_DINODE_MAX_EXTENTS), the root pointer and height of a bmbt whose root
 * is an ordinary block (btree format; the kernel keeps the root node inside the inode),
 * or a directory's entries (local format). No attribute fork, timestamps or ids.
 * Each inode is its own 512-byte buffer (the kernel logs inode cluster buffers).
 */
import { KernelError } from "@pagelab/mm-core";
import { XFS_BLFT_DINO_BUF, type XfsBufOps } from "../buf/xfs-buf.js";
import { xfsUpdateCksum, xfsVerifyCksum } from "../buf/cksum.js";
import { xfsBmbtOps } from "../btree/xfs-btree-records.js";
import type { XfsBmbtIrec } from "../iext/types.js";

export const XFS_DINODE_MAGIC = 0x494e;
export const XFS_DINODE_SIZE = 512;
export const XFS_DINODE_CORE_SIZE = 176;
export const XFS_DINODE_FMT_LOCAL = 1;
export const XFS_DINODE_FMT_EXTENTS = 2;
export const XFS_DINODE_FMT_BTREE = 3;
/** `XFS_INODES_PER_BLOCK` log for 512-byte inodes in 4 KiB blocks. */
export const XFS_INOPBLOG = 3;
export const XFS_DINODE_LITERAL = XFS_DINODE_SIZE - XFS_DINODE_CORE_SIZE;
export const XFS_DINODE_MAX_EXTENTS = Math.floor(XFS_DINODE_LITERAL / 16);

/** Byte offsets inside `struct xfs_dinode`. */
export const DI = {
  magic: 0,
  mode: 2,
  version: 4,
  format: 5,
  nlink: 16,
  size: 56,
  nblocks: 64,
  extsize: 72,
  nextents: 76,
  flags: 90,
  gen: 92,
  nextUnlinked: 96,
  crc: 100,
  flags2: 120,
  cowextsize: 128,
  ino: 152,
  literal: XFS_DINODE_CORE_SIZE,
} as const;

/** What the core of a dinode says. */
export interface XfsDinodeCore {
  mode: number;
  format: number;
  nlink: number;
  size: number;
  nblocks: number;
  nextents: number;
  diflags: number;
  diflags2: number;
  cowextsize: number;
  /** `di_extsize` (0 when the file system predates it, as an old dinode reads). */
  extsize?: number;
  gen: number;
  ino: number;
}

/** `xfs_inode_buf_ops`: magic, inode number and CRC of one inode. */
export const xfsInodeBufOps: XfsBufOps = {
  name: "xfs_inode",
  type: XFS_BLFT_DINO_BUF,
  verifyRead(data: Uint8Array): void {
    const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
    if (dv.getUint16(DI.magic) !== XFS_DINODE_MAGIC) throw new KernelError("EUCLEAN", "dinode: bad magic");
    if (!xfsVerifyCksum(data, XFS_DINODE_SIZE, DI.crc)) throw new KernelError("EUCLEAN", "dinode: bad crc");
  },
  verifyWrite(data: Uint8Array): void {
    xfsUpdateCksum(data, XFS_DINODE_SIZE, DI.crc);
  },
};

export function xfsDinodeReadCore(data: Uint8Array): XfsDinodeCore {
  const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
  return {
    mode: dv.getUint16(DI.mode),
    format: dv.getUint8(DI.format),
    nlink: dv.getUint32(DI.nlink),
    size: Number(dv.getBigUint64(DI.size)),
    nblocks: Number(dv.getBigUint64(DI.nblocks)),
    nextents: dv.getUint32(DI.nextents),
    diflags: dv.getUint16(DI.flags),
    diflags2: Number(dv.getBigUint64(DI.flags2)),
    cowextsize: dv.getUint32(DI.cowextsize),
    extsize: dv.getUint32(DI.extsize),
    gen: dv.getUint32(DI.gen),
    ino: Number(dv.getBigUint64(DI.ino)),
  };
}

/** `xfs_inode_to_disk()` for the core (the literal area is written separately). */
export function xfsDinodeWriteCore(data: Uint8Array, c: XfsDinodeCore): void {
  const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
  dv.setUint16(DI.magic, XFS_DINODE_MAGIC);
  dv.setUint16(DI.mode, c.mode);
  dv.setUint8(DI.version, 3);
  dv.setUint8(DI.format, c.format);
  dv.setUint32(DI.nlink, c.nlink);
  dv.setBigUint64(DI.size, BigInt(c.size));
  dv.setBigUint64(DI.nblocks, BigInt(c.nblocks));
  dv.setUint32(DI.nextents, c.nextents);
  dv.setUint16(DI.flags, c.diflags);
  dv.setUint32(DI.gen, c.gen);
  dv.setUint32(DI.nextUnlinked, 0xffffffff);
  dv.setBigUint64(DI.flags2, BigInt(c.diflags2));
  dv.setUint32(DI.cowextsize, c.cowextsize);
  dv.setUint32(DI.extsize, c.extsize ?? 0);
  dv.setBigUint64(DI.ino, BigInt(c.ino));
}

const bmbt = xfsBmbtOps();

/** `xfs_iextents_copy()`: pack extent records into the literal area. */
export function xfsDinodeWriteExtents(data: Uint8Array, recs: Iterable<XfsBmbtIrec>): void {
  const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
  data.fill(0, DI.literal, XFS_DINODE_SIZE);
  let off = DI.literal;
  for (const r of recs) {
    bmbt.encodeRec(dv, off, r);
    off += 16;
  }
}

/** `xfs_iformat_extents()`. */
export function xfsDinodeReadExtents(data: Uint8Array, n: number): XfsBmbtIrec[] {
  const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
  return Array.from({ length: n }, (_, i) => bmbt.decodeRec(dv, DI.literal + i * 16));
}

/** Btree format: the bmbt root block pointer and height. */
export function xfsDinodeWriteBmbtRoot(data: Uint8Array, ptr: number, levels: number): void {
  const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
  data.fill(0, DI.literal, XFS_DINODE_SIZE);
  dv.setBigInt64(DI.literal, BigInt(ptr));
  dv.setUint16(DI.literal + 8, levels);
}

export function xfsDinodeReadBmbtRoot(data: Uint8Array): { ptr: number; levels: number } {
  const dv = new DataView(data.buffer, data.byteOffset, XFS_DINODE_SIZE);
  return { ptr: Number(dv.getBigInt64(DI.literal)), levels: dv.getUint16(DI.literal + 8) };
}

/** Local format: raw bytes in the literal area (a short directory). */
export function xfsDinodeWriteLocal(data: Uint8Array, bytes: Uint8Array): void {
  if (bytes.length > XFS_DINODE_LITERAL) throw new RangeError("xfsDinodeWriteLocal: too long");
  data.fill(0, DI.literal, XFS_DINODE_SIZE);
  data.set(bytes, DI.literal);
}

export function xfsDinodeReadLocal(data: Uint8Array): Uint8Array {
  return data.slice(DI.literal, XFS_DINODE_SIZE);
}
