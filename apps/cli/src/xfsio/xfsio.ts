/**
 * `xfs_io`: the xfsprogs 6.1 interpreter as one process of the machine. Parses
 * `xfs_io [-adfrstx] [-c cmd]... [-C cmd]... file...`, opens the files, then runs each
 * command: commands without CMD_FLAG_ONESHOT once per open file (io/init.c
 * command loop over filetable_iterator()), `-C` commands once. The process exits at the
 * end (its mappings go); a SIGBUS/SIGSEGV during a mapped access kills it (exit 128+N).
 *
 * @see xfsprogs io/init.c, io/open.c, io/pwrite.c, io/pread.c, io/reflink.c,
 *      io/fiemap.c, io/mmap.c, io/prealloc.c, io/truncate.c, io/fsync.c, io/stat.c,
 *      io/attr.c, io/cowextsize.c, libxcmd/command.c (argument count messages)
 *
 * Simplified: no interactive mode, no `bmap`, `seek`, `copy_range`, `sendfile`, `-i`
 * infile writes or vectored I/O; timing figures come from the simulated clock.
 */
import { KernelError, strerror } from "@pagelab/mm-core";
import type { Out } from "../shell/interp.js";
import { type FiemapExtent, cvtnum, dumpBuffer, formatFiemapPlain, formatFiemapVerbose, formatMapping, reportIoTimes } from "./format.js";
import * as S from "./sys.js";

const BLOCK = 4096;
const SECTOR = 512;
const PAGE = 4096;

interface OpenFileEntry {
  fd: number;
  name: string;
  flags: number;
  readonly: boolean;
}

interface Mapping {
  addr: number;
  length: number;
  offset: number;
  prot: number;
  name: string;
  mapSync: boolean;
}

class Killed {
  constructor(readonly signo: number) {}
}

interface CmdDef {
  readonly argmin: number;
  readonly argmax: number;
  readonly oneshot: boolean;
  readonly args: string;
  readonly oneline: string;
  readonly run: (io: XfsIo, argv: string[]) => void;
}

/** Options parsed getopt-style; returns undefined (usage printed) on an unknown option. */
function getopt(argv: string[], spec: string): { opts: Map<string, string>; rest: string[] } | undefined {
  const opts = new Map<string, string>();
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-" || /^-\d/.test(a)) break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      const k = spec.indexOf(c);
      if (k < 0) return undefined;
      if (spec[k + 1] === ":") {
        const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
        if (v === undefined) return undefined;
        opts.set(c, v);
        break;
      }
      opts.set(c, "");
    }
  }
  return { opts, rest: argv.slice(i) };
}

export class XfsIo {
  files: OpenFileEntry[] = [];
  cur = -1;
  private maps: Mapping[] = [];
  private curMap = -1;
  exitcode = 0;

  constructor(
    readonly sys: S.ProcessSys,
    private readonly out: Out,
    private readonly err: Out,
  ) {}

  print(s: string): void {
    this.out.write(s);
  }
  eprint(s: string): void {
    this.err.write(s);
  }
  perror(what: string, e: unknown): void {
    if (!(e instanceof KernelError)) throw e;
    this.err.write(`${what}: ${strerror(e.code)}\n`);
  }

  get file(): OpenFileEntry | undefined {
    return this.files[this.cur];
  }

  num(s: string): number {
    return cvtnum(BLOCK, SECTOR, s);
  }

  openFile(path: string, flags: number, readonly: boolean): boolean {
    try {
      const fd = this.sys.open(path, flags | (readonly ? S.O_RDONLY : S.O_RDWR), 0o600);
      this.files.push({ fd, name: path, flags, readonly });
      this.cur = this.files.length - 1;
      return true;
    } catch (e) {
      this.perror(path, e);
      return false;
    }
  }

  closeCurrent(): void {
    const f = this.file;
    if (!f) return;
    this.sys.close(f.fd);
    this.files.splice(this.cur, 1);
    this.cur = this.files.length ? 0 : -1;
  }

  private usage(name: string, def: CmdDef): void {
    this.eprint(`${name} ${def.args} -- ${def.oneline}\n`);
  }

  /** One `-c` command line; returns false when xfs_io should stop (quit). */
  command(line: string, once: boolean): boolean {
    const argv = line.trim().split(/\s+/).filter(Boolean);
    const name = argv[0];
    if (name === undefined) return true;
    if (name === "quit" || name === "q") return false;
    const def = COMMANDS.get(name) ?? COMMANDS.get(ALIASES[name] ?? "");
    if (!def) {
      this.eprint(`command "${name}" not found\n`);
      return true;
    }
    const n = argv.length - 1;
    if (n < def.argmin || (def.argmax !== -1 && n > def.argmax)) {
      if (def.argmax === -1) this.eprint(`bad argument count ${n} to ${name}, expected at least ${def.argmin} arguments\n`);
      else if (def.argmin === def.argmax) this.eprint(`bad argument count ${n} to ${name}, expected ${def.argmin} arguments\n`);
      else this.eprint(`bad argument count ${n} to ${name}, expected between ${def.argmin} and ${def.argmax} arguments\n`);
      return true;
    }
    if (def.oneshot || once) {
      def.run(this, argv);
      return true;
    }
    for (let i = 0; i < this.files.length; i++) {
      this.cur = i;
      def.run(this, argv);
    }
    return true;
  }

