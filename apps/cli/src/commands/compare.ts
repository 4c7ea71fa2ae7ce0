/**
 * `pagelab compare [--mechanisms LIST] [--scenarios DIR] [--json] [--strict]`: every
 * scenario under every mechanism, judged against real Linux's transcript (run/compare.ts),
 * as a table (one row per scenario, one column per mechanism, then cost rows) or JSON.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Table from "cli-table3";
import type { ProgramIo } from "../program.js";
import { type Verdict, judge } from "../run/compare.js";
import { runScript } from "../run/runner.js";

export const MECHANISMS = ["one-to-one", "shared-count", "page-cache-copy"] as const;
/** The repository's scenario library (same depth from src/ and dist/). */
export const DEFAULT_SCENARIOS = join(import.meta.dirname, "../../../../scenarios");

/** Cost rows: label, counter, and whether it is a gauge (peak over scenarios) or a count (sum). */
const COSTS: readonly (readonly [string, string, "peak" | "sum"])[] = [
  ["metadata bytes (peak)", "metadataBytes", "peak"],
  ["page structures (peak)", "pageStructsAlive", "peak"],
  ["DRAM bytes copied", "dramBytesCopied", "sum"],
  ["pmem bytes copied", "pmemBytesCopied", "sum"],
  ["pointer chases", "pointerChases", "sum"],
  ["lock waits", "lockWaits", "sum"],
  ["unmaps", "unmaps", "sum"],
  ["TLB flushes", "tlbFlushes", "sum"],
];

export interface CompareReport {
  readonly mechanisms: string[];
  readonly scenarios: { readonly name: string; readonly results: Record<string, Verdict> }[];
  readonly costs: Record<string, Record<string, number>>;
}

/** The transcript between run.sh's markers; a run that panicked ends at KERNEL WARNINGS. */
function expectedTranscript(text: string): { lines: string[]; panicked: boolean } {
  const lines = text.split("\n");
  const end = lines.indexOf("=== ORACLE END ===");
  const stop = end >= 0 ? end : lines.indexOf("=== KERNEL WARNINGS ===");
  return { lines: lines.slice(lines.indexOf("=== ORACLE BEGIN ===") + 1, stop >= 0 ? stop : lines.length), panicked: end < 0 };
}

export function compareScenarios(dir: string, mechanisms: readonly string[]): CompareReport {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith(".sh"))
    .map((f) => f.slice(0, -3))
    .sort();
  const costs: Record<string, Record<string, number>> = Object.fromEntries(mechanisms.map((m) => [m, Object.fromEntries(COSTS.map(([, k]) => [k, 0]))]));
  const scenarios = names.map((name) => {
    const script = readFileSync(join(dir, `${name}.sh`), "utf8");
    const outFile = join(dir, `${name}.out`);
    const expected = existsSync(outFile) ? expectedTranscript(readFileSync(outFile, "utf8")) : null;
    const results: Record<string, Verdict> = {};
    for (const mech of mechanisms) {
      const r = runScript(script, { file: `${name}.sh`, mechanism: mech, normalize: true });
      const acc = costs[mech]!;
      for (const [, k, how] of COSTS) acc[k] = how === "peak" ? Math.max(acc[k]!, r.costs[k] ?? 0) : acc[k]! + (r.costs[k] ?? 0);
      if (!expected) results[mech] = { pass: false, reasons: [`no expected transcript (${name}.out)`], notes: [] };
      else {
        const v = judge(mech, expected.lines, r, { panicked: expected.panicked });
        results[mech] = r.errors.length ? { ...v, pass: false, reasons: [...r.errors, ...v.reasons] } : v;
      }
    }
    return { name, results };
  });
  return { mechanisms: [...mechanisms], scenarios, costs };
}

/** A reason cut for a table cell (`--json` has it whole). */
const clip = (r: string): string => (r.length > 150 ? `${r.slice(0, 149)}…` : r);

/** The table: pass/fail cells with the first reason, then the cost rows. No colours. */
export function renderCompareTable(report: CompareReport): string {
  const table = new Table({
    head: ["scenario", ...report.mechanisms],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [30, ...report.mechanisms.map(() => 36)],
  });
  for (const s of report.scenarios) {
    table.push([s.name, ...report.mechanisms.map((m) => (s.results[m]!.pass ? "pass" : `FAIL: ${clip(s.results[m]!.reasons[0] ?? "")}`))]);
  }
  for (const [label, k] of COSTS) table.push([label, ...report.mechanisms.map((m) => String(report.costs[m]![k]))]);
  return table.toString();
}

export function compareCommand(o: { mechanisms?: string; scenarios?: string; json?: boolean; strict?: boolean }, io: ProgramIo): number {
  const mechanisms = o.mechanisms ? o.mechanisms.split(",").map((m) => m.trim()).filter(Boolean) : [...MECHANISMS];
  const unknown = mechanisms.find((m) => !(MECHANISMS as readonly string[]).includes(m));
  if (unknown !== undefined || mechanisms.length === 0) {
    io.err(`pagelab compare: unknown mechanism '${unknown ?? ""}' (known: ${MECHANISMS.join(", ")})\n`);
    return 2;
  }
  const dir = o.scenarios ?? DEFAULT_SCENARIOS;
  if (!existsSync(dir)) {
    io.err(`pagelab compare: ${dir}: no such directory\n`);
    return 2;
  }
  const report = compareScenarios(dir, mechanisms);
  io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderCompareTable(report)}\n`);
  const failed = report.scenarios.some((s) => Object.values(s.results).some((v) => !v.pass));
  return o.strict && failed ? 1 : 0;
}
