/**
 * The fstests helpers reflink tests are written with (`common/rc`, `common/reflink`), over
 * the file-system API: `_pwrite_byte`, `_reflink_range`, `_dedupe_range`, `_cp_reflink`,
 * `_compare_range`, `_test_cycle_mount`, plus what `stat`, `stat -f` and `filefrag`/fiemap
 * report. Used by the ports of generic/110-158 and generic/358.
 *
 * @see fstests common/reflink, common/rc
 */
import { isKernelError, runSync } from "@pagelab/mm-core";
import { xfsCheckFs } from "../check/check.js";
import type { XfsInode } from "../inode/inode.js";
import {
  FIEMAP_EXTENT_SHARED,
  FMODE_READ,
  FMODE_WRITE,
  REMAP_FILE_DEDUP,
  type XfsFile,
  type XfsFileSystem,
} from "../ops/xfs-fs.js";

export class FstestsEnv {
  /**
   * `remount`, when given, really unmounts and mounts the file system at `cycleMount()`
   * (a device-backed file system); without it only the CoW preallocations are dropped.
   */
  constructor(
    public fs: XfsFileSystem,
    private readonly remount?: () => XfsFileSystem,
  ) {}

  /** Resolve (creating with `create`) a path like "dir/sub/file" below the root. */
  path(p: string, create = true): XfsInode {
    const parts = p.split("/");
    let dir = this.fs.root;
    for (const [i, name] of parts.entries()) {
      const last = i === parts.length - 1;
      try {
        dir = this.fs.lookup(dir, name);
      } catch (e) {
        if (!create || !isKernelError(e, "ENOENT")) throw e;
        dir = last ? runSync(this.fs.create(dir, name)) : runSync(this.fs.mkdir(dir, name));
      }
    }
    return dir;
  }

  mkdir(p: string): XfsInode {
    const slash = p.lastIndexOf("/");
    const parent = slash < 0 ? this.fs.root : this.path(p.slice(0, slash), false);
    return runSync(this.fs.mkdir(parent, p.slice(slash + 1)));
  }

  private withFiles<T>(src: string, dst: string, fn: (a: XfsFile, b: XfsFile) => T, dstMode = FMODE_READ | FMODE_WRITE, dstFlags = 0): T {
    const a = this.fs.open(this.path(src, false), FMODE_READ);
    let b: XfsFile | undefined;
    try {
      b = this.fs.open(this.path(dst), dstMode, dstFlags);
      return fn(a, b);
    } finally {
      this.fs.close(a);
      if (b !== undefined) this.fs.close(b);
    }
  }

  /** `_pwrite_byte pattern offset len file`. */
  pwriteByte(v: number, off: number, len: number, file: string): void {
    runSync(this.fs.write(this.path(file), off, new Uint8Array(len).fill(v)));
  }

  /** `_reflink_range f1 o1 f2 o2 len` (xfs_io `reflink`): bytes linked. */
  reflinkRange(src: string, soff: number, dst: string, doff: number, len: number, dstMode?: number, dstFlags?: number): number {
    return this.withFiles(src, dst, (a, b) => runSync(this.fs.remapFileRange(a, soff, b, doff, len)), dstMode, dstFlags);
  }

  /** `_reflink f1 f2` / `cp --reflink`: FICLONE of the whole file (the copy is created). */
  cpReflink(src: string, dst: string): void {
    this.withFiles(src, dst, (a, b) => runSync(this.fs.clone(a, b)));
  }

  /** `_dedupe_range f1 o1 f2 o2 len`: bytes deduped or "differs". */
  dedupeRange(src: string, soff: number, dst: string, doff: number, len: number): number | "differs" {
    return this.withFiles(src, dst, (a, b) => runSync(this.fs.dedupeRange(a, soff, b, doff, len)));
  }

  /** Whole-range dedupe through the VFS entry without REMAP_FILE_CAN_SHORTEN. */
  dedupeExact(src: string, soff: number, dst: string, doff: number, len: number): number {
    return this.withFiles(src, dst, (a, b) => runSync(this.fs.remapFileRange(a, soff, b, doff, len, REMAP_FILE_DEDUP)));
  }

  read(file: string, off = 0, len?: number): Uint8Array {
    const ip = this.path(file, false);
    return runSync(this.fs.read(ip, off, len ?? ip.size - off));
  }

  /** `_compare_range f1 o1 f2 o2 len`. */
  compareRange(f1: string, o1: number, f2: string, o2: number, len: number): boolean {
    const a = this.read(f1, o1, len);
    const b = this.read(f2, o2, len);
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  /** md5sum stand-in: the full content as a string key (equal content ⇔ equal key). */
  sum(file: string): string {
    const d = this.read(file);
    let h = 0x811c9dc5;
    for (const x of d) h = Math.imul(h ^ x, 0x01000193) >>> 0;
    return `${d.length}:${h.toString(16)}`;
  }

  /**
   * `_test_cycle_mount`: unmount drops CoW preallocations; the checker must find nothing.
   */
  cycleMount(): void {
    if (this.remount !== undefined) this.fs = this.remount();
    else this.fs.cancelAllCowBlocks();
    const problems = xfsCheckFs(this.fs);
    if (problems.length > 0) throw new Error(`xfs_repair -n:\n${problems.join("\n")}`);
  }

  /** `stat -c %b`: 512-byte blocks. */
  statBlocks(file: string): number {
    return this.fs.statx(this.path(file, false)).blocks;
  }

  /** `stat -f -c %f` in fs blocks. */
  freeBlocks(): number {
    return this.fs.freeBlocks();
  }

  /** Bytes of the file that fiemap reports SHARED. */
  sharedBytes(file: string): number {
    return this.fs
      .fiemap(this.path(file, false))
      .filter((e) => e.feFlags & FIEMAP_EXTENT_SHARED)
      .reduce((n, e) => n + e.feLength, 0);
  }

  /** Errno name thrown by `fn`, or "ok". */
  static errno(fn: () => unknown): string {
    try {
      fn();
      return "ok";
    } catch (e) {
      if (isKernelError(e)) return e.code;
      throw e;
    }
  }

  unlink(file: string): void {
    const slash = file.lastIndexOf("/");
    const parent = slash < 0 ? this.fs.root : this.path(file.slice(0, slash), false);
    runSync(this.fs.unlink(parent, file.slice(slash + 1)));
  }
}
