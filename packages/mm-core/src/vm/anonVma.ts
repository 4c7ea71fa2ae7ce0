/**
 * `struct anon_vma`: the reverse-map root of anonymous pages. A page's `mapping` points at
 * the anon_vma of the VMA it was born in; the anon_vma's interval tree holds every VMA
 * (in this mm and in forked children) that may map the page.
 *
 * @see mm/rmap.c anon_vma_prepare() (__anon_vma_prepare), anon_vma_clone(),
 *      anon_vma_fork(), unlink_anon_vmas(); include/linux/rmap.h struct anon_vma,
 *      struct anon_vma_chain
 *
 * Simplified: the anon_vma_chain objects are a per-VMA array of the anon_vmas it belongs
 * to; no anon_vma reuse heuristics (`degree`, `num_children`) and no merging with a
 * neighbour's anon_vma.
 */
import { IntervalTree } from "./intervalTree.js";
import type { VmAreaStruct } from "./vma.js";

let nextAnonVmaId = 1;

export class AnonVma {
  readonly id = nextAnonVmaId++;
  /** The root of this anon_vma's family (the first ancestor's). */
  readonly root: AnonVma;
  /** VMAs by [vm_pgoff, vm_pgoff + pages - 1]. */
  readonly rbRoot = new IntervalTree<VmAreaStruct>();

  constructor(parent?: AnonVma) {
    this.root = parent ? parent.root : this;
  }

  toString(): string {
    return `anon_vma#${this.id}`;
  }
}

function chainLink(vma: VmAreaStruct, av: AnonVma): void {
  av.rbRoot.insert(vma, vma.vmPgoff, vma.vmPgoff + vma.pages - 1);
  vma.anonVmaChain.push(av);
}

/** `anon_vma_prepare()`: give the VMA an anon_vma before its first anonymous page. */
export function anonVmaPrepare(vma: VmAreaStruct): AnonVma {
  if (vma.anonVma) return vma.anonVma;
  const av = new AnonVma();
  chainLink(vma, av);
  vma.anonVma = av;
  return av;
}

/** `anon_vma_clone()`: `dst` (a split-off or copied VMA) joins every anon_vma of `src`. */
export function anonVmaClone(dst: VmAreaStruct, src: VmAreaStruct): void {
  dst.anonVmaChain = [];
  for (const av of src.anonVmaChain) chainLink(dst, av);
  dst.anonVma = src.anonVma;
}

/**
 * `anon_vma_fork()`: the child VMA joins its parent's anon_vmas (so it is found for pages
 * the parent faulted) and gets one of its own for the pages it will CoW.
 */
export function anonVmaFork(child: VmAreaStruct, parent: VmAreaStruct): void {
  child.anonVma = null;
  child.anonVmaChain = [];
  if (!parent.anonVma) return;
  for (const av of parent.anonVmaChain) chainLink(child, av);
  const av = new AnonVma(parent.anonVma);
  chainLink(child, av);
  child.anonVma = av;
}

/** `unlink_anon_vmas()`. */
export function unlinkAnonVmas(vma: VmAreaStruct): void {
  for (const av of vma.anonVmaChain) av.rbRoot.remove(vma);
  vma.anonVmaChain = [];
  vma.anonVma = null;
}

/**
 * `anon_vma_interval_tree_pre_update_vma()` / `_post_update_vma()`: re-key the VMA in
 * its trees around a change to vm_start, vm_end or vm_pgoff.
 */
export function anonVmaUpdate(vma: VmAreaStruct, change: () => void): void {
  for (const av of vma.anonVmaChain) av.rbRoot.remove(vma);
  change();
  for (const av of vma.anonVmaChain) av.rbRoot.insert(vma, vma.vmPgoff, vma.vmPgoff + vma.pages - 1);
}