  // --- the mapping table ---

  listMaps(): void {
    this.maps.forEach((m, i) =>
      this.print(
        formatMapping(
          { addr: m.addr, length: m.length, offset: m.offset, name: m.name, mapSync: m.mapSync, prot: { r: !!(m.prot & S.PROT_READ), w: !!(m.prot & S.PROT_WRITE), x: !!(m.prot & S.PROT_EXEC) } },
          i,
          i === this.curMap,
        ),
      ),
    );
  }

  addMap(m: Mapping): void {
    this.maps.push(m);
    this.curMap = this.maps.length - 1;
  }

  selectMap(n: number): boolean {
    if (n < 0 || n >= this.maps.length) return false;
    this.curMap = n;
    return true;
  }

  get map(): Mapping | undefined {
    return this.maps[this.curMap];
  }

  dropCurrentMap(): void {
    this.maps.splice(this.curMap, 1);
    this.curMap = this.maps.length ? 0 : -1;
  }

  /** io/mmap.c check_mapping_range(): the address of file offset `off` in the current mapping. */
  mapRange(off: number, len: number, pagealign: boolean): number | undefined {
    const m = this.map;
    if (!m) {
      this.eprint("no mapped regions, try 'help mmap'\n");
      return undefined;
    }
    if (off < m.offset) {
      this.print(`offset (${off}) is before start of mapping (${m.offset})\n`);
      return undefined;
    }
    const rel = off - m.offset;
    if (rel > m.length) {
      this.print(`offset (${rel}) is beyond end of mapping (${m.offset + m.length})\n`);
      return undefined;
    }
    if (rel + len > m.offset + m.length) {
      this.print(`range (${off}:${len}) is beyond mapping (${m.offset}:${m.length})\n`);
      return undefined;
    }
    if (pagealign && (m.addr + rel) % PAGE) {
      this.print(`offset address (0x${(m.addr + rel).toString(16)}) is not page aligned\n`);
      return undefined;
    }
    return m.addr + rel;
  }

  access(r: S.Access): Uint8Array {
    if (!r.ok) throw new Killed(r.signo);
    return r.data;
  }
}

function numArgs(io: XfsIo, off: string | undefined, len: string | undefined): [number, number] | undefined {
  const o = io.num(off ?? "");
  if (Number.isNaN(o)) {
    io.print(`non-numeric offset argument -- ${off}\n`);
    return undefined;
  }
  const l = io.num(len ?? "");
  if (Number.isNaN(l)) {
    io.print(`non-numeric length argument -- ${len}\n`);
    return undefined;
  }
  return [o, l];
}

function timed(io: XfsIo, verb: string, done: number, total: number, offset: number, ops: number, t0: number, quiet: boolean): void {
  if (quiet) return;
  io.print(`${verb} ${done}/${total} bytes at offset ${offset}\n`);
  io.print(`${reportIoTimes(done, ops, io.sys.now() - t0)}\n`);
}

const pwrite: CmdDef = {
  argmin: 2,
  argmax: -1,
  oneshot: false,
  args: "[-i infile [-qdDwNOW] [-s skip]] [-b bs] [-S seed] [-FBR [-Z N]] [-V N] off len",
  oneline: "writes a number of bytes at a specified offset",
  run(io, argv) {
    const g = getopt(argv, "b:S:qwWFBRZ:V:dDNO");
    const f = io.file;
    if (!g || g.rest.length !== 2 || !f) return io.print(`${pwrite.args}\n`);
    const bs = g.opts.has("b") ? io.num(g.opts.get("b") as string) : BLOCK;
    const seed = g.opts.has("S") ? io.num(g.opts.get("S") as string) : 0xcdcdcdcd;
    if (Number.isNaN(bs) || Number.isNaN(seed)) return io.print(`non-numeric bsize -- ${g.opts.get("b")}\n`);
    const r = numArgs(io, g.rest[0], g.rest[1]);
    if (!r) return;
    const [off, len] = r;
    const buf = new Uint8Array(Math.min(bs, Math.max(len, 0))).fill(seed & 0xff);
    const t0 = io.sys.now();
    let done = 0;
    let ops = 0;
    try {
      while (done < len) {
        const n = io.sys.pwrite(f.fd, buf.subarray(0, Math.min(bs, len - done)), off + done);
        ops++;
        if (n <= 0) break;
        done += n;
      }
      if (g.opts.has("w")) io.sys.fsync(f.fd, true);
      if (g.opts.has("W")) io.sys.fsync(f.fd, false);
    } catch (e) {
      io.perror("pwrite", e);
      io.exitcode = 1;
      return;
    }
    timed(io, "wrote", done, len, off, ops, t0, g.opts.has("q"));
  },
};

