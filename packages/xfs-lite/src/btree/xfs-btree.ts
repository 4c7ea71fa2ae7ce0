/**
 * The generic on-disk btree: one implementation for every btree type, parameterised by
 * record/key encodings and by where the root lives and where blocks come from.
 *
 * @see fs/xfs/libxfs/xfs_btree.c xfs_btree_lookup(), xfs_btree_increment(),
 *      xfs_btree_decrement(), xfs_btree_get_rec(), xfs_btree_insert() / xfs_btree_insrec()
 *      / xfs_btree_split() / xfs_btree_new_root(), xfs_btree_delete() /
 *      xfs_btree_delrec() (lshift/rshift, join), xfs_btree_kill_root(),
 *      xfs_btree_update(), xfs_btree_update_keys(), xfs_btree_query_range(),
 *      xfs_btree_simple_query_range(), xfs_btree_overlapped_query_range(),
 *      xfs_btree_query_all(); fs/xfs/libxfs/xfs_btree.h struct xfs_btree_ops
 *      (init_key_from_rec, init_high_key_from_rec, diff_two_keys), XFS_LOOKUP_EQ/LE/GE
 *
 * Node keys are exact: a node's key for a child is the lowest key below it and, for
 * overlapping btrees (the rmapbt), also the highest high key below it, so an interval
 * query only descends into children whose [low, high] meets the query.
 * Simplified against the kernel: insert and delete run as a recursive descent from the
 * root (the kernel walks the cursor path upwards); a full block always splits (no
 * lshift/rshift into a sibling first); an underfull block borrows from or merges with an
 * adjacent sibling under the same parent; the cursor is re-positioned by a lookup after
 * an insert (at the new record) or a delete (at the record after the deleted one).
 * Every block touched stays joined to the transaction until it commits.
 */
import { KernelBug } from "@pagelab/mm-core";
import type { Daddr } from "../blockdev.js";
import type { XfsBuf, XfsBufOps } from "../buf/xfs-buf.js";
import type { XfsTrans } from "../trans/xfs-trans.js";
import { writeU64 } from "../trans/xfs-log.js";
import {
  BB_LEFTSIB,
  BB_LEVEL,
  BB_MAGIC,
  BB_NUMRECS,
  NULLPTR,
  XFS_BTREE_MAXLEVELS,
  blknoOff,
  hdrLen,
  highKeyOff,
  keyOff,
  keySlotLen,
  maxRecs,
  ownerOff,
  ptrLen,
  ptrOff,
  readPtr,
  recOff,
  rightsibOff,
  uuidOff,
  writePtr,
  xfsBtreeBufOps,
  type XfsBtreeGeometry,
} from "./xfs-btree-format.js";

export const XFS_LOOKUP_EQ = 0;
export const XFS_LOOKUP_LE = 1;
export const XFS_LOOKUP_GE = 2;
export type XfsLookup = typeof XFS_LOOKUP_EQ | typeof XFS_LOOKUP_LE | typeof XFS_LOOKUP_GE;

/** `struct xfs_btree_ops` (the record side) plus the block geometry. */
export interface XfsBtreeOps<R, K> extends XfsBtreeGeometry {
  /** Short name: "bnobt", "cntbt", "inobt", "rmapbt", "refcountbt", "bmbt". */
  readonly name: string;
  decodeRec(dv: DataView, off: number): R;
  encodeRec(dv: DataView, off: number, rec: R): void;
  decodeKey(dv: DataView, off: number): K;
  encodeKey(dv: DataView, off: number, key: K): void;
  /** `init_key_from_rec`. */
  keyFromRec(rec: R): K;
  /** `init_high_key_from_rec`: the last key a record covers (interval queries). */
  highKeyFromRec?(rec: R): K;
  /** `diff_two_keys`: negative, zero or positive. */
  cmpKeys(a: K, b: K): number;
}

/**
 * Where a btree's root lives and where its blocks come from (the owner: the AGF, the AGI
 * or an inode fork). `setRoot` and the block callbacks log their own changes.
 */
