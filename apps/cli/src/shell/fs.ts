/**
 * The file tree a script's shell sees: a private in-memory tree for everything but the
 * simulated filesystem, which the machine mounts at /mnt (see machine/mountfs.ts).
 * Failures throw `KernelError` with the errno the real system call gives.
 *
 * Simplified: no permissions, owners, times, symlinks or hard links.
 */
import { KernelError } from "@pagelab/mm-core";

export interface FileStat {
  readonly type: "file" | "dir" | "chr";
  readonly size: number;
  /** 512-byte blocks allocated (`st_blocks`). */
  readonly blocks: number;
  readonly ino: number;
}

export interface FsStat {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
}

export interface ShellFs {
  readFile(path: string): Uint8Array;
  writeFile(path: string, data: Uint8Array, append: boolean): void;
  stat(path: string): FileStat;
  statfs(path: string): FsStat;
  readdir(path: string): string[];
  unlink(path: string): void;
  rmdir(path: string): void;
  mkdir(path: string): void;
  rename(from: string, to: string): void;
  /** `truncate -s`: creates the file when missing. */
  truncate(path: string, size: number): void;
  /** `cp --reflink=always`: FICLONE into a created/truncated `to`. */
  reflink(from: string, to: string): void;
  sync(): void;
}

/** Normalise an absolute path: collapse `//`, `.` and `..`. */
export function normalizePath(path: string, cwd = "/"): string {
  const parts: string[] = [];
  for (const p of (path.startsWith("/") ? path : `${cwd}/${path}`).split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return `/${parts.join("/")}`;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

type Node = { kind: "file"; data: Uint8Array; ino: number } | { kind: "dir"; ino: number } | { kind: "null"; ino: number };

/** The in-memory tree: `/`, `/tmp`, `/dev/null`, `/dev/zero` is not provided. */
export class MemFs implements ShellFs {
  private readonly nodes = new Map<string, Node>();
  private nextIno = 2;

  constructor() {
    for (const d of ["/", "/tmp", "/dev", "/mnt", "/proc"]) this.nodes.set(d, { kind: "dir", ino: this.nextIno++ });
    this.nodes.set("/dev/null", { kind: "null", ino: this.nextIno++ });
  }

  private node(path: string): Node {
    const n = this.nodes.get(normalizePath(path));
    if (!n) {
      const parent = this.nodes.get(parentOf(normalizePath(path)));
      throw new KernelError(parent && parent.kind !== "dir" ? "ENOTDIR" : "ENOENT");
    }
    return n;
  }

  private dirMustExist(path: string): void {
    const p = this.nodes.get(parentOf(path));
    if (!p) throw new KernelError("ENOENT");
    if (p.kind !== "dir") throw new KernelError("ENOTDIR");
  }

  readFile(path: string): Uint8Array {
    const n = this.node(path);
    if (n.kind === "dir") throw new KernelError("EISDIR");
    return n.kind === "null" ? new Uint8Array(0) : n.data.slice();
  }

  writeFile(path: string, data: Uint8Array, append: boolean): void {
    const p = normalizePath(path);
    const n = this.nodes.get(p);
    if (n?.kind === "null") return;
    if (n?.kind === "dir") throw new KernelError("EISDIR");
    if (!n) this.dirMustExist(p);
    const old = n && append ? n.data : new Uint8Array(0);
    const out = new Uint8Array(old.length + data.length);
    out.set(old);
    out.set(data, old.length);
    this.nodes.set(p, { kind: "file", data: out, ino: n?.ino ?? this.nextIno++ });
  }

  stat(path: string): FileStat {
    const n = this.node(path);
    if (n.kind === "dir") return { type: "dir", size: 40, blocks: 0, ino: n.ino };
    if (n.kind === "null") return { type: "chr", size: 0, blocks: 0, ino: n.ino };
    return { type: "file", size: n.data.length, blocks: Math.ceil(n.data.length / 4096) * 8, ino: n.ino };
  }

  statfs(): FsStat {
    let used = 0;
    for (const n of this.nodes.values()) if (n.kind === "file") used += Math.ceil(n.data.length / 4096);
    const blocks = 65536;
    return { bsize: 4096, blocks, bfree: blocks - used, bavail: blocks - used, files: 65536, ffree: 65536 - this.nodes.size };
  }

  readdir(path: string): string[] {
    const p = normalizePath(path);
    if (this.node(p).kind !== "dir") throw new KernelError("ENOTDIR");
    const prefix = p === "/" ? "/" : `${p}/`;
    const out: string[] = [];
    for (const k of this.nodes.keys()) {
      if (k !== p && k.startsWith(prefix) && !k.slice(prefix.length).includes("/")) out.push(k.slice(prefix.length));
    }
    return out.sort();
  }

  unlink(path: string): void {
    const n = this.node(path);
    if (n.kind === "dir") throw new KernelError("EISDIR");
    this.nodes.delete(normalizePath(path));
  }

  rmdir(path: string): void {
    const p = normalizePath(path);
    if (this.node(p).kind !== "dir") throw new KernelError("ENOTDIR");
    if (this.readdir(p).length > 0) throw new KernelError("ENOTEMPTY");
    this.nodes.delete(p);
  }

  mkdir(path: string): void {
    const p = normalizePath(path);
    if (this.nodes.has(p)) throw new KernelError("EEXIST");
    this.dirMustExist(p);
    this.nodes.set(p, { kind: "dir", ino: this.nextIno++ });
  }

  rename(from: string, to: string): void {
    const f = normalizePath(from);
    const n = this.node(f);
    const t = normalizePath(to);
    this.dirMustExist(t);
    this.nodes.delete(f);
    this.nodes.set(t, n);
  }

  truncate(path: string, size: number): void {
    const p = normalizePath(path);
    const n = this.nodes.get(p);
    if (n && n.kind !== "file") throw new KernelError(n.kind === "dir" ? "EISDIR" : "EINVAL");
    if (!n) this.dirMustExist(p);
    const data = new Uint8Array(size);
    if (n) data.set(n.data.subarray(0, size));
    this.nodes.set(p, { kind: "file", data, ino: n?.ino ?? this.nextIno++ });
  }

  reflink(): void {
    throw new KernelError("EOPNOTSUPP");
  }

  sync(): void {}
}
