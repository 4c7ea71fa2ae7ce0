/**
 * A script's machine: @pagelab/kernel booted from the script's `#oracle:` options, each
 * xfs_io invocation one process (spawned, exits at the end), the shell's tree with the
 * simulated filesystem at /mnt (through a shell process's system calls) and a private
 * in-memory tree elsewhere, kernel log marks for `[kmsg]` lines, `remount`.
 */
import { type Machine, type Process, Syscalls, bootMachine, callsOf } from "@pagelab/kernel";
import { type ErrnoName, KernelError, createProcess, errnoName } from "@pagelab/mm-core";
import { type FileStat, type FsStat, MemFs, type ShellFs, normalizePath } from "../shell/fs.js";
import type { MkfsOptions } from "../run/script.js";
import type { ProcessSys } from "../xfsio/sys.js";
import { O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from "../xfsio/sys.js";

/** A syscall result: a value, or -errno thrown as KernelError. */
function ok<T>(r: T | number): T {
  if (typeof r === "number" && r < 0) throw new KernelError((errnoName(-r) ?? "EINVAL") as ErrnoName);
  return r as T;
}

/** End of xfs_io's first mapping in every oracle transcript (Debian 12 glibc, ASLR off). */
export const XFS_IO_MMAP_BASE = 0x7ffff7b06000;

export interface SessionConfig {
  readonly mechanism?: string;
  readonly seed?: number;
  readonly mkfs: MkfsOptions;
  readonly dax: "always" | "never" | "inode";
}

export class KernelSession {
  readonly machine: Machine;
  readonly sys: Syscalls;
  readonly fs: ShellFs;
  private clock = 0;

  constructor(cfg: SessionConfig) {
    this.machine = bootMachine({
      ...(cfg.mechanism ? { mechanism: cfg.mechanism as never } : {}),
      ...(cfg.seed !== undefined ? { seed: cfg.seed } : {}),
      mkfs: cfg.mkfs,
      dax: cfg.dax,
    });
    this.sys = new Syscalls(this.machine);
    this.fs = new MountFs(new MemFs(), this);
  }

  /**
   * A new process with the calls xfs_io uses. Its mmap base is where the oracle's xfs_io
   * (dynamically linked, ASLR off) placed its first mapping's end, so `mmap` listings match.
   */
  spawn(comm: string): ProcessSys {
    const p = this.machine.adopt(createProcess(this.machine.vm, comm, { mmapBase: XFS_IO_MMAP_BASE }));
    return processSys(this, p);
  }

  /** Simulated seconds: advanced a little by every call, so rates are finite. */
  tick(): number {
    this.clock += 0.00001;
    return this.clock;
  }

  kmsgMark(): number {
    return this.machine.dmesg.lastSeq;
  }

  kmsgSince(mark: number): string[] {
    return this.machine.dmesg.since(mark).map((l) => `[kmsg] <${l.level}>${l.text}`);
  }

  remount(): void {
    this.machine.remount();
  }
}

function processSys(session: KernelSession, p: Process): ProcessSys {
  const c = callsOf(session.sys, p);
  return {
    pid: p.pid,
    open: (path, flags, mode) => ok(c.open(path, flags, mode)),
    close: (fd) => void ok(c.close(fd)),
    pread: (fd, buf, off) => ok(c.pread(fd, buf, off)),
    pwrite: (fd, data, off) => ok(c.pwrite(fd, data, off)),
    ftruncate: (fd, len) => void ok(c.ftruncate(fd, len)),
    fallocate: (fd, mode, off, len) => void ok(c.fallocate(fd, mode, off, len)),
    fsync: (fd, datasync) => void ok(datasync ? c.fdatasync(fd) : c.fsync(fd)),
    mmap: (len, prot, flags, fd, offset) => ok(c.mmap({ len, prot, flags, fd, offset })),
    munmap: (addr, len) => void ok(c.munmap(addr, len)),
    msync: (addr, len, flags) => void ok(c.msync(addr, len, flags)),
    madvise: (addr, len, advice) => void ok(c.madvise(addr, len, advice)),
    load: (addr, len) => {
      const r = c.load(addr, len);
      return r.ok ? { ok: true, data: r.data } : { ok: false, signo: r.signal.signo };
    },
    store: (addr, data) => {
      const r = c.store(addr, data);
      return r.ok ? { ok: true, data: r.data } : { ok: false, signo: r.signal.signo };
    },
    clone: (destFd, srcFd, range) => void ok(c.clone(destFd, range ? { srcFd, ...range } : { srcFd })),
    dedupe: (srcFd, srcOffset, len, destFd, destOffset) => {
      const r = ok(c.dedupeRange(srcFd, srcOffset, len, [{ destFd, destOffset }]));
      const d = r[0];
      if (!d) throw new KernelError("EINVAL");
      return { status: d.status, bytesDeduped: d.bytesDeduped };
    },
    fiemap: (fd) => ok(c.fiemap(fd)).map((e) => ({ logical: e.feLogical, physical: e.fePhysical, length: e.feLength, flags: e.feFlags })),
    fsgetxattr: (fd) => ({ projid: 0, ...ok(c.fsGetXattr(fd)) }),
    fssetxattr: (fd, fa) => void ok(c.fsSetXattr(fd, fa)),
    statx: (fd) => {
      const s = ok(c.statx(fd));
      return { ...s, attributesMask: 0x203070 };
    },
    now: () => session.tick(),
    exit: (code) => void c.exit(code),
  };
}

/** The shell's tree: /mnt through system calls of a short-lived process, the rest in memory. */
class MountFs implements ShellFs {
  constructor(
    private readonly mem: MemFs,
    private readonly session: KernelSession,
  ) {}

  private onMnt(path: string): boolean {
    const p = normalizePath(path);
    return p === "/mnt" || p.startsWith("/mnt/");
  }

  private withProc<T>(body: (s: ProcessSys, c: ReturnType<typeof callsOf>) => T): T {
    const p = this.session.machine.spawn("sh");
    const c = callsOf(this.session.sys, p);
    const s = processSys(this.session, p);
    try {
      return body(s, c);
    } finally {
      c.exit(0);
    }
  }

  readFile(path: string): Uint8Array {
    if (!this.onMnt(path)) return this.mem.readFile(path);
    return this.withProc((s) => {
      const fd = s.open(path, O_RDONLY);
      const size = s.statx(fd).size;
      const buf = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const n = s.pread(fd, buf.subarray(done), done);
        if (n <= 0) break;
        done += n;
      }
      s.close(fd);
      return buf.subarray(0, done);
    });
  }

  writeFile(path: string, data: Uint8Array, append: boolean): void {
    if (!this.onMnt(path)) return this.mem.writeFile(path, data, append);
    this.withProc((s) => {
      const fd = s.open(path, O_WRONLY | O_CREAT | (append ? 0 : O_TRUNC), 0o644);
      const at = append ? s.statx(fd).size : 0;
      if (data.length) s.pwrite(fd, data, at);
      s.close(fd);
    });
  }

  stat(path: string): FileStat {
    if (!this.onMnt(path)) return this.mem.stat(path);
    if (normalizePath(path) === "/mnt") return { type: "dir", size: 4096, blocks: 0, ino: 128 };
    return this.withProc((_s, c) => {
      const st = ok(c.statx(normalizePath(path)));
      return { type: (st.mode & 0o170000) === 0o040000 ? "dir" : "file", size: st.size, blocks: st.blocks, ino: st.ino };
    });
  }

  statfs(path: string): FsStat {
    if (!this.onMnt(path)) return this.mem.statfs();
    return this.withProc((_s, c) => {
      const st = ok(c.statfs(normalizePath(path)));
      return { bsize: st.fBsize, blocks: st.fBlocks, bfree: st.fBfree, bavail: st.fBavail, files: st.fFiles, ffree: st.fFfree };
    });
  }

  readdir(path: string): string[] {
    if (!this.onMnt(path)) return this.mem.readdir(path);
    return this.withProc((_s, c) =>
      ok(c.readdir(normalizePath(path)))
        .map((d) => d.dName)
        .filter((n) => n !== "." && n !== ".."),
    );
  }

  unlink(path: string): void {
    if (!this.onMnt(path)) return this.mem.unlink(path);
    this.withProc((_s, c) => ok(c.unlink(normalizePath(path))));
  }

  rmdir(path: string): void {
    if (!this.onMnt(path)) return this.mem.rmdir(path);
    throw new KernelError("EOPNOTSUPP");
  }

  mkdir(path: string): void {
    if (!this.onMnt(path)) return this.mem.mkdir(path);
    this.withProc((_s, c) => ok(c.mkdir(normalizePath(path))));
  }

  rename(from: string, to: string): void {
    if (this.onMnt(from) !== this.onMnt(to)) throw new KernelError("EXDEV");
    if (!this.onMnt(from)) return this.mem.rename(from, to);
    this.withProc((_s, c) => ok(c.rename(normalizePath(from), normalizePath(to))));
  }

  truncate(path: string, size: number): void {
    if (!this.onMnt(path)) return this.mem.truncate(path, size);
    this.withProc((s) => {
      const fd = s.open(path, O_WRONLY | O_CREAT, 0o644);
      s.ftruncate(fd, size);
      s.close(fd);
    });
  }

  reflink(from: string, to: string): void {
    if (!this.onMnt(from) || !this.onMnt(to)) throw new KernelError(this.onMnt(from) !== this.onMnt(to) ? "EXDEV" : "EOPNOTSUPP");
    this.withProc((s) => {
      const src = s.open(from, O_RDONLY);
      const dst = s.open(to, O_RDWR | O_CREAT | O_TRUNC, 0o644);
      try {
        s.clone(dst, src);
      } finally {
        s.close(dst);
        s.close(src);
      }
    });
  }

  sync(): void {
    this.withProc((_s, c) => ok(c.sync()));
  }
}