export interface XfsBtreeRoot {
  /** Root pointer (NULLPTR: no blocks yet) and height. */
  getRoot(): { ptr: number; levels: number };
  setRoot(ptr: number, levels: number): void;
  /** A new block for this tree (`alloc_block`), near `hint`; throws ENOSPC. */
  allocBlock(hint: number): number;
  /** `free_block`: the caller has already invalidated the buffer. */
  freeBlock(ptr: number): void;
  ptrToDaddr(ptr: number): Daddr;
  /** `bb_owner`: the AG number or the inode number. */
  readonly owner: number;
  readonly uuid?: Uint8Array;
  /** Free the root leaf when the last record goes (inode-rooted trees); AG trees keep it. */
  readonly freeEmptyRoot?: boolean;
}

export interface XfsBtreeStats {
  lookups: number;
  inserts: number;
  deletes: number;
  splits: number;
  merges: number;
  borrows: number;
  newRoots: number;
  killedRoots: number;
}

interface Level {
  bp: XfsBuf;
  ptr: number;
}

interface SplitResult<K> {
  ptr: number;
  low: K;
  high: K;
}

/** `struct xfs_btree_cur`: a position in one btree inside one transaction. */
export class XfsBtreeCur<R, K> {
  readonly tp: XfsTrans;
  readonly ops: XfsBtreeOps<R, K>;
  readonly root: XfsBtreeRoot;
  readonly bufOps: XfsBufOps;
  readonly stats: XfsBtreeStats = { lookups: 0, inserts: 0, deletes: 0, splits: 0, merges: 0, borrows: 0, newRoots: 0, killedRoots: 0 };
  /** `bc_levels[]`: block and 0-based index per level, leaf first. */
  private levels: Level[] = [];
  private valid = false;

  constructor(tp: XfsTrans, ops: XfsBtreeOps<R, K>, root: XfsBtreeRoot) {
    this.tp = tp;
    this.ops = ops;
    this.root = root;
    this.bufOps = xfsBtreeBufOps(ops.name, ops);
    if (maxRecs(ops, 0) < 4 || maxRecs(ops, 1) < 4) throw new KernelBug(`${ops.name}: fewer than 4 entries per block`);
  }

  /** `bc_nlevels`. */
  get nlevels(): number {
    return this.root.getRoot().levels;
  }

  // ---- block access -------------------------------------------------------------------

  private read(ptr: number): XfsBuf {
    return this.tp.readBuf(this.root.ptrToDaddr(ptr), 8, this.bufOps);
  }
  private numrecs(bp: XfsBuf): number {
    return bp.view.getUint16(BB_NUMRECS);
  }
  private setNumrecs(bp: XfsBuf, n: number): void {
    bp.view.setUint16(BB_NUMRECS, n);
    this.tp.logBuf(bp, BB_NUMRECS, BB_NUMRECS + 1);
  }
  private level(bp: XfsBuf): number {
    return bp.view.getUint16(BB_LEVEL);
  }
  private leftsib(bp: XfsBuf): number {
    return readPtr(bp.view, BB_LEFTSIB, this.ops.longPtrs);
  }
  private rightsib(bp: XfsBuf): number {
    return readPtr(bp.view, rightsibOff(this.ops), this.ops.longPtrs);
  }
  private setSib(bp: XfsBuf, right: boolean, v: number): void {
    const off = right ? rightsibOff(this.ops) : BB_LEFTSIB;
    writePtr(bp.view, off, this.ops.longPtrs, v);
    this.tp.logBuf(bp, off, off + ptrLen(this.ops) - 1);
  }
  private rec(bp: XfsBuf, i: number): R {
    return this.ops.decodeRec(bp.view, recOff(this.ops, i));
  }
  private lowKey(bp: XfsBuf, i: number): K {
    return this.ops.decodeKey(bp.view, keyOff(this.ops, i));
  }
  private highKeyAt(bp: XfsBuf, i: number): K {
    return this.ops.decodeKey(bp.view, highKeyOff(this.ops, i));
  }
  private childPtr(bp: XfsBuf, i: number): number {
    return readPtr(bp.view, ptrOff(this.ops, i), this.ops.longPtrs);
  }
  private highOfRec(r: R): K {
    return (this.ops.highKeyFromRec ?? this.ops.keyFromRec)(r);
  }

