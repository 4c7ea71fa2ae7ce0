/**
 * A read-only consistency check, like `xfs_repair -n`: cross-checks the free space, the
 * refcount btree, the reverse-mapping btree and every inode's forks, and returns the
 * problems found (empty when the file system is consistent).
 *
 * @see xfsprogs repair/scan.c, repair/rmap.c (rmap_record_count(), check_refcounts(),
 *      rmaps_verify_btree()); fs/xfs/scrub/refcount.c, fs/xfs/scrub/rmap.c,
 *      fs/xfs/scrub/bmap.c
 *
 * Rules: free + used = total in every AG, with no block both free and used; every shared
 * block (mapped by more than one fork record) has a refcount record with exactly that
 * count and no other block has one; every CoW staging block has a CoW-domain record and
 * is mapped by no data fork; every rmap record of an inode or CoW owner matches a fork
 * record and vice versa; inode block counters match their forks; the log is clean when
 * the caller says the file system was unmounted.
 */
import { forEachAgPiece, type XfsGeometry, type XfsSpace } from "../bmap/space.js";
import { XFS_EXT_UNWRITTEN } from "../iext/types.js";
import type { XfsInode } from "../inode/inode.js";
import type { XfsRefcountBtree } from "../refcount/refcount-btree.js";
import { XFS_REFC_DOMAIN_COW, XFS_REFC_DOMAIN_SHARED, type XfsAgnumber } from "../refcount/types.js";
import type { XfsRmapBtree } from "../rmap/rmap-btree.js";
import { XFS_RMAP_BMBT_BLOCK, XFS_RMAP_OWN_COW, XFS_RMAP_UNWRITTEN, xfsRmapNonInodeOwner, type XfsRmapIrec } from "../rmap/types.js";

export interface XfsCheckInput {
  readonly geo: XfsGeometry;
  readonly hasReflink: boolean;
  readonly hasRmapbt: boolean;
  freeExtents(agno: XfsAgnumber): { bno: number; len: number }[];
  refcountbt(agno: XfsAgnumber): XfsRefcountBtree;
  rmapbt(agno: XfsAgnumber): XfsRmapBtree;
  readonly inodes: Iterable<XfsInode>;
  /** After an unmount: whether the log holds nothing to replay. */
  readonly logClean?: boolean;
}

interface Seg {
  start: number;
  end: number;
  count: number;
}

/** Sweep [start, end) intervals into maximal segments of equal coverage count (> 0). */
function coverage(intervals: [number, number][]): Seg[] {
  const ev: [number, number][] = [];
  for (const [a, b] of intervals) {
    ev.push([a, 1], [b, -1]);
  }
  ev.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Seg[] = [];
  let count = 0;
  let prev = 0;
  for (const [pos, d] of ev) {
    if (pos > prev && count > 0) {
      const last = out.at(-1);
      if (last !== undefined && last.end === prev && last.count === count) last.end = pos;
      else out.push({ start: prev, end: pos, count });
    }
    count += d;
    prev = pos;
  }
  return out;
}

