/**
 * The XArray: a radix tree of 64-slot nodes mapping an index to an entry, with three mark
 * bits per entry and multi-index entries.
 *
 * @see lib/xarray.c xas_load(), xas_descend(), xas_expand(), xas_create(), xas_store(),
 *      xas_squash_marks(), xas_init_marks(), xas_delete_node(), xas_shrink(),
 *      xas_set_mark(), xas_clear_mark(), xas_find(), xas_find_marked(), xa_get_order(),
 *      xas_split(); include/linux/xarray.h XA_CHUNK_SHIFT, xa_mk_sibling()
 *
 * A node has a `shift` (6 per level); slot `i` of a node covers indices
 * `[i << shift, (i + 1) << shift)` below the node's base. An entry of order `k` lives in
 * the node of shift `k - k % 6` and occupies `2^(k % 6)` slots: the first holds the entry,
 * the others sibling entries pointing back at it (an order-9 PMD entry = 8 slots of a
 * shift-6 node). Each node keeps one 64-bit bitmap per mark, and a parent's slot is marked
 * iff something below it is, so a marked walk skips unmarked subtrees. A lone entry at
 * index 0 sits in the head with no node. Emptied nodes are freed and a root with only
 * slot 0 in use is replaced by its child (`xas_shrink`).
 *
 * As in the kernel, storing into any index covered by a multi-index entry replaces that
 * entry for its whole range (the range keeps its order); erasing any index of it erases the
 * whole range; storing a multi-index entry over smaller ones discards them and folds their
 * marks into the new entry (`xas_squash_marks`). `split()` is `xas_split()` generalised.
 *
 * Walk costs: `nodesVisited` counts every node whose slots were read (pointer chases);
 * `lastWalkDepth` is the node depth of the last load/store/find-by-index.
 *
 * Simplified: no RCU, no locking (callers serialise), no XA_FLAGS_ALLOC / free marks,
 * no zero/retry entries, indices are safe integers (< 2^53) rather than unsigned longs.
 */

export const XA_CHUNK_SHIFT = 6;
export const XA_CHUNK_SIZE = 1 << XA_CHUNK_SHIFT;
const XA_CHUNK_MASK = XA_CHUNK_SIZE - 1;
/** Bytes of a kernel `struct xa_node` on 64-bit (for metadata accounting). */
export const XA_NODE_BYTES = 576;

export type XaMark = 0 | 1 | 2;
export const XA_MARK_0: XaMark = 0;
export const XA_MARK_1: XaMark = 1;
export const XA_MARK_2: XaMark = 2;
const XA_MARKS: readonly XaMark[] = [0, 1, 2];
/** Page cache marks (include/linux/fs.h). */
export const PAGECACHE_TAG_DIRTY = XA_MARK_0;
export const PAGECACHE_TAG_WRITEBACK = XA_MARK_1;
export const PAGECACHE_TAG_TOWRITE = XA_MARK_2;

/** The largest index (`ULONG_MAX` in the kernel; here the largest safe integer). */
export const XA_MAX_INDEX = Number.MAX_SAFE_INTEGER;

class XaNode {
  readonly slots: unknown[] = new Array<unknown>(XA_CHUNK_SIZE).fill(null);
  /** marks[m * 2 + w]: bits 32w..32w+31 of mark m. */
  readonly marks = new Uint32Array(6);
  count = 0;
  constructor(
    readonly shift: number,
    public parent: XaNode | null,
    public offset: number,
  ) {}
}

/** `xa_mk_sibling(offset)`: "this slot belongs to the entry at `offset`". */
class Sibling {
  constructor(readonly offset: number) {}
}
const SIBLINGS = Array.from({ length: XA_CHUNK_SIZE }, (_, i) => new Sibling(i));

function isEntry(slot: unknown): boolean {
  return slot !== null && !(slot instanceof XaNode) && !(slot instanceof Sibling);
}