  /** Lowest key and (overlapping) highest high key of a non-empty block. */
  private blockKeys(bp: XfsBuf): { low: K; high: K } {
    const n = this.numrecs(bp);
    if (n === 0) throw new KernelBug(`${this.ops.name}: keys of an empty block`);
    const leaf = this.level(bp) === 0;
    const low = leaf ? this.ops.keyFromRec(this.rec(bp, 0)) : this.lowKey(bp, 0);
    if (!this.ops.overlapping) return { low, high: low };
    let high = leaf ? this.highOfRec(this.rec(bp, 0)) : this.highKeyAt(bp, 0);
    for (let i = 1; i < n; i++) {
      const h = leaf ? this.highOfRec(this.rec(bp, i)) : this.highKeyAt(bp, i);
      if (this.ops.cmpKeys(h, high) > 0) high = h;
    }
    return { low, high };
  }

  /** Write the keys of child `i` of node `bp`, returning whether they changed. */
  private setNodeKeys(bp: XfsBuf, i: number, keys: { low: K; high: K }): boolean {
    const o = this.ops;
    const same =
      o.cmpKeys(this.lowKey(bp, i), keys.low) === 0 && (!o.overlapping || o.cmpKeys(this.highKeyAt(bp, i), keys.high) === 0);
    if (same) return false;
    o.encodeKey(bp.view, keyOff(o, i), keys.low);
    if (o.overlapping) o.encodeKey(bp.view, highKeyOff(o, i), keys.high);
    this.tp.logBuf(bp, keyOff(o, i), keyOff(o, i) + keySlotLen(o) - 1);
    return true;
  }

  private newBlock(level: number, hint: number): { ptr: number; bp: XfsBuf } {
    const ptr = this.root.allocBlock(hint);
    const d = this.root.ptrToDaddr(ptr);
    const bp = this.tp.getBuf(d, 8, this.bufOps);
    const dv = bp.view;
    const o = this.ops;
    bp.bAddr.fill(0);
    dv.setUint32(BB_MAGIC, o.magic);
    dv.setUint16(BB_LEVEL, level);
    dv.setUint16(BB_NUMRECS, 0);
    writePtr(dv, BB_LEFTSIB, o.longPtrs, NULLPTR);
    writePtr(dv, rightsibOff(o), o.longPtrs, NULLPTR);
    writeU64(dv, blknoOff(o), d);
    if (this.root.uuid) bp.bAddr.set(this.root.uuid, uuidOff(o));
    if (o.longPtrs) writeU64(dv, ownerOff(o), this.root.owner);
    else dv.setUint32(ownerOff(o), this.root.owner);
    this.tp.logBuf(bp, 0, hdrLen(o) - 1);
    return { ptr, bp };
  }

  private freeBlock(ptr: number, bp: XfsBuf): void {
    this.tp.binval(bp);
    this.root.freeBlock(ptr);
  }

  // ---- entry moves --------------------------------------------------------------------

  /** Byte ranges of entries [from, to) of a block at `level`: records, or keys + pointers. */
  private entryRanges(level: number, from: number, to: number): [number, number][] {
    const o = this.ops;
    if (level === 0) return [[recOff(o, from), recOff(o, to)]];
    return [
      [keyOff(o, from), keyOff(o, to)],
      [ptrOff(o, from), ptrOff(o, to)],
    ];
  }

  private logEntries(bp: XfsBuf, level: number, from: number, to: number): void {
    if (to <= from) return;
    for (const [a, b] of this.entryRanges(level, from, to)) this.tp.logBuf(bp, a, b - 1);
  }

  /** Copy entries [from, to) of `src` to index `at` of `dst` (same level; may be the same block). */
  private copyEntries(src: XfsBuf, dst: XfsBuf, level: number, from: number, to: number, at: number): void {
    if (to <= from) return;
    const srcR = this.entryRanges(level, from, to);
    const dstR = this.entryRanges(level, at, at + (to - from));
    for (let k = 0; k < srcR.length; k++) {
      const [a, b] = srcR[k]!;
      if (src === dst) dst.bAddr.copyWithin(dstR[k]![0], a, b);
      else dst.bAddr.set(src.bAddr.subarray(a, b), dstR[k]![0]);
    }
    this.logEntries(dst, level, at, at + (to - from));
  }

