/**
 * What DAX work costs, counted where it happens, per machine. Every sharing mechanism
 * reports through the same counters so runs under different mechanisms compare directly.
 *
 * Gauges (`metadataBytes`, `pageStructsAlive`, `dramPagesAlive`) go up and down; the rest
 * only grow. `snapshot()`/`since()` give the cost of one operation or scenario.
 */

export interface DaxCosts {
  /** Bytes of sharing metadata alive beyond struct page (tables, records, copies' index). */
  metadataBytes: number;
  /** Extra page structures alive (shadow/dynamic pages, page-cache copies' struct pages). */
  pageStructsAlive: number;
  /** DRAM pages held as copies of pmem blocks. */
  dramPagesAlive: number;
  /** Bytes copied into DRAM (page-cache copies, private CoW pages). */
  dramBytesCopied: number;
  /** Bytes copied pmem → pmem (CoW of shared blocks). */
  pmemBytesCopied: number;
  /** Pointer dereferences from mapping to pfn (XArray nodes, mechanism lookups). */
  pointerChases: number;
  /** DAX entry lock acquisitions. */
  lockAcquisitions: number;
  /** Times a task slept on a locked DAX entry or a busy page. */
  lockWaits: number;
  /** unmap_mapping_pages() calls made by DAX. */
  unmapCalls: number;
  /** PTEs and PMDs those calls zapped. */
  unmaps: number;
  /** TLB flushes those calls caused. */
  tlbFlushes: number;
  /** WARN_ON_ONCE conditions hit in the association code (every hit, not just the logged one). */
  associationWarnings: number;
  /** Faults handled by dax_iomap_fault (PTE and PMD). */
  faults: number;
  /** Faults that CoW-copied a shared block. */
  cowFaults: number;
}

export function createDaxCosts(): DaxCosts {
  return {
    metadataBytes: 0,
    pageStructsAlive: 0,
    dramPagesAlive: 0,
    dramBytesCopied: 0,
    pmemBytesCopied: 0,
    pointerChases: 0,
    lockAcquisitions: 0,
    lockWaits: 0,
    unmapCalls: 0,
    unmaps: 0,
    tlbFlushes: 0,
    associationWarnings: 0,
    faults: 0,
    cowFaults: 0,
  };
}

export function snapshotCosts(c: DaxCosts): DaxCosts {
  return { ...c };
}

/** Counter differences since `before` (gauges: their current value). */
export function costsSince(c: DaxCosts, before: DaxCosts): DaxCosts {
  const out = createDaxCosts();
  for (const k of Object.keys(out) as (keyof DaxCosts)[]) {
    out[k] = k === "metadataBytes" || k === "pageStructsAlive" || k === "dramPagesAlive" ? c[k] : c[k] - before[k];
  }
  return out;
}
