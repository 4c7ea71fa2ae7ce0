/**
 * @pagelab/cli: the `pagelab` command as a library (for tests and embedding).
 */
export { buildProgram } from "./program.js";
export { runDemo } from "./commands/demo.js";
export { runScript } from "./run/runner.js";
export type { RunOptions, RunResult } from "./run/runner.js";
export { runXfsIo } from "./xfsio/xfsio.js";
export { Shell } from "./shell/interp.js";
export type { Print } from "./commands/demo.js";
