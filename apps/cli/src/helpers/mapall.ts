/**
 * `pagelab-mapall [-r] [-p] MAP...`: one process maps every MAP, then reads each whole
 * mapping through memory and prints its md5, or the signals of the pages that faulted;
 * `-p` labels the physical page behind each page (`p0`, `p1`… by first appearance).
 *
 * @see ../shared/oracle/helpers/pagelab-mapall.c; NOTES.md "pagelab-mapall"
 */
import { createHash } from "node:crypto";
import type { CommandContext } from "../shell/interp.js";
import { PL_PAGE, type PlMap, errName, mapName, parseMap, sigDesc } from "./args.js";
import { HELPER_MMAP_BASE } from "./poison.js";
import type { SpawnHelper } from "./proc.js";

const O_RDONLY = 0;
const O_RDWR = 2;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

export function pagelabMapall(ctx: CommandContext, spawn: SpawnHelper): number {
  const argv = ctx.argv;
  let ro = false;
  let labelPages = false;
  let a = 1;
  for (; a < argv.length && (argv[a] as string).startsWith("-"); a++) {
    if (argv[a] === "-r") ro = true;
    else if (argv[a] === "-p") labelPages = true;
    else {
      ctx.err.write("usage: pagelab-mapall [-r] [-p] FILE:OFFSET:LENGTH...\n");
      return 2;
    }
  }
  const maps: PlMap[] = [];
  for (; a < argv.length; a++) {
    const r = parseMap(argv[a] as string);
    if (maps.length === 64 || !r.ok) {
      ctx.err.write(`pagelab-mapall: bad MAP '${r.ok ? argv[a] : r.shown}'\n`);
      return 2;
    }
    maps.push(r.map);
  }
  if (maps.length === 0) {
    ctx.err.write("usage: pagelab-mapall [-r] FILE:OFFSET:LENGTH...\n");
    return 2;
  }
  const p = spawn("pagelab-mapall", HELPER_MMAP_BASE);
  p.catchSignals();
  const bases = maps.map((m): number | string => {
    let fd: number;
    try {
      fd = p.open(m.file, ro ? O_RDONLY : O_RDWR);
    } catch (e) {
      return `open ${errName(e)}`;
    }
    try {
      return p.mmap(m.len, PROT_READ | (ro ? 0 : PROT_WRITE), MAP_SHARED, fd, m.off);
    } catch (e) {
      return `mmap ${errName(e)}`;
    } finally {
      p.close(fd);
    }
  });
  const labels = new Map<number, number>();
  let rc = 0;
  maps.forEach((m, i) => {
    const base = bases[i] as number | string;
    if (typeof base === "string") {
      ctx.out.write(`${mapName(m)}: ${base}\n`);
      rc = 1;
      return;
    }
    const s0 = p.caught().length;
    const md5 = createHash("md5");
    for (let o = 0; o < m.len; o += PL_PAGE) {
      const data = p.load(base + o, Math.min(PL_PAGE, m.len - o));
      if (data) md5.update(data);
    }
    const sigs = p.caught();
    if (sigs.length !== s0) {
      ctx.out.write(`${mapName(m)}: ${sigDesc(sigs.slice(s0), base)}\n`);
      return;
    }
    let line = `${mapName(m)}: ${md5.digest("hex")}`;
    if (labelPages) {
      const pages: string[] = [];
      for (let o = 0; o < m.len; o += PL_PAGE) {
        const e = p.pagemap(base + o);
        if (!e.present) {
          pages.push("-");
          continue;
        }
        if (!labels.has(e.pfn)) labels.set(e.pfn, labels.size);
        pages.push(`p${labels.get(e.pfn)}`);
      }
      line += ` pages ${pages.join(",")}`;
    }
    ctx.out.write(`${line}\n`);
  });
  p.exit(rc);
  return rc;
}