const pread: CmdDef = {
  argmin: 2,
  argmax: -1,
  oneshot: false,
  args: "[-b bs] [-qv] [-i N] [-FBR [-Z N]] off len",
  oneline: "reads a number of bytes at a specified offset",
  run(io, argv) {
    const g = getopt(argv, "b:qvFBRZ:V:i:");
    const f = io.file;
    if (!g || g.rest.length !== 2 || !f) return io.print(`${pread.args}\n`);
    const bs = g.opts.has("b") ? io.num(g.opts.get("b") as string) : BLOCK;
    const r = numArgs(io, g.rest[0], g.rest[1]);
    if (!r) return;
    const [off, len] = r;
    const t0 = io.sys.now();
    let done = 0;
    let ops = 0;
    try {
      while (done < len) {
        const buf = new Uint8Array(Math.min(bs, len - done));
        const n = io.sys.pread(f.fd, buf, off + done);
        ops++;
        if (n <= 0) break;
        if (g.opts.has("v")) io.print(dumpBuffer(off + done, buf.subarray(0, n)));
        done += n;
        if (n < buf.length) break;
      }
    } catch (e) {
      io.perror("pread", e);
      io.exitcode = 1;
      return;
    }
    timed(io, "read", done, len, off, ops, t0, g.opts.has("q"));
  },
};

function openOther(io: XfsIo, path: string): number | undefined {
  try {
    return io.sys.open(path, S.O_RDONLY);
  } catch (e) {
    io.perror(path, e);
    io.exitcode = 1;
    return undefined;
  }
}

const reflink: CmdDef = {
  argmin: 1,
  argmax: -1,
  oneshot: true,
  args: "[-C] [-q] infile [src_off dst_off len]",
  oneline: "reflinks an entire file, or a number of bytes at a specified offset",
  run(io, argv) {
    const g = getopt(argv, "Cq");
    const f = io.file;
    if (!g || (g.rest.length !== 1 && g.rest.length !== 4)) return io.eprint(`reflink ${reflink.args} -- ${reflink.oneline}\n`);
    if (!f) return io.eprint("no files are open, try 'help open'\n");
    let range: { srcOffset: number; destOffset: number; srcLength: number } | undefined;
    if (g.rest.length === 4) {
      const so = io.num(g.rest[1] as string);
      const dof = io.num(g.rest[2] as string);
      const l = io.num(g.rest[3] as string);
      if (Number.isNaN(so)) return io.print(`non-numeric src offset argument -- ${g.rest[1]}\n`);
      if (Number.isNaN(dof)) return io.print(`non-numeric dest offset argument -- ${g.rest[2]}\n`);
      if (Number.isNaN(l)) return io.print(`non-positive length argument -- ${g.rest[3]}\n`);
      range = { srcOffset: so, destOffset: dof, srcLength: l };
    }
    const src = openOther(io, g.rest[0] as string);
    if (src === undefined) return;
    const t0 = io.sys.now();
    try {
      io.sys.clone(f.fd, src, range);
    } catch (e) {
      io.perror(range ? "XFS_IOC_CLONE_RANGE" : "XFS_IOC_CLONE", e);
      io.exitcode = 1;
      return;
    } finally {
      io.sys.close(src);
    }
    // whole-file clones report 0/0 at offset 0 in xfsprogs 6.1
    const n = range ? range.srcLength : 0;
    timed(io, "linked", n, n, range ? range.destOffset : 0, 1, t0, g.opts.has("q"));
  },
};

const dedupe: CmdDef = {
  argmin: 4,
  argmax: -1,
  oneshot: true,
  args: "[-C] [-q] infile src_off dst_off len",
  oneline: "dedupes a number of bytes at a specified offset",
  run(io, argv) {
    const g = getopt(argv, "Cq");
    const f = io.file;
    if (!g || g.rest.length !== 4) return io.eprint(`dedupe ${dedupe.args} -- ${dedupe.oneline}\n`);
    if (!f) return io.eprint("no files are open, try 'help open'\n");
    const so = io.num(g.rest[1] as string);
    const dof = io.num(g.rest[2] as string);
    const len = io.num(g.rest[3] as string);
    if (Number.isNaN(so)) return io.print(`non-numeric src offset argument -- ${g.rest[1]}\n`);
    if (Number.isNaN(dof)) return io.print(`non-numeric dest offset argument -- ${g.rest[2]}\n`);
    if (Number.isNaN(len)) return io.print(`non-positive length argument -- ${g.rest[3]}\n`);
    const src = openOther(io, g.rest[0] as string);
    if (src === undefined) return;
    const t0 = io.sys.now();
    let done = 0;
    let ops = 0;
    try {
      // io/reflink.c dedupe_ioctl(): loop while the kernel dedupes part of the range
      while (done < len) {
        const r = io.sys.dedupe(src, so + done, len - done, f.fd, dof + done);
        ops++;
        if (r.status < 0) throw new KernelError(errnoFromNumber(-r.status));
        if (r.status === 1) {
          io.eprint("XFS_IOC_FILE_EXTENT_SAME: Extents did not match.\n");
          return;
        }
        if (r.bytesDeduped === 0) break;
        done += r.bytesDeduped;
      }
    } catch (e) {
      io.perror("XFS_IOC_FILE_EXTENT_SAME", e);
      io.exitcode = 1;
      return;
    } finally {
      io.sys.close(src);
    }
    timed(io, "deduped", done, len, dof, ops, t0, g.opts.has("q"));
  },
};