function markTest(node: XaNode, mark: number, off: number): boolean {
  return ((node.marks[mark * 2 + (off >>> 5)]! >>> (off & 31)) & 1) === 1;
}
/** Set a mark bit; returns whether it was already set. */
function markSet(node: XaNode, mark: number, off: number): boolean {
  const w = mark * 2 + (off >>> 5);
  const bit = 1 << (off & 31);
  const was = (node.marks[w]! & bit) !== 0;
  node.marks[w] = node.marks[w]! | bit;
  return was;
}
/** Clear a mark bit; returns whether it was set. */
function markClear(node: XaNode, mark: number, off: number): boolean {
  const w = mark * 2 + (off >>> 5);
  const bit = 1 << (off & 31);
  const was = (node.marks[w]! & bit) !== 0;
  node.marks[w] = node.marks[w]! & ~bit;
  return was;
}
function markAny(node: XaNode, mark: number): boolean {
  return node.marks[mark * 2] !== 0 || node.marks[mark * 2 + 1] !== 0;
}

/** `2^shift` for shifts up to 60. */
const SCALE = Array.from({ length: 11 }, (_, i) => 2 ** (i * XA_CHUNK_SHIFT));

function offsetOf(index: number, shift: number): number {
  if (index < 0x80000000) return shift >= 31 ? 0 : (index >>> shift) & XA_CHUNK_MASK;
  return Math.floor(index / SCALE[shift / XA_CHUNK_SHIFT]!) % XA_CHUNK_SIZE;
}
function maxIndex(node: XaNode): number {
  return SCALE[node.shift / XA_CHUNK_SHIFT]! * XA_CHUNK_SIZE - 1;
}

/** The entry covering `index` in a subtree, without counting the walk. */
function entryIn(node: XaNode, index: number): unknown {
  for (;;) {
    let slot = node.slots[offsetOf(index, node.shift)];
    if (slot instanceof Sibling) slot = node.slots[slot.offset];
    if (!(slot instanceof XaNode)) return slot;
    node = slot;
  }
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`xarray: bad index ${index}`);
}

/** Where an index's entry lives: a node and the canonical slot, or the head. */
interface Slot {
  node: XaNode | null;
  offset: number;
}

export class XArray<T extends NonNullable<unknown>> {
  private head: unknown = null;
  /** `xa_flags` mark bits: set while any entry carries the mark. */
  private rootMarks = 0;
  private nrEntries = 0;
  private nrNodes = 0;
  /** Nodes whose slots were read, ever (pointer chases). */
  nodesVisited = 0;
  /** Node depth of the last index lookup, store or erase. */
  lastWalkDepth = 0;

  /** Entries stored (a multi-index entry counts once). */
  get count(): number {
    return this.nrEntries;
  }
  /** Nodes allocated. */
  get nodes(): number {
    return this.nrNodes;
  }
  isEmpty(): boolean {
    return this.head === null;
  }
  /** `xa_marked()`: whether any entry carries `mark`. */
  anyMarked(mark: XaMark): boolean {
    return (this.rootMarks & (1 << mark)) !== 0;
  }

  // ---- lookup ----------------------------------------------------------------------

  /** `xa_load()`. */
  load(index: number): T | undefined {
    checkIndex(index);
    let entry = this.head;
    if (!(entry instanceof XaNode)) {
      this.lastWalkDepth = 0;
      return index === 0 && entry !== null ? (entry as T) : undefined;
    }
    if (index > maxIndex(entry)) {
      this.lastWalkDepth = 0;
      return undefined;
    }
    let depth = 0;
    while (entry instanceof XaNode) {
      const node: XaNode = entry;
      depth++;
      entry = node.slots[offsetOf(index, node.shift)];
      if (entry instanceof Sibling) entry = node.slots[entry.offset];
    }
    this.nodesVisited += depth;
    this.lastWalkDepth = depth;
    return entry === null ? undefined : (entry as T);
  }

