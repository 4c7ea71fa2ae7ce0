import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../program.js";
import { DEFAULT_SCENARIOS } from "./compare.js";

function pagelab(...args: string[]): { out: string; err: string; status: number } {
  let out = "";
  let err = "";
  process.exitCode = 0;
  buildProgram({ out: (t) => void (out += t), err: (t) => void (err += t) }).parse(["node", "pagelab", ...args]);
  const status = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, status };
}

describe("pagelab run", () => {
  it("an Oops ends the transcript at its command line, prints the console on stderr and exits 2 (oops=panic)", () => {
    const r = pagelab("run", "-n", join(DEFAULT_SCENARIOS, "poison_shared_no_rmapbt.sh"));
    expect(r.out.trimEnd().split("\n").at(-1)).toBe("$ pagelab-poison -r /mnt/W:0:24k /mnt/X:0:24k /mnt/Y:0:24k /mnt/Z:0:24k -- 0:0");
    expect(r.err).toMatch(/poison_shared_no_rmapbt\.sh:11: pagelab-poison: kernel panic \(oops=panic\): BUG: kernel NULL pointer dereference/);
    expect(r.err).toContain("Kernel panic - not syncing: Fatal exception");
    expect(r.status).toBe(2);
  });

  it("reports violated invariants on stderr with the script line, exit status 0", () => {
    const r = pagelab("run", "-n", "--mechanism", "one-to-one", join(DEFAULT_SCENARIOS, "poison_shared_block.sh"));
    expect(r.err).toMatch(/poison_shared_block\.sh:17: invariant violated: memory-failure reach: plchild1 \(early kill\)/);
    expect(r.status).toBe(0);
  });
});