function errnoFromNumber(n: number): ConstructorParameters<typeof KernelError>[0] {
  const table: Record<number, ConstructorParameters<typeof KernelError>[0]> = { 1: "EPERM", 5: "EIO", 9: "EBADF", 12: "ENOMEM", 18: "EXDEV", 21: "EISDIR", 22: "EINVAL", 28: "ENOSPC", 95: "EOPNOTSUPP" };
  return table[n] ?? "EINVAL";
}

const fiemap: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: false,
  args: "[-alv] [-n nx] [offset [len]]",
  oneline: "print block mapping for a file",
  run(io, argv) {
    const g = getopt(argv, "alvn:");
    const f = io.file;
    if (!g || !f) return io.eprint(`fiemap ${fiemap.args} -- ${fiemap.oneline}\n`);
    let extents: FiemapExtent[];
    let size: number;
    try {
      extents = io.sys.fiemap(f.fd);
      size = io.sys.statx(f.fd).size;
    } catch (e) {
      io.perror("ioctl(FS_IOC_FIEMAP)", e);
      io.exitcode = 1;
      return;
    }
    if (g.rest.length > 0) {
      const start = io.num(g.rest[0] as string);
      const len = g.rest[1] !== undefined ? io.num(g.rest[1]) : Number.MAX_SAFE_INTEGER;
      extents = extents.filter((e) => e.logical + e.length > start && e.logical < start + len);
      size = Math.min(size, start + len);
    }
    io.print(g.opts.has("v") ? formatFiemapVerbose(f.name, extents, size) : formatFiemapPlain(f.name, extents, size));
  },
};

const mmap: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: true,
  args: "[N] | [-rwxS] [-s size] [off len]",
  oneline: "mmap a range in the current file, show mappings",
  run(io, argv) {
    if (argv.length === 1) {
      if (io.map) io.listMaps();
      else io.eprint("no mapped regions, try 'help mmap'\n");
      return;
    }
    if (argv.length === 2 && /^\d+$/.test(argv[1] as string)) {
      if (!io.selectMap(Number(argv[1]))) return io.eprint(`mmap: map number out of range\n`);
      io.listMaps();
      return;
    }
    const g = getopt(argv, "rwxSs:");
    const f = io.file;
    if (!g || g.rest.length !== 2) return io.eprint(`mmap ${mmap.args} -- ${mmap.oneline}\n`);
    if (!f) return io.eprint("no files are open, try 'help open'\n");
    const r = numArgs(io, g.rest[0], g.rest[1]);
    if (!r) return;
    const [off, len] = r;
    let prot = (g.opts.has("r") ? S.PROT_READ : 0) | (g.opts.has("w") ? S.PROT_WRITE : 0) | (g.opts.has("x") ? S.PROT_EXEC : 0);
    if (prot === 0) prot = S.PROT_READ | S.PROT_WRITE | S.PROT_EXEC;
    const mapSync = g.opts.has("S");
    const flags = mapSync ? S.MAP_SHARED_VALIDATE | S.MAP_SYNC : S.MAP_SHARED;
    try {
      const addr = io.sys.mmap(len, prot, flags, f.fd, off);
      io.addMap({ addr, length: len, offset: off, prot, name: f.name, mapSync });
    } catch (e) {
      io.perror("mmap", e);
      io.exitcode = 1;
    }
  },
};

const mread: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: false,
  args: "[-f|-v] [-r] [off len]",
  oneline: "reads data from a region in the current memory mapping",
  run(io, argv) {
    const g = getopt(argv, "frv");
    const m = io.map;
    if (!g) return io.eprint(`mread ${mread.args} -- ${mread.oneline}\n`);
    if (!m) return io.eprint("no mapped regions, try 'help mmap'\n");
    let off = m.offset;
    let len = m.length;
    if (g.rest.length >= 1) {
      off = io.num(g.rest[0] as string);
      if (Number.isNaN(off)) return io.print(`non-numeric offset argument -- ${g.rest[0]}\n`);
      len = g.rest.length >= 2 ? io.num(g.rest[1] as string) : m.length - (off - m.offset);
      if (Number.isNaN(len)) return io.print(`non-numeric length argument -- ${g.rest[1]}\n`);
    }
    const addr = io.mapRange(off, len, false);
    if (addr === undefined) return;
    const printOffset = g.opts.has("f") ? off : off - m.offset;
    const data = new Uint8Array(len);
    // byte loads a page at a time, so a fault in page N still shows pages before it
    for (let done = 0; done < len; ) {
      const n = Math.min(PAGE - ((addr + done) % PAGE), len - done);
      const chunk = g.opts.has("r") ? io.access(io.sys.load(addr + len - done - n, n)) : io.access(io.sys.load(addr + done, n));
      data.set(chunk, g.opts.has("r") ? len - done - n : done);
      done += n;
    }
    if (g.opts.has("v") || g.opts.has("f")) io.print(dumpBuffer(printOffset, data));
  },
};

