/**
 * The busybox 1.35 applets scenario lines use, printing what busybox prints (message
 * texts from its coreutils/*.c and libbb `bb_perror_msg` formats): cat, grep, head, tail,
 * sed, stat, md5sum, od, cp, mv, rm, truncate, sync, ls, wc, seq, touch, mkdir, sleep,
 * tee, sort, uniq, cmp.
 *
 * Simplified: only the options such scripts use; regular expressions are JavaScript's
 * (ERE is close; BRE's `\(`, `\)`, `\{`, `\}`, `\|` are translated).
 */
import { createHash } from "node:crypto";
import { KernelError, strerror } from "@pagelab/mm-core";
import { normalizePath } from "./fs.js";
import type { CommandContext, Utility } from "./interp.js";

const dec = new TextDecoder("latin1");

function errText(e: unknown): string {
  if (e instanceof KernelError) return strerror(e.code);
  throw e;
}

/** Read each operand (or stdin for none / `-`); on failure print `APPLET: can't open 'F': ERR`. */
function inputs(ctx: CommandContext, files: string[], each: (data: Uint8Array, name: string) => void): number {
  let status = 0;
  const name = ctx.argv[0] as string;
  for (const f of files.length ? files : ["-"]) {
    if (f === "-") {
      each(ctx.stdin, f);
      continue;
    }
    try {
      each(ctx.fs.readFile(normalizePath(f)), f);
    } catch (e) {
      const msg = e instanceof KernelError && e.code === "EISDIR" ? `${name}: read error: Is a directory\n` : `${name}: can't open '${f}': ${errText(e)}\n`;
      ctx.err.write(msg);
      status = 1;
    }
  }
  return status;
}

/** Split `-abc`-style options from operands, stopping at `--` or the first operand. */
function getopt(argv: readonly string[], withArg: string): { opts: Map<string, string[]>; rest: string[] } | string {
  const opts = new Map<string, string[]>();
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const k = eq > 0 ? a.slice(0, eq) : a;
      opts.set(k, [...(opts.get(k) ?? []), eq > 0 ? a.slice(eq + 1) : ""]);
      continue;
    }
    if (/^-\d+$/.test(a)) {
      opts.set("-n", [a.slice(1)]);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (withArg.includes(c)) {
        const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
        if (v === undefined) return `option requires an argument -- '${c}'`;
        opts.set(c, [...(opts.get(c) ?? []), v]);
        break;
      }
      opts.set(c, [...(opts.get(c) ?? []), ""]);
    }
  }
  return { opts, rest: argv.slice(i) as string[] };
}

function usage(ctx: CommandContext, msg: string): number {
  ctx.err.write(`${ctx.argv[0]}: ${msg}\n`);
  return 1;
}

