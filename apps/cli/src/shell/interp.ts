/**
 * The shell interpreter: runs a parsed line the way busybox ash runs `sh -c LINE`.
 * Commands are builtins (echo, printf, test, exit, …) or utilities registered by name
 * (the busybox applets in utils.ts, xfs_io, pagelab-*); each gets argv, stdin as bytes,
 * and stdout/stderr writers. Pipelines run their stages one after another, each reading
 * the previous one's whole output (no stage here produces output forever).
 *
 * Simplified: no job control (`&` runs in the foreground), no traps, no functions.
 */
import { KernelError, strerror } from "@pagelab/mm-core";
import type { Command, List, Pipeline, Redirect, Word } from "./ast.js";
import { evalArith } from "./arith.js";
import { type ShellFs, normalizePath } from "./fs.js";
import { ShellSyntaxError, parseShell } from "./parser.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface Out {
  write(data: string | Uint8Array): void;
}

/** Collects bytes; `text()` decodes them. */
export class BufferOut implements Out {
  private chunks: Uint8Array[] = [];
  write(data: string | Uint8Array): void {
    this.chunks.push(typeof data === "string" ? enc.encode(data) : data.slice());
  }
  bytes(): Uint8Array {
    const n = this.chunks.reduce((s, c) => s + c.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
  text(): string {
    return dec.decode(this.bytes());
  }
}

export const nullOut: Out = { write() {} };

export interface CommandContext {
  /** argv[0] is the command name. */
  readonly argv: readonly string[];
  readonly stdin: Uint8Array;
  readonly out: Out;
  readonly err: Out;
  readonly fs: ShellFs;
  readonly env: ReadonlyMap<string, string>;
  readonly shell: Shell;
}

/** A command: returns its exit status (128 + N when killed by signal N). */
export type Utility = (ctx: CommandContext) => number;

class ExitRequest {
  constructor(readonly status: number) {}
}

/** Thrown when a script line runs too long (a loop that never ends). */
export class StepLimitExceeded extends Error {}

export interface ShellOptions {
  readonly fs: ShellFs;
  readonly commands: ReadonlyMap<string, Utility>;
  readonly env?: ReadonlyMap<string, string>;
  /** Loop iterations plus commands allowed per `run()` (default 1e6). */
  readonly stepLimit?: number;
  /** Called for a command name that is neither builtin nor registered. */
  readonly onNotFound?: (name: string) => void;
}

interface Io {
  readonly stdin: Uint8Array;
  readonly out: Out;
  readonly err: Out;
}

export class Shell {
  readonly fs: ShellFs;
  private readonly commands: ReadonlyMap<string, Utility>;
  private readonly baseEnv: ReadonlyMap<string, string>;
  private readonly stepLimit: number;
  private readonly onNotFound: ((name: string) => void) | undefined;
  private steps = 0;

  constructor(opts: ShellOptions) {
    this.fs = opts.fs;
    this.commands = opts.commands;
    this.baseEnv = opts.env ?? new Map();
    this.stepLimit = opts.stepLimit ?? 1_000_000;
    this.onNotFound = opts.onNotFound;
  }

  /** Run `sh -c src` with fresh variables; returns the exit status. */
  run(src: string, out: Out, err: Out, stdin: Uint8Array = new Uint8Array(0)): number {
    this.steps = 0;
    const env = new Map(this.baseEnv);
    env.set("?", "0");
    let list: List;
    try {
      list = parseShell(src);
    } catch (e) {
      if (e instanceof ShellSyntaxError) {
        err.write(`sh: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
    try {
      return this.list(list, env, { stdin, out, err });
    } catch (e) {
      if (e instanceof ExitRequest) return e.status;
      if (e instanceof ShellSyntaxError) {
        err.write(`sh: ${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }

  private step(): void {
    if (++this.steps > this.stepLimit) throw new StepLimitExceeded(`more than ${this.stepLimit} commands and loop iterations`);
  }

  private list(list: List, env: Map<string, string>, io: Io): number {
    let status = Number(env.get("?") ?? 0);
    for (const item of list.items) {
      status = this.pipeline(item.first, env, io);
      for (const { op, pipeline } of item.rest) {
        if ((op === "&&") === (status === 0)) status = this.pipeline(pipeline, env, io);
      }
      env.set("?", String(status));
    }
    return status;
  }

  private pipeline(p: Pipeline, env: Map<string, string>, io: Io): number {
    let stdin = io.stdin;
    let status = 0;
    p.commands.forEach((cmd, i) => {
      const last = i === p.commands.length - 1;
      const buf = last ? undefined : new BufferOut();
      // Every stage but the last runs in a subshell (its variables do not survive).
      const stageEnv = p.commands.length > 1 ? new Map(env) : env;
      status = this.command(cmd, stageEnv, { stdin, out: buf ?? io.out, err: io.err });
      if (buf) stdin = buf.bytes();
    });
    status = p.negate ? (status === 0 ? 1 : 0) : status;
    env.set("?", String(status));
    return status;
  }

  private command(cmd: Command, env: Map<string, string>, io: Io): number {
    this.step();
    const redirected = this.redirect(cmd.redirects, env, io);
    if (typeof redirected === "number") return redirected;
    const { io: rio, finish } = redirected;
    let status = 0;
    try {
      switch (cmd.kind) {
        case "simple":
          status = this.simple(cmd.assigns, cmd.words, env, rio);
          break;
        case "group":
          status = this.list(cmd.body, env, rio);
          break;
        case "subshell":
          try {
            status = this.list(cmd.body, new Map(env), rio);
          } catch (e) {
            if (!(e instanceof ExitRequest)) throw e;
            status = e.status;
          }
          break;
        case "for": {
          const items = cmd.items ? cmd.items.flatMap((w) => this.expand(w, env, rio)) : [];
          for (const item of items) {
            this.step();
            env.set(cmd.name, item);
            status = this.list(cmd.body, env, rio);
          }
          break;
        }
        case "while":
        case "until":
          for (;;) {
            this.step();
            const c = this.list(cmd.cond, env, rio);
            if ((c === 0) !== (cmd.kind === "while")) break;
            status = this.list(cmd.body, env, rio);
          }
          break;
        case "if": {
          let done = false;
          for (const clause of cmd.clauses) {
            if (this.list(clause.cond, env, rio) === 0) {
              status = this.list(clause.body, env, rio);
              done = true;
              break;
            }
          }
          if (!done) status = cmd.otherwise ? this.list(cmd.otherwise, env, rio) : 0;
          break;
        }
      }
    } finally {
      finish();
    }
    return status;
  }

  /** Apply redirections; returns the new io and a `finish` that writes collected output to files. */
  private redirect(redirects: readonly Redirect[], env: Map<string, string>, io: Io): { io: Io; finish: () => void } | number {
    if (redirects.length === 0) return { io, finish: () => {} };
    const fds: (Out | undefined)[] = [undefined, io.out, io.err];
    let stdin = io.stdin;
    const files: { path: string; buf: BufferOut }[] = [];
    for (const r of redirects) {
      const target = this.expand(r.target, env, io).join(" ");
      if (r.op === ">&" || r.op === "<&") {
        if (target === "-") fds[r.fd] = nullOut;
        else if (/^\d+$/.test(target) && fds[Number(target)]) fds[r.fd] = fds[Number(target)];
        else {
          io.err.write(`sh: ${target}: bad file descriptor\n`);
          return 1;
        }
        continue;
      }
      const path = normalizePath(target);
      try {
        if (r.op === "<") {
          stdin = this.fs.readFile(path);
        } else {
          this.fs.writeFile(path, new Uint8Array(0), r.op === ">>");
          const buf = new BufferOut();
          files.push({ path, buf });
          fds[r.fd] = buf;
        }
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        io.err.write(r.op === "<" ? `sh: can't open '${target}': ${strerror(e.code)}\n` : `sh: can't create ${target}: ${strerror(e.code)}\n`);
        return 1;
      }
    }
    return {
      io: { stdin, out: fds[1] ?? nullOut, err: fds[2] ?? nullOut },
      finish: () => {
        for (const f of files) this.fs.writeFile(f.path, f.buf.bytes(), true);
      },
    };
  }

  private simple(assigns: readonly { name: string; value: Word }[], words: readonly Word[], env: Map<string, string>, io: Io): number {
    const argv = words.flatMap((w) => this.expand(w, env, io));
    const values = assigns.map((a) => [a.name, this.expand(a.value, env, io, false).join("")] as const);
    if (argv.length === 0) {
      for (const [k, v] of values) env.set(k, v);
      return words.length > 0 ? Number(env.get("?") ?? 0) : 0;
    }
    const name = argv[0] as string;
    const builtin = this.builtin(name, argv, env, io);
    if (builtin !== undefined) return builtin;
    const utility = this.commands.get(name);
    if (!utility) {
      io.err.write(`sh: ${name}: not found\n`);
      this.onNotFound?.(name);
      return 127;
    }
    const cmdEnv = new Map(env);
    for (const [k, v] of values) cmdEnv.set(k, v);
    try {
      return utility({ argv, stdin: io.stdin, out: io.out, err: io.err, fs: this.fs, env: cmdEnv, shell: this });
    } catch (e) {
      if (e instanceof KernelError) {
        io.err.write(`${name}: ${strerror(e.code)}\n`);
        return 1;
      }
      throw e;
    }
  }

  private builtin(name: string, argv: string[], env: Map<string, string>, io: Io): number | undefined {
    switch (name) {
      case ":":
      case "true":
      case "wait":
        return 0;
      case "false":
        return 1;
      case "exit":
        throw new ExitRequest(argv[1] === undefined ? Number(env.get("?") ?? 0) : Number(argv[1]) & 255);
      case "export":
      case "readonly":
      case "local":
        for (const a of argv.slice(1)) {
          const i = a.indexOf("=");
          if (i > 0) env.set(a.slice(0, i), a.slice(i + 1));
        }
        return 0;
      case "unset":
        for (const a of argv.slice(1)) env.delete(a);
        return 0;
      case "cd":
        return 0;
      case "echo":
        return echo(argv, io.out);
      case "printf":
        return printf(argv, io);
      case "test":
      case "[":
        return test(name === "[" ? argv.slice(1, -1) : argv.slice(1), this.fs, name === "[" && argv[argv.length - 1] !== "]" ? io.err : undefined);
      case "eval":
        return this.list(parseShell(argv.slice(1).join(" ")), env, io);
      default:
        return undefined;
    }
  }

  /** Expand a word into fields: parameters, `$(…)`, `$((…))`, field splitting, globbing. */
  expand(word: Word, env: Map<string, string>, io: Io, split = true): string[] {
    const fields: string[] = [];
    let cur = "";
    let hasCur = false;
    let glob = false;
    const pushSplit = (value: string) => {
      const pieces = value.split(/[ \t\n]+/);
      pieces.forEach((p, i) => {
        if (i > 0 && hasCur) {
          fields.push(cur);
          cur = "";
          hasCur = false;
        }
        if (p !== "") {
          cur += p;
          hasCur = true;
        }
      });
    };
    for (const part of word.parts) {
      let value: string;
      switch (part.kind) {
        case "lit":
          cur += part.text;
          hasCur = true;
          if (!part.quoted && /[*?[]/.test(part.text)) glob = true;
          continue;
        case "param":
          value = this.param(part.name, env);
          break;
        case "cmdsub": {
          const buf = new BufferOut();
          let status: number;
          try {
            status = this.list(parseShell(part.source), new Map(env), { stdin: new Uint8Array(0), out: buf, err: io.err });
          } catch (e) {
            if (!(e instanceof ExitRequest)) throw e;
            status = e.status;
          }
          env.set("?", String(status));
          value = buf.text().replace(/\n+$/, "");
          break;
        }
        case "arith":
          value = evalArith(this.expandText(part.source, env, io), (n) => env.get(n) ?? "").toString();
          break;
      }
      if (part.quoted || !split) {
        cur += value;
        hasCur = true;
      } else pushSplit(value);
    }
    if (hasCur) fields.push(cur);
    if (glob && split) return fields.flatMap((f) => this.glob(f));
    return fields;
  }

  /** Expand `$x` inside an arithmetic expression's source. */
  private expandText(src: string, env: Map<string, string>, io: Io): string {
    if (!src.includes("$")) return src;
    const word = parseShell(`: "${src.replace(/"/g, '\\"')}"`).items[0]?.first.commands[0];
    if (word?.kind !== "simple" || !word.words[1]) return src;
    return this.expand(word.words[1], env, io, false).join("");
  }

  private param(name: string, env: Map<string, string>): string {
    switch (name) {
      case "$":
        return "1";
      case "#":
        return "0";
      case "0":
        return "sh";
      case "@":
      case "*":
      case "!":
        return "";
      default:
        return env.get(name) ?? "";
    }
  }

  private glob(pattern: string): string[] {
    if (!pattern.startsWith("/")) return [pattern];
    let paths = ["/"];
    for (const comp of pattern.split("/").filter(Boolean)) {
      const next: string[] = [];
      for (const dir of paths) {
        if (/[*?[]/.test(comp)) {
          const re = new RegExp(`^${comp.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
          let names: string[] = [];
          try {
            names = this.fs.readdir(dir);
          } catch {
            names = [];
          }
          for (const n of names) if (re.test(n) && (!n.startsWith(".") || comp.startsWith("."))) next.push(dir === "/" ? `/${n}` : `${dir}/${n}`);
        } else next.push(dir === "/" ? `/${comp}` : `${dir}/${comp}`);
      }
      paths = next;
    }
    const found = paths.filter((p) => {
      try {
        this.fs.stat(p);
        return true;
      } catch {
        return false;
      }
    });
    return found.length ? found.sort() : [pattern];
  }
}

function echo(argv: string[], out: Out): number {
  let i = 1;
  let newline = true;
  let escapes = false;
  for (; i < argv.length && /^-[neE]+$/.test(argv[i] as string); i++) {
    for (const c of (argv[i] as string).slice(1)) {
      if (c === "n") newline = false;
      else escapes = c === "e";
    }
  }
  let text = argv.slice(i).join(" ");
  if (escapes) {
    const stop = text.indexOf("\\c");
    if (stop >= 0) {
      text = text.slice(0, stop);
      newline = false;
    }
    text = unescape(text);
  }
  out.write(newline ? `${text}\n` : text);
  return 0;
}

function unescape(s: string): string {
  return s.replace(/\\(0[0-7]{0,3}|x[0-9a-fA-F]{1,2}|.)/g, (_m, e: string) => {
    if (e[0] === "0") return String.fromCharCode(parseInt(e.slice(1) || "0", 8));
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    const map: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\" };
    return map[e] ?? `\\${e}`;
  });
}

function printf(argv: string[], io: Io): number {
  const fmt = argv[1];
  if (fmt === undefined) {
    io.err.write("printf: usage: printf FORMAT [ARG]...\n");
    return 1;
  }
  const args = argv.slice(2);
  let k = 0;
  let out = "";
  do {
    out += fmt.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdiuxXoc%])|\\(0[0-7]{0,3}|.)/g, (m, flags: string, width: string, prec: string | undefined, conv: string | undefined, esc: string | undefined) => {
      if (esc !== undefined) return unescape(m);
      if (conv === "%") return "%";
      const a = args[k++] ?? "";
      let s: string;
      switch (conv) {
        case "s":
          s = prec !== undefined ? a.slice(0, Number(prec)) : a;
          break;
        case "c":
          s = a.slice(0, 1);
          break;
        default: {
          const n = a === "" ? 0n : BigInt(a.startsWith("0x") || a.startsWith("0X") ? a : a.replace(/^\+/, ""));
          s = conv === "x" ? n.toString(16) : conv === "X" ? n.toString(16).toUpperCase() : conv === "o" ? n.toString(8) : n.toString();
          if (flags.includes("#") && n !== 0n && (conv === "x" || conv === "X")) s = `0${conv}${s}`;
        }
      }
      const w = Number(width || 0);
      if (s.length < w) s = flags.includes("-") ? s.padEnd(w) : flags.includes("0") && conv !== "s" ? s.padStart(w, "0") : s.padStart(w);
      return s;
    });
  } while (k > 0 && k < args.length);
  io.out.write(out);
  return 0;
}

function test(args: string[], fs: ShellFs, missingBracket: Out | undefined): number {
  if (missingBracket) {
    missingBracket.write("sh: [: missing ]\n");
    return 2;
  }
  const fileTest = (op: string, path: string): boolean => {
    try {
      const st = fs.stat(path);
      if (op === "-f") return st.type === "file";
      if (op === "-d") return st.type === "dir";
      if (op === "-s") return st.size > 0;
      return true;
    } catch {
      return false;
    }
  };
  const evalOne = (a: string[]): boolean => {
    if (a[0] === "!") return !evalOne(a.slice(1));
    if (a.length === 0) return false;
    if (a.length === 1) return a[0] !== "";
    if (a.length === 2) {
      const [op, v] = a as [string, string];
      if (op === "-z") return v === "";
      if (op === "-n") return v !== "";
      if (["-e", "-f", "-d", "-s"].includes(op)) return fileTest(op, v);
      return false;
    }
    const [l, op, r] = a as [string, string, string];
    switch (op) {
      case "=":
      case "==":
        return l === r;
      case "!=":
        return l !== r;
      case "-eq":
        return Number(l) === Number(r);
      case "-ne":
        return Number(l) !== Number(r);
      case "-lt":
        return Number(l) < Number(r);
      case "-le":
        return Number(l) <= Number(r);
      case "-gt":
        return Number(l) > Number(r);
      case "-ge":
        return Number(l) >= Number(r);
      default:
        return false;
    }
  };
  const ors = splitOn(args, "-o").map((g) => splitOn(g, "-a").every(evalOne));
  return ors.some(Boolean) ? 0 : 1;
}

function splitOn(a: string[], sep: string): string[][] {
  const out: string[][] = [[]];
  for (const x of a) {
    if (x === sep) out.push([]);
    else out[out.length - 1]?.push(x);
  }
  return out;
}