  /** `xa_get_order()`: the order of the entry at `index` (0 when absent). */
  entryOrder(index: number): number {
    checkIndex(index);
    const s = this.walk(index);
    if (!s || !s.node) return 0;
    return s.node.shift + Math.log2(this.span(s.node, s.offset));
  }

  /** The entry's slot (canonical for a multi-index entry), or null when absent. */
  private walk(index: number): Slot | null {
    let entry = this.head;
    let depth = 0;
    if (entry instanceof XaNode) {
      if (index > maxIndex(entry)) {
        this.lastWalkDepth = 0;
        return null;
      }
      let node: XaNode = entry;
      for (;;) {
        depth++;
        this.nodesVisited++;
        let off = offsetOf(index, node.shift);
        entry = node.slots[off];
        if (entry instanceof Sibling) {
          off = entry.offset;
          entry = node.slots[off];
        }
        if (entry instanceof XaNode) {
          node = entry;
          continue;
        }
        this.lastWalkDepth = depth;
        return entry === null ? null : { node, offset: off };
      }
    }
    this.lastWalkDepth = 0;
    return entry !== null && index === 0 ? { node: null, offset: 0 } : null;
  }

  private slotEntry(s: Slot): unknown {
    return s.node ? s.node.slots[s.offset] : this.head;
  }

  /** Slots an entry occupies in its node (1 + its siblings). */
  private span(node: XaNode, offset: number): number {
    let n = 1;
    while (offset + n < XA_CHUNK_SIZE) {
      const s = node.slots[offset + n];
      if (!(s instanceof Sibling) || s.offset !== offset) break;
      n++;
    }
    return n;
  }

  // ---- store / erase ---------------------------------------------------------------

  /** `xa_store()`: returns the entry that was there (the whole multi-index entry's). */
  store(index: number, entry: T): T | undefined {
    return this.storeOrder(index, 0, entry);
  }

  /**
   * `xa_store_order()`: one entry for the 2^order indices from `index` rounded down to a
   * multiple of 2^order. Returns the entry that covered that first index.
   */
  storeOrder(index: number, order: number, entry: T): T | undefined {
    checkIndex(index);
    if (!Number.isInteger(order) || order < 0 || order > 52) throw new RangeError(`xarray: bad order ${order}`);
    if (entry === null || entry === undefined) throw new TypeError("xarray: store a value, or use erase()");
    const size = 2 ** order;
    index = Math.floor(index / size) * size;
    const shift = order - (order % XA_CHUNK_SHIFT);
    const sibs = 2 ** (order % XA_CHUNK_SHIFT) - 1;

    if (order === 0 && index === 0 && !(this.head instanceof XaNode)) {
      const old = this.head;
      this.head = entry;
      this.lastWalkDepth = 0;
      if (old === null) this.nrEntries++;
      return (old ?? undefined) as T | undefined;
    }
    // xas_expand(): a max of exactly (1 << shift) - 1 still needs a node of that shift.
    let max = index + size - 1;
    if (order > 0 && max === size - 1) max++;
    const root = this.expand(max, shift);

    let node = root;
    let depth = 1;
    this.nodesVisited++;
    while (node.shift > shift) {
      let off = offsetOf(index, node.shift);
      let slot = node.slots[off];
      if (slot instanceof Sibling) {
        off = slot.offset;
        slot = node.slots[off];
      }
      if (slot === null) {
        const child = new XaNode(node.shift - XA_CHUNK_SHIFT, node, off);
        this.nrNodes++;
        node.slots[off] = child;
        node.count++;
        slot = child;
      }
      if (!(slot instanceof XaNode)) {
        // A bigger multi-index entry covers the index: replace it, keeping its range.
        node.slots[off] = entry;
        this.lastWalkDepth = depth;
        return slot as T;
      }
      node = slot;
      depth++;
      this.nodesVisited++;
    }
    this.lastWalkDepth = depth;

    let offset = offsetOf(index, shift);
    const at = node.slots[offset];
    if (at instanceof Sibling) offset = at.offset;
    const first = node.slots[offset];
    if (sibs > 0) this.squashMarks(node, offset, sibs);
    const old = first instanceof XaNode ? entryIn(first, index) : first;
    let value: unknown = entry;
    for (let off = offset; off <= offset + sibs; off++) {
      const next = node.slots[off];
      if (next instanceof XaNode) this.freeNodes(next);
      else if (isEntry(next)) this.nrEntries--;
      if (next === null) node.count++;
      node.slots[off] = value;
      value = SIBLINGS[offset];
    }
    this.nrEntries++;
    return (old ?? undefined) as T | undefined;
  }

