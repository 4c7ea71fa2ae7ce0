/**
 * `pagelab-poison [-r] [-e] [-x CMD] MAP... [-- N:OFFSET[:LENGTH]]`: memory failure
 * injection with one process per mapping, the five steps strictly one after the other
 * (set-up, snapshot, poison, check, touch), one summary line per child.
 *
 * @see ../shared/oracle/helpers/pagelab-poison.c; NOTES.md "pagelab-poison"
 *
 * Simplified: the children are created directly (not forked from a parent holding the
 * result page), with the mmap base a forked child would have, so addresses in the
 * kernel's lines match; a child's caught signals are taken when it next wakes up, which
 * is where a sleeping child's handler would have run.
 */
import type { CommandContext } from "../shell/interp.js";
import { PL_PAGE, type PlMap, errName, mapName, parseMap, plNum, sigDesc, touchPages } from "./args.js";
import type { HelperProc, SpawnHelper } from "./proc.js";

const O_RDONLY = 0;
const O_RDWR = 2;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MADV_HWPOISON = 100;
const PR_MCE_KILL = 33;
const PR_MCE_KILL_SET = 1;
const PR_MCE_KILL_EARLY = 1;
const SIGKILL = 9;
const SIGBUS = 7;

/** Where the static helpers' first mmap ends (ASLR off; read off the oracle's kmsg lines). */
export const HELPER_MMAP_BASE = 0x7ffff7ff9000;
/** `sizeof(struct result)` of pagelab-poison.c: the parent's shared page(s) sit above the children's maps. */
const RESULT_SIZE = 4 + 2048;

const USAGE = "usage: pagelab-poison [-r] [-e] [-x CMD] FILE:OFFSET:LENGTH... [-- N:OFFSET[:LENGTH]]\n";

interface Child {
  readonly idx: number;
  readonly map: PlMap;
  proc: HelperProc;
  line: string;
  base: number;
  ok: boolean;
  own: boolean[];
  pre: boolean[];
  /** The PFN behind each page at the snapshot (-1: none). */
  prePfn: number[];
  s0: number;
}

const pfns = (c: Child): number[] => {
  const n = Math.ceil(c.map.len / PL_PAGE);
  return Array.from({ length: n }, (_, i) => {
    const e = c.proc.pagemap(c.base + i * PL_PAGE);
    return e.present ? e.pfn : -1;
  });
};
const present = (c: Child): boolean[] => pfns(c).map((p) => p >= 0);

/** Where the helper reports an invariant it found violated. */
export type ViolationSink = (text: string) => void;

/**
 * Runs the helper. Besides its output it checks memory-failure reach from ground truth
 * (the page tables), whatever the mechanism: a child that mapped the failed physical page
 * when it was poisoned and either consumed the error (the poisoner) or asked for early
 * kill must afterwards be signalled or no longer map that page. Late-kill bystanders may
 * keep their PTEs, as they do in Linux 6.12.
 */
