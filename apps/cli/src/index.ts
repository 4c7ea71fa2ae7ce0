/**
 * @pagelab/cli: the `pagelab` command as a library (for tests and embedding).
 */
export { buildProgram } from "./program.js";
export { runDemo } from "./commands/demo.js";
export type { Print } from "./commands/demo.js";
