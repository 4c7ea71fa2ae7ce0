/**
 * `pagelab-pinlong MAP`: map the range shared read-write, read-fault it, and ask for a
 * long-term pin of it the way io_uring registers a buffer (FOLL_WRITE | FOLL_LONGTERM).
 *
 * @see ../shared/oracle/helpers/pagelab-pinlong.c; NOTES.md "pagelab-pinlong"
 */
import type { CommandContext } from "../shell/interp.js";
import { errName, parseMap, touchPages } from "./args.js";
import { HELPER_MMAP_BASE } from "./poison.js";
import type { SpawnHelper } from "./proc.js";

const O_RDWR = 2;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

export function pagelabPinlong(ctx: CommandContext, spawn: SpawnHelper): number {
  const r = ctx.argv.length === 2 ? parseMap(ctx.argv[1] as string) : null;
  if (!r || !r.ok) {
    ctx.err.write("usage: pagelab-pinlong FILE:OFFSET:LENGTH\n");
    return 2;
  }
  const m = r.map;
  const p = spawn("pagelab-pinlong", HELPER_MMAP_BASE);
  let fd: number;
  let base: number;
  try {
    fd = p.open(m.file, O_RDWR);
  } catch (e) {
    ctx.out.write(`open: ${errName(e)}\n`);
    p.exit(1);
    return 1;
  }
  try {
    base = p.mmap(m.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.off);
  } catch (e) {
    ctx.out.write(`mmap: ${errName(e)}\n`);
    p.exit(1);
    return 1;
  }
  p.catchSignals();
  touchPages(p, base, m.len);
  let result = "ok";
  try {
    p.registerBuffer(base, m.len);
  } catch (e) {
    result = errName(e);
  }
  ctx.out.write(`register buffers: ${result}\n`);
  p.exit(0);
  return 0;
}