export function pagelabPoison(ctx: CommandContext, spawn: SpawnHelper, violation: ViolationSink = () => {}): number {
  const argv = ctx.argv;
  let ro = false;
  let early = false;
  let xcmd: string | null = null;
  let a = 1;
  const usage = (): number => {
    ctx.err.write(USAGE);
    return 2;
  };
  for (; a < argv.length && (argv[a] as string).startsWith("-") && argv[a] !== "--"; a++) {
    if (argv[a] === "-r") ro = true;
    else if (argv[a] === "-e") early = true;
    else if (argv[a] === "-x" && a + 1 < argv.length) xcmd = argv[++a] as string;
    else return usage();
  }
  const maps: PlMap[] = [];
  for (; a < argv.length && argv[a] !== "--"; a++) {
    const r = parseMap(argv[a] as string);
    if (maps.length === 64 || !r.ok) {
      ctx.err.write(`pagelab-poison: bad MAP '${r.ok ? argv[a] : r.shown}'\n`);
      return 2;
    }
    maps.push(r.map);
  }
  if (maps.length === 0) return usage();
  let pn = -1;
  let poff = 0;
  let plen = PL_PAGE;
  if (a < argv.length) {
    const spec = argv[a + 1];
    if (a + 2 !== argv.length || spec === undefined) return usage();
    const parts = spec.split(":");
    if (parts.length < 2) return usage();
    const n = plNum(parts[0] as string);
    const o = plNum(parts[1] as string);
    const l = parts.length > 2 ? plNum(parts.slice(2).join(":")) : PL_PAGE;
    const m = n !== null ? maps[n] : undefined;
    if (n === null || o === null || l === null || !m || l === 0 || o < m.off || o + l > m.off + m.len) {
      ctx.err.write("pagelab-poison: bad POISON (child N, offset within its mapping)\n");
      return 2;
    }
    [pn, poff, plen] = [n, o, l];
  }

  const mmapBase = HELPER_MMAP_BASE - Math.ceil((RESULT_SIZE * maps.length) / PL_PAGE) * PL_PAGE;
  const children: Child[] = [];
  // 1. set-up, one child at a time
  for (const [idx, map] of maps.entries()) {
    const proc = spawn(`plchild${idx}`, mmapBase);
    const c: Child = { idx, map, proc, line: `child ${idx} ${mapName(map)}: `, base: 0, ok: false, own: [], pre: [], prePfn: [], s0: 0 };
    children.push(c);
    if (early) proc.prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY);
    proc.catchSignals();
    let fd: number;
    try {
      fd = proc.open(map.file, ro ? O_RDONLY : O_RDWR);
    } catch (e) {
      c.line += `open ${errName(e)}`;
      proc.exit(1);
      continue;
    }
    try {
      c.base = proc.mmap(map.len, PROT_READ | (ro ? 0 : PROT_WRITE), MAP_SHARED, fd, map.off);
    } catch (e) {
      c.line += `mmap ${errName(e)}`;
      proc.exit(1);
      continue;
    }
    proc.close(fd);
    if (touchPages(proc, c.base, map.len)) c.line += `setup ${sigDesc(proc.caught(), c.base)}; `;
    c.own = present(c);
    c.s0 = proc.caught().length;
    c.ok = true;
  }
  const live = (): Child[] => children.filter((c) => c.ok && c.proc.alive);
  // 2. snapshot: PTEs the others' set-up took away
  for (const c of live()) {
    c.proc.wake();
    if (!c.proc.alive) continue;
    c.prePfn = pfns(c);
    c.pre = c.prePfn.map((p) => p >= 0);
    const lost = c.own.flatMap((had, i) => (had && !c.pre[i] ? [`+${i * PL_PAGE}`] : []));
    if (lost.length) c.line += `lost ${lost.join(",")}; `;
    if (xcmd !== null && c.idx !== pn) c.proc.blockSignals(true);
  }
  // 3. poison
  const poisoner = children[pn];
  const failed = new Set<number>();
  if (poisoner && poisoner.ok && poisoner.proc.alive) {
    for (let o = poff - poisoner.map.off; o < poff - poisoner.map.off + plen; o += PL_PAGE) {
      const pfn = poisoner.prePfn[Math.floor(o / PL_PAGE)];
      if (pfn !== undefined && pfn >= 0) failed.add(pfn);
    }
    try {
      poisoner.proc.madvise(poisoner.base + (poff - poisoner.map.off), plen, MADV_HWPOISON);
      poisoner.line += "madvise ok; ";
    } catch (e) {
      poisoner.line += `madvise ${errName(e)}; `;
    }
  }
  if (xcmd !== null) {
    const st = ctx.shell.run(xcmd, ctx.out, ctx.err);
    ctx.out.write(st > 128 ? `x: killed by signal ${st - 128}\n` : `x: exit ${st}\n`);
  }
  // 4. check
  for (const c of live()) {
    c.proc.wake();
    if (xcmd !== null && c.idx !== pn) c.proc.blockSignals(false);
    if (!c.proc.alive) continue;
    const postPfn = pfns(c);
    const post = postPfn.map((p) => p >= 0);
    const sigs = c.proc.caught();
    if ((c.idx === pn || early) && sigs.length === c.s0) {
      const kept = c.prePfn.findIndex((p, i) => p >= 0 && failed.has(p) && postPfn[i] === p);
      if (kept >= 0) violation(`memory-failure reach: plchild${c.idx} (${c.idx === pn ? "the poisoner" : "early kill"}) still maps the failed page at +${kept * PL_PAGE} and was not signalled`);
    }
    c.line += sigs.length === c.s0 ? "no signal" : sigDesc(sigs.slice(c.s0), c.base);
    const unmapped = c.pre.flatMap((had, i) => (had && !post[i] ? [`+${i * PL_PAGE}`] : []));
    c.line += `; unmapped ${unmapped.length ? unmapped.join(",") : "none"}`;
    c.s0 = sigs.length;
  }
  // 5. touch
  for (const c of live()) {
    c.proc.wake();
    if (!c.proc.alive) continue;
    c.line += "; touch ";
    const bad = touchPages(c.proc, c.base, c.map.len);
    const sigs = c.proc.caught();
    c.line += bad === 0 && sigs.length === c.s0 ? "ok" : sigDesc(sigs.slice(c.s0), c.base);
    c.s0 = sigs.length;
  }
  // 6. exit, one line per child
  let anyFailed = false;
  for (const c of children) {
    if (c.proc.alive) c.proc.exit(c.ok ? 0 : 1);
    if (c.proc.killedBy !== null) {
      const sig = c.proc.killedBy === SIGKILL ? "SIGKILL" : c.proc.killedBy === SIGBUS ? "SIGBUS" : "signal";
      c.line += `${c.line.endsWith(" ") ? "" : "; "}killed by ${sig}`;
      anyFailed = true;
    } else if (!c.ok) {
      anyFailed = true;
    }
    ctx.out.write(`${c.line}\n`);
  }
  return anyFailed ? 1 : 0;
}
