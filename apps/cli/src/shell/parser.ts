/**
 * Lexer and recursive-descent parser for the shell subset in ast.ts, following the
 * POSIX shell grammar (XCU 2.10) as busybox ash implements it.
 *
 * Words keep their quoting so expansion can decide what is field-split; `$(…)` and
 * `$((…))` keep their source text and are parsed when expanded.
 */
import type { AndOr, Command, List, Pipeline, Redirect, Word, WordPart } from "./ast.js";

export class ShellSyntaxError extends Error {}

type Token =
  | { readonly t: "word"; readonly word: Word; readonly plain: string | undefined }
  | { readonly t: "op"; readonly op: string; readonly fd?: number }
  | { readonly t: "nl" }
  | { readonly t: "eof" };

const META = new Set([" ", "\t", "\n", ";", "&", "|", "(", ")", "<", ">"]);
const RESERVED = new Set(["if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "{", "}", "!"]);

/** Index just past the `)` closing a `(` at `start - 1`, skipping quotes and nested parens. */
function matchParen(src: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < src.length) {
    const c = src[i];
    if (c === "\\") i += 2;
    else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError("unterminated quoted string");
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === "\\" ? 2 : 1;
      if (i >= src.length) throw new ShellSyntaxError("unterminated quoted string");
      i++;
    } else {
      if (c === "(") depth++;
      else if (c === ")" && --depth === 0) return i + 1;
      i++;
    }
  }
  throw new ShellSyntaxError("missing ')'");
}

class Lexer {
  private pos = 0;
  private peeked: Token | undefined;

  constructor(private readonly src: string) {}

  peek(): Token {
    this.peeked ??= this.next();
    return this.peeked;
  }

  take(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private next(): Token {
    const s = this.src;
    for (;;) {
      while (this.pos < s.length && (s[this.pos] === " " || s[this.pos] === "\t")) this.pos++;
      if (s[this.pos] === "\\" && s[this.pos + 1] === "\n") {
        this.pos += 2;
        continue;
      }
      if (s[this.pos] === "#") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      }
      break;
    }
    if (this.pos >= s.length) return { t: "eof" };
    const c = s[this.pos] as string;
    if (c === "\n") {
      this.pos++;
      return { t: "nl" };
    }
    for (const op of ["&&", "||", ";;", ">>", ">&", "<&", ";", "&", "|", "(", ")", ">", "<"]) {
      if (s.startsWith(op, this.pos)) {
        this.pos += op.length;
        return { t: "op", op };
      }
    }
    const start = this.pos;
    const word = this.readWord();
    const raw = s.slice(start, this.pos);
    if (/^\d+$/.test(raw) && (s[this.pos] === ">" || s[this.pos] === "<")) {
      const op = s.startsWith(">>", this.pos) || s.startsWith(">&", this.pos) || s.startsWith("<&", this.pos) ? s.slice(this.pos, this.pos + 2) : (s[this.pos] as string);
      this.pos += op.length;
      return { t: "op", op, fd: Number(raw) };
    }
    const plain = word.parts.length === 1 && word.parts[0]?.kind === "lit" && !word.parts[0].quoted ? word.parts[0].text : undefined;
    return { t: "word", word, plain };
  }

