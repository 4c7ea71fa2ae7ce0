/**
 * An augmented balanced tree of closed intervals [start, last], the structure behind
 * `mapping->i_mmap` (VMAs by file page range) and `anon_vma->rb_root`.
 *
 * @see include/linux/interval_tree_generic.h, mm/interval_tree.c
 *      vma_interval_tree_insert(), vma_interval_tree_iter_first()/next(),
 *      anon_vma_interval_tree_*()
 *
 * The kernel augments a red-black tree with each subtree's largest `last`; this is an AVL
 * tree with the same augmentation. Like the kernel's insert (equal starts go right),
 * iteration yields overlapping intervals by start and, for equal starts, in insertion
 * order.
 */

interface Node<T> {
  readonly item: T;
  readonly start: number;
  readonly last: number;
  readonly seq: number;
  left: Node<T> | null;
  right: Node<T> | null;
  height: number;
  subtreeLast: number;
}

function height<T>(n: Node<T> | null): number {
  return n ? n.height : 0;
}

function update<T>(n: Node<T>): void {
  n.height = 1 + Math.max(height(n.left), height(n.right));
  let m = n.last;
  if (n.left && n.left.subtreeLast > m) m = n.left.subtreeLast;
  if (n.right && n.right.subtreeLast > m) m = n.right.subtreeLast;
  n.subtreeLast = m;
}

function rotateRight<T>(n: Node<T>): Node<T> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  update(n);
  update(l);
  return l;
}

function rotateLeft<T>(n: Node<T>): Node<T> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  update(n);
  update(r);
  return r;
}

function balance<T>(n: Node<T>): Node<T> {
  update(n);
  const bf = height(n.left) - height(n.right);
  if (bf > 1) {
    if (height(n.left!.left) < height(n.left!.right)) n.left = rotateLeft(n.left!);
    return rotateRight(n);
  }
  if (bf < -1) {
    if (height(n.right!.right) < height(n.right!.left)) n.right = rotateRight(n.right!);
    return rotateLeft(n);
  }
  return n;
}

function before<T>(a: Node<T>, start: number, seq: number): boolean {
  return a.start < start || (a.start === start && a.seq < seq);
}

export class IntervalTree<T> {
  private root: Node<T> | null = null;
  private readonly nodes = new Map<T, Node<T>>();
  private seq = 0;

  get size(): number {
    return this.nodes.size;
  }

  has(item: T): boolean {
    return this.nodes.has(item);
  }

  /** Insert `item` covering [start, last] (closed). An item may be in the tree once. */
  insert(item: T, start: number, last: number): void {
    if (last < start) throw new RangeError(`interval [${start}, ${last}] is empty`);
    if (this.nodes.has(item)) throw new Error("interval tree: item inserted twice");
    const node: Node<T> = { item, start, last, seq: this.seq++, left: null, right: null, height: 1, subtreeLast: last };
    this.nodes.set(item, node);
    this.root = this.insertAt(this.root, node);
  }

  private insertAt(n: Node<T> | null, node: Node<T>): Node<T> {
    if (!n) return node;
    if (before(node, n.start, n.seq)) n.left = this.insertAt(n.left, node);
    else n.right = this.insertAt(n.right, node);
    return balance(n);
  }

  /** Remove `item`; returns whether it was there. */
  remove(item: T): boolean {
    const node = this.nodes.get(item);
    if (!node) return false;
    this.nodes.delete(item);
    this.root = this.removeAt(this.root, node);
    return true;
  }

  private removeAt(n: Node<T> | null, node: Node<T>): Node<T> | null {
    if (!n) return null;
    if (n === node) {
      if (!n.left) return n.right;
      if (!n.right) return n.left;
      let min = n.right;
      while (min.left) min = min.left;
      min.right = this.removeMin(n.right);
      min.left = n.left;
      return balance(min);
    }
    if (before(node, n.start, n.seq)) n.left = this.removeAt(n.left, node);
    else n.right = this.removeAt(n.right, node);
    return balance(n);
  }

  private removeMin(n: Node<T>): Node<T> | null {
    if (!n.left) return n.right;
    n.left = this.removeMin(n.left);
    return balance(n);
  }

  /** Every item whose interval meets [first, last], by start then insertion order. */
  overlapping(first: number, last: number): T[] {
    const out: T[] = [];
    const visit = (n: Node<T> | null): void => {
      if (!n || n.subtreeLast < first) return;
      visit(n.left);
      if (n.start > last) return;
      if (n.last >= first) out.push(n.item);
      visit(n.right);
    };
    visit(this.root);
    return out;
  }

  /** All items in order. */
  items(): T[] {
    const out: T[] = [];
    const visit = (n: Node<T> | null): void => {
      if (!n) return;
      visit(n.left);
      out.push(n.item);
      visit(n.right);
    };
    visit(this.root);
    return out;
  }

  /** The interval an item was inserted with. */
  intervalOf(item: T): { start: number; last: number } | undefined {
    const n = this.nodes.get(item);
    return n ? { start: n.start, last: n.last } : undefined;
  }

  /** Tree height (tests check the balance). */
  get height(): number {
    return height(this.root);
  }
}