  private writeEntry(bp: XfsBuf, level: number, i: number, e: R | SplitResult<K>): void {
    const o = this.ops;
    if (level === 0) o.encodeRec(bp.view, recOff(o, i), e as R);
    else {
      const s = e as SplitResult<K>;
      o.encodeKey(bp.view, keyOff(o, i), s.low);
      if (o.overlapping) o.encodeKey(bp.view, highKeyOff(o, i), s.high);
      writePtr(bp.view, ptrOff(o, i), o.longPtrs, s.ptr);
    }
    this.logEntries(bp, level, i, i + 1);
  }

  // ---- lookup and movement ------------------------------------------------------------

  /** Index of the last node key <= key, or 0. */
  private nodeIndex(bp: XfsBuf, key: K): number {
    let lo = 0;
    let hi = this.numrecs(bp) - 1;
    let ans = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ops.cmpKeys(this.lowKey(bp, mid), key) <= 0) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** Index of the last record with key <= key, or -1. */
  private leafIndex(bp: XfsBuf, key: K): number {
    let lo = 0;
    let hi = this.numrecs(bp) - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ops.cmpKeys(this.ops.keyFromRec(this.rec(bp, mid)), key) <= 0) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /**
   * `xfs_btree_lookup()`: position at the last record <= key (LE), the first record >= key
   * (GE), or the record equal to key (EQ; otherwise at the first greater one). Returns
   * whether such a record exists (the kernel's `stat`).
   */
  lookup(dir: XfsLookup, key: K): boolean {
    this.stats.lookups++;
    const { ptr, levels } = this.root.getRoot();
    this.levels = [];
    this.valid = false;
    if (ptr === NULLPTR || levels === 0) return false;
    let bp = this.read(ptr);
    for (let lev = levels - 1; lev > 0; lev--) {
      if (this.level(bp) !== lev) throw new KernelBug(`${this.ops.name}: block ${bp.bRhashKey} level ${this.level(bp)}, expected ${lev}`);
      const i = this.nodeIndex(bp, key);
      this.levels[lev] = { bp, ptr: i };
      bp = this.read(this.childPtr(bp, i));
    }
    const j = this.leafIndex(bp, key);
    this.levels[0] = { bp, ptr: j };
    this.valid = true;
    if (dir === XFS_LOOKUP_LE) return j >= 0;
    const exact = j >= 0 && this.ops.cmpKeys(this.ops.keyFromRec(this.rec(bp, j)), key) === 0;
    if (exact) return true;
    this.levels[0] = { bp, ptr: j + 1 };
    if (j + 1 >= this.numrecs(bp)) {
      if (!this.increment()) return false;
    }
    return dir === XFS_LOOKUP_GE;
  }

  /** `xfs_btree_get_rec()`: the record under the cursor, or undefined off either end. */
  get(): R | undefined {
    if (!this.valid) return undefined;
    const l = this.levels[0]!;
    if (l.ptr < 0 || l.ptr >= this.numrecs(l.bp)) return undefined;
    return this.rec(l.bp, l.ptr);
  }

  /** `xfs_btree_increment()`: move to the next record; false at the end. */
  increment(): boolean {
    if (!this.valid) return false;
    const leaf = this.levels[0]!;
    if (leaf.ptr + 1 < this.numrecs(leaf.bp)) {
      leaf.ptr++;
      return true;
    }
    let lev = 1;
    while (lev < this.levels.length && this.levels[lev]!.ptr + 1 >= this.numrecs(this.levels[lev]!.bp)) lev++;
    if (lev >= this.levels.length) {
      leaf.ptr = this.numrecs(leaf.bp);
      return false;
    }
    this.levels[lev]!.ptr++;
    for (let l = lev - 1; l >= 0; l--) {
      const up = this.levels[l + 1]!;
      this.levels[l] = { bp: this.read(this.childPtr(up.bp, up.ptr)), ptr: 0 };
    }
    return true;
  }