const mwrite: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: false,
  args: "[-r] [-S seed] [off len]",
  oneline: "writes data into a region in the current memory mapping",
  run(io, argv) {
    const g = getopt(argv, "rS:");
    const m = io.map;
    if (!g) return io.eprint(`mwrite ${mwrite.args} -- ${mwrite.oneline}\n`);
    if (!m) return io.eprint("no mapped regions, try 'help mmap'\n");
    const seed = g.opts.has("S") ? io.num(g.opts.get("S") as string) : 0x58;
    if (Number.isNaN(seed)) return io.print(`non-numeric seed -- ${g.opts.get("S")}\n`);
    let off = m.offset;
    let len = m.length;
    if (g.rest.length >= 1) {
      off = io.num(g.rest[0] as string);
      if (Number.isNaN(off)) return io.print(`non-numeric offset argument -- ${g.rest[0]}\n`);
      len = g.rest.length >= 2 ? io.num(g.rest[1] as string) : m.length - (off - m.offset);
      if (Number.isNaN(len)) return io.print(`non-numeric length argument -- ${g.rest[1]}\n`);
    }
    const addr = io.mapRange(off, len, false);
    if (addr === undefined) return;
    for (let done = 0; done < len; ) {
      const n = Math.min(PAGE - ((addr + done) % PAGE), len - done);
      const at = g.opts.has("r") ? addr + len - done - n : addr + done;
      io.access(io.sys.store(at, new Uint8Array(n).fill(seed & 0xff)));
      done += n;
    }
  },
};

const msync: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: false,
  args: "[-ais] [off len]",
  oneline: "flush a region in the current memory mapping",
  run(io, argv) {
    const g = getopt(argv, "ais");
    const m = io.map;
    if (!g) return io.eprint(`msync ${msync.args} -- ${msync.oneline}\n`);
    if (!m) return io.eprint("no mapped regions, try 'help mmap'\n");
    let flags = 0;
    if (g.opts.has("a")) flags |= S.MS_ASYNC;
    if (g.opts.has("i")) flags |= S.MS_INVALIDATE;
    if (g.opts.has("s")) flags |= S.MS_SYNC;
    let off = m.offset;
    let len = m.length;
    if (g.rest.length >= 2) {
      const r = numArgs(io, g.rest[0], g.rest[1]);
      if (!r) return;
      [off, len] = r;
    }
    const addr = io.mapRange(off, len, true);
    if (addr === undefined) return;
    try {
      io.sys.msync(addr, len, flags);
    } catch (e) {
      io.perror("msync", e);
      io.exitcode = 1;
    }
  },
};

const munmap: CmdDef = {
  argmin: 0,
  argmax: 0,
  oneshot: false,
  args: "",
  oneline: "unmaps the current memory mapping",
  run(io) {
    const m = io.map;
    if (!m) return io.eprint("no mapped regions, try 'help mmap'\n");
    try {
      io.sys.munmap(m.addr, m.length);
    } catch (e) {
      io.perror("munmap", e);
      io.exitcode = 1;
      return;
    }
    io.dropCurrentMap();
  },
};

const truncate: CmdDef = {
  argmin: 1,
  argmax: 1,
  oneshot: false,
  args: "off",
  oneline: "truncates the current file at the given offset",
  run(io, argv) {
    const f = io.file;
    if (!f) return;
    const off = io.num(argv[1] as string);
    if (Number.isNaN(off)) return io.print(`non-numeric truncate argument -- ${argv[1]}\n`);
    try {
      io.sys.ftruncate(f.fd, off);
    } catch (e) {
      io.perror("ftruncate", e);
      io.exitcode = 1;
    }
  },
};

