/**
 * Where file data lives: whole file-system blocks read and written by block number. The
 * file layer reads and writes data through this one interface, so the kernel package can
 * put the page cache or DAX in front of it.
 *
 * @see block/bdev.c, fs/iomap/direct-io.c (the data path this stands for)
 */

export interface XfsDataDevice {
  readonly blockSize: number;
  /** Fill `dst` (one block) with the content of block `fsb`. */
  readBlock(fsb: number, dst: Uint8Array): void;
  /** Store one block. */
  writeBlock(fsb: number, src: Uint8Array): void;
}

/** Sparse in-memory blocks (unwritten blocks read as zeros). */
export class XfsMemDataDevice implements XfsDataDevice {
  private readonly blocks = new Map<number, Uint8Array>();
  constructor(readonly blockSize: number) {}

  readBlock(fsb: number, dst: Uint8Array): void {
    const b = this.blocks.get(fsb);
    if (b === undefined) dst.fill(0);
    else dst.set(b);
  }

  writeBlock(fsb: number, src: Uint8Array): void {
    this.blocks.set(fsb, Uint8Array.from(src));
  }
}
