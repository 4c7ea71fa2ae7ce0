/**
 * `pagelab-dio SRC:SRCOFF FILE:MAPLEN:BUFOFF:LEN`: a direct read from a block device whose
 * user buffer is a shared file mapping, so the block layer pins the mapped pages
 * (FOLL_WRITE, short term) for the I/O; then msync(MS_SYNC).
 *
 * @see ../shared/oracle/helpers/pagelab-dio.c; NOTES.md "pagelab-dio"
 */
import type { CommandContext } from "../shell/interp.js";
import { errName, plNum } from "./args.js";
import { HELPER_MMAP_BASE } from "./poison.js";
import type { SpawnHelper } from "./proc.js";

const O_RDWR = 2;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MS_SYNC = 4;

/** `s` split at its last `n` colons: [head, field1…fieldN], or null. */
function splitRight(s: string, n: number): string[] | null {
  const fields: string[] = [];
  let rest = s;
  for (let k = 0; k < n; k++) {
    const i = rest.lastIndexOf(":");
    if (i < 0) return null;
    fields.unshift(rest.slice(i + 1));
    rest = rest.slice(0, i);
  }
  return [rest, ...fields];
}

export function pagelabDio(ctx: CommandContext, spawn: SpawnHelper): number {
  const usage = (): number => {
    ctx.err.write("usage: pagelab-dio SRC:SRCOFF FILE:MAPLEN:BUFOFF:LEN\n");
    return 2;
  };
  if (ctx.argv.length !== 3) return usage();
  const src = splitRight(ctx.argv[1] as string, 1);
  const dst = splitRight(ctx.argv[2] as string, 3);
  if (!src || !dst) return usage();
  const [srcPath, srcOffS] = src as [string, string];
  const [file, ...numsS] = dst as [string, string, string, string];
  const srcOff = plNum(srcOffS);
  const [mapLen, bufOff, len] = numsS.map(plNum);
  if (srcOff === null || mapLen == null || bufOff == null || len == null || mapLen === 0 || bufOff + len > mapLen) return usage();

  const p = spawn("pagelab-dio", HELPER_MMAP_BASE);
  const fail = (what: string, e: unknown): number => {
    ctx.out.write(`${what} ${errName(e)}\n`);
    p.exit(1);
    return 1;
  };
  let fd: number;
  let base: number;
  let sfd: number;
  try {
    fd = p.open(file, O_RDWR);
  } catch (e) {
    return fail("open", e);
  }
  try {
    base = p.mmap(mapLen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  } catch (e) {
    return fail("mmap", e);
  }
  try {
    sfd = p.openBlockDevice(srcPath);
  } catch (e) {
    return fail("open", e);
  }
  try {
    ctx.out.write(`dio pread into map: ${p.preadDirect(sfd, base + bufOff, len, srcOff)} (ok)\n`);
  } catch (e) {
    ctx.out.write(`dio pread into map: -1 (${errName(e)})\n`);
  }
  try {
    p.msync(base, mapLen, MS_SYNC);
  } catch {
    // the C helper ignores msync's result
  }
  p.exit(0);
  return 0;
}
