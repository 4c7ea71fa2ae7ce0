/**
 * gup benchmarks: `pnpm bench` in packages/gup.
 *
 * Prints:
 *   pin+unpin pages/s: N               pin_user_pages_fast() + unpin_user_pages() of 1 Mi pages
 *                                      (64 Ki resident pages, 16 rounds), the DMA setup/teardown path
 *   pin+unpin pages/s (slow path): N   pin_user_pages() under mmap_lock, same pages
 *   proxy create+put/s: N              page proxies, 4 per page, for the same pages
 */
import { createProcess, handleToPfn, runSync, taskMm, type PageHandle } from "@pagelab/mm-core";
import {
  FOLL_WRITE, ProxyTable, bootGupMachine, faultinPageRange, mmapPages, pinUserPages, pinUserPagesFast, unpinUserPages,
  withMmapReadLock,
} from "../src/index.js";

const PAGES = 65536;
const ROUNDS = 16;
const P = 4096;

const { ctx } = bootGupMachine({ dramBytes: (PAGES + 8192) * P });
const task = createProcess(ctx, "bench");
const mm = taskMm(task);
const addr = mmapPages(task, PAGES);
runSync(withMmapReadLock(mm, () => faultinPageRange(mm, addr, addr + PAGES * P, true, { value: true })), task);

function measure(label: string, pin: () => PageHandle[]): void {
  let best = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      const pages = pin();
      if (pages.length !== PAGES) throw new Error(`${label}: pinned ${pages.length} of ${PAGES}`);
      unpinUserPages(ctx, pages);
    }
    const rate = (PAGES * ROUNDS) / ((performance.now() - t0) / 1000);
    best = Math.max(best, rate);
  }
  console.log(`${label}: ${Math.round(best)}`);
}

measure("pin+unpin pages/s", () => runSync(pinUserPagesFast(addr, PAGES, FOLL_WRITE), task).pages);
measure("pin+unpin pages/s (slow path)", () => runSync(withMmapReadLock(mm, () => pinUserPages(addr, PAGES, FOLL_WRITE)), task).pages);

{
  const table = new ProxyTable(ctx);
  const pfns = runSync(pinUserPagesFast(addr, PAGES, 0), task).pages;
  const t0 = performance.now();
  const handles: PageHandle[] = [];
  for (const h of pfns) for (let k = 0; k < 4; k++) handles.push(table.create(handleToPfn(h), mm, k));
  for (const h of handles) table.putUserPage(h);
  const rate = handles.length / ((performance.now() - t0) / 1000);
  unpinUserPages(ctx, pfns);
  console.log(`proxy create+put/s: ${Math.round(rate)}`);
}