  /** `xfs_btree_decrement()`: move to the previous record; false at the start. */
  decrement(): boolean {
    if (!this.valid) return false;
    const leaf = this.levels[0]!;
    if (leaf.ptr - 1 >= 0) {
      leaf.ptr = Math.min(leaf.ptr - 1, this.numrecs(leaf.bp) - 1);
      return leaf.ptr >= 0;
    }
    let lev = 1;
    while (lev < this.levels.length && this.levels[lev]!.ptr === 0) lev++;
    if (lev >= this.levels.length) {
      leaf.ptr = -1;
      return false;
    }
    this.levels[lev]!.ptr--;
    for (let l = lev - 1; l >= 0; l--) {
      const up = this.levels[l + 1]!;
      const bp = this.read(this.childPtr(up.bp, up.ptr));
      this.levels[l] = { bp, ptr: this.numrecs(bp) - 1 };
    }
    return true;
  }

  // ---- update -------------------------------------------------------------------------

  /**
   * `xfs_btree_update()`: overwrite the record under the cursor. The new record must keep
   * the key order; node keys above are updated.
   */
  update(rec: R): void {
    const l = this.levels[0];
    if (!this.valid || l === undefined || l.ptr < 0 || l.ptr >= this.numrecs(l.bp)) {
      throw new KernelBug(`${this.ops.name}: update with the cursor off a record`);
    }
    this.ops.encodeRec(l.bp.view, recOff(this.ops, l.ptr), rec);
    this.logEntries(l.bp, 0, l.ptr, l.ptr + 1);
    for (let lev = 1; lev < this.levels.length; lev++) {
      const up = this.levels[lev]!;
      if (!this.setNodeKeys(up.bp, up.ptr, this.blockKeys(this.levels[lev - 1]!.bp))) break;
    }
  }

  // ---- insert -------------------------------------------------------------------------

  /** `xfs_btree_insert()`: add a record (its key must not be present); cursor ends on it. */
  insert(rec: R): void {
    this.stats.inserts++;
    let { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || levels === 0) {
      ptr = this.newBlock(0, NULLPTR).ptr;
      levels = 1;
      this.root.setRoot(ptr, levels);
    }
    const split = this.insRec(ptr, levels - 1, rec);
    if (split !== undefined) {
      if (levels >= XFS_BTREE_MAXLEVELS) throw new KernelBug(`${this.ops.name}: tree too tall`);
      const oldKeys = this.blockKeys(this.read(ptr));
      const nr = this.newBlock(levels, ptr);
      this.writeEntry(nr.bp, levels, 0, { ptr, low: oldKeys.low, high: oldKeys.high });
      this.writeEntry(nr.bp, levels, 1, split);
      this.setNumrecs(nr.bp, 2);
      this.root.setRoot(nr.ptr, levels + 1);
      this.stats.newRoots++;
    }
    if (!this.lookup(XFS_LOOKUP_EQ, this.ops.keyFromRec(rec))) throw new KernelBug(`${this.ops.name}: inserted record not found`);
  }

  private insRec(ptr: number, level: number, rec: R): SplitResult<K> | undefined {
    const bp = this.read(ptr);
    const key = this.ops.keyFromRec(rec);
    let at: number;
    let entry: R | SplitResult<K>;
    if (level === 0) {
      const j = this.leafIndex(bp, key);
      if (j >= 0 && this.ops.cmpKeys(this.ops.keyFromRec(this.rec(bp, j)), key) === 0) {
        throw new KernelBug(`${this.ops.name}: insert of a duplicate key`, JSON.stringify(rec));
      }
      at = j + 1;
      entry = rec;
    } else {
      const i = this.nodeIndex(bp, key);
      const child = this.childPtr(bp, i);
      const split = this.insRec(child, level - 1, rec);
      if (split === undefined) {
        // Without a split the child's keys only widen to take in the new record.
        const o = this.ops;
        const low = this.lowKey(bp, i);
        const high = o.overlapping ? this.highKeyAt(bp, i) : low;
        const rhigh = this.highOfRec(rec);
        this.setNodeKeys(bp, i, {
          low: o.cmpKeys(key, low) < 0 ? key : low,
          high: o.overlapping && o.cmpKeys(rhigh, high) > 0 ? rhigh : high,
        });
        return undefined;
      }
      this.setNodeKeys(bp, i, this.blockKeys(this.read(child)));
      at = i + 1;
      entry = split;
    }
    return this.insertEntry(ptr, bp, level, at, entry);
  }

