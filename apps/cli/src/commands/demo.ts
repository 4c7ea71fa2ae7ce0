/**
 * `pagelab demo`: boot a small machine from the packages that exist and walk through what
 * they model, printing the kernel's own views of it (`dump_page()`, the kernel log,
 * signals as a process sees them).
 *
 * Everything printed is computed by the simulator; nothing is canned. The walk ends with
 * the question the project exists for: one pmem page, one (mapping, index).
 */
import { createPmemPlatform } from "@pagelab/hw-pmem";
import {
  BUS_MCEERR_AO,
  DevPagemap,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MEMORY_DEVICE_FS_DAX,
  MF_ACTION_REQUIRED,
  PAGE_SIZE,
  PR_MCE_KILL_EARLY,
  PR_MCE_KILL_SET,
  PROT_READ,
  PROT_WRITE,
  SIGBUS,
  bootVm,
  createProcess,
  forkProcess,
  formatSigInfo,
  load,
  memoryFailure,
  memremapPages,
  pfn as toPfn,
  ptePfn,
  runSync,
  store,
  taskMm,
  vmMmap,
  type Task,
} from "@pagelab/mm-core";

export type Print = (line: string) => void;

const text = new TextEncoder();
const fromBytes = (b: Uint8Array): string => new TextDecoder().decode(b).replace(/\0+$/, "");

function mappedPfn(task: Task, addr: number): number {
  return ptePfn(taskMm(task).pgtables.pteAt(addr));
}

export function runDemo(print: Print): void {
  const hex = (n: number) => `0x${n.toString(16)}`;

  print("== 1. Hardware: DRAM and an NVDIMM (@pagelab/hw-pmem, @pagelab/mm-core) ==");
  const machine = bootVm({ dramBytes: 64 * 1024 * 1024 });
  const { ctx, mem, dmesg } = machine;
  const pmem = createPmemPlatform({ persistenceDomain: "adr" });
  const ns = pmem.namespace("pmem0");
  if (!ns) throw new Error("no pmem0 namespace");
  print(`DRAM: 64 MiB, ${mem.buddy.nrFreePages()} pages free in the buddy allocator`);
  print(`pmem0: ${ns.nrPages * PAGE_SIZE / (1024 * 1024)} MiB at pfn ${hex(ns.pfnStart)}, persistence domain ADR`);
  const pgmap = new DevPagemap({
    type: MEMORY_DEVICE_FS_DAX,
    range: { start: ns.pfnStart * PAGE_SIZE, end: (ns.pfnStart + ns.nrPages) * PAGE_SIZE - 1 },
    owner: ns,
  });
  memremapPages(mem, pgmap, ns);
  print(`memremap_pages: ${ns.nrPages} ZONE_DEVICE struct pages (FS_DAX), idle at refcount 1:`);
  for (const line of mem.memmap.dumpPage(toPfn(ns.pfnStart)).split("\n")) print(`  ${line}`);

  print("");
  print("== 2. Stores reach pmem through the CPU cache; power loss drops what was not flushed ==");
  const base = ns.pfnStart * PAGE_SIZE;
  ns.store(base, text.encode("flushed"));
  ns.clwb(base, 7);
  ns.sfence();
  ns.store(base + 64, text.encode("cached"));
  const before = new Uint8Array(8);
  ns.load(base + 64, before);
  print(`before power loss: line 0 = "flushed", line 1 = "${fromBytes(before)}"`);
  pmem.powerFail();
  const line0 = new Uint8Array(7);
  const line1 = new Uint8Array(6);
  ns.load(base, line0);
  ns.load(base + 64, line1);
  print(`after power loss:  line 0 = "${fromBytes(line0)}", line 1 = "${fromBytes(line1)}" (never written back)`);

  print("");
  print("== 3. fork() and copy-on-write of anonymous memory ==");
  const parent = createProcess(ctx, "parent");
  let addr = 0;
  let child: Task | undefined;
  runSync(
    (function* () {
      // vm_mmap() takes mmap_lock itself.
      addr = yield* vmMmap(taskMm(parent), { len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
      yield* store(addr, text.encode("written by parent"));
      child = yield* forkProcess(ctx, parent, "child");
    })(),
    parent,
  );
  if (!child) throw new Error("fork failed");
  const shared = mappedPfn(parent, addr);
  print(`parent stored at ${hex(addr)}; after fork both map pfn ${hex(shared)} read-only:`);
  for (const line of mem.memmap.dumpPage(toPfn(shared)).split("\n")) print(`  ${line}`);
  runSync(store(addr, text.encode("written by child!")), child);
  const parentSees = runSync(load(addr, 17), parent);
  const childSees = runSync(load(addr, 17), child);
  print(`child's store faulted and copied: parent pfn ${hex(mappedPfn(parent, addr))}, child pfn ${hex(mappedPfn(child, addr))}`);
  print(`parent reads "${fromBytes(parentSees.data)}", child reads "${fromBytes(childSees.data)}"`);

  print("");
  print("== 4. Memory failure on a page two processes map (early kill for one of them) ==");
  const grandchild = runSync(forkProcess(ctx, parent, "early"), parent);
  grandchild.prctlMceKill(PR_MCE_KILL_SET, PR_MCE_KILL_EARLY);
  grandchild.dispositions.set(SIGBUS, "catch");
  const victim = mappedPfn(parent, addr);
  const mark = dmesg.lastSeq;
  runSync(memoryFailure(ctx, toPfn(victim), MF_ACTION_REQUIRED), parent);
  for (const l of dmesg.since(mark)) print(`[kmsg] <${l.level}>${l.text}`);
  // The early-kill signal is queued; it arrives when that process next returns to user space.
  grandchild.deliverPending();
  for (const t of [parent, grandchild]) {
    const got = t.delivered.map((d) => `${formatSigInfo(d)} (${d.outcome})`).join(", ") || "no signal";
    print(`${t.comm}: ${got}`);
  }
  const ao = grandchild.delivered.find((d) => d.code === BUS_MCEERR_AO);
  if (ao) print(`early-kill process was told at its own address ${hex(ao.addr)} before touching the page`);

  print("");
  print("== 5. The open question ==");
  print("A pmem page has one struct page, and a struct page one (mapping, index).");
  print("A block shared by reflinked files at different offsets needs several.");
  print("The dax package's sharing mechanisms (one-to-one, shared-count, page-cache-copy, ...) answer it;");
  print("`pagelab compare` will run every scenario under each of them.");
}
