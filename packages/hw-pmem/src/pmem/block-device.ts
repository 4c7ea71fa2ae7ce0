/**
 * The pmem driver's block-device face, /dev/pmemN: 512-byte sectors over a namespace's
 * data area, with a volatile write cache whose flush is nvdimm_flush().
 *
 * @see drivers/nvdimm/pmem.c pmem_submit_bio() (REQ_PREFLUSH, REQ_FUA), pmem_do_read(),
 *      pmem_do_write(), pmem_attach_disk() (capacity, blk_queue_write_cache, badblocks);
 *      block/blk-core.c bio_check_eod() (EIO beyond the end)
 *
 * Satisfies the narrow block interface the filesystem declares:
 * `{ sectorSize: 512; nrSectors; read(sector, buf); write(sector, buf); flush() }`.
 * Errors throw `PmemError` with code EIO or EINVAL. A write is durable after flush()
 * (or with `fua`); a read of a bad sector gives EIO, never a machine check.
 */
import { PmemError } from "../errors.js";
import { SECTOR_SIZE } from "../types.js";
import type { Badblocks } from "../media/badblocks.js";
import type { NdNamespace } from "../nvdimm/namespace.js";
import { nvdimmFlush, pmemDoRead, pmemDoWrite } from "./pmem-io.js";

/** The request flags of a write bio the driver acts on. */
export interface PmemWriteFlags {
  /** REQ_PREFLUSH: make earlier writes durable before this one. */
  readonly preflush?: boolean;
  /** REQ_FUA: this write is durable when write() returns. */
  readonly fua?: boolean;
}

export class PmemBlockDevice {
  readonly sectorSize = 512 as const;

  constructor(readonly namespace: NdNamespace) {}

  /** The gendisk name (`pmem0`). */
  get name(): string {
    return this.namespace.devName;
  }
  get nrSectors(): number {
    return Math.floor(this.namespace.dataSize / SECTOR_SIZE);
  }
  /** /sys/block/<name>/badblocks. */
  get badblocks(): Badblocks {
    return this.namespace.badblocks;
  }
  /** /sys/block/<name>/queue/dax. */
  get dax(): boolean {
    return this.namespace.supportsDax;
  }

  private checkIo(sector: number, buf: Uint8Array): void {
    if (!Number.isSafeInteger(sector) || sector < 0) throw new PmemError("EINVAL", `bad sector ${sector}`);
    if (buf.length % SECTOR_SIZE !== 0) throw new PmemError("EINVAL", `length ${buf.length} is not a multiple of 512`);
    if (sector + buf.length / SECTOR_SIZE > this.nrSectors) {
      throw new PmemError("EIO", `${this.name}: attempt to access beyond end of device (${sector}+${buf.length / SECTOR_SIZE} > ${this.nrSectors})`);
    }
  }

  read(sector: number, buf: Uint8Array): void {
    this.checkIo(sector, buf);
    if (buf.length > 0) pmemDoRead(this.namespace, sector, buf);
  }

  write(sector: number, buf: Uint8Array, flags: PmemWriteFlags = {}): void {
    this.checkIo(sector, buf);
    if (flags.preflush) nvdimmFlush(this.namespace);
    if (buf.length > 0) pmemDoWrite(this.namespace, sector, buf);
    if (flags.fua) nvdimmFlush(this.namespace);
  }

  /** An empty REQ_PREFLUSH bio. */
  flush(): void {
    nvdimmFlush(this.namespace);
  }
}
