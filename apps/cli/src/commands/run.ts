/**
 * `pagelab run SCRIPT [--mechanism M] [--seed N] [-n] [--json]`.
 */
import { readFileSync } from "node:fs";
import type { ProgramIo } from "../program.js";
import { runScript } from "../run/runner.js";

export function runCommand(file: string, o: { mechanism: string; seed: string; normalize?: boolean; json?: boolean; inspect?: string[] }, io: ProgramIo): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    io.err(`pagelab run: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const r = runScript(text, { file, mechanism: o.mechanism, seed: Number(o.seed), normalize: !!o.normalize, inspect: o.inspect ?? [] });
  if (o.json) io.out(`${JSON.stringify(r, null, 2)}\n`);
  else {
    io.out(r.lines.map((l) => `${l}\n`).join(""));
    for (const q of r.inspected) io.out(`=== inspect ${q.query} ===\n${q.lines.map((l) => `${l}\n`).join("")}`);
  }
  for (const e of r.errors) io.err(`${e}\n`);
  // findings about the mechanism, not failures of the run: the exit status stays 0
  for (const v of r.violations) io.err(`${file}:${v.scriptLine}: invariant violated: ${v.text}\n`);
  for (const v of r.invariants) if (!v.ok) io.err(`${file}: invariant ${v.name} violated: ${v.detail}\n`);
  if (r.panic) {
    io.err(`${r.panic.at}\n--- last kernel console lines ---\n`);
    for (const l of r.panic.console) io.err(`${l}\n`);
    return 2;
  }
  return r.errors.length ? 1 : 0;
}