  /** `xa_erase()`: remove the entry covering `index` (all of a multi-index entry). */
  erase(index: number): T | undefined {
    checkIndex(index);
    const s = this.walk(index);
    if (!s) return undefined;
    const old = this.slotEntry(s) as T;
    this.nrEntries--;
    const node = s.node;
    if (!node) {
      this.head = null;
      this.rootMarks = 0;
      return old;
    }
    for (const m of XA_MARKS) this.clearMarkAt(node, s.offset, m);
    const n = this.span(node, s.offset);
    for (let off = s.offset; off < s.offset + n; off++) node.slots[off] = null;
    node.count -= n;
    if (node.count === 0) this.deleteNode(node);
    else this.shrink();
    return old;
  }

  /** `xas_split()`: turn the entry covering `index` into entries of `newOrder`, same value and marks. */
  split(index: number, newOrder: number): void {
    checkIndex(index);
    const entry = this.load(index);
    if (entry === undefined) return;
    const order = this.entryOrder(index);
    if (!Number.isInteger(newOrder) || newOrder < 0 || newOrder >= order)
      throw new RangeError(`xarray: cannot split an order-${order} entry into order ${newOrder}`);
    const marks = XA_MARKS.filter((m) => this.getMark(index, m));
    const size = 2 ** order;
    const start = Math.floor(index / size) * size;
    this.erase(start);
    for (let i = start; i < start + size; i += 2 ** newOrder) {
      this.storeOrder(i, newOrder, entry);
      for (const m of marks) this.setMark(i, m);
    }
  }

  /** `xas_expand()`: grow the tree until the root covers `max` and has at least `shift`. */
  private expand(max: number, shift: number): XaNode {
    let head = this.head;
    if (!(head instanceof XaNode)) {
      const node = new XaNode(0, null, 0);
      this.nrNodes++;
      if (head !== null) {
        node.slots[0] = head;
        node.count = 1;
        for (const m of XA_MARKS) if (this.rootMarks & (1 << m)) markSet(node, m, 0);
      }
      head = this.head = node;
    }
    let root = head as XaNode;
    while (max > maxIndex(root) || root.shift < shift) {
      const parent = new XaNode(root.shift + XA_CHUNK_SHIFT, null, 0);
      this.nrNodes++;
      if (root.count > 0) {
        parent.slots[0] = root;
        parent.count = 1;
        root.parent = parent;
        root.offset = 0;
        for (const m of XA_MARKS) if (markAny(root, m)) markSet(parent, m, 0);
      } else {
        this.nrNodes--;
      }
      root = parent;
    }
    this.head = root;
    return root;
  }

  /** `xas_squash_marks()`: fold the marks of a multi-index range into its first slot. */
  private squashMarks(node: XaNode, offset: number, sibs: number): void {
    for (const m of XA_MARKS) {
      let any = false;
      for (let off = offset + 1; off <= offset + sibs; off++) if (markClear(node, m, off)) any = true;
      if (any) markSet(node, m, offset);
    }
  }

  /** Free a detached subtree (`xas_free_nodes`), forgetting its entries. */
  private freeNodes(top: XaNode): void {
    const stack = [top];
    while (stack.length) {
      const node = stack.pop()!;
      this.nrNodes--;
      for (const s of node.slots) {
        if (s instanceof XaNode) stack.push(s);
        else if (isEntry(s)) this.nrEntries--;
      }
    }
  }

