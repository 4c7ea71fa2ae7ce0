/**
 * Moving file data through iomap: read a byte range, write a byte range (copying around
 * partial blocks from the CoW source or zeroing fresh blocks), zero a range.
 *
 * @see fs/iomap/direct-io.c iomap_dio_rw(); fs/iomap/buffered-io.c iomap_zero_range(),
 *      iomap_file_unshare(); fs/dax.c dax_iomap_rw(), dax_iomap_copy_around()
 *
 * This is the one place file data meets blocks: the kernel package replaces it with the
 * page cache or DAX, both driven by the same iomap_begin / iomap_end.
 */
import type { XfsInode } from "../inode/inode.js";
import type { XfsDataDevice } from "./data-dev.js";
import { IOMAP_F_NEW, IOMAP_F_SHARED, IOMAP_MAPPED, IOMAP_UNSHARE, IOMAP_UNWRITTEN, IOMAP_WRITE, IOMAP_ZERO, type Iomap } from "./iomap.js";
import { xfsReadIomapBegin, xfsWriteIomapBegin, xfsWriteIomapEnd, type XfsIomapEnv } from "./xfs-iomap.js";

export interface XfsFileIoEnv extends XfsIomapEnv {
  readonly dev: XfsDataDevice;
}

function readMapped(env: XfsFileIoEnv, map: Iomap | undefined, filePos: number, buf: Uint8Array): void {
  if (map === undefined || map.type !== IOMAP_MAPPED) {
    buf.fill(0);
    return;
  }
  env.dev.readBlock((map.addr + (filePos - map.offset)) / env.blockSize, buf);
}

/** Read [pos, pos + dst.length) (the caller clamped it to EOF) into `dst`. */
export function xfsFileReadRange(env: XfsFileIoEnv, ip: XfsInode, pos: number, dst: Uint8Array): void {
  const bs = env.blockSize;
  const block = new Uint8Array(bs);
  let done = 0;
  while (done < dst.length) {
    const iomap = xfsReadIomapBegin(env, ip, pos + done, dst.length - done);
    const mapEnd = iomap.offset + iomap.length;
    while (done < dst.length && pos + done < mapEnd) {
      const p = pos + done;
      const blockStart = p - (p % bs);
      readMapped(env, iomap, blockStart, block);
      const n = Math.min(bs - (p - blockStart), dst.length - done);
      dst.set(block.subarray(p - blockStart, p - blockStart + n), done);
      done += n;
    }
  }
}

/**
 * Write `src` at `pos` through xfs iomap_begin / iomap_end; returns the bytes written.
 * `flags` may add IOMAP_ZERO (src is zeros; holes and unwritten extents are skipped) or
 * IOMAP_UNSHARE (src is ignored; shared blocks are copied to new ones).
 */
export function xfsFileWriteRange(env: XfsFileIoEnv, ip: XfsInode, pos: number, src: Uint8Array, flags = 0): number {
  const bs = env.blockSize;
  const block = new Uint8Array(bs);
  let done = 0;
  while (done < src.length) {
    const { iomap, srcmap } = xfsWriteIomapBegin(env, ip, pos + done, src.length - done, IOMAP_WRITE | flags);
    const start = done;
    const mapEnd = iomap.offset + iomap.length;
    const skip = (flags & (IOMAP_ZERO | IOMAP_UNSHARE)) !== 0 && !(iomap.flags & IOMAP_F_SHARED) && iomap.type !== IOMAP_MAPPED;
    const unshareOnly = (flags & IOMAP_UNSHARE) !== 0 && !(iomap.flags & IOMAP_F_SHARED);
    while (done < src.length && pos + done < mapEnd) {
      const p = pos + done;
      const blockStart = p - (p % bs);
      const inBlock = p - blockStart;
      const n = Math.min(bs - inBlock, src.length - done);
      if (!skip && !unshareOnly) {
        const full = inBlock === 0 && n === bs;
        if (iomap.flags & IOMAP_F_SHARED) {
          // dax_iomap_copy_around(): the old data around the write comes from srcmap
          if (!full || flags & IOMAP_UNSHARE) readMapped(env, srcmap, blockStart, block);
        } else if (iomap.type === IOMAP_UNWRITTEN || iomap.flags & IOMAP_F_NEW) {
          block.fill(0);
        } else if (!full) {
          readMapped(env, iomap, blockStart, block);
        }
        if (!(flags & IOMAP_UNSHARE)) block.set(src.subarray(done, done + n), inBlock);
        env.dev.writeBlock((iomap.addr + (blockStart - iomap.offset)) / bs, block);
      }
      done += n;
    }
    xfsWriteIomapEnd(env, ip, pos + start, done - start, skip ? 0 : done - start, iomap);
  }
  return done;
}

/** `iomap_zero_range()`: make [pos, pos + len) read as zeros without allocating holes. */
export function xfsFileZeroRange(env: XfsFileIoEnv, ip: XfsInode, pos: number, len: number): void {
  if (len > 0) xfsFileWriteRange(env, ip, pos, new Uint8Array(len), IOMAP_ZERO);
}

/** `iomap_file_unshare()`: give [pos, pos + len) private copies of its shared blocks. */
export function xfsFileUnshareRange(env: XfsFileIoEnv, ip: XfsInode, pos: number, len: number): void {
  if (len > 0) xfsFileWriteRange(env, ip, pos, new Uint8Array(len), IOMAP_UNSHARE);
}
