import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../program.js";
import { judge } from "../run/compare.js";
import type { RunResult } from "../run/runner.js";
import { DEFAULT_SCENARIOS, compareScenarios, renderCompareTable } from "./compare.js";

/** The two scenarios the issue names: the rotation and memory failure on a shared block. */
function library(): string {
  const dir = mkdtempSync(join(tmpdir(), "pagelab-compare-"));
  for (const name of ["rotation", "poison_shared_block"]) for (const ext of [".sh", ".out"]) copyFileSync(join(DEFAULT_SCENARIOS, name + ext), join(dir, name + ext));
  return dir;
}

const result = (lines: string[], extra: Partial<RunResult> = {}): RunResult => ({ lines, errors: [], violations: [], costs: {}, invariants: [], inspected: [], ...extra });

describe("pagelab compare", () => {
  const report = compareScenarios(library(), ["one-to-one", "shared-count", "page-cache-copy"]);
  const cell = (scenario: string, mech: string) => report.scenarios.find((s) => s.name === scenario)!.results[mech]!;

  it("shared-count passes the rotation and the memory-failure scenario; page-cache-copy shows the same data", () => {
    for (const s of ["rotation", "poison_shared_block"]) expect(cell(s, "shared-count")).toMatchObject({ pass: true, reasons: [] });
    expect(cell("rotation", "page-cache-copy")).toMatchObject({ pass: true, reasons: [] });
    // its poisoned page is a clean DRAM copy, dropped without a signal as Linux drops a clean
    // page-cache page; only the kernel's poison-owners-reached monitor (which wants the
    // poisoner signalled) may object to that (reported to the kernel package)
    const other = cell("poison_shared_block", "page-cache-copy").reasons.filter((r) => !r.startsWith("invariant poison-owners-reached violated: "));
    expect(other).toEqual([]);
  });

  it("one-to-one fails the rotation on dax_associate_entry's WARN and memory failure on the owners it misses", () => {
    expect(cell("rotation", "one-to-one").pass).toBe(false);
    expect(cell("rotation", "one-to-one").reasons[0]).toMatch(/^kernel WARNING at fs\/dax\.c:dax_associate_entry \(line \d+; /);
    expect(cell("poison_shared_block", "one-to-one").reasons[0]).toMatch(/^invariant violated at line \d+: memory-failure reach: plchild1 \(early kill\) still maps the failed page at \+4096/);
  });

  it("counts costs per mechanism: only page-cache-copy keeps DRAM copies and their page structures", () => {
    expect(report.costs["page-cache-copy"]!.dramBytesCopied).toBeGreaterThan(0);
    expect(report.costs["page-cache-copy"]!.pageStructsAlive).toBeGreaterThan(0);
    expect(report.costs["shared-count"]!.dramBytesCopied).toBe(0);
    expect(report.costs["shared-count"]!.pointerChases).toBeGreaterThan(0);
  });

  it("renders one row per scenario and per cost, without colour escapes", () => {
    const table = renderCompareTable(report);
    expect(table).not.toMatch(/\u001b\[/);
    expect(table).toMatch(/│ poison_shared_block\s+│ FAIL: invariant violated/);
    expect(table).toMatch(/│ rotation\s+│ FAIL: kernel WARNING at/);
    for (const label of ["metadata bytes (peak)", "page structures (peak)", "DRAM bytes copied", "pointer chases", "lock waits", "unmaps", "TLB flushes"]) expect(table).toContain(`│ ${label}`);
  });

  it("--json gives the same results; the exit status is 0 unless --strict", () => {
    let out = "";
    const io = { out: (t: string) => void (out += t), err: () => {} };
    const dir = library();
    buildProgram(io).parse(["node", "pagelab", "compare", "--scenarios", dir, "--mechanisms", "one-to-one", "--json"]);
    const json = JSON.parse(out) as typeof report;
    expect(json.mechanisms).toEqual(["one-to-one"]);
    expect(json.scenarios.map((s) => [s.name, s.results["one-to-one"]!.pass])).toEqual([["poison_shared_block", false], ["rotation", false]]);
    expect(process.exitCode ?? 0).toBe(0);
    buildProgram(io).parse(["node", "pagelab", "compare", "--scenarios", dir, "--mechanisms", "one-to-one", "--json", "--strict"]);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
  });
});

describe("judging a transcript", () => {
  const expected = ["$ md5sum /mnt/a", "0cc175b9c0f1b6a831c399e269772661  /mnt/a", "[kmsg] <6>XFS (pmem0): Ending clean mount"];

  it("a non-reference mechanism fails on a data line, and only notes a different kernel line", () => {
    const data = judge("page-cache-copy", expected, result(["$ md5sum /mnt/a", "92eb5ffee6ae2fec3ad71c777531578f  /mnt/a", expected[2]!]));
    expect(data.reasons).toEqual(['transcript differs at line 2: expected "0cc175b9c0f1b6a831c399e269772661  /mnt/a", got "92eb5ffee6ae2fec3ad71c777531578f  /mnt/a"']);
    const log = judge("page-cache-copy", expected, result([...expected.slice(0, 2), "[kmsg] <6>something else"]));
    expect(log.pass).toBe(true);
    expect(log.notes).toHaveLength(1);
  });

  it("a failed kernel monitor fails the cell; its no-warn verdict is left to the WARN count", () => {
    const invariants = [
      { name: "no-warn", ok: false, detail: "1 WARN(s)" },
      { name: "stores-reach-only-their-file", ok: false, detail: "ino 131: byte 4096 differs (expected 8192 bytes, read 8192)" },
    ];
    expect(judge("page-cache-copy", expected, result(expected, { invariants })).reasons).toEqual([
      "invariant stores-reach-only-their-file violated: ino 131: byte 4096 differs (expected 8192 bytes, read 8192)",
    ]);
  });

  it("extent rows are the mechanism's for others (CoW granularity follows the fault size) but Linux's for the reference", () => {
    const exp = ["$ xfs_io -c \"fiemap -v\" /mnt/c", "   0: [0..4095]:       8192..12287       4096   0x0"];
    const got = result(["$ xfs_io -c \"fiemap -v\" /mnt/c", "   0: [0..7]:          8192..8199           8   0x0"]);
    expect(judge("page-cache-copy", exp, got)).toMatchObject({ pass: true, notes: [expect.stringMatching(/differ/)] });
    expect(judge("shared-count", exp, got).pass).toBe(false);
  });

  it("the reference mechanism must match kernel lines too", () => {
    expect(judge("shared-count", expected, result([...expected.slice(0, 2), "[kmsg] <6>something else"])).reasons[0]).toMatch(/^transcript differs at line 3/);
  });

  it("where real Linux panicked, only the lines up to the panic count", () => {
    const v = judge("one-to-one", ["$ boom"], result(["$ boom", "child 0 /mnt/a@0+4096: no signal; unmapped none; touch ok", "$ next"]), { panicked: true });
    expect(v).toMatchObject({ pass: true, notes: ["real Linux oopsed at line 1 (oops=panic); one-to-one did not"] });
  });
});
