/**
 * An in-memory implementation of `XfsSpace`: per-AG free-extent sets, refcount and rmap
 * record sets. It lets the file layers run (and be tested) without a block device; a
 * mounted file system uses the persistent btrees of the infrastructure layer instead.
 *
 * @see fs/xfs/libxfs/xfs_alloc.c xfs_alloc_vextent_near_bno(), xfs_free_ag_extent()
 *
 * Simplified: the allocator is first fit from the hint (wrapping inside the AG, then the
 * other AGs); the first `XFS_AGFL_HDR_BLOCKS` blocks of each AG stand for the AG headers
 * and are owned by XFS_RMAP_OWN_FS.
 */
import { KernelError } from "@pagelab/mm-core";
import { SortedRecords } from "../iext/sorted-records.js";
import type { XfsFsblock } from "../iext/types.js";
import { XfsRefcountMemBtree } from "../refcount/refcount-btree.js";
import type { XfsAgnumber } from "../refcount/types.js";
import { XfsRmapMemBtree } from "../rmap/rmap-btree.js";
import { XFS_RMAP_OWN_FS } from "../rmap/types.js";
import { forEachAgPiece, xfsAgbToFsb, xfsFsbToAgbno, xfsFsbToAgno, type XfsAllocAttempt, type XfsGeometry, type XfsSpace } from "./space.js";

export const XFS_AGFL_HDR_BLOCKS = 4;

interface FreeExt {
  bno: number;
  len: number;
}

export class XfsMemSpace implements XfsSpace {
  private readonly free: SortedRecords<FreeExt>[] = [];
  private readonly refc: XfsRefcountMemBtree[] = [];
  private readonly rmap: XfsRmapMemBtree[] = [];
  private nfree = 0;

  constructor(
    readonly geo: XfsGeometry,
    readonly hasReflink = true,
    readonly hasRmapbt = true,
  ) {
    for (let agno = 0; agno < geo.agcount; agno++) {
      const s = new SortedRecords<FreeExt>((a, b) => a.bno - b.bno);
      s.insert({ bno: XFS_AGFL_HDR_BLOCKS, len: geo.agblocks - XFS_AGFL_HDR_BLOCKS });
      this.nfree += geo.agblocks - XFS_AGFL_HDR_BLOCKS;
      this.free.push(s);
      this.refc.push(new XfsRefcountMemBtree());
      const rm = new XfsRmapMemBtree();
      if (hasRmapbt) rm.insert({ rmStartblock: 0, rmBlockcount: XFS_AGFL_HDR_BLOCKS, rmOwner: XFS_RMAP_OWN_FS, rmOffset: 0, rmFlags: 0 });
      this.rmap.push(rm);
    }
  }

  freeBlocks(): number {
    return this.nfree;
  }

  refcountbt(agno: XfsAgnumber): XfsRefcountMemBtree {
    return this.refc[agno]!;
  }

  rmapbt(agno: XfsAgnumber): XfsRmapMemBtree {
    return this.rmap[agno]!;
  }

  /** Free extents of one AG, in block order (for the checker). */
  freeExtents(agno: XfsAgnumber): { bno: number; len: number }[] {
    return [...this.free[agno]!.all()].map((e) => ({ ...e }));
  }

  allocExtent(hint: XfsFsblock, minlen: number, maxlen: number): { fsb: XfsFsblock; len: number } {
    const hintAg = Math.min(xfsFsbToAgno(this.geo, hint), this.geo.agcount - 1);
    const hintBno = xfsFsbToAgno(this.geo, hint) === hintAg ? xfsFsbToAgbno(this.geo, hint) : 0;
    for (let i = 0; i < this.geo.agcount; i++) {
      const agno = (hintAg + i) % this.geo.agcount;
      const got = this.allocInAg(agno, i === 0 ? hintBno : 0, minlen, maxlen);
      if (got !== undefined) return { fsb: xfsAgbToFsb(this.geo, agno, got.bno), len: got.len };
    }
    throw new KernelError("ENOSPC", `no ${minlen} contiguous free blocks`);
  }