function fallocCmd(name: string, mode: number, opts: string, oneline: string): CmdDef {
  const def: CmdDef = {
    argmin: 2,
    argmax: -1,
    oneshot: false,
    args: opts ? `[-${opts}] off len` : "off len",
    oneline,
    run(io, argv) {
      const g = getopt(argv, opts);
      const f = io.file;
      if (!g || g.rest.length !== 2) return io.eprint(`${name} ${def.args} -- ${oneline}\n`);
      if (!f) return;
      let m = mode;
      if (name === "falloc") {
        if (g.opts.has("c")) m = S.FALLOC_FL_COLLAPSE_RANGE;
        else if (g.opts.has("i")) m = S.FALLOC_FL_INSERT_RANGE;
        else if (g.opts.has("p")) m = S.FALLOC_FL_PUNCH_HOLE | S.FALLOC_FL_KEEP_SIZE;
        else if (g.opts.has("u")) m = S.FALLOC_FL_UNSHARE_RANGE;
        if (g.opts.has("k")) m |= S.FALLOC_FL_KEEP_SIZE;
      } else if (name === "fzero" && g.opts.has("k")) m |= S.FALLOC_FL_KEEP_SIZE;
      const r = numArgs(io, g.rest[0], g.rest[1]);
      if (!r) return;
      try {
        io.sys.fallocate(f.fd, m, r[0], r[1]);
      } catch (e) {
        io.perror("fallocate", e);
        io.exitcode = 1;
      }
    },
  };
  return def;
}

function syncCmd(datasync: boolean): CmdDef {
  return {
    argmin: 0,
    argmax: 0,
    oneshot: false,
    args: "",
    oneline: datasync ? "calls fdatasync(2) to flush the files in-core data to disk" : "calls fsync(2) to flush all in-core file state to disk",
    run(io) {
      const f = io.file;
      if (!f) return;
      try {
        io.sys.fsync(f.fd, datasync);
      } catch (e) {
        io.perror(datasync ? "fdatasync" : "fsync", e);
        io.exitcode = 1;
      }
    },
  };
}

const XFLAG_NAMES: [number, string, string][] = [
  [0x1, "r", "realtime"],
  [0x2, "p", "prealloc"],
  [0x8, "i", "immutable"],
  [0x10, "a", "append-only"],
  [0x20, "s", "sync"],
  [0x40, "A", "no-atime"],
  [0x80, "d", "no-dump"],
  [0x100, "t", "rt-inherit"],
  [0x200, "P", "proj-inherit"],
  [0x400, "n", "nosymlinks"],
  [0x800, "e", "extsize"],
  [0x1000, "E", "extsz-inherit"],
  [0x2000, "f", "no-defrag"],
  [0x4000, "S", "filestream"],
  [0x8000, "x", "dax"],
  [0x10000, "C", "cowextsize"],
  [0x80000000, "X", "has-xattr"],
];

function xflagsText(x: number, verbose: boolean): string {
  if (verbose) return `[${XFLAG_NAMES.filter(([b]) => x & b).map(([, , n]) => n).join(", ")}]`;
  return XFLAG_NAMES.map(([b, c]) => (x & b ? c : "-")).join("");
}

const stat: CmdDef = {
  argmin: 0,
  argmax: 1,
  oneshot: false,
  args: "[-v|-r]",
  oneline: "statistics on the currently open file",
  run(io) {
    const f = io.file;
    if (!f) return;
    try {
      const st = io.sys.statx(f.fd);
      const fa = io.sys.fsgetxattr(f.fd);
      io.print(`fd.path = "${f.name}"\n`);
      io.print(`fd.flags = ${f.flags & S.O_SYNC ? "sync" : "non-sync"},${f.flags & S.O_DIRECT ? "direct" : "non-direct"},${f.readonly ? "read-only" : "read-write"}\n`);
      io.print(`stat.ino = ${st.ino}\nstat.type = regular file\nstat.size = ${st.size}\nstat.blocks = ${st.blocks}\n`);
      io.print(`fsxattr.xflags = 0x${fa.xflags.toString(16)} ${xflagsText(fa.xflags, true)}\n`);
      io.print(`fsxattr.projid = ${fa.projid}\nfsxattr.extsize = ${fa.extsize}\nfsxattr.cowextsize = ${fa.cowextsize}\n`);
      io.print(`fsxattr.nextents = ${fa.nextents}\nfsxattr.naextents = 0\n`);
      io.print(`dioattr.mem = 0x200\ndioattr.miniosz = 512\ndioattr.maxiosz = 2147483136\n`);
    } catch (e) {
      io.perror("stat", e);
      io.exitcode = 1;
    }
  },
};

const statx: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: false,
  args: "[-v|-r][-m basic | -m all | -m <mask>][-FD]",
  oneline: "Extended statistics on the currently open file",
  run(io) {
    const f = io.file;
    if (!f) return;
    try {
      const st = io.sys.statx(f.fd);
      io.print(`stat.mask = 0xfff\nstat.blksize = ${st.blksize}\nstat.attributes = 0x${st.attributes.toString(16)}\n`);
      io.print(`stat.nlink = ${st.nlink}\nstat.uid = 0\nstat.gid = 0\nstat.mode: 0${st.mode.toString(8)}\n`);
      io.print(`stat.ino = ${st.ino}\nstat.size = ${st.size}\nstat.blocks = ${st.blocks}\n`);
      io.print(`stat.attributes_mask = 0x${st.attributesMask.toString(16)}\n`);
      io.print(`stat.rdev_major = 0\nstat.rdev_minor = 0\nstat.dev_major = 259\nstat.dev_minor = 0\n`);
    } catch (e) {
      io.perror("statx", e);
      io.exitcode = 1;
    }
  },
};

