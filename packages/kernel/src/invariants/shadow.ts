/**
 * A shadow of every file's bytes, kept from what programs asked for — write(2), pwrite(2),
 * stores through shared mappings, truncate, fallocate, clone, dedupe — never from what the
 * filesystem or DAX did, so a store that reached a file it was not written to shows up
 * when the shadow is compared with what read(2) returns.
 *
 * Simplified: a file the shadow has not seen is adopted with its current contents (not
 * checked); device DMA into file pages is not a program's write and is not modelled; a
 * power loss forgets everything (unflushed data may legitimately be gone).
 */
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  type XfsInode,
} from "@pagelab/xfs-lite";

/** One file's expected bytes: `data[0, size)`. */
class ShadowFile {
  data = new Uint8Array(0);
  size = 0;

  private reserve(n: number): void {
    if (n <= this.data.length) return;
    const next = new Uint8Array(Math.max(n, this.data.length * 2, 4096));
    next.set(this.data.subarray(0, this.size));
    this.data = next;
  }

  setSize(n: number): void {
    if (n > this.size) {
      this.reserve(n);
      this.data.fill(0, this.size, n);
    }
    this.size = n;
  }

  write(pos: number, bytes: Uint8Array): void {
    if (pos + bytes.length > this.size) this.setSize(pos + bytes.length);
    this.data.set(bytes, pos);
  }

  zero(pos: number, len: number): void {
    const end = Math.min(this.size, pos + len);
    if (end > pos) this.data.fill(0, pos, end);
  }

  read(pos: number, len: number): Uint8Array {
    return this.data.slice(pos, Math.min(this.size, pos + len));
  }
}

/** A difference between a file and its shadow. */
export interface ShadowMismatch {
  readonly ino: number;
  readonly expectedSize: number;
  readonly actualSize: number;
  /** First differing byte offset (-1 when only the sizes differ). */
  readonly offset: number;
}

export class ShadowFiles {
  private readonly files = new Map<number, ShadowFile>();

  constructor(
    /** The file's current bytes, to adopt a file the shadow has not seen. */
    private readonly readBack: (ip: XfsInode) => Uint8Array,
  ) {}

  private of(ip: XfsInode): ShadowFile {
    let f = this.files.get(ip.ino);
    if (f === undefined) {
      f = new ShadowFile();
      const now = this.readBack(ip);
      f.write(0, now);
      f.setSize(now.length);
      this.files.set(ip.ino, f);
    }
    return f;
  }

  /** A new, empty file (O_CREAT made it). */
  created(ip: XfsInode): void {
    if (ip.size === 0) this.files.set(ip.ino, new ShadowFile());
  }

  write(ip: XfsInode, pos: number, bytes: Uint8Array): void {
    if (bytes.length > 0) this.of(ip).write(pos, bytes);
  }

  truncate(ip: XfsInode, size: number): void {
    this.of(ip).setSize(size);
  }

  /** `fallocate(mode, offset, len)` that succeeded. */
  fallocate(ip: XfsInode, mode: number, offset: number, len: number): void {
    const f = this.of(ip);
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      f.zero(offset, len);
    } else if (mode & FALLOC_FL_COLLAPSE_RANGE) {
      const tail = f.read(offset + len, f.size);
      f.setSize(offset);
      f.write(offset, tail);
    } else if (mode & FALLOC_FL_INSERT_RANGE) {
      const tail = f.read(offset, f.size);
      f.setSize(offset + len);
      f.zero(offset, len);
      f.write(offset + len, tail);
    } else {
      if (mode & FALLOC_FL_ZERO_RANGE) f.zero(offset, len);
      if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > f.size) f.setSize(offset + len);
    }
  }

  /** A clone of `len` bytes (0: to the source's EOF) from `src` at `srcPos` to `dst` at `dstPos`. */
  clone(src: XfsInode, srcPos: number, dst: XfsInode, dstPos: number, len: number): void {
    const s = this.of(src);
    const bytes = s.read(srcPos, len === 0 ? s.size : len);
    this.of(dst).write(dstPos, bytes);
  }

  /** Forget every file (after a power loss). */
  reset(): void {
    this.files.clear();
  }

  /** Compare each shadowed file that still exists with what `readAll` returns. */
  compare(live: (ino: number) => XfsInode | undefined, readAll: (ip: XfsInode) => Uint8Array | null): { mismatches: ShadowMismatch[]; checked: number; unreadable: number[] } {
    const mismatches: ShadowMismatch[] = [];
    const unreadable: number[] = [];
    let checked = 0;
    for (const [ino, f] of this.files) {
      const ip = live(ino);
      if (ip === undefined) continue;
      const got = readAll(ip);
      if (got === null) {
        unreadable.push(ino);
        continue;
      }
      checked++;
      let offset = -1;
      const n = Math.min(got.length, f.size);
      for (let i = 0; i < n; i++) {
        if (got[i] !== f.data[i]) {
          offset = i;
          break;
        }
      }
      if (offset >= 0 || got.length !== f.size) mismatches.push({ ino, expectedSize: f.size, actualSize: got.length, offset });
    }
    return { mismatches, checked, unreadable };
  }
}