function lines(data: Uint8Array): string[] {
  const s = dec.decode(data);
  const ls = s.split("\n");
  if (ls[ls.length - 1] === "") ls.pop();
  return ls;
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Translate a POSIX BRE into a JavaScript pattern. */
function breToJs(re: string): string {
  let out = "";
  for (let i = 0; i < re.length; i++) {
    const c = re[i] as string;
    if (c === "\\" && i + 1 < re.length) {
      const n = re[++i] as string;
      out += "(){}|+?".includes(n) ? n : `\\${n}`;
    } else if ("(){}|+?".includes(c)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

const cat: Utility = (ctx) => inputs(ctx, ctx.argv.slice(1).filter((a) => a !== "-u"), (d) => ctx.out.write(d));

const grep: Utility = (ctx) => {
  const g = getopt(ctx.argv, "e");
  if (typeof g === "string") return usage(ctx, g) * 2;
  const { opts, rest } = g;
  const patterns = opts.get("e") ?? [rest.shift() ?? ""];
  const ere = opts.has("E");
  const src = patterns.map((p) => (opts.has("F") ? p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : ere ? p : breToJs(p)));
  const re = new RegExp(src.join("|"), opts.has("i") ? "i" : "");
  const invert = opts.has("v");
  let matched = false;
  const multi = rest.length > 1;
  const status = inputs(ctx, rest, (data, name) => {
    let count = 0;
    lines(data).forEach((l, i) => {
      const m = opts.has("x") ? new RegExp(`^(?:${re.source})$`, re.flags).test(l) : re.test(l);
      if (m === invert) return;
      count++;
      matched = true;
      if (opts.has("c") || opts.has("q") || opts.has("l")) return;
      const prefix = `${multi ? `${name}:` : ""}${opts.has("n") ? `${i + 1}:` : ""}`;
      ctx.out.write(latin1(`${prefix}${l}\n`));
    });
    if (opts.has("c")) ctx.out.write(`${multi ? `${name}:` : ""}${count}\n`);
    if (opts.has("l") && count) ctx.out.write(`${name}\n`);
  });
  if (status && !opts.has("s")) return 2;
  return matched ? 0 : 1;
};

function countOpt(opts: Map<string, string[]>): string {
  return opts.get("n")?.at(-1) ?? opts.get("-n")?.at(-1) ?? "10";
}

const head: Utility = (ctx) => {
  const g = getopt(ctx.argv, "nc");
  if (typeof g === "string") return usage(ctx, g);
  const n = Number(countOpt(g.opts));
  return inputs(ctx, g.rest, (d) => {
    if (g.opts.has("c")) ctx.out.write(d.subarray(0, Number(g.opts.get("c")?.at(-1))));
    else ctx.out.write(latin1(lines(d).slice(0, n).map((l) => `${l}\n`).join("")));
  });
};

const tail: Utility = (ctx) => {
  const g = getopt(ctx.argv, "nc");
  if (typeof g === "string") return usage(ctx, g);
  const spec = countOpt(g.opts);
  return inputs(ctx, g.rest, (d) => {
    const ls = lines(d);
    const sel = spec.startsWith("+") ? ls.slice(Math.max(0, Number(spec.slice(1)) - 1)) : ls.slice(Math.max(0, ls.length - Number(spec)));
    ctx.out.write(latin1(sel.map((l) => `${l}\n`).join("")));
  });
};

type SedCmd = { addr?: number | "$" | RegExp; op: "s"; re: RegExp; repl: string; print: boolean } | { addr?: number | "$" | RegExp; op: "d" | "p" | "q" };

function parseSed(script: string): SedCmd[] | string {
  const cmds: SedCmd[] = [];
  let i = 0;
  const s = script;
  while (i < s.length) {
    while (i < s.length && /[\s;]/.test(s[i] as string)) i++;
    if (i >= s.length) break;
    let addr: number | "$" | RegExp | undefined;
    const num = /^\d+/.exec(s.slice(i));
    if (num) {
      addr = Number(num[0]);
      i += num[0].length;
    } else if (s[i] === "$") {
      addr = "$";
      i++;
    } else if (s[i] === "/") {
      const end = s.indexOf("/", i + 1);
      if (end < 0) return "unterminated address regex";
      addr = new RegExp(breToJs(s.slice(i + 1, end)));
      i = end + 1;
    }
    const op = s[i++];
    if (op === "s") {
      const d = s[i++] as string;
      const fields: string[] = [];
      let cur = "";
      while (i < s.length && fields.length < 2) {
        const c = s[i] as string;
        if (c === "\\" && s[i + 1] === d) {
          cur += d;
          i += 2;
        } else if (c === "\\") {
          cur += c + (s[i + 1] ?? "");
          i += 2;
        } else if (c === d) {
          fields.push(cur);
          cur = "";
          i++;
        } else {
          cur += c;
          i++;
        }
      }
      if (fields.length < 2) return `unterminated 's' command`;
      let flags = "";
      while (i < s.length && /[gpI0-9]/.test(s[i] as string)) flags += s[i++];
      const repl = (fields[1] as string).replace(/\\(\d)/g, "$$$1").replace(/(^|[^\\])&/g, "$1$$&").replace(/\\&/g, "&").replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
      const re = new RegExp(breToJs(fields[0] as string), (flags.includes("g") ? "g" : "") + (flags.includes("I") ? "i" : ""));
      cmds.push({ ...(addr !== undefined ? { addr } : {}), op: "s", re, repl, print: flags.includes("p") });
    } else if (op === "d" || op === "p" || op === "q") cmds.push({ ...(addr !== undefined ? { addr } : {}), op });
    else return `unsupported command ${op ?? ""}`;
  }
  return cmds;
}

const sed: Utility = (ctx) => {
  const g = getopt(ctx.argv, "e");
  if (typeof g === "string") return usage(ctx, g);
  const scripts = g.opts.get("e") ?? [g.rest.shift() ?? ""];
  const prog = parseSed(scripts.join("\n"));
  if (typeof prog === "string") return usage(ctx, `-e expression #1: ${prog}`);
  const quiet = g.opts.has("n");
  return inputs(ctx, g.rest, (d) => {
    const ls = lines(d);
    let out = "";
    for (let n = 0; n < ls.length; n++) {
      let line = ls[n] as string;
      let deleted = false;
      let quit = false;
      for (const c of prog) {
        const a = c.addr;
        if (a !== undefined && !(a === "$" ? n === ls.length - 1 : typeof a === "number" ? a === n + 1 : a.test(line))) continue;
        if (c.op === "s") {
          const before = line;
          line = line.replace(c.re, c.repl);
          if (c.print && line !== before) out += `${line}\n`;
        } else if (c.op === "p") out += `${line}\n`;
        else if (c.op === "d") {
          deleted = true;
          break;
        } else quit = true;
      }
      if (!deleted && !quiet) out += `${line}\n`;
      if (quit) break;
    }
    ctx.out.write(latin1(out));
  });
};

const FILE_TYPE: Record<string, string> = { file: "regular file", dir: "directory", chr: "character special file" };

const stat: Utility = (ctx) => {
  const g = getopt(ctx.argv, "c");
  if (typeof g === "string") return usage(ctx, g);
  const fmt = g.opts.get("c")?.at(-1);
  if (fmt === undefined) return usage(ctx, "only 'stat -c FORMAT' and 'stat -f -c FORMAT' are supported here");
  let status = 0;
  for (const f of g.rest) {
    try {
      let line: string;
      if (g.opts.has("f")) {
        const s = ctx.fs.statfs(normalizePath(f));
        const v: Record<string, string> = { n: f, b: String(s.blocks), f: String(s.bfree), a: String(s.bavail), c: String(s.files), d: String(s.ffree), s: String(s.bsize), S: String(s.bsize), "%": "%" };
        line = fmt.replace(/%(.)/g, (m, k: string) => v[k] ?? m);
      } else {
        const s = ctx.fs.stat(normalizePath(f));
        const v: Record<string, string> = { n: f, s: String(s.size), b: String(s.blocks), B: "512", i: String(s.ino), F: FILE_TYPE[s.type] ?? s.type, "%": "%" };
        line = fmt.replace(/%(.)/g, (m, k: string) => v[k] ?? m);
      }
      ctx.out.write(`${line}\n`);
    } catch (e) {
      ctx.err.write(`stat: can't ${g.opts.has("f") ? "read file system information for" : "stat"} '${f}': ${errText(e)}\n`);
      status = 1;
    }
  }
  return status;
};

const md5sum: Utility = (ctx) =>
  inputs(ctx, ctx.argv.slice(1), (d, name) => ctx.out.write(`${createHash("md5").update(d).digest("hex")}  ${name}\n`));

const OD_CHAR: Record<number, string> = { 0: "\\0", 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r" };

function odFormat(type: string, chunk: Uint8Array): string {
  switch (type) {
    case "x1":
      return [...chunk].map((b) => ` ${b.toString(16).padStart(2, "0")}`).join("");
    case "o1":
      return [...chunk].map((b) => ` ${b.toString(8).padStart(3, "0")}`).join("");
    case "u1":
      return [...chunk].map((b) => ` ${String(b).padStart(3)}`).join("");
    case "d1":
      return [...chunk].map((b) => ` ${String(b > 127 ? b - 256 : b).padStart(4)}`).join("");
    case "c":
      return [...chunk]
        .map((b) => {
          const s = OD_CHAR[b] ?? (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : b.toString(8).padStart(3, "0"));
          return s.padStart(4);
        })
        .join("");
    case "x2":
    case "o2": {
      let s = "";
      for (let i = 0; i < chunk.length; i += 2) {
        const v = (chunk[i] ?? 0) | ((chunk[i + 1] ?? 0) << 8);
        s += type === "x2" ? ` ${v.toString(16).padStart(4, "0")}` : ` ${v.toString(8).padStart(6, "0")}`;
      }
      return s;
    }
    default: {
      let s = "";
      for (let i = 0; i < chunk.length; i += 4) {
        const v = ((chunk[i] ?? 0) | ((chunk[i + 1] ?? 0) << 8) | ((chunk[i + 2] ?? 0) << 16) | ((chunk[i + 3] ?? 0) << 24)) >>> 0;
        s += ` ${v.toString(16).padStart(8, "0")}`;
      }
      return s;
    }
  }
}

const od: Utility = (ctx) => {
  const g = getopt(ctx.argv, "Atjn");
  if (typeof g === "string") return usage(ctx, g);
  const radix = g.opts.get("A")?.at(-1) ?? "o";
  const type = g.opts.get("t")?.at(-1) ?? "o2";
  if (!["d", "o", "x", "n"].includes(radix)) return usage(ctx, `bad -A argument '${radix}'`);
  if (!["x1", "o1", "u1", "d1", "c", "x2", "o2", "x4"].includes(type)) return usage(ctx, `invalid type string '${type}'`);
  const verbose = g.opts.has("v");
  const parts: Uint8Array[] = [];
  const status = inputs(ctx, g.rest, (d) => parts.push(d));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const addr = (n: number): string => (radix === "n" ? "" : radix === "d" ? String(n).padStart(7, "0") : radix === "x" ? n.toString(16).padStart(6, "0") : n.toString(8).padStart(7, "0"));
  let out = "";
  let prev: string | undefined;
  let starred = false;
  for (let off = 0; off < data.length; off += 16) {
    const chunk = data.subarray(off, off + 16);
    const body = odFormat(type, chunk);
    if (!verbose && chunk.length === 16 && body === prev) {
      if (!starred) out += "*\n";
      starred = true;
      continue;
    }
    starred = false;
    prev = body;
    out += `${addr(off)}${body}\n`;
  }
  if (radix !== "n") out += `${addr(data.length)}\n`;
  ctx.out.write(out);
  return status;
};

const cp: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  const reflink = g.opts.get("--reflink")?.at(-1);
  if (g.rest.length !== 2) return usage(ctx, "only 'cp [--reflink[=always]] SRC DEST' is supported here");
  const [src, dstArg] = g.rest as [string, string];
  let dst = normalizePath(dstArg);
  try {
    if (ctx.fs.stat(dst).type === "dir") dst = `${dst}/${src.split("/").pop()}`;
  } catch {
    // dst does not exist yet
  }
  try {
    ctx.fs.stat(normalizePath(src));
  } catch (e) {
    ctx.err.write(`cp: can't stat '${src}': ${errText(e)}\n`);
    return 1;
  }
  if (reflink === "always" || reflink === "") {
    try {
      ctx.fs.reflink(normalizePath(src), dst);
      return 0;
    } catch (e) {
      ctx.err.write(`cp: failed to clone '${dstArg}' from '${src}': ${errText(e)}\n`);
      return 1;
    }
  }
  try {
    ctx.fs.writeFile(dst, ctx.fs.readFile(normalizePath(src)), false);
    return 0;
  } catch (e) {
    ctx.err.write(`cp: can't create '${dstArg}': ${errText(e)}\n`);
    return 1;
  }
};

const mv: Utility = (ctx) => {
  const [src, dst] = ctx.argv.slice(1);
  if (!src || !dst) return usage(ctx, "usage: mv SRC DEST");
  try {
    ctx.fs.rename(normalizePath(src), normalizePath(dst));
    return 0;
  } catch (e) {
    ctx.err.write(`mv: can't rename '${src}': ${errText(e)}\n`);
    return 1;
  }
};

const rm: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  const force = g.opts.has("f");
  const recursive = g.opts.has("r") || g.opts.has("R");
  let status = 0;
  const remove = (p: string): void => {
    if (recursive && ctx.fs.stat(p).type === "dir") {
      for (const n of ctx.fs.readdir(p)) remove(`${p}/${n}`);
      ctx.fs.rmdir(p);
    } else ctx.fs.unlink(p);
  };
  for (const f of g.rest) {
    try {
      remove(normalizePath(f));
    } catch (e) {
      if (force && e instanceof KernelError && e.code === "ENOENT") continue;
      ctx.err.write(`rm: can't remove '${f}': ${errText(e)}\n`);
      status = 1;
    }
  }
  return status;
};

/** `truncate -s` sizes: K/M/G (1024) and KB/MB/GB (1000) suffixes, `+`/`-` relative. */
function parseSize(s: string): { rel: "" | "+" | "-"; n: number } | undefined {
  const m = /^([+-]?)(\d+)(K|M|G|T|KB|MB|GB|k|m|g)?$/.exec(s);
  if (!m) return undefined;
  const mult: Record<string, number> = { K: 1024, k: 1024, M: 1024 ** 2, m: 1024 ** 2, G: 1024 ** 3, g: 1024 ** 3, T: 1024 ** 4, KB: 1000, MB: 1e6, GB: 1e9 };
  return { rel: m[1] as "" | "+" | "-", n: Number(m[2]) * (m[3] ? (mult[m[3]] ?? 1) : 1) };
}

const truncate: Utility = (ctx) => {
  const g = getopt(ctx.argv, "s");
  if (typeof g === "string") return usage(ctx, g);
  const spec = g.opts.get("s")?.at(-1);
  const size = spec === undefined ? undefined : parseSize(spec);
  if (!size) return usage(ctx, spec === undefined ? "you must specify -s SIZE" : `invalid number '${spec}'`);
  let status = 0;
  for (const f of g.rest) {
    const p = normalizePath(f);
    try {
      let cur = 0;
      try {
        cur = ctx.fs.stat(p).size;
      } catch (e) {
        if (g.opts.has("c")) continue;
        if (!(e instanceof KernelError) || e.code !== "ENOENT") throw e;
      }
      const n = size.rel === "+" ? cur + size.n : size.rel === "-" ? Math.max(0, cur - size.n) : size.n;
      ctx.fs.truncate(p, n);
    } catch (e) {
      ctx.err.write(`truncate: ${f}: ${errText(e)}\n`);
      status = 1;
    }
  }
  return status;
};

const sync: Utility = (ctx) => {
  ctx.fs.sync();
  return 0;
};

const ls: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  if (g.opts.has("l")) return usage(ctx, "-l is not supported (times are not simulated)");
  let status = 0;
  const targets = g.rest.length ? g.rest : ["."];
  const files: string[] = [];
  const dirs: string[] = [];
  for (const t of targets) {
    try {
      (ctx.fs.stat(normalizePath(t)).type === "dir" ? dirs : files).push(t);
    } catch (e) {
      ctx.err.write(`ls: ${t}: ${errText(e)}\n`);
      status = 2;
    }
  }
  let out = files.sort().map((f) => `${f}\n`).join("");
  dirs.sort().forEach((d, i) => {
    if (targets.length > 1) out += `${out || i > 0 ? "\n" : ""}${d}:\n`;
    const names = ctx.fs.readdir(normalizePath(d)).filter((n) => g.opts.has("a") || !n.startsWith("."));
    out += names.map((n) => `${n}\n`).join("");
  });
  ctx.out.write(out);
  return status;
};

const wc: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  const sel = ["l", "w", "c"].filter((k) => g.opts.has(k));
  const show = sel.length ? sel : ["l", "w", "c"];
  return inputs(ctx, g.rest, (d, name) => {
    const text = dec.decode(d);
    const v: Record<string, number> = { l: (text.match(/\n/g) ?? []).length, w: text.split(/\s+/).filter(Boolean).length, c: d.length };
    const cols = show.map((k) => (show.length === 1 && name === "-" ? String(v[k]) : String(v[k]).padStart(7)));
    ctx.out.write(`${cols.join(" ")}${name === "-" ? "" : ` ${name}`}\n`);
  });
};

const seq: Utility = (ctx) => {
  const nums = ctx.argv.slice(1).map(Number);
  if (nums.length < 1 || nums.length > 3 || nums.some(Number.isNaN)) return usage(ctx, "usage: seq [FIRST [INC]] LAST");
  const [first, inc, last] = nums.length === 1 ? [1, 1, nums[0] as number] : nums.length === 2 ? [nums[0] as number, 1, nums[1] as number] : (nums as [number, number, number]);
  if (inc === 0) return usage(ctx, "increment must not be 0");
  let out = "";
  for (let i = first; inc > 0 ? i <= last : i >= last; i += inc) out += `${i}\n`;
  ctx.out.write(out);
  return 0;
};

const touch: Utility = (ctx) => {
  let status = 0;
  for (const f of ctx.argv.slice(1).filter((a) => !a.startsWith("-"))) {
    const p = normalizePath(f);
    try {
      ctx.fs.stat(p);
    } catch {
      try {
        ctx.fs.writeFile(p, new Uint8Array(0), true);
      } catch (e) {
        ctx.err.write(`touch: ${f}: ${errText(e)}\n`);
        status = 1;
      }
    }
  }
  return status;
};

const mkdir: Utility = (ctx) => {
  const g = getopt(ctx.argv, "m");
  if (typeof g === "string") return usage(ctx, g);
  let status = 0;
  for (const f of g.rest) {
    try {
      ctx.fs.mkdir(normalizePath(f));
    } catch (e) {
      if (g.opts.has("p") && e instanceof KernelError && e.code === "EEXIST") continue;
      ctx.err.write(`mkdir: can't create directory '${f}': ${errText(e)}\n`);
      status = 1;
    }
  }
  return status;
};

const tee: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  for (const f of g.rest) ctx.fs.writeFile(normalizePath(f), ctx.stdin, g.opts.has("a"));
  ctx.out.write(ctx.stdin);
  return 0;
};

