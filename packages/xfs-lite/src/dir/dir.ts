/**
 * Directory storage: a directory's (name → inode number) entries, kept in the inode's
 * literal area while they fit (short form) and in logged directory blocks mapped by the
 * directory's data fork beyond that.
 *
 * @see fs/xfs/libxfs/xfs_dir2_sf.c (short-form directories in the inode),
 *      fs/xfs/libxfs/xfs_dir2_block.c, xfs_dir2_data.c (directory blocks),
 *      fs/xfs/libxfs/xfs_da_format.h XFS_DIR3_DATA_MAGIC
 *
 * Simplified: one linear format for both (entry count, then inode number, name length and
 * name per entry) instead of the hashed block/leaf/node forms; a change rewrites the
 * directory's blocks; directory blocks are never given back until the directory is
 * removed. There is no "." / ".." entry.
 */
import { KernelError } from "@pagelab/mm-core";
import { xfsUpdateCksum, xfsVerifyCksum } from "../buf/cksum.js";
import { XFS_BLFT_DIR_DATA_BUF, type XfsBufOps } from "../buf/xfs-buf.js";

export const XFS_DIR3_DATA_MAGIC = 0x58444433; // "XDD3"
const HDR = 12;
export const XFS_DIR_BLOCK_PAYLOAD = 4096 - HDR;

/** `xfs_dir3_data_buf_ops`: magic and CRC of one directory block. */
export const xfsDirBufOps: XfsBufOps = {
  name: "xfs_dir3_data",
  type: XFS_BLFT_DIR_DATA_BUF,
  magic: [XFS_DIR3_DATA_MAGIC],
  verifyRead(data: Uint8Array): void {
    const dv = new DataView(data.buffer, data.byteOffset, 4096);
    if (dv.getUint32(0) !== XFS_DIR3_DATA_MAGIC) throw new KernelError("EUCLEAN", "dir block: bad magic");
    if (!xfsVerifyCksum(data, 4096, 4)) throw new KernelError("EUCLEAN", "dir block: bad crc");
  },
  verifyWrite(data: Uint8Array): void {
    xfsUpdateCksum(data, 4096, 4);
  },
};

// UTF-8 without TextEncoder (not in the ES library this package targets)
const enc = {
  encode(s: string): Uint8Array {
    const bin = unescape(encodeURIComponent(s));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  },
};
const dec = {
  decode(b: Uint8Array): string {
    return decodeURIComponent(escape(String.fromCharCode(...b)));
  },
};

/** Serialise entries: u32 count, then (u64 ino, u8 namelen, name) each. */
export function xfsDirEncode(entries: ReadonlyMap<string, number>): Uint8Array {
  const parts: Uint8Array[] = [];
  let len = 4;
  for (const [name, ino] of entries) {
    const n = enc.encode(name);
    const p = new Uint8Array(9 + n.length);
    const dv = new DataView(p.buffer);
    dv.setBigUint64(0, BigInt(ino));
    dv.setUint8(8, n.length);
    p.set(n, 9);
    parts.push(p);
    len += p.length;
  }
  const out = new Uint8Array(len);
  new DataView(out.buffer).setUint32(0, entries.size);
  let off = 4;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function xfsDirDecode(bytes: Uint8Array): Map<string, number> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Map<string, number>();
  const count = dv.getUint32(0);
  let off = 4;
  for (let i = 0; i < count; i++) {
    const ino = Number(dv.getBigUint64(off));
    const n = dv.getUint8(off + 8);
    out.set(dec.decode(bytes.subarray(off + 9, off + 9 + n)), ino);
    off += 9 + n;
  }
  return out;
}

/** Fill one directory block with `payload` (at most XFS_DIR_BLOCK_PAYLOAD bytes). */
export function xfsDirBlockWrite(block: Uint8Array, payload: Uint8Array): void {
  block.fill(0);
  const dv = new DataView(block.buffer, block.byteOffset, 4096);
  dv.setUint32(0, XFS_DIR3_DATA_MAGIC);
  dv.setUint32(8, payload.length);
  block.set(payload, HDR);
}

export function xfsDirBlockRead(block: Uint8Array): Uint8Array {
  const dv = new DataView(block.buffer, block.byteOffset, 4096);
  return block.slice(HDR, HDR + dv.getUint32(8));
}
