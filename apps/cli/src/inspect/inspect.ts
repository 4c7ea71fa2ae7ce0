/**
 * `pagelab inspect`: the machine's state as a kernel developer would dig it out —
 * a page by PFN (`dump_page()`, the pmem block behind it, every filesystem owner from the
 * rmap with that file's DAX entry, every PTE that maps it), a file (its extents, each
 * block's reference count and rmap owners), the kernel log.
 *
 * @see mm/debug.c dump_page(); fs/xfs/xfs_notify_failure.c (rmap owners of a block);
 *      fs/dax.c (the mapping's entries); fs/proc/task_mmu.c (pagemap)
 *
 * Simplified: a block's reference count is the number of file owners its rmap records
 * name (what the refcount btree holds for shared data blocks, 1 for unshared ones).
 */
import { type Machine, callsOf } from "@pagelab/kernel";
import { PAGE_SIZE, dumpPage, taskMm } from "@pagelab/mm-core";
import { xfsAgbToFsb } from "@pagelab/xfs-lite";
import { pagemapEntry } from "../machine/helperProc.js";

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Inode number → /mnt path, from a directory listing of /mnt. */
function pathsByIno(m: Machine): Map<number, string> {
  const p = m.spawn("pagelab-inspect");
  const c = callsOf(m.sys, p);
  try {
    const ents = c.readdir("/mnt");
    return new Map(typeof ents === "number" ? [] : ents.filter((d) => d.dName !== "." && d.dName !== "..").map((d) => [d.dIno, `/mnt/${d.dName}`]));
  } finally {
    c.exit(0);
  }
}

interface Owner {
  readonly ino: number;
  readonly metadata: boolean;
  /** File offset in blocks. */
  readonly offset: number;
}

/** rmap owners of the filesystem block at device byte offset `devOff`. */
function blockOwners(m: Machine, devOff: number): Owner[] {
  const kfs = m.kfs;
  const mp = kfs.mounted.mp;
  const blk = Math.floor(devOff / kfs.fs.blockSize);
  const fsb = xfsAgbToFsb(mp.geo, Math.floor(blk / mp.agblocks), blk % mp.agblocks);
  return kfs.fs.rmapQueryOwners(fsb, 1).map((o) => ({ ino: o.owner, metadata: o.metadata, offset: o.offset }));
}

const ownerName = (o: Owner, paths: Map<number, string>): string =>
  o.metadata ? `metadata (owner ${o.ino})` : `${paths.get(o.ino) ?? "(unlinked)"} ino ${hex(o.ino)} block ${o.offset}`;

export function inspectPage(m: Machine, pfn: number): string[] {
  let out: string[];
  try {
    out = dumpPage(m.vm.memmap, pfn).split("\n");
  } catch {
    return [`pfn ${hex(pfn)}: no struct page`];
  }
  const dev = m.dax.dev;
  const first = dev.pfnStart;
  if (pfn < first || pfn >= first + dev.nrPages) {
    out.push("not a pmem page (DRAM: a page-cache, anonymous or copy page)");
  } else {
    const devOff = (pfn - first) * PAGE_SIZE;
    out.push(`pmem: ${dev.name} offset ${hex(devOff)} (filesystem block ${devOff / m.kfs.fs.blockSize})`);
    const paths = pathsByIno(m);
    const owners = blockOwners(m, devOff);
    if (owners.length === 0) out.push("owners: none (free space)");
    for (const o of owners) {
      let line = `owner: ${ownerName(o, paths)}`;
      if (!o.metadata) {
        const ip = m.kfs.fs.inodes.get(o.ino);
        const entry = ip?.mapping?.iPages.load(o.offset);
        line += entry === undefined ? "; dax entry: none" : `; dax entry: ${typeof entry === "number" ? hex(entry) : "present"}`;
      }
      out.push(line);
    }
  }
  let mapped = 0;
  for (const p of m.processes) {
    for (const vma of p.task.mm ? taskMm(p.task).vmas.all() : []) {
      for (let a = vma.vmStart; a < vma.vmEnd; a += PAGE_SIZE) {
        const e = pagemapEntry(p, a);
        if (e.present && e.pfn === pfn) {
          out.push(`mapped: ${p.comm}[${p.pid}] at ${hex(a)}`);
          mapped++;
        }
      }
    }
  }
  if (mapped === 0) out.push("mapped: by no process");
  return out;
}

export function inspectFile(m: Machine, path: string): string[] {
  const p = m.spawn("pagelab-inspect");
  const c = callsOf(m.sys, p);
  try {
    const fd = c.open(path, 0);
    if (fd < 0) return [`${path}: cannot open (errno ${-fd})`];
    const st = c.statx(fd);
    const extents = c.fiemap(fd);
    if (typeof st === "number" || typeof extents === "number") return [`${path}: cannot stat`];
    const paths = pathsByIno(m);
    const out = [`${path}: ino ${hex(st.ino)} size ${st.size} blocks ${st.blocks}`];
    const bs = m.kfs.fs.blockSize;
    for (const e of extents) {
      out.push(`extent: file bytes ${e.feLogical}..${e.feLogical + e.feLength - 1} device bytes ${e.fePhysical}..${e.fePhysical + e.feLength - 1} flags ${hex(e.feFlags)}`);
      for (let o = 0; o < e.feLength; o += bs) {
        const owners = blockOwners(m, e.fePhysical + o).filter((w) => !w.metadata);
        out.push(`  block ${(e.fePhysical + o) / bs} (file block ${(e.feLogical + o) / bs}): refcount ${owners.length}; owners ${owners.map((w) => ownerName(w, paths)).join(", ")}`);
      }
    }
    c.close(fd);
    return out;
  } finally {
    c.exit(0);
  }
}

export const INSPECT_USAGE = "usage: pagelab inspect page PFN | file /mnt/PATH | dmesg";

/** One query: `page PFN`, `file /mnt/PATH` or `dmesg`; null when it does not parse. */
export function inspect(m: Machine, query: string): string[] | null {
  const [what, arg, ...rest] = query.trim().split(/\s+/);
  if (what === "dmesg" && arg === undefined) return m.dmesg.all().map((l) => `<${l.level}>${l.text}`);
  if (rest.length || arg === undefined) return null;
  if (what === "page") {
    const pfn = /^0x[0-9a-f]+$/i.test(arg) ? Number.parseInt(arg.slice(2), 16) : /^\d+$/.test(arg) ? Number(arg) : Number.NaN;
    return Number.isSafeInteger(pfn) ? inspectPage(m, pfn) : null;
  }
  if (what === "file") return inspectFile(m, arg);
  return null;
}
