/**
 * Judging one mechanism's transcript of a scenario against real Linux's (the captured
 * `.out`, which is what `shared-count`, Linux 6.12's mechanism, must print).
 *
 * The rule (apps/cli/README.md, "pagelab compare"):
 * - `shared-count` is the reference: every line must match by shape (`shapeOfTranscript`).
 * - Any other mechanism must match every line the commands print except the lines that
 *   report a mechanism's policy rather than data: kernel log lines (`[kmsg]`, `[trace]`)
 *   pagelab-poison's per-child summaries (`child N …`: which process the kernel chose to
 *   signal) and fiemap extent rows (where CoW put blocks follows the fault size, which
 *   is the mechanism's: a PMD-mapped block CoWs 2 MiB, a page-cache copy 4 KiB). Those are judged by invariants instead: no kernel WARNING/BUG/Oops that
 *   real Linux did not print, memory-failure reach (pagelab-poison's check), and the
 *   kernel's monitors (`machine.invariants()`: poison owners reached, no page freed while
 *   pinned, stores reach only their file, xfs checker clean).
 * - Where real Linux panicked (oops=panic), only the transcript up to that line counts.
 * The first reason reported is, in this order: a transcript difference, an invariant
 * violation, a kernel WARNING.
 */
import type { RunResult } from "./runner.js";
import { shapeOfTranscript } from "./normalize.js";

export interface Verdict {
  readonly pass: boolean;
  /** Why it failed, most serious first; empty on a pass. */
  readonly reasons: string[];
  /** Differences that do not fail it (policy lines that differ, a panic not reproduced). */
  readonly notes: string[];
}

export const REFERENCE_MECHANISM = "shared-count";

const isKernelLine = (l: string): boolean => l.startsWith("[kmsg] ") || l.startsWith("[trace] ");
/** A fiemap extent row after shape normalisation (`   0: [0..7]: b1+8 0x2000`). */
const isExtentRow = (l: string): boolean => /^\s+\d+: \[\d+\.\.\d+\]: /.test(l);
const isPolicyLine = (l: string): boolean => isKernelLine(l) || isExtentRow(l) || /^child \d+ \S+@\d+\+\d+: /.test(l);
const WARN = /^\[kmsg\] <\d>(WARNING:|BUG:|Oops|kernel BUG)/;

/** `expected` and `got` are `-n` transcripts; `panicked` = real Linux's run ended in a panic. */
export function judge(mechanism: string, expected: readonly string[], got: RunResult, opts: { panicked?: boolean } = {}): Verdict {
  const reasons: string[] = [];
  const notes: string[] = [];
  const exp = shapeOfTranscript(expected);
  let run = shapeOfTranscript(got.lines);
  if (opts.panicked && run.length > exp.length) {
    if (!got.panic) notes.push(`real Linux oopsed at line ${exp.length} (oops=panic); ${mechanism} did not`);
    run = run.slice(0, exp.length);
  }
  const reference = mechanism === REFERENCE_MECHANISM;
  const keep = (lines: readonly string[]) => lines.map((text, i) => ({ text, n: i + 1 })).filter((l) => reference || !isPolicyLine(l.text));
  const e = keep(exp);
  const g = keep(run);
  for (let i = 0; i < Math.max(e.length, g.length); i++) {
    const a = e[i];
    const b = g[i];
    if (a?.text === b?.text) continue;
    reasons.push(`transcript differs at line ${b?.n ?? a?.n}: expected ${a ? JSON.stringify(a.text) : "end"}, got ${b ? JSON.stringify(b.text) : "end"}`);
    break;
  }
  if (got.panic && !opts.panicked) reasons.push(got.panic.at.replace(/^[^:]*:\d+: /, ""));
  const limit = opts.panicked ? exp.length : Number.POSITIVE_INFINITY;
  for (const v of got.violations) if (v.line < limit) reasons.push(`invariant violated at line ${v.line + 1}: ${v.text}`);
  // the kernel's monitors; WARNs are judged below against what real Linux printed
  for (const inv of got.invariants) if (!inv.ok && inv.name !== "no-warn") reasons.push(`invariant ${inv.name} violated: ${inv.detail}`);
  const expWarns = exp.filter((l) => WARN.test(l)).length;
  const warns = run.map((text, i) => ({ text, n: i + 1 })).filter((l) => WARN.test(l.text));
  if (warns.length > expWarns) {
    const w = warns[expWarns]!;
    const text = w.text.replace(/^\[kmsg\] <\d>/, "").replace(/^WARNING: CPU: \d+ PID: \d+ at /, "WARNING at ");
    reasons.push(`kernel ${text} (line ${w.n}; ${warns.length} WARN/BUG lines, real Linux ${expWarns})`);
  }
  if (!reference) {
    const pe = exp.filter(isPolicyLine);
    const pg = run.filter(isPolicyLine);
    const differ = pe.length !== pg.length || pe.some((l, i) => l !== pg[i]);
    if (differ) notes.push(`kernel log / signal-policy lines differ from real Linux (${pg.length} vs ${pe.length})`);
  }
  return { pass: reasons.length === 0, reasons, notes };
}
