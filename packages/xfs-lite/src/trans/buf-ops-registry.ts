/**
 * Which verifier recovery runs on a replayed buffer: found by the buffer type logged with
 * it and, for btree blocks (all XFS_BLFT_BTREE_BUF), by the block's magic number.
 *
 * @see fs/xfs/xfs_buf_item_recover.c xlog_recover_validate_buf_type()
 *
 * Buffer ops register when a transaction logs a buffer that uses them; mount registers
 * the infrastructure's own ops, and callers may pass more.
 */
import { KernelBug } from "@pagelab/mm-core";
import type { XfsBufOps } from "../buf/xfs-buf.js";

const byType = new Map<number, XfsBufOps[]>();

export function xfsRegisterBufOps(ops: XfsBufOps): void {
  const list = byType.get(ops.type);
  if (list === undefined) byType.set(ops.type, [ops]);
  else if (!list.includes(ops)) list.push(ops);
}

/** The verifier for a logged buffer of `type` whose first four bytes are `magic`. */
export function xfsFindBufOps(type: number, magic: number): XfsBufOps {
  const list = byType.get(type) ?? [];
  const hit = list.length === 1 && list[0]!.magic === undefined ? list[0] : list.find((o) => o.magic?.includes(magic));
  if (hit === undefined) {
    throw new KernelBug(`log recovery: no buffer ops registered for type ${type} magic 0x${magic.toString(16)}`);
  }
  return hit;
}
