/**
 * Metadata checksums: CRC32c over a buffer with its own checksum field taken as zero.
 *
 * @see fs/xfs/libxfs/xfs_cksum.h xfs_start_cksum_safe(), xfs_update_cksum(),
 *      xfs_verify_cksum(); lib/crc32.c crc32c (Castagnoli polynomial 0x82F63B78)
 *
 * The kernel stores the little-endian complement of the CRC; here the CRC is stored
 * big-endian like every other field. Either way a torn or corrupt block fails to verify.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32c of `data[start, end)` continuing from `crc` (pass 0 to start). */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32c of `data[0, len)` with the four bytes at `cksumOffset` read as zero. */
export function xfsStartCksum(data: Uint8Array, len: number, cksumOffset: number): number {
  let c = crc32c(data, 0, cksumOffset);
  c = crc32c(ZERO4, 0, 4, c);
  return crc32c(data, cksumOffset + 4, len, c);
}

const ZERO4 = new Uint8Array(4);

/** `xfs_update_cksum()`: store the checksum of `data[0, len)` at `cksumOffset`. */
export function xfsUpdateCksum(data: Uint8Array, len: number, cksumOffset: number): void {
  new DataView(data.buffer, data.byteOffset, data.byteLength).setUint32(cksumOffset, xfsStartCksum(data, len, cksumOffset));
}

/** `xfs_verify_cksum()`. */
export function xfsVerifyCksum(data: Uint8Array, len: number, cksumOffset: number): boolean {
  const stored = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(cksumOffset);
  return stored === xfsStartCksum(data, len, cksumOffset);
}
