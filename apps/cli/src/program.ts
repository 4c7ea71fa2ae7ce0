/**
 * The `pagelab` command line: subcommands, options, help. Output goes through the
 * writers given, so tests can capture it.
 */
import { Command } from "commander";
import { compareCommand } from "./commands/compare.js";
import { runDemo } from "./commands/demo.js";
import { runCommand } from "./commands/run.js";

export interface ProgramIo {
  out(text: string): void;
  err(text: string): void;
}

export function buildProgram(io: ProgramIo): Command {
  const program = new Command("pagelab")
    .description("Simulate the Linux subsystems that map persistent memory into files and processes")
    .version("0.0.0")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program
    .command("demo")
    .description("boot a small machine and walk through what the simulator models")
    .action(() => runDemo((line) => io.out(`${line}\n`)));

  program
    .command("run")
    .description("run a script in the oracle's format and print the transcript real Linux prints")
    .argument("<script>", "script file (one shell line per command)")
    .option("--mechanism <m>", "DAX sharing mechanism", "shared-count")
    .option("--seed <n>", "scheduler seed", "0")
    .option("-n, --normalize", "normalise like run.sh -n (timings, pids, pfns)")
    .option("--json", "print the result (lines, errors, violations, costs, inspected) as JSON")
    .option("--inspect <query>", "at the end: 'page PFN', 'file /mnt/PATH' or 'dmesg' (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action((file: string, o: { mechanism: string; seed: string; normalize?: boolean; json?: boolean; inspect?: string[] }) => {
      const status = runCommand(file, o, io);
      if (status !== 0) process.exitCode = status;
    });

  program
    .command("compare")
    .description("run the scenario library under each mechanism and judge every transcript against real Linux")
    .option("--mechanisms <list>", "comma-separated mechanisms (default: one-to-one,shared-count,page-cache-copy)")
    .option("--scenarios <dir>", "scenario directory (NAME.sh + NAME.out; default: the repository's scenarios/)")
    .option("--json", "print the results and costs as JSON")
    .option("--strict", "exit 1 if any cell failed (default: 0, failures are results)")
    .action((o: { mechanisms?: string; scenarios?: string; json?: boolean; strict?: boolean }) => {
      const status = compareCommand(o, io);
      if (status !== 0) process.exitCode = status;
    });

  return program;
}