function extsizeCmd(name: "extsize" | "cowextsize", flag: number): CmdDef {
  const def: CmdDef = {
    argmin: 0,
    argmax: -1,
    oneshot: false,
    args: "[-D | -R] [size]",
    oneline: name === "extsize" ? "get/set preferred extent size (in bytes) for the open file" : "get/set preferred extent size (in bytes) for the open file's CoW fork",
    run(io, argv) {
      const g = getopt(argv, "DR");
      const f = io.file;
      if (!g || !f) return io.eprint(`${name} ${def.args} -- ${def.oneline}\n`);
      try {
        const fa = io.sys.fsgetxattr(f.fd);
        if (g.rest.length === 0) {
          io.print(`[${name === "extsize" ? fa.extsize : fa.cowextsize}] ${f.name}\n`);
          return;
        }
        const v = io.num(g.rest[0] as string);
        if (Number.isNaN(v)) return io.print(`non-numeric ${name} argument -- ${g.rest[0]}\n`);
        const xflags = v ? fa.xflags | flag : fa.xflags & ~flag;
        io.sys.fssetxattr(f.fd, name === "extsize" ? { xflags, extsize: v } : { xflags, cowextsize: v });
      } catch (e) {
        io.perror(`${f.name}: XFS_IOC_FS${g.rest.length ? "SET" : "GET"}XATTR`, e);
        io.exitcode = 1;
      }
    },
  };
  return def;
}

const chattr: CmdDef = {
  argmin: 1,
  argmax: -1,
  oneshot: false,
  args: "[-R|-D] [+/-riasAdtPneEfSxC]",
  oneline: "change extended inode flags on the currently open file",
  run(io, argv) {
    const f = io.file;
    if (!f) return;
    let set = 0;
    let clear = 0;
    for (const a of argv.slice(1)) {
      if (a === "-R" || a === "-D") continue;
      const sign = a[0];
      for (const c of a.slice(1)) {
        const e = XFLAG_NAMES.find(([, ch]) => ch === c);
        if (!e || (sign !== "+" && sign !== "-")) return io.eprint(`${argv[0]}: bad chattr command, not +/-${c}\n`);
        if (sign === "+") set |= e[0];
        else clear |= e[0];
      }
    }
    try {
      const fa = io.sys.fsgetxattr(f.fd);
      io.sys.fssetxattr(f.fd, { xflags: (fa.xflags | set) & ~clear });
    } catch (e) {
      io.perror(`${f.name}: cannot set flags`, e);
      io.exitcode = 1;
    }
  },
};

const lsattr: CmdDef = {
  argmin: 0,
  argmax: 1,
  oneshot: false,
  args: "[-R|-D|-a|-v]",
  oneline: "list extended inode flags set on the currently open file",
  run(io, argv) {
    const f = io.file;
    if (!f) return;
    try {
      const fa = io.sys.fsgetxattr(f.fd);
      const v = argv[1] === "-v";
      io.print(v ? `${xflagsText(fa.xflags, true)} ${f.name}\n` : `${xflagsText(fa.xflags, false)} ${f.name}\n`);
    } catch (e) {
      io.perror(`${f.name}: cannot get flags`, e);
      io.exitcode = 1;
    }
  },
};

function fileLine(f: OpenFileEntry, i: number, current: boolean): string {
  const [l, r] = current ? ["[", "]"] : [" ", " "];
  return `${l}${String(i).padStart(3, "0")}${r} ${f.name.padEnd(14)} (xfs,${f.flags & S.O_SYNC ? "sync" : "non-sync"},${f.flags & S.O_DIRECT ? "direct" : "non-direct"},${f.readonly ? "read-only" : "read-write"})\n`;
}

const fileCmd: CmdDef = {
  argmin: 0,
  argmax: 1,
  oneshot: true,
  args: "[N]",
  oneline: "set the current file",
  run(io, argv) {
    const list = io;
    if (argv[1] !== undefined) {
      const n = Number(argv[1]);
      if (!(n >= 0 && n < list.files.length)) return io.print(`value ${argv[1]} is out of range (0-${list.files.length - 1})\n`);
      list.cur = n;
    }
    list.files.forEach((f, i) => io.print(fileLine(f, i, i === list.cur)));
  },
};

const open: CmdDef = {
  argmin: 0,
  argmax: -1,
  oneshot: true,
  args: "[-acdrstxRTPL] [-m mode] [path]",
  oneline: "open the file specified by path",
  run(io, argv) {
    if (argv.length === 1) return fileCmd.run(io, ["file"]);
    const g = getopt(argv, "acdfrstxRTPLm:");
    if (!g || g.rest.length !== 1) return io.eprint(`open ${open.args} -- ${open.oneline}\n`);
    let flags = 0;
    if (g.opts.has("a")) flags |= S.O_APPEND;
    if (g.opts.has("c") || g.opts.has("f")) flags |= S.O_CREAT;
    if (g.opts.has("d")) flags |= S.O_DIRECT;
    if (g.opts.has("s")) flags |= S.O_SYNC;
    if (g.opts.has("t")) flags |= S.O_TRUNC;
    if (!io.openFile(g.rest[0] as string, flags, g.opts.has("r"))) io.exitcode = 1;
  },
};

