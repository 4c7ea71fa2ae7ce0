/**
 * `pagelab run`: the transcript ../shared/oracle/run.sh prints between its markers —
 * `# comment` lines echoed, `$ command`, its stdout and stderr, `[exit N]` when non-zero,
 * `[kmsg] <level>text` for kernel log lines logged while the line ran.
 */
import { pagelabDio } from "../helpers/dio.js";
import { pagelabMapall } from "../helpers/mapall.js";
import { pagelabPinlong } from "../helpers/pinlong.js";
import { pagelabPoison } from "../helpers/poison.js";
import type { InvariantResult } from "@pagelab/kernel";
import { TraceBuffer } from "@pagelab/mm-core";
import { INSPECT_USAGE, inspect } from "../inspect/inspect.js";
import { KernelPinningProc } from "../machine/helperProc.js";
import { KernelSession } from "../machine/session.js";
import { BufferOut, Shell, StepLimitExceeded, type Utility } from "../shell/interp.js";
import { busyboxApplets } from "../shell/utils.js";
import { runXfsIo } from "../xfsio/xfsio.js";
import { normalizeTranscript } from "./normalize.js";
import { parseMkfsOpts, parseMountDax, parseScript } from "./script.js";

export interface RunOptions {
  readonly file: string;
  readonly mechanism?: string;
  readonly seed?: number;
  readonly normalize?: boolean;
  /** `pagelab inspect` queries answered at the end of the run (`page PFN`, `file PATH`, `dmesg`). */
  readonly inspect?: readonly string[];
}

export interface RunResult {
  readonly lines: string[];
  /** `file:line: command: reason` for script errors (unknown command, syntax, internal). */
  readonly errors: string[];
  /**
   * The kernel log of an Oops that ended the run: the oracle boots with `oops=panic`, so
   * the transcript stops at the `$ command` line that oopsed (run.sh prints the console
   * tail on stderr and exits 2).
   */
  readonly panic?: { readonly at: string; readonly console: string[] };
  /** Invariants a helper found violated, with the transcript index of the `$` line that ran it. */
  readonly violations: { readonly line: number; readonly scriptLine: number; readonly text: string }[];
  /** The DAX cost counters at the end of the run; gauges (bytes, structures, pages alive) at their peak. */
  readonly costs: Record<string, number>;
  /** The kernel's invariant monitors at the end of the run (`machine.invariants()`; none after a panic). */
  readonly invariants: readonly InvariantResult[];
  /** The answers to `inspect` queries, at the end of the run. */
  readonly inspected: { readonly query: string; readonly lines: string[] }[];
}

const GAUGES = ["metadataBytes", "pageStructsAlive", "dramPagesAlive"] as const;

/** An Oops (dax's `KernelOops`): with `oops=panic` the machine is gone. */
const isOops = (e: unknown): boolean => e instanceof Error && e.name === "KernelOops";

export function runScript(text: string, opts: RunOptions): RunResult {
  const script = parseScript(text);
  const session = new KernelSession({
    ...(opts.mechanism ? { mechanism: opts.mechanism } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    mkfs: parseMkfsOpts(script.options.MKFS_OPTS ?? "-m reflink=1,rmapbt=1"),
    dax: parseMountDax(script.options.MOUNT_OPTS),
  });
  const errors: string[] = [];
  let lineNo = 0;
  const commands = new Map<string, Utility>(busyboxApplets);
  commands.set("xfs_io", (ctx) => runXfsIo(ctx.argv.slice(1), session.spawn("xfs_io"), ctx.out, ctx.err));
  const spawnHelper = (comm: string, mmapBase: number) => new KernelPinningProc(session.machine, comm, mmapBase);
  const violations: { line: number; scriptLine: number; text: string }[] = [];
  let cmdLine = 0;
  commands.set("pagelab-poison", (ctx) => pagelabPoison(ctx, spawnHelper, (text) => violations.push({ line: cmdLine, scriptLine: lineNo, text })));
  commands.set("pagelab-mapall", (ctx) => pagelabMapall(ctx, spawnHelper));
  commands.set("pagelab-dio", (ctx) => pagelabDio(ctx, spawnHelper));
  commands.set("pagelab-pinlong", (ctx) => pagelabPinlong(ctx, spawnHelper));
  // `pagelab inspect QUERY` as a script command: the state between two lines
  commands.set("pagelab", (ctx) => {
    const r = ctx.argv[1] === "inspect" ? inspect(session.machine, ctx.argv.slice(2).join(" ")) : null;
    if (!r) {
      ctx.err.write(`${INSPECT_USAGE}\n`);
      return 2;
    }
    ctx.out.write(r.map((l) => `${l}\n`).join(""));
    return 0;
  });
  commands.set("remount", () => {
    session.remount();
    return 0;
  });
  // `#oracle: TRACE=…`: the tracepoints run.sh enables, printed after each line
  const trace = script.options.TRACE?.trim();
  if (trace) session.machine.trace.enable(trace);
  const env = new Map([
    ["DEV", "/dev/pmem0"],
    ["MNT", "/mnt"],
    ["MOUNT_OPTS", script.options.MOUNT_OPTS ?? "dax=always"],
  ]);
  const shell = new Shell({ fs: session.fs, commands, env, onNotFound: (name) => errors.push(`${opts.file}:${lineNo}: ${name}: not found`) });
  const lines: string[] = [];
  let panic: { at: string; console: string[] } | undefined;
  const peak = { metadataBytes: 0, pageStructsAlive: 0, dramPagesAlive: 0 };
  for (const line of script.lines) {
    lineNo = line.lineNo;
    if (line.kind === "comment") {
      lines.push(line.text);
      continue;
    }
    cmdLine = lines.length;
    lines.push(`$ ${line.text}`);
    const out = new BufferOut();
    const mark = session.kmsgMark();
    let status: number;
    try {
      status = shell.run(line.text, out, out);
    } catch (e) {
      if (isOops(e)) {
        panic = {
          at: `${opts.file}:${lineNo}: ${line.text.split(/\s/)[0]}: kernel panic (oops=panic): ${(e as Error).message}`,
          console: [...session.machine.dmesg.since(mark).map((l) => l.text), "Kernel panic - not syncing: Fatal exception"],
        };
        break;
      }
      if (e instanceof StepLimitExceeded) {
        status = 137;
        errors.push(`${opts.file}:${lineNo}: ${line.text.split(/\s/)[0]}: killed: ${e.message}`);
      } else {
        errors.push(`${opts.file}:${lineNo}: ${line.text.split(/\s/)[0]}: internal error: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
        status = 1;
      }
    }
    const text = out.text();
    if (text) lines.push(...text.replace(/\n$/, "").split("\n"));
    if (/^sh: syntax error/m.test(text)) errors.push(`${opts.file}:${lineNo}: sh: ${text.split("\n")[0]?.slice(4)}`);
    if (status !== 0) lines.push(`[exit ${status}]`);
    if (trace) for (const e of session.machine.trace.drain()) lines.push(`[trace] ${TraceBuffer.format(e)}`);
    lines.push(...session.kmsgSince(mark));
    for (const g of GAUGES) peak[g] = Math.max(peak[g], session.machine.dax.costs[g]);
  }
  const costs: Record<string, number> = { ...session.machine.dax.costs, ...peak };
  const invariants = panic ? [] : session.machine.invariants();
  const inspected = (opts.inspect ?? []).map((query) => ({ query, lines: inspect(session.machine, query) ?? [INSPECT_USAGE] }));
  return { lines: opts.normalize ? normalizeTranscript(lines) : lines, errors, violations, costs, invariants, inspected, ...(panic ? { panic } : {}) };
}