const sort: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  const all: string[] = [];
  const status = inputs(ctx, g.rest, (d) => all.push(...lines(d)));
  let sorted = g.opts.has("n") ? all.sort((a, b) => parseFloat(a) - parseFloat(b) || (a < b ? -1 : a > b ? 1 : 0)) : all.sort();
  if (g.opts.has("r")) sorted = sorted.reverse();
  if (g.opts.has("u")) sorted = sorted.filter((l, i) => i === 0 || l !== sorted[i - 1]);
  ctx.out.write(latin1(sorted.map((l) => `${l}\n`).join("")));
  return status;
};

const uniq: Utility = (ctx) => {
  const g = getopt(ctx.argv, "");
  if (typeof g === "string") return usage(ctx, g);
  return inputs(ctx, g.rest, (d) => {
    const groups: { line: string; n: number }[] = [];
    for (const l of lines(d)) {
      const last = groups[groups.length - 1];
      if (last && last.line === l) last.n++;
      else groups.push({ line: l, n: 1 });
    }
    ctx.out.write(latin1(groups.map((x) => (g.opts.has("c") ? `${String(x.n).padStart(7)} ${x.line}\n` : `${x.line}\n`)).join("")));
  });
};

const cmp: Utility = (ctx) => {
  const [a, b] = ctx.argv.slice(1).filter((x) => !x.startsWith("-"));
  if (!a || !b) return usage(ctx, "usage: cmp FILE1 FILE2");
  let da: Uint8Array;
  let db: Uint8Array;
  try {
    da = ctx.fs.readFile(normalizePath(a));
    db = ctx.fs.readFile(normalizePath(b));
  } catch (e) {
    ctx.err.write(`cmp: can't open: ${errText(e)}\n`);
    return 2;
  }
  const n = Math.min(da.length, db.length);
  let line = 1;
  for (let i = 0; i < n; i++) {
    if (da[i] !== db[i]) {
      if (!ctx.argv.includes("-s")) ctx.out.write(`${a} ${b} differ: char ${i + 1}, line ${line}\n`);
      return 1;
    }
    if (da[i] === 10) line++;
  }
  if (da.length !== db.length) {
    ctx.err.write(`cmp: EOF on ${da.length < db.length ? a : b}\n`);
    return 1;
  }
  return 0;
};

const sleep: Utility = () => 0;

/** The applets by name. */
export const busyboxApplets: ReadonlyMap<string, Utility> = new Map<string, Utility>([
  ["cat", cat],
  ["grep", grep],
  ["egrep", (ctx) => grep({ ...ctx, argv: ["grep", "-E", ...ctx.argv.slice(1)] })],
  ["head", head],
  ["tail", tail],
  ["sed", sed],
  ["stat", stat],
  ["md5sum", md5sum],
  ["od", od],
  ["cp", cp],
  ["mv", mv],
  ["rm", rm],
  ["truncate", truncate],
  ["sync", sync],
  ["ls", ls],
  ["wc", wc],
  ["seq", seq],
  ["touch", touch],
  ["mkdir", mkdir],
  ["tee", tee],
  ["sort", sort],
  ["uniq", uniq],
  ["cmp", cmp],
  ["sleep", sleep],
]);
