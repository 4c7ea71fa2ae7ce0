#!/usr/bin/env node
/**
 * `pagelab` entry point: parse argv, run, map errors to an exit status.
 */
import { CommanderError } from "commander";
import { buildProgram } from "./program.js";

const program = buildProgram({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
});

try {
  program.parse(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`pagelab: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