  /** `xas_delete_node()`: free empty nodes upward, then shrink the root. */
  private deleteNode(node: XaNode): void {
    for (;;) {
      this.nrNodes--;
      const parent = node.parent;
      if (!parent) {
        this.head = null;
        this.rootMarks = 0;
        return;
      }
      parent.slots[node.offset] = null;
      for (const m of XA_MARKS) markClear(parent, m, node.offset);
      parent.count--;
      if (parent.count > 0) break;
      node = parent;
    }
    this.shrink();
  }

  /** `xas_shrink()`. */
  private shrink(): void {
    let node = this.head;
    while (node instanceof XaNode) {
      if (node.count !== 1) return;
      const entry = node.slots[0];
      if (entry === null) return;
      if (!(entry instanceof XaNode) && node.shift) return;
      this.nrNodes--;
      this.head = entry;
      if (!(entry instanceof XaNode)) return;
      entry.parent = null;
      node = entry;
    }
  }

  // ---- marks -----------------------------------------------------------------------

  /** `xa_set_mark()`: no-op when no entry covers `index`. */
  setMark(index: number, mark: XaMark): void {
    checkIndex(index);
    const s = this.walk(index);
    if (!s) return;
    let node = s.node;
    let off = s.offset;
    while (node) {
      if (markSet(node, mark, off)) return;
      off = node.offset;
      node = node.parent;
    }
    this.rootMarks |= 1 << mark;
  }

  /** `xa_clear_mark()`. */
  clearMark(index: number, mark: XaMark): void {
    checkIndex(index);
    const s = this.walk(index);
    if (!s) return;
    if (!s.node) this.rootMarks &= ~(1 << mark);
    else this.clearMarkAt(s.node, s.offset, mark);
  }

  private clearMarkAt(start: XaNode, offset: number, mark: XaMark): void {
    let node: XaNode | null = start;
    let off = offset;
    while (node) {
      if (!markClear(node, mark, off)) return;
      if (markAny(node, mark)) return;
      off = node.offset;
      node = node.parent;
    }
    this.rootMarks &= ~(1 << mark);
  }

  /** `xa_get_mark()`. */
  getMark(index: number, mark: XaMark): boolean {
    checkIndex(index);
    const s = this.walk(index);
    if (!s) return false;
    return s.node ? markTest(s.node, mark, s.offset) : (this.rootMarks & (1 << mark)) !== 0;
  }

  // ---- iteration -------------------------------------------------------------------

  /**
   * `xa_for_each_range()`: `[index, entry]` in index order; a multi-index entry is reported
   * once, at its first index (or at `start` when it begins before `start`).
   */
  *entries(start = 0, last = XA_MAX_INDEX): Generator<[number, T]> {
    yield* this.iterate(start, last, -1);
  }

  /** `xa_for_each_marked()`: like `entries`, only entries with `mark`; skips unmarked subtrees. */
  *marked(start: number, last: number, mark: XaMark): Generator<[number, T]> {
    yield* this.iterate(start, last, mark);
  }

  /** `xa_find()`: the first entry in `[start, last]` (with `mark`, if given). */
  find(start: number, last = XA_MAX_INDEX, mark?: XaMark): [number, T] | undefined {
    const it = this.iterate(start, last, mark ?? -1);
    const r = it.next();
    it.return(undefined);
    return r.done ? undefined : r.value;
  }

  private *iterate(start: number, last: number, mark: number): Generator<[number, T]> {
    checkIndex(start);
    if (last < start) return;
    const head = this.head;
    if (head === null) return;
    if (!(head instanceof XaNode)) {
      if (start === 0 && (mark < 0 || this.rootMarks & (1 << mark))) yield [0, head as T];
      return;
    }
    if (start > maxIndex(head)) return;
    yield* this.iterateNode(head, 0, start, last, mark);
  }

