/**
 * xfs-lite infrastructure benchmarks: btree insert / lookup / overlapping query rates,
 * transaction commit rate, allocator rate, mount-time log recovery.
 *
 * Run: `pnpm exec tsx --conditions=@pagelab/source bench/infra.bench.ts` in packages/xfs-lite.
 * Prints one `name: N` line per measure.
 */
import { RamDisk } from "../src/blockdev.js";
import { xfsRmapbtCur } from "../src/ag/xfs-ag-btrees.js";
import { xfsAllocFixFreelist, xfsAllocVextent, xfsFreeExtent } from "../src/ag/xfs-alloc.js";
import { XFS_LOOKUP_LE } from "../src/btree/xfs-btree.js";
import { xfsRmapRangeKeys } from "../src/btree/xfs-btree-records.js";
import { xfsMkfs } from "../src/mount/xfs-mkfs.js";
import { xfsLogForce, xfsMount, xfsUnmount } from "../src/mount/xfs-mount-ops.js";
import { xfsTransAlloc, xfsTransAllocEmpty } from "../src/trans/xfs-trans.js";

const MiB = 1024 * 1024;

function rate(name: string, n: number, fn: () => void): void {
  const t0 = performance.now();
  fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`${name}: ${Math.round(n / s)}`);
}

function rmapbtBench(): void {
  const dev = new RamDisk(512 * MiB);
  xfsMkfs(dev);
  const mp = xfsMount(dev);
  const N = 100_000;
  rate("rmapbt inserts/s", N, () => {
    let tp = xfsTransAlloc(mp);
    for (let i = 0; i < N; i++) {
      xfsAllocFixFreelist(tp, 1);
      xfsRmapbtCur(tp, 1).insert({ rmStartblock: 100 + ((i * 7919) % 30000), rmBlockcount: 1, rmOwner: 1000 + i, rmOffset: i, rmFlags: 0 });
      if (i % 1000 === 999) {
        tp.commit();
        tp = xfsTransAlloc(mp);
      }
    }
    tp.commit();
  });
  const tp = xfsTransAllocEmpty(mp);
  const cur = xfsRmapbtCur(tp, 1);
  rate("rmapbt lookups/s", N, () => {
    for (let i = 0; i < N; i++) cur.lookup(XFS_LOOKUP_LE, { rmStartblock: (i * 31) % 30000, rmBlockcount: 0, rmOwner: 0, rmOffset: 0, rmFlags: 0 });
  });
  let found = 0;
  rate("rmapbt overlap queries/s", 20_000, () => {
    for (let i = 0; i < 20_000; i++) {
      const { low, high } = xfsRmapRangeKeys((i * 131) % 30000, 4);
      cur.queryRange(low, high, () => {
        found++;
      });
    }
  });
  console.log(`rmapbt levels: ${cur.nlevels}`);
  tp.commit();
  xfsUnmount(mp);
}

function commitBench(): void {
  const dev = new RamDisk(512 * MiB, { writeCache: true });
  xfsMkfs(dev);
  const mp = xfsMount(dev);
  const N = 20_000;
  const live: number[] = [];
  rate("alloc+free transactions/s", N, () => {
    for (let i = 0; i < N; i++) {
      const tp = xfsTransAlloc(mp, { blocks: 4 });
      if (i % 2 === 0 || live.length === 0) {
        live.push(xfsAllocVextent(tp, { type: "startBno", agno: i % 4, agbno: (i * 13) % 30000, minlen: 1, maxlen: 4, oinfo: { oiOwner: 5000 + i, oiOffset: 0, oiFlags: 0 } }).fsbno * 1e6 + i);
      } else {
        const v = live.pop()!;
        const fsb = Math.floor(v / 1e6);
        const id = v % 1e6;
        xfsFreeExtent(tp, fsb, 1, { oiOwner: 5000 + id, oiOffset: 0, oiFlags: 0 });
        tp.commit();
        continue;
      }
      tp.commit();
    }
  });
  rate("sync commits/s", 5_000, () => {
    for (let i = 0; i < 5_000; i++) {
      const tp = xfsTransAlloc(mp);
      xfsAllocFixFreelist(tp, 0);
      const r = xfsAllocVextent(tp, { type: "near", agno: 0, agbno: 1000, minlen: 1, maxlen: 1, oinfo: null });
      xfsFreeExtent(tp, r.fsbno, 1, null);
      tp.commit({ sync: true });
    }
  });
  xfsLogForce(mp);
  console.log(`log records: ${mp.mLog.stats.records}`);
  console.log(`log wraps: ${mp.mLog.stats.wraps}`);
  dev.powerFail();
  dev.powerOn();
  const t0 = performance.now();
  const mp2 = xfsMount(dev);
  console.log(`recovery ms: ${Math.round(performance.now() - t0)}`);
  console.log(`recovery buffers replayed: ${mp2.mRecovery?.buffersReplayed ?? 0}`);
}

rmapbtBench();
commitBench();