  private insertEntry(ptr: number, bp: XfsBuf, level: number, at: number, entry: R | SplitResult<K>): SplitResult<K> | undefined {
    const n = this.numrecs(bp);
    const max = maxRecs(this.ops, level);
    if (n < max) {
      this.copyEntries(bp, bp, level, at, n, at + 1);
      this.writeEntry(bp, level, at, entry);
      this.setNumrecs(bp, n + 1);
      return undefined;
    }
    // xfs_btree_split(): the upper half moves to a new right sibling.
    this.stats.splits++;
    const right = this.newBlock(level, ptr);
    const mid = Math.ceil(n / 2);
    this.copyEntries(bp, right.bp, level, mid, n, 0);
    this.setNumrecs(right.bp, n - mid);
    this.setNumrecs(bp, mid);
    const oldRight = this.rightsib(bp);
    this.setSib(right.bp, true, oldRight);
    this.setSib(right.bp, false, ptr);
    this.setSib(bp, true, right.ptr);
    if (oldRight !== NULLPTR) this.setSib(this.read(oldRight), false, right.ptr);
    if (at <= mid) this.insertEntry(ptr, bp, level, at, entry);
    else this.insertEntry(right.ptr, right.bp, level, at - mid, entry);
    const keys = this.blockKeys(right.bp);
    return { ptr: right.ptr, low: keys.low, high: keys.high };
  }

  // ---- delete -------------------------------------------------------------------------

  /**
   * `xfs_btree_delete()`: remove the record under the cursor. The cursor ends on the
   * record after it; returns whether there is one.
   */
  delete(): boolean {
    const r = this.get();
    if (r === undefined) throw new KernelBug(`${this.ops.name}: delete with the cursor off a record`);
    return this.deleteKey(this.ops.keyFromRec(r));
  }

  /** Remove the record with exactly this key (KernelBug if absent); cursor as for `delete()`. */
  deleteKey(key: K): boolean {
    this.stats.deletes++;
    const { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || !this.delRec(ptr, levels - 1, key)) {
      throw new KernelBug(`${this.ops.name}: delete of a missing key`, JSON.stringify(key));
    }
    this.killRoot();
    return this.lookup(XFS_LOOKUP_GE, key);
  }

  /** `xfs_btree_kill_root()`: a node root with one child gives way to the child. */
  private killRoot(): void {
    for (;;) {
      const { ptr, levels } = this.root.getRoot();
      if (ptr === NULLPTR) return;
      const bp = this.read(ptr);
      const n = this.numrecs(bp);
      if (levels > 1 && n === 1) {
        const child = this.childPtr(bp, 0);
        this.freeBlock(ptr, bp);
        this.root.setRoot(child, levels - 1);
        this.stats.killedRoots++;
        continue;
      }
      if (levels === 1 && n === 0 && this.root.freeEmptyRoot) {
        this.freeBlock(ptr, bp);
        this.root.setRoot(NULLPTR, 0);
      }
      return;
    }
  }

  private delRec(ptr: number, level: number, key: K): boolean {
    const bp = this.read(ptr);
    const n = this.numrecs(bp);
    if (level === 0) {
      const j = this.leafIndex(bp, key);
      if (j < 0 || this.ops.cmpKeys(this.ops.keyFromRec(this.rec(bp, j)), key) !== 0) return false;
      this.copyEntries(bp, bp, 0, j + 1, n, j);
      this.setNumrecs(bp, n - 1);
      return true;
    }
    const i = this.nodeIndex(bp, key);
    const child = this.childPtr(bp, i);
    if (!this.delRec(child, level - 1, key)) return false;
    const cbp = this.read(child);
    const cn = this.numrecs(cbp);
    if (cn < Math.floor(maxRecs(this.ops, level - 1) / 2) && n > 1) this.rebalance(bp, level, i);
    else if (cn > 0) this.setNodeKeys(bp, i, this.blockKeys(cbp));
    return true;
  }