const close: CmdDef = {
  argmin: 0,
  argmax: 0,
  oneshot: true,
  args: "",
  oneline: "close the current open file",
  run(io) {
    if (!io.file) return io.eprint("no files are open, try 'help open'\n");
    io.closeCurrent();
  },
};

const COMMANDS = new Map<string, CmdDef>([
  ["pwrite", pwrite],
  ["pread", pread],
  ["reflink", reflink],
  ["dedupe", dedupe],
  ["fiemap", fiemap],
  ["mmap", mmap],
  ["mread", mread],
  ["mwrite", mwrite],
  ["msync", msync],
  ["munmap", munmap],
  ["truncate", truncate],
  ["falloc", fallocCmd("falloc", 0, "cikpu", "allocates space associated with part of a file via fallocate")],
  ["fpunch", fallocCmd("fpunch", S.FALLOC_FL_PUNCH_HOLE | S.FALLOC_FL_KEEP_SIZE, "", "de-allocates space associated with part of a file via fallocate")],
  ["fzero", fallocCmd("fzero", S.FALLOC_FL_ZERO_RANGE, "k", "zeroes space and eliminates holes by preallocating")],
  ["fcollapse", fallocCmd("fcollapse", S.FALLOC_FL_COLLAPSE_RANGE, "", "de-allocates space and eliminates the hole by shifting extents")],
  ["finsert", fallocCmd("finsert", S.FALLOC_FL_INSERT_RANGE, "", "creates new space for writing within file by shifting extents")],
  ["funshare", fallocCmd("funshare", S.FALLOC_FL_UNSHARE_RANGE, "", "unshares shared blocks within the range")],
  ["fsync", syncCmd(false)],
  ["fdatasync", syncCmd(true)],
  ["stat", stat],
  ["statx", statx],
  ["extsize", extsizeCmd("extsize", S.FS_XFLAG_EXTSIZE)],
  ["cowextsize", extsizeCmd("cowextsize", S.FS_XFLAG_COWEXTSIZE)],
  ["chattr", chattr],
  ["lsattr", lsattr],
  ["open", open],
  ["close", close],
  ["file", fileCmd],
]);

const ALIASES: Record<string, string> = { w: "pwrite", r: "pread", mm: "mmap", mr: "mread", mw: "mwrite", ms: "msync", mu: "munmap", t: "truncate", s: "fsync", ds: "fdatasync", o: "open", c: "close", f: "file", fa: "fiemap" };

/** Names xfs_io knows (for help and tests). */
export const XFS_IO_COMMANDS: readonly string[] = [...COMMANDS.keys()];

/**
 * Run `xfs_io ARGS…` in `sys`'s process. Returns the exit status; the process has exited
 * when this returns.
 */
export function runXfsIo(args: readonly string[], sys: S.ProcessSys, out: Out, err: Out): number {
  const io = new XfsIo(sys, out, err);
  const cmds: { line: string; once: boolean }[] = [];
  let flags = 0;
  let readonly = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith("-") || a === "-") break;
    if (a === "--") {
      i++;
      break;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (c === "c" || c === "C" || c === "m" || c === "p") {
        const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
        if (v === undefined) {
          err.write(`xfs_io: option requires an argument -- '${c}'\n`);
          sys.exit(1);
          return 1;
        }
        if (c === "c" || c === "C") cmds.push({ line: v, once: c === "C" });
        break;
      }
      if (c === "f") flags |= S.O_CREAT;
      else if (c === "r") readonly = true;
      else if (c === "d") flags |= S.O_DIRECT;
      else if (c === "s") flags |= S.O_SYNC;
      else if (c === "t") flags |= S.O_TRUNC;
      else if (c === "a") flags |= S.O_APPEND;
      else if (!"xinRTV".includes(c)) {
        err.write(`xfs_io: invalid option -- '${c}'\nUsage: xfs_io [-adfinrRstVx] [-m mode] [-p prog] [[-c|-C] cmd]... file\n`);
        sys.exit(1);
        return 1;
      }
    }
  }
  let status = 0;
  try {
    for (const path of args.slice(i)) {
      if (!io.openFile(path, flags, readonly)) {
        sys.exit(1);
        return 1;
      }
    }
    for (const c of cmds) if (!io.command(c.line, c.once)) break;
    status = io.exitcode;
  } catch (e) {
    if (!(e instanceof Killed)) throw e;
    status = 128 + e.signo;
  }
  sys.exit(status);
  return status;
}
