/**
 * The `pagelab` command line: subcommands, options, help. Output goes through the
 * writers given, so tests can capture it.
 */
import { Command } from "commander";
import { runDemo } from "./commands/demo.js";

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

  return program;
}