  /** Child `i` of node `bp` is underfull: borrow from or merge with an adjacent sibling. */
  private rebalance(bp: XfsBuf, level: number, i: number): void {
    const li = i > 0 ? i - 1 : i;
    const ri = li + 1;
    const lptr = this.childPtr(bp, li);
    const rptr = this.childPtr(bp, ri);
    const lbp = this.read(lptr);
    const rbp = this.read(rptr);
    const clevel = level - 1;
    const ln = this.numrecs(lbp);
    const rn = this.numrecs(rbp);
    if (ln + rn <= maxRecs(this.ops, clevel)) {
      // join: everything moves into the left block, the right block is freed.
      this.stats.merges++;
      this.copyEntries(rbp, lbp, clevel, 0, rn, ln);
      this.setNumrecs(lbp, ln + rn);
      const far = this.rightsib(rbp);
      this.setSib(lbp, true, far);
      if (far !== NULLPTR) this.setSib(this.read(far), false, lptr);
      this.freeBlock(rptr, rbp);
      const n = this.numrecs(bp);
      this.copyEntries(bp, bp, level, ri + 1, n, ri);
      this.setNumrecs(bp, n - 1);
      if (ln + rn > 0) this.setNodeKeys(bp, li, this.blockKeys(lbp));
      return;
    }
    // lshift / rshift: even out the two blocks.
    this.stats.borrows++;
    const total = ln + rn;
    const want = Math.floor(total / 2);
    if (ln < want) {
      const move = want - ln;
      this.copyEntries(rbp, lbp, clevel, 0, move, ln);
      this.copyEntries(rbp, rbp, clevel, move, rn, 0);
      this.setNumrecs(lbp, ln + move);
      this.setNumrecs(rbp, rn - move);
    } else {
      const move = ln - want;
      this.copyEntries(rbp, rbp, clevel, 0, rn, move);
      this.copyEntries(lbp, rbp, clevel, ln - move, ln, 0);
      this.setNumrecs(lbp, ln - move);
      this.setNumrecs(rbp, rn + move);
    }
    this.setNodeKeys(bp, li, this.blockKeys(lbp));
    this.setNodeKeys(bp, ri, this.blockKeys(rbp));
  }

  // ---- queries ------------------------------------------------------------------------

  /**
   * `xfs_btree_query_range()`: call `fn` for every record whose [key, high key] meets
   * [low, high], in key order; `fn` returning false stops the walk (the kernel's
   * -ECANCELED). Overlapping btrees descend only into children whose key range meets the
   * query; others walk the leaves from a LE lookup.
   */
  queryRange(low: K, high: K, fn: (rec: R) => boolean | void): void {
    const o = this.ops;
    if (o.cmpKeys(low, high) > 0) return;
    const { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || levels === 0) return;
    if (o.overlapping) {
      this.overlappedQuery(ptr, levels - 1, low, high, fn);
      return;
    }
    if (!this.lookup(XFS_LOOKUP_LE, low) && this.get() === undefined && !this.increment()) return;
    for (;;) {
      const r = this.get();
      if (r === undefined || o.cmpKeys(o.keyFromRec(r), high) > 0) return;
      if (o.cmpKeys(this.highOfRec(r), low) >= 0 && fn(r) === false) return;
      if (!this.increment()) return;
    }
  }

  private overlappedQuery(ptr: number, level: number, low: K, high: K, fn: (rec: R) => boolean | void): boolean {
    const o = this.ops;
    const bp = this.read(ptr);
    const n = this.numrecs(bp);
    for (let i = 0; i < n; i++) {
      if (level === 0) {
        const r = this.rec(bp, i);
        if (o.cmpKeys(o.keyFromRec(r), high) > 0) return true;
        if (o.cmpKeys(this.highOfRec(r), low) >= 0 && fn(r) === false) return false;
        continue;
      }
      if (o.cmpKeys(this.lowKey(bp, i), high) > 0) return true;
      if (o.cmpKeys(this.highKeyAt(bp, i), low) < 0) continue;
      if (!this.overlappedQuery(this.childPtr(bp, i), level - 1, low, high, fn)) return false;
    }
    return true;
  }