  private *iterateNode(node: XaNode, base: number, start: number, last: number, mark: number): Generator<[number, T]> {
    this.nodesVisited++;
    const step = SCALE[node.shift / XA_CHUNK_SHIFT]!;
    const first = start > base ? Math.floor((start - base) / step) : 0;
    for (let off = first; off < XA_CHUNK_SIZE; off++) {
      const idx = base + off * step;
      if (idx > last) return;
      const slot = node.slots[off];
      if (slot === null) continue;
      if (slot instanceof Sibling) {
        // The walk began inside a multi-index entry whose first slot lies before `start`.
        if (off === first && slot.offset < first && (mark < 0 || markTest(node, mark, slot.offset)))
          yield [start, node.slots[slot.offset] as T];
        continue;
      }
      if (mark >= 0 && !markTest(node, mark, off)) continue;
      if (slot instanceof XaNode) yield* this.iterateNode(slot, idx, start, last, mark);
      else yield [Math.max(idx, start), slot as T];
    }
  }

  /** Bytes a kernel would spend on this tree's nodes. */
  metadataBytes(): number {
    return this.nrNodes * XA_NODE_BYTES;
  }

  /**
   * `XA_NODE_BUG_ON()` over the whole tree: counts, parent links, mark propagation,
   * sibling placement, no empty or collapsible nodes. Throws an Error naming the breach.
   */
  checkTree(): void {
    const fail = (msg: string): never => {
      throw new Error(`xarray: ${msg}`);
    };
    const head = this.head;
    let nodes = 0;
    let entries = 0;
    const anyMark = [false, false, false];
    const visit = (node: XaNode, parent: XaNode | null, offset: number): boolean[] => {
      nodes++;
      if (node.parent !== parent || (parent && node.offset !== offset)) fail(`bad parent link at shift ${node.shift}`);
      if (parent && node.shift !== parent.shift - XA_CHUNK_SHIFT) fail("bad child shift");
      let count = 0;
      const has = [false, false, false];
      node.slots.forEach((s, off) => {
        if (s === null) {
          for (const m of XA_MARKS) if (markTest(node, m, off)) fail(`mark ${m} on empty slot ${off}`);
          return;
        }
        count++;
        if (s instanceof Sibling) {
          if (s.offset >= off || !isEntry(node.slots[s.offset])) fail(`stray sibling at ${off}`);
          for (const m of XA_MARKS) if (markTest(node, m, off)) fail(`mark ${m} on sibling slot ${off}`);
          return;
        }
        let below = [false, false, false];
        if (s instanceof XaNode) below = visit(s, node, off);
        else entries++;
        for (const m of XA_MARKS) {
          const set = markTest(node, m, off);
          if (s instanceof XaNode && set !== below[m]) fail(`mark ${m} not propagated at shift ${node.shift} slot ${off}`);
          if (set) has[m] = true;
        }
      });
      if (count !== node.count) fail(`count ${node.count} != ${count} at shift ${node.shift}`);
      if (count === 0) fail("empty node left in the tree");
      return has;
    };
    if (head instanceof XaNode) {
      const has = visit(head, null, 0);
      for (const m of XA_MARKS) anyMark[m] = has[m]!;
      if (head.count === 1 && head.slots[0] !== null && (head.slots[0] instanceof XaNode || head.shift === 0))
        fail("root should have been shrunk");
    } else if (head !== null) {
      entries = 1;
      for (const m of XA_MARKS) anyMark[m] = (this.rootMarks & (1 << m)) !== 0;
    }
    for (const m of XA_MARKS) if (anyMark[m] !== this.anyMarked(m)) fail(`xa_flags mark ${m} out of sync`);
    if (nodes !== this.nrNodes) fail(`node count ${this.nrNodes} != ${nodes}`);
    if (entries !== this.nrEntries) fail(`entry count ${this.nrEntries} != ${entries}`);
  }
}
