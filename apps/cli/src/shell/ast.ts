/**
 * The syntax tree of the shell subset that scenario lines use (POSIX sh as busybox ash
 * reads it): lists, and/or chains, pipelines, simple commands with assignments and
 * redirections, `for`, `while`/`until`, `if`, `( … )` and `{ …; }`.
 *
 * Simplified: no functions, no `case`, no here-documents, no globbing patterns beyond `*`/`?`.
 */

/** One piece of a word, before expansion. `quoted` parts are not field-split. */
export type WordPart =
  | { readonly kind: "lit"; readonly text: string; readonly quoted: boolean }
  | { readonly kind: "param"; readonly name: string; readonly quoted: boolean }
  | { readonly kind: "cmdsub"; readonly source: string; readonly quoted: boolean }
  | { readonly kind: "arith"; readonly source: string; readonly quoted: boolean };

export interface Word {
  readonly parts: readonly WordPart[];
}

export interface Redirect {
  readonly fd: number;
  readonly op: ">" | ">>" | "<" | ">&" | "<&";
  readonly target: Word;
}

export interface SimpleCommand {
  readonly kind: "simple";
  readonly assigns: readonly { readonly name: string; readonly value: Word }[];
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
}

export interface ForCommand {
  readonly kind: "for";
  readonly name: string;
  readonly items: readonly Word[] | undefined;
  readonly body: List;
  readonly redirects: readonly Redirect[];
}

export interface LoopCommand {
  readonly kind: "while" | "until";
  readonly cond: List;
  readonly body: List;
  readonly redirects: readonly Redirect[];
}

export interface IfCommand {
  readonly kind: "if";
  readonly clauses: readonly { readonly cond: List; readonly body: List }[];
  readonly otherwise: List | undefined;
  readonly redirects: readonly Redirect[];
}

export interface GroupCommand {
  readonly kind: "group" | "subshell";
  readonly body: List;
  readonly redirects: readonly Redirect[];
}

export type Command = SimpleCommand | ForCommand | LoopCommand | IfCommand | GroupCommand;

export interface Pipeline {
  readonly negate: boolean;
  readonly commands: readonly Command[];
}

export interface AndOr {
  readonly first: Pipeline;
  readonly rest: readonly { readonly op: "&&" | "||"; readonly pipeline: Pipeline }[];
}

export interface List {
  readonly items: readonly AndOr[];
}