  /** `xfs_btree_query_all()`: every record in key order. */
  queryAll(fn: (rec: R) => boolean | void): void {
    const { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || levels === 0) return;
    let bp = this.read(ptr);
    for (let lev = levels - 1; lev > 0; lev--) bp = this.read(this.childPtr(bp, 0));
    for (;;) {
      const n = this.numrecs(bp);
      for (let i = 0; i < n; i++) if (fn(this.rec(bp, i)) === false) return;
      const next = this.rightsib(bp);
      if (next === NULLPTR) return;
      bp = this.read(next);
    }
  }

  /** Every record, in key order. */
  records(): R[] {
    const out: R[] = [];
    this.queryAll((r) => {
      out.push(r);
    });
    return out;
  }

  /** The last record (greatest key), if any. */
  last(): R | undefined {
    const { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || levels === 0) return undefined;
    let bp = this.read(ptr);
    for (let lev = levels - 1; lev > 0; lev--) bp = this.read(this.childPtr(bp, this.numrecs(bp) - 1));
    const n = this.numrecs(bp);
    return n === 0 ? undefined : this.rec(bp, n - 1);
  }

  /** Blocks in the tree (`xfs_btree_count_blocks()`), and every block pointer. */
  blocks(): number[] {
    const out: number[] = [];
    const { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || levels === 0) return out;
    const walk = (p: number, lev: number): void => {
      out.push(p);
      if (lev === 0) return;
      const bp = this.read(p);
      const n = this.numrecs(bp);
      for (let i = 0; i < n; i++) walk(this.childPtr(bp, i), lev - 1);
    };
    walk(ptr, levels - 1);
    return out;
  }

  /**
   * Structural check (the scrub side of `xfs_btree_check_block()`): levels, record order,
   * exact node keys, sibling links, fill. Returns problems as text; empty means sound.
   */
  check(): string[] {
    const problems: string[] = [];
    const o = this.ops;
    const { ptr, levels } = this.root.getRoot();
    if (ptr === NULLPTR || levels === 0) return problems;
    const byLevel: number[][] = [];
    let prevKey: K | undefined;
    const walk = (p: number, lev: number, isRoot: boolean): void => {
      (byLevel[lev] ??= []).push(p);
      const bp = this.read(p);
      const n = this.numrecs(bp);
      if (this.level(bp) !== lev) problems.push(`${o.name}: block ${p} level ${this.level(bp)} != ${lev}`);
      if (!isRoot && n < Math.floor(maxRecs(o, lev) / 2)) problems.push(`${o.name}: block ${p} underfull (${n})`);
      if (isRoot && lev > 0 && n < 2) problems.push(`${o.name}: node root ${p} has ${n} children`);
      if (lev === 0) {
        for (let i = 0; i < n; i++) {
          const k = o.keyFromRec(this.rec(bp, i));
          if (prevKey !== undefined && o.cmpKeys(prevKey, k) >= 0) problems.push(`${o.name}: records out of order in block ${p}`);
          prevKey = k;
        }
        return;
      }
      for (let i = 0; i < n; i++) {
        const c = this.childPtr(bp, i);
        const keys = this.blockKeys(this.read(c));
        if (o.cmpKeys(keys.low, this.lowKey(bp, i)) !== 0) problems.push(`${o.name}: node ${p} low key ${i} is not child ${c}'s`);
        if (o.overlapping && o.cmpKeys(keys.high, this.highKeyAt(bp, i)) !== 0) {
          problems.push(`${o.name}: node ${p} high key ${i} is not child ${c}'s`);
        }
        walk(c, lev - 1, false);
      }
    };
    walk(ptr, levels - 1, true);
    for (const ptrs of byLevel) {
      if (ptrs === undefined) continue;
      ptrs.forEach((p, i) => {
        const bp = this.read(p);
        const wantL = i === 0 ? NULLPTR : ptrs[i - 1]!;
        const wantR = i === ptrs.length - 1 ? NULLPTR : ptrs[i + 1]!;
        if (this.leftsib(bp) !== wantL || this.rightsib(bp) !== wantR) problems.push(`${o.name}: block ${p} sibling pointers wrong`);
      });
    }
    return problems;
  }
}
