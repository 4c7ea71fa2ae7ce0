/**
 * The block device xfs-lite sits on, declared by its consumer (this package), and a RAM
 * disk that implements it with a volatile write cache and power failure.
 *
 * @see include/linux/blkdev.h (submit_bio(), blkdev_issue_flush()), block/blk-flush.c
 *      (REQ_PREFLUSH semantics: a flush makes every completed write durable),
 *      fs/xfs/libxfs/xfs_types.h xfs_daddr_t, fs/xfs/libxfs/xfs_fs.h BBSHIFT
 *
 * hw-pmem's pmem block device implements `BlockDevice` structurally; xfs-lite never
 * imports it. Sector I/O is synchronous and whole sectors only. `RamDisk` stores sectors
 * sparsely; with `writeCache: true` a write lands in a volatile cache until `flush()`,
 * and `powerFail()` drops (or, to model torn writes, keeps an arbitrary subset of) what
 * was not flushed.
 */
import { KernelError, type Brand } from "@pagelab/mm-core";

/** `BBSHIFT`: basic blocks are 512 bytes. */
export const BBSHIFT = 9;
export const BBSIZE = 512;

/** `xfs_daddr_t`: a disk address in 512-byte basic blocks. */
export type Daddr = Brand<number, "Daddr">;

export function daddr(n: number): Daddr {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`daddr: not a non-negative safe integer: ${n}`);
  return n as Daddr;
}

/** What xfs-lite needs from a block device. Errors throw with `code` "EIO". */
export interface BlockDevice {
  readonly sectorSize: 512;
  readonly nrSectors: number;
  /** Read `buf.length / 512` sectors starting at `sector`. */
  read(sector: number, buf: Uint8Array): void;
  /** Write `buf.length / 512` sectors; durable only after `flush()` on a caching device. */
  write(sector: number, buf: Uint8Array): void;
  /** Make every completed write durable (REQ_PREFLUSH). */
  flush(): void;
}

export interface RamDiskOptions {
  /** Writes sit in a volatile cache until `flush()` (default false: write-through). */
  writeCache?: boolean;
}

export interface RamDiskStats {
  reads: number;
  writes: number;
  flushes: number;
  sectorsRead: number;
  sectorsWritten: number;
}

const ZERO_SECTOR = new Uint8Array(BBSIZE);

/** A sparse in-memory `BlockDevice` with an optional volatile write cache and power failure. */
export class RamDisk implements BlockDevice {
  readonly sectorSize = 512 as const;
  readonly nrSectors: number;
  readonly stats: RamDiskStats = { reads: 0, writes: 0, flushes: 0, sectorsRead: 0, sectorsWritten: 0 };
  private readonly media = new Map<number, Uint8Array>();
  private readonly cache = new Map<number, Uint8Array>();
  private readonly writeCache: boolean;
  private powered = true;
  /** Device operations (write or flush) left before the power fails; -1: never. */
  private opsUntilFailure = -1;
  private failKeep: ((sector: number) => boolean) | undefined;

  constructor(bytes: number, opts: RamDiskOptions = {}) {
    if (bytes % BBSIZE !== 0 || bytes <= 0) throw new RangeError(`RamDisk: size ${bytes} is not a positive multiple of 512`);
    this.nrSectors = bytes / BBSIZE;
    this.writeCache = opts.writeCache ?? false;
  }

  read(sector: number, buf: Uint8Array): void {
    const n = this.check(sector, buf);
    this.stats.reads++;
    this.stats.sectorsRead += n;
    for (let i = 0; i < n; i++) {
      const s = this.cache.get(sector + i) ?? this.media.get(sector + i) ?? ZERO_SECTOR;
      buf.set(s, i * BBSIZE);
    }
  }

  write(sector: number, buf: Uint8Array): void {
    const n = this.check(sector, buf);
    this.tick();
    this.stats.writes++;
    this.stats.sectorsWritten += n;
    const target = this.writeCache ? this.cache : this.media;
    for (let i = 0; i < n; i++) target.set(sector + i, buf.slice(i * BBSIZE, (i + 1) * BBSIZE));
  }

  flush(): void {
    if (!this.powered) throw new KernelError("EIO", "ramdisk: no power");
    this.tick();
    this.stats.flushes++;
    for (const [s, data] of this.cache) this.media.set(s, data);
    this.cache.clear();
  }

  /** Sectors written but not yet flushed. */
  get dirtySectors(): number {
    return this.cache.size;
  }

  /**
   * Lose power now: unflushed sectors are dropped, except those `keep` selects (a device
   * may have written some of its cache before dying, tearing multi-sector writes).
   */
  powerFail(keep?: (sector: number) => boolean): void {
    for (const [s, data] of this.cache) if (keep?.(s)) this.media.set(s, data);
    this.cache.clear();
    this.powered = false;
    this.opsUntilFailure = -1;
  }

  /**
   * Fail the power after `ops` more writes or flushes: the operation that would be number
   * `ops + 1` finds no power and throws EIO. `keep` is passed to `powerFail()`.
   */
  armPowerFailure(ops: number, keep?: (sector: number) => boolean): void {
    this.opsUntilFailure = ops;
    this.failKeep = keep;
  }

  /** Whether the power is on. */
  get hasPower(): boolean {
    return this.powered;
  }

  /** Power back on after `powerFail()`; the cache starts empty. */
  powerOn(): void {
    this.powered = true;
  }

  /** Bytes of media held in memory (sparse storage). */
  get storedBytes(): number {
    return (this.media.size + this.cache.size) * BBSIZE;
  }

  private tick(): void {
    if (!this.powered) throw new KernelError("EIO", "ramdisk: no power");
    if (this.opsUntilFailure === 0) {
      this.powerFail(this.failKeep);
      throw new KernelError("EIO", "ramdisk: power failure");
    }
    if (this.opsUntilFailure > 0) this.opsUntilFailure--;
  }

  private check(sector: number, buf: Uint8Array): number {
    if (!this.powered) throw new KernelError("EIO", "ramdisk: no power");
    if (buf.length % BBSIZE !== 0) throw new RangeError(`ramdisk: I/O of ${buf.length} bytes is not whole sectors`);
    const n = buf.length / BBSIZE;
    if (!Number.isSafeInteger(sector) || sector < 0 || sector + n > this.nrSectors) {
      throw new KernelError("EIO", `ramdisk: sectors ${sector}+${n} beyond ${this.nrSectors}`);
    }
    return n;
  }
}