  private readWord(): Word {
    const s = this.src;
    const parts: WordPart[] = [];
    let lit = "";
    let litQuoted = false;
    const flush = () => {
      if (lit) parts.push({ kind: "lit", text: lit, quoted: litQuoted });
      lit = "";
    };
    const addLit = (text: string, quoted: boolean) => {
      if (lit && litQuoted !== quoted) flush();
      litQuoted = quoted;
      lit += text;
    };
    const dollar = (quoted: boolean) => {
      // at s[pos] === "$"
      const n = s[this.pos + 1];
      if (n === "(" && s[this.pos + 2] === "(") {
        const end = matchParen(s, this.pos + 2);
        if (s[end - 2] !== ")") throw new ShellSyntaxError("missing '))'");
        flush();
        parts.push({ kind: "arith", source: s.slice(this.pos + 3, end - 2), quoted });
        this.pos = end;
      } else if (n === "(") {
        const end = matchParen(s, this.pos + 2);
        flush();
        parts.push({ kind: "cmdsub", source: s.slice(this.pos + 2, end - 1), quoted });
        this.pos = end;
      } else if (n === "{") {
        const end = s.indexOf("}", this.pos + 2);
        if (end < 0) throw new ShellSyntaxError("missing '}'");
        const name = s.slice(this.pos + 2, end);
        if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?#$!@*])$/.test(name)) throw new ShellSyntaxError(`\${${name}}: bad substitution`);
        flush();
        parts.push({ kind: "param", name, quoted });
        this.pos = end + 1;
      } else {
        const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9?#$!@*])/.exec(s.slice(this.pos + 1));
        if (m) {
          flush();
          parts.push({ kind: "param", name: m[1] as string, quoted });
          this.pos += 1 + (m[1] as string).length;
        } else {
          addLit("$", quoted);
          this.pos++;
        }
      }
    };
    while (this.pos < s.length) {
      const c = s[this.pos] as string;
      if (META.has(c)) break;
      if (c === "\\") {
        if (s[this.pos + 1] === "\n") this.pos += 2;
        else {
          addLit(s[this.pos + 1] ?? "", true);
          this.pos += 2;
        }
      } else if (c === "'") {
        const end = s.indexOf("'", this.pos + 1);
        if (end < 0) throw new ShellSyntaxError("unterminated quoted string");
        const text = s.slice(this.pos + 1, end);
        if (text) addLit(text, true);
        else {
          flush();
          parts.push({ kind: "lit", text: "", quoted: true });
        }
        this.pos = end + 1;
      } else if (c === '"') {
        this.pos++;
        let any = false;
        while (this.pos < s.length && s[this.pos] !== '"') {
          const d = s[this.pos] as string;
          any = true;
          if (d === "\\" && '$`"\\\n'.includes(s[this.pos + 1] ?? "")) {
            if (s[this.pos + 1] !== "\n") addLit(s[this.pos + 1] as string, true);
            this.pos += 2;
          } else if (d === "$") dollar(true);
          else if (d === "`") this.backtick(parts, flush, true);
          else {
            addLit(d, true);
            this.pos++;
          }
        }
        if (this.pos >= s.length) throw new ShellSyntaxError("unterminated quoted string");
        this.pos++;
        if (!any) {
          flush();
          parts.push({ kind: "lit", text: "", quoted: true });
        }
      } else if (c === "$") dollar(false);
      else if (c === "`") this.backtick(parts, flush, false);
      else {
        addLit(c, false);
        this.pos++;
      }
    }
    flush();
    return { parts };
  }