/** The intersections of two sorted, internally disjoint segment lists. */
function overlaps(a: Seg[], b: Seg[]): Seg[] {
  const out: Seg[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = Math.max(x.start, y.start);
    const end = Math.min(x.end, y.end);
    if (start < end) out.push({ start, end, count: 2 });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

function fmtSeg(s: Seg): string {
  return `${s.start}..${s.end - 1}`;
}

/** Canonical rmap records: merged wherever owner, flags, blocks and offsets continue. */
function canonicalRmaps(recs: XfsRmapIrec[]): string[] {
  const sorted = [...recs].sort(
    (a, b) => a.rmOwner - b.rmOwner || a.rmFlags - b.rmFlags || a.rmStartblock - b.rmStartblock || a.rmOffset - b.rmOffset,
  );
  const out: XfsRmapIrec[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (
      last !== undefined &&
      last.rmOwner === r.rmOwner &&
      last.rmFlags === r.rmFlags &&
      last.rmStartblock + last.rmBlockcount === r.rmStartblock &&
      (xfsRmapNonInodeOwner(r.rmOwner) || last.rmOffset + last.rmBlockcount === r.rmOffset)
    ) {
      last.rmBlockcount += r.rmBlockcount;
    } else {
      out.push({ ...r });
    }
  }
  return out.map((r) => `${r.rmStartblock}+${r.rmBlockcount} owner ${r.rmOwner} off ${r.rmOffset} flags ${r.rmFlags}`);
}

export function xfsCheck(fs: XfsCheckInput): string[] {
  const problems: string[] = [];
  const { geo } = fs;
  const dataPerAg: [number, number][][] = Array.from({ length: geo.agcount }, () => []);
  const cowPerAg: [number, number][][] = Array.from({ length: geo.agcount }, () => []);
  const wantRmap: XfsRmapIrec[][] = Array.from({ length: geo.agcount }, () => []);

  const inodeList = [...fs.inodes];
  const inodeByIno = new Map(inodeList.map((ip) => [ip.ino, ip]));
  const bmbtSeen = new Map<XfsInode, number>();
  for (const ip of inodeList) {
    let nblocks = 0;
    for (const r of ip.dataFork.tree.records()) {
      nblocks += r.brBlockcount;
      forEachAgPiece(geo, r.brStartblock, r.brBlockcount, (agno, agbno, n, fsb) => {
        if (agno >= geo.agcount) {
          problems.push(`inode ${ip.ino}: data extent at offset ${r.brStartoff} points past the last AG`);
          return;
        }
        dataPerAg[agno]!.push([agbno, agbno + n]);
        wantRmap[agno]!.push({
          rmStartblock: agbno,
          rmBlockcount: n,
          rmOwner: ip.ino,
          rmOffset: r.brStartoff + (fsb - r.brStartblock),
          rmFlags: r.brState === XFS_EXT_UNWRITTEN ? XFS_RMAP_UNWRITTEN : 0,
        });
      });
    }
    if (nblocks !== ip.nblocks) problems.push(`inode ${ip.ino}: nblocks ${ip.nblocks}, data fork maps ${nblocks}`);
    let cowBlocks = 0;
    for (const r of ip.cowFork?.tree.records() ?? []) {
      cowBlocks += r.brBlockcount;
      forEachAgPiece(geo, r.brStartblock, r.brBlockcount, (agno, agbno, n) => {
        cowPerAg[agno]!.push([agbno, agbno + n]);
        wantRmap[agno]!.push({ rmStartblock: agbno, rmBlockcount: n, rmOwner: XFS_RMAP_OWN_COW, rmOffset: 0, rmFlags: 0 });
      });
    }
    if (cowBlocks !== ip.delayedBlks) problems.push(`inode ${ip.ino}: delayed blocks ${ip.delayedBlks}, CoW fork maps ${cowBlocks}`);
    if (!ip.isReflink() && cowBlocks > 0) problems.push(`inode ${ip.ino}: CoW fork blocks without the reflink flag`);
  }

  for (let agno = 0; agno < geo.agcount; agno++) {
    const data = coverage(dataPerAg[agno]!);
    const cow = coverage(cowPerAg[agno]!);
    for (const s of cow) if (s.count > 1) problems.push(`AG ${agno}: CoW blocks ${fmtSeg(s)} staged ${s.count} times`);
    for (const s of overlaps(data, cow)) problems.push(`AG ${agno}: blocks ${fmtSeg(s)} are both CoW staging and file data`);

    // refcounts: shared segments must equal the shared-domain records exactly
    if (fs.hasReflink) {
      const recs = [...fs.refcountbt(agno).records()];
      const shared = coverage(
        recs.filter((r) => r.rcDomain === XFS_REFC_DOMAIN_SHARED).map((r) => [r.rcStartblock, r.rcStartblock + r.rcBlockcount]),
      );
      for (const s of shared) if (s.count > 1) problems.push(`AG ${agno}: refcount records overlap at ${fmtSeg(s)}`);
      const recCount = (b: number): number => {
        const r = recs.find((x) => x.rcDomain === XFS_REFC_DOMAIN_SHARED && x.rcStartblock <= b && x.rcStartblock + x.rcBlockcount > b);
        return r?.rcRefcount ?? 1;
      };
      for (const r of recs) {
        if (r.rcDomain === XFS_REFC_DOMAIN_SHARED && r.rcRefcount < 2) problems.push(`AG ${agno}: shared record ${r.rcStartblock} has count ${r.rcRefcount}`);
        if (r.rcDomain === XFS_REFC_DOMAIN_COW && r.rcRefcount !== 1) problems.push(`AG ${agno}: CoW record ${r.rcStartblock} has count ${r.rcRefcount}`);
      }
      // every data segment: count from forks vs records, block by block at segment edges
      const points = new Set<number>();
      for (const s of data) points.add(s.start);
      for (const r of recs) if (r.rcDomain === XFS_REFC_DOMAIN_SHARED) points.add(r.rcStartblock).add(r.rcStartblock + r.rcBlockcount);
      for (const s of data) points.add(s.end);
      const sortedPts = [...points].sort((a, b) => a - b);
      for (let i = 0; i + 1 < sortedPts.length; i++) {
        const b = sortedPts[i]!;
        const want = data.find((s) => s.start <= b && s.end > b)?.count ?? 0;
        const have = recCount(b);
        const hasRec = have !== 1 || recs.some((x) => x.rcDomain === XFS_REFC_DOMAIN_SHARED && x.rcStartblock <= b && x.rcStartblock + x.rcBlockcount > b);
        if (want >= 2 && have !== want) problems.push(`AG ${agno}: blocks ${b}..${sortedPts[i + 1]! - 1} mapped ${want} times, refcount ${have}`);
        if (want < 2 && hasRec) problems.push(`AG ${agno}: blocks ${b}..${sortedPts[i + 1]! - 1} mapped ${want} times but have a refcount record (${have})`);
      }
      const cowRecs = coverage(recs.filter((r) => r.rcDomain === XFS_REFC_DOMAIN_COW).map((r) => [r.rcStartblock, r.rcStartblock + r.rcBlockcount]));
      const same = (x: Seg[], y: Seg[]) => JSON.stringify(x.map((s) => [s.start, s.end])) === JSON.stringify(y.map((s) => [s.start, s.end]));
      if (!same(cow, cowRecs)) {
        problems.push(`AG ${agno}: CoW staging records ${cowRecs.map(fmtSeg).join(",")} != CoW fork blocks ${cow.map(fmtSeg).join(",")}`);
      }
    } else {
      for (const s of data) if (s.count > 1) problems.push(`AG ${agno}: blocks ${fmtSeg(s)} owned ${s.count} times without reflink`);
    }

    // free space against used space
    const free = fs.freeExtents(agno);
    const freeSegs = coverage(free.map((e) => [e.bno, e.bno + e.len]));
    for (const s of freeSegs) if (s.count > 1) problems.push(`AG ${agno}: free extents overlap at ${fmtSeg(s)}`);
    const rmaps = fs.hasRmapbt ? [...fs.rmapbt(agno).records()] : [];
    const usedIntervals: [number, number][] = fs.hasRmapbt
      ? rmaps.map((r) => [r.rmStartblock, r.rmStartblock + r.rmBlockcount])
      : [...dataPerAg[agno]!, ...cowPerAg[agno]!];
    const used = coverage(usedIntervals);
    for (const s of overlaps(freeSegs, used)) problems.push(`AG ${agno}: blocks ${fmtSeg(s)} are both free and in use`);
    const nfree = free.reduce((n, e) => n + e.len, 0);
    const nused = used.reduce((n, s) => n + (s.end - s.start), 0);
    if (fs.hasRmapbt && nfree + nused !== geo.agblocks) {
      problems.push(`AG ${agno}: free ${nfree} + used ${nused} != ${geo.agblocks} blocks`);
    }
    if (!fs.hasRmapbt) continue;

    // rmap records of file owners against the forks
    const fileRmaps = rmaps.filter((r) => !xfsRmapNonInodeOwner(r.rmOwner) || r.rmOwner === XFS_RMAP_OWN_COW);
    for (const r of fileRmaps) {
      if (r.rmFlags & XFS_RMAP_BMBT_BLOCK) {
        const owner = inodeByIno.get(r.rmOwner);
        if (owner === undefined) problems.push(`AG ${agno}: bmbt block ${r.rmStartblock} of missing inode ${r.rmOwner}`);
        else bmbtSeen.set(owner, (bmbtSeen.get(owner) ?? 0) + r.rmBlockcount);
      }
    }
    const have = canonicalRmaps(fileRmaps.filter((r) => !(r.rmFlags & XFS_RMAP_BMBT_BLOCK)));
    const want = canonicalRmaps(wantRmap[agno]!);
    const haveSet = new Set(have);
    const wantSet = new Set(want);
    for (const r of want) if (!haveSet.has(r)) problems.push(`AG ${agno}: fork mapping ${r} has no rmap record`);
    for (const r of have) if (!wantSet.has(r)) problems.push(`AG ${agno}: rmap record ${r} matches no fork mapping`);
    // data blocks must lie in used space (covered by some rmap)
    for (const s of data) {
      if (!used.some((u) => u.start <= s.start && u.end >= s.end)) {
        problems.push(`AG ${agno}: data blocks ${fmtSeg(s)} not covered by the rmapbt`);
      }
    }
  }
  if (fs.hasRmapbt) {
    for (const ip of inodeList) {
      if ((bmbtSeen.get(ip) ?? 0) !== ip.bmbtBlocks) {
        problems.push(`inode ${ip.ino}: ${ip.bmbtBlocks} bmbt blocks, rmapbt has ${bmbtSeen.get(ip) ?? 0}`);
      }
    }
  }
  if (fs.logClean === false) problems.push("log: not clean after unmount");
  return problems;
}


/** Check a file system (in memory or mounted) through its backend's read-only view. */
export function xfsCheckFs(
  fs: { backend: { readSpace<T>(fn: (sp: XfsSpace) => T): T }; inodes: Map<number, XfsInode> },
  logClean?: boolean,
): string[] {
  return fs.backend.readSpace((sp) =>
    xfsCheck({
      geo: sp.geo,
      hasReflink: sp.hasReflink,
      hasRmapbt: sp.hasRmapbt,
      freeExtents: (agno) => sp.freeExtents(agno),
      refcountbt: (agno) => sp.refcountbt(agno),
      rmapbt: (agno) => sp.rmapbt(agno),
      inodes: fs.inodes.values(),
      ...(logClean === undefined ? {} : { logClean }),
    }),
  );
}