  private allocInAg(agno: XfsAgnumber, near: number, minlen: number, maxlen: number): FreeExt | undefined {
    const set = this.free[agno]!;
    let pick: FreeExt | undefined;
    let start = 0;
    const containing = set.lookupLe({ bno: near, len: 0 });
    if (containing !== undefined && containing.bno + containing.len - near >= minlen && containing.bno + containing.len > near) {
      pick = containing;
      start = Math.max(near, containing.bno);
    }
    if (pick === undefined) {
      for (const e of set.walkFrom({ bno: near, len: 0 })) {
        if (e.len >= minlen) {
          pick = e;
          start = e.bno;
          break;
        }
      }
    }
    if (pick === undefined) {
      for (const e of set.all()) {
        if (e.bno >= near) break;
        if (e.len >= minlen) {
          pick = e;
          start = e.bno;
          break;
        }
      }
    }
    if (pick === undefined) return undefined;
    return this.carve(agno, pick, start, Math.min(maxlen, pick.bno + pick.len - start));
  }

  /** Exact at `hint`, or first fit from it on `alignment`-block boundaries; undefined when nothing fits. */
  tryAllocExtent(hint: XfsFsblock, minlen: number, maxlen: number, opts: XfsAllocAttempt): { fsb: XfsFsblock; len: number } | undefined {
    const hintAg = Math.min(xfsFsbToAgno(this.geo, hint), this.geo.agcount - 1);
    const hintBno = xfsFsbToAgno(this.geo, hint) === hintAg ? xfsFsbToAgbno(this.geo, hint) : 0;
    if (opts.exact === true) {
      const e = this.free[hintAg]!.lookupLe({ bno: hintBno, len: 0 });
      if (e === undefined || e.bno + e.len - hintBno < minlen) return undefined;
      const got = this.carve(hintAg, e, hintBno, Math.min(maxlen, e.bno + e.len - hintBno));
      return { fsb: xfsAgbToFsb(this.geo, hintAg, got.bno), len: got.len };
    }
    const align = opts.alignment ?? 1;
    const up = (b: number) => Math.ceil(b / align) * align;
    for (let i = 0; i < this.geo.agcount; i++) {
      const agno = (hintAg + i) % this.geo.agcount;
      const near = i === 0 ? hintBno : 0;
      const exts = [...this.free[agno]!.all()];
      const order = [...exts.filter((e) => e.bno + e.len > near), ...exts.filter((e) => e.bno + e.len <= near)];
      for (const e of order) {
        const start = up(e.bno + e.len > near ? Math.max(e.bno, near) : e.bno);
        if (e.bno + e.len - start < minlen) continue;
        const got = this.carve(agno, e, start, Math.min(maxlen, e.bno + e.len - start));
        return { fsb: xfsAgbToFsb(this.geo, agno, got.bno), len: got.len };
      }
    }
    return undefined;
  }

  /** Take [start, start + len) out of free extent `pick` of AG `agno`. */
  private carve(agno: XfsAgnumber, pick: FreeExt, start: number, len: number): FreeExt {
    const set = this.free[agno]!;
    set.delete(pick);
    if (start > pick.bno) set.insert({ bno: pick.bno, len: start - pick.bno });
    if (start + len < pick.bno + pick.len) set.insert({ bno: start + len, len: pick.bno + pick.len - start - len });
    this.nfree -= len;
    return { bno: start, len };
  }

  freeExtent(fsb: XfsFsblock, len: number): void {
    forEachAgPiece(this.geo, fsb, len, (agno, agbno, n) => {
      const set = this.free[agno]!;
      let ext = { bno: agbno, len: n };
      const left = set.lookupLe(ext);
      if (left !== undefined && left.bno + left.len > agbno) {
        throw new RangeError(`xfs_free_extent: AG ${agno} block ${agbno} already free`);
      }
      const right = set.lookupGe(ext);
      if (right !== undefined && right.bno < agbno + n) {
        throw new RangeError(`xfs_free_extent: AG ${agno} block ${right.bno} already free`);
      }
      if (left !== undefined && left.bno + left.len === agbno) {
        set.delete(left);
        ext = { bno: left.bno, len: left.len + n };
      }
      if (right !== undefined && right.bno === agbno + n) {
        set.delete(right);
        ext = { bno: ext.bno, len: ext.len + right.len };
      }
      set.insert(ext);
      this.nfree += n;
    });
  }
}