  private backtick(parts: WordPart[], flush: () => void, quoted: boolean): void {
    const end = this.src.indexOf("`", this.pos + 1);
    if (end < 0) throw new ShellSyntaxError("unterminated `");
    flush();
    parts.push({ kind: "cmdsub", source: this.src.slice(this.pos + 1, end).replace(/\\([`$\\])/g, "$1"), quoted });
    this.pos = end + 1;
  }
}

class Parser {
  private readonly lx: Lexer;

  constructor(src: string) {
    this.lx = new Lexer(src);
  }

  parseProgram(): List {
    const list = this.list(new Set());
    const t = this.lx.peek();
    if (t.t !== "eof") throw new ShellSyntaxError(`syntax error: unexpected ${describe(t)}`);
    return list;
  }

  private skipNewlines(): void {
    while (this.lx.peek().t === "nl") this.lx.take();
  }

  private isReserved(t: Token, ...names: string[]): boolean {
    return t.t === "word" && t.plain !== undefined && names.includes(t.plain);
  }

  /** A list ends at EOF, `)`, or one of the reserved words in `stop`. */
  private list(stop: Set<string>): List {
    const items: AndOr[] = [];
    for (;;) {
      this.skipNewlines();
      const t = this.lx.peek();
      if (t.t === "eof" || (t.t === "op" && (t.op === ")" || t.op === ";;"))) break;
      if (t.t === "word" && t.plain !== undefined && stop.has(t.plain)) break;
      if (t.t === "op" && (t.op === ";" || t.op === "&")) throw new ShellSyntaxError(`syntax error: unexpected "${t.op}"`);
      items.push(this.andOr());
      const sep = this.lx.peek();
      if (sep.t === "op" && (sep.op === ";" || sep.op === "&")) this.lx.take();
      else if (sep.t === "nl") this.lx.take();
      else break;
    }
    return { items };
  }

  private andOr(): AndOr {
    const first = this.pipeline();
    const rest: { op: "&&" | "||"; pipeline: Pipeline }[] = [];
    for (;;) {
      const t = this.lx.peek();
      if (t.t !== "op" || (t.op !== "&&" && t.op !== "||")) break;
      this.lx.take();
      this.skipNewlines();
      rest.push({ op: t.op, pipeline: this.pipeline() });
    }
    return { first, rest };
  }

  private pipeline(): Pipeline {
    let negate = false;
    if (this.isReserved(this.lx.peek(), "!")) {
      this.lx.take();
      negate = true;
    }
    const commands = [this.command()];
    for (;;) {
      const t = this.lx.peek();
      if (t.t !== "op" || t.op !== "|") break;
      this.lx.take();
      this.skipNewlines();
      commands.push(this.command());
    }
    return { negate, commands };
  }

  private expectWord(name: string): void {
    const t = this.lx.take();
    if (!this.isReserved(t, name)) throw new ShellSyntaxError(`syntax error: unexpected ${describe(t)} (expecting "${name}")`);
  }

  private command(): Command {
    const t = this.lx.peek();
    if (t.t === "op" && t.op === "(") {
      this.lx.take();
      const body = this.list(new Set());
      const close = this.lx.take();
      if (close.t !== "op" || close.op !== ")") throw new ShellSyntaxError(`syntax error: unexpected ${describe(close)} (expecting ")")`);
      return { kind: "subshell", body, redirects: this.redirects() };
    }
    if (t.t === "word" && t.plain !== undefined) {
      switch (t.plain) {
        case "{": {
          this.lx.take();
          const body = this.list(new Set(["}"]));
          this.expectWord("}");
          return { kind: "group", body, redirects: this.redirects() };
        }
        case "if":
          return this.ifCommand();
        case "for":
          return this.forCommand();
        case "while":
        case "until": {
          this.lx.take();
          const cond = this.list(new Set(["do"]));
          this.expectWord("do");
          const body = this.list(new Set(["done"]));
          this.expectWord("done");
          return { kind: t.plain, cond, body, redirects: this.redirects() };
        }
        default:
          if (RESERVED.has(t.plain) && t.plain !== "!") throw new ShellSyntaxError(`syntax error: unexpected "${t.plain}"`);
      }
    }
    return this.simple();
  }

  private ifCommand(): Command {
    this.lx.take();
    const clauses: { cond: List; body: List }[] = [];
    let otherwise: List | undefined;
    for (;;) {
      const cond = this.list(new Set(["then"]));
      this.expectWord("then");
      const body = this.list(new Set(["elif", "else", "fi"]));
      clauses.push({ cond, body });
      const t = this.lx.take();
      if (this.isReserved(t, "elif")) continue;
      if (this.isReserved(t, "else")) {
        otherwise = this.list(new Set(["fi"]));
        this.expectWord("fi");
      } else if (!this.isReserved(t, "fi")) throw new ShellSyntaxError(`syntax error: unexpected ${describe(t)} (expecting "fi")`);
      break;
    }
    return { kind: "if", clauses, otherwise, redirects: this.redirects() };
  }

  private forCommand(): Command {
    this.lx.take();
    const nameTok = this.lx.take();
    if (nameTok.t !== "word" || nameTok.plain === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(nameTok.plain)) {
      throw new ShellSyntaxError(`syntax error: bad for loop variable`);
    }
    let items: Word[] | undefined;
    this.skipNewlines();
    if (this.isReserved(this.lx.peek(), "in")) {
      this.lx.take();
      items = [];
      for (;;) {
        const t = this.lx.peek();
        if (t.t !== "word") break;
        this.lx.take();
        items.push(t.word);
      }
      const sep = this.lx.peek();
      if (sep.t === "op" && sep.op === ";") this.lx.take();
    } else {
      const sep = this.lx.peek();
      if (sep.t === "op" && sep.op === ";") this.lx.take();
    }
    this.skipNewlines();
    this.expectWord("do");
    const body = this.list(new Set(["done"]));
    this.expectWord("done");
    return { kind: "for", name: nameTok.plain, items, body, redirects: this.redirects() };
  }

  private redirect(): Redirect | undefined {
    const t = this.lx.peek();
    if (t.t !== "op" || ![">", ">>", "<", ">&", "<&"].includes(t.op)) return undefined;
    this.lx.take();
    const target = this.lx.take();
    if (target.t !== "word") throw new ShellSyntaxError(`syntax error: unexpected ${describe(target)}`);
    const op = t.op as Redirect["op"];
    return { fd: t.fd ?? (op === "<" || op === "<&" ? 0 : 1), op, target: target.word };
  }

  private redirects(): Redirect[] {
    const out: Redirect[] = [];
    for (let r = this.redirect(); r; r = this.redirect()) out.push(r);
    return out;
  }

  private simple(): Command {
    const assigns: { name: string; value: Word }[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    for (;;) {
      const r = this.redirect();
      if (r) {
        redirects.push(r);
        continue;
      }
      const t = this.lx.peek();
      if (t.t !== "word") break;
      this.lx.take();
      const first = t.word.parts[0];
      const m = words.length === 0 && first?.kind === "lit" && !first.quoted ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text) : null;
      if (m && first?.kind === "lit") {
        const restText = first.text.slice(m[0].length);
        const parts: WordPart[] = [...(restText ? [{ kind: "lit" as const, text: restText, quoted: false }] : []), ...t.word.parts.slice(1)];
        assigns.push({ name: m[1] as string, value: { parts } });
      } else words.push(t.word);
    }
    if (words.length === 0 && assigns.length === 0 && redirects.length === 0) {
      throw new ShellSyntaxError(`syntax error: unexpected ${describe(this.lx.peek())}`);
    }
    return { kind: "simple", assigns, words, redirects };
  }
}

function describe(t: Token): string {
  switch (t.t) {
    case "eof":
      return "end of file";
    case "nl":
      return "newline";
    case "op":
      return `"${t.op}"`;
    case "word":
      return `word`;
  }
}

/** Parse a whole script fragment (one scenario line, or the body of `$(…)`). */
export function parseShell(src: string): List {
  return new Parser(src).parseProgram();
}
