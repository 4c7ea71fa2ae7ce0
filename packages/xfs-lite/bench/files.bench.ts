/**
 * Reflink cost at scale: clone a file of N single-block, physically scattered extents
 * (N = 1 M by default, `XFS_BENCH_EXTENTS` to change it), then measure what the refcount
 * and rmap updates cost per extent, a CoW write into the clone, and deleting the clone.
 * Prints `name: value` lines.
 *
 * Run: pnpm exec tsx --conditions=@pagelab/source packages/xfs-lite/bench/files.bench.ts
 */
import { runSync } from "@pagelab/mm-core";
import { xfsBmapMapExtent } from "../src/bmap/bmap.js";
import { XfsMemSpace } from "../src/bmap/mem-space.js";
import { xfsAgbToFsb } from "../src/bmap/space.js";
import { XFS_EXT_NORM } from "../src/iext/types.js";
import { XfsMemDataDevice } from "../src/ops/data-dev.js";
import { XfsFileSystem } from "../src/ops/xfs-fs.js";
import { XfsMemBackend } from "../src/ops/backend.js";

const N = Number(process.env.XFS_BENCH_EXTENTS ?? 1_000_000);

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

function print(name: string, v: number): void {
  console.log(`${name}: ${Number.isInteger(v) ? v : v.toFixed(3)}`);
}

const agblocks = 2 ** 20;
const agcount = Math.max(2, Math.ceil((2 * N + 64) / agblocks) + 1);
const geo = { blockSize: 4096, agblklog: 20, agcount, agblocks };
const space = new XfsMemSpace(geo, true, true);
const fs = new XfsFileSystem({ backend: new XfsMemBackend(space), dev: new XfsMemDataDevice(4096) });
const a = runSync(fs.create(fs.root, "fragmented"));
const b = runSync(fs.create(fs.root, "clone"));

// file offset i -> every other physical block, so neither the fork nor the refcount and
// rmap records can merge neighbours: N extents, N records each
const [, buildMs] = time(() =>
  fs.trans(0, (sp) => {
    for (let i = 0; i < N; i++) {
      const per = agblocks / 2 - 8;
      const ag = Math.floor(i / per);
      const got = sp.allocExtent(xfsAgbToFsb(geo, ag, 8 + 2 * (i % per)), 1, 1);
      xfsBmapMapExtent(sp, a, { brStartoff: i, brStartblock: got.fsb, brBlockcount: 1, brState: XFS_EXT_NORM });
    }
  }),
);
a.size = N * 4096;
print("files_extents", a.dataFork.nextents);
print("files_build_ms", buildMs);

const rmapRecords = () => Array.from({ length: agcount }, (_, ag) => space.rmapbt(ag).size).reduce((x, y) => x + y, 0);
const refcRecords = () => Array.from({ length: agcount }, (_, ag) => space.refcountbt(ag).size).reduce((x, y) => x + y, 0);
const rmap0 = rmapRecords();

const fa = fs.open(a);
const fb = fs.open(b);
const [bytes, cloneMs] = time(() => runSync(fs.clone(fa, fb)));
print("reflink_bytes", bytes);
print("reflink_ms", cloneMs);
print("reflink_ns_per_extent", (cloneMs * 1e6) / N);
print("reflink_refcount_records_added", refcRecords());
print("reflink_rmap_records_added", rmapRecords() - rmap0);
print("reflink_iext_bytes", b.dataFork.tree.memoryBytes());

const [, cowMs] = time(() => runSync(fs.write(b, Math.floor(N / 2) * 4096, new Uint8Array(4096).fill(7))));
print("cow_one_block_us", cowMs * 1000);
print("cow_prealloc_blocks", b.delayedBlks);

const [, dedupeMs] = time(() => runSync(fs.dedupeRange(fa, 0, fb, 0, Math.min(N, 4096) * 4096)));
print("dedupe_4096_extents_ms", dedupeMs);

fs.close(fb);
const [, unlinkMs] = time(() => runSync(fs.unlink(fs.root, "clone")));
print("unlink_clone_ms", unlinkMs);
print("unlink_ns_per_extent", (unlinkMs * 1e6) / N);
print("refcount_records_left", refcRecords());
fs.close(fa);

// the rmap share of the cost: the same clone on a quarter of the extents, rmapbt on and off
for (const rmapbt of [true, false]) {
  const n = Math.max(1, Math.floor(N / 4));
  const sp2 = new XfsMemSpace(geo, true, rmapbt);
  const fs2 = new XfsFileSystem({ backend: new XfsMemBackend(sp2), dev: new XfsMemDataDevice(4096) });
  const src = runSync(fs2.create(fs2.root, "src"));
  const dst = runSync(fs2.create(fs2.root, "dst"));
  fs2.trans(0, (sp) => {
    for (let i = 0; i < n; i++) {
      const got = sp.allocExtent(xfsAgbToFsb(geo, 0, 8 + 2 * i), 1, 1);
      xfsBmapMapExtent(sp, src, { brStartoff: i, brStartblock: got.fsb, brBlockcount: 1, brState: XFS_EXT_NORM });
    }
  });
  src.size = n * 4096;
  const [, ms] = time(() => runSync(fs2.clone(fs2.open(src), fs2.open(dst))));
  print(`reflink_${rmapbt ? "rmapbt" : "no_rmapbt"}_extents`, n);
  print(`reflink_${rmapbt ? "rmapbt" : "no_rmapbt"}_ns_per_extent`, (ms * 1e6) / n);
}
