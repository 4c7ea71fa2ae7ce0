/**
 * `$(( … ))`: shell arithmetic (XCU 2.6.4) on integers, with variables by name.
 *
 * Simplified: no assignment operators (`=`, `+=`, `++`), no `?:`, no `,`.
 */
import { ShellSyntaxError } from "./parser.js";

const BINARY: readonly (readonly string[])[] = [
  ["||"],
  ["&&"],
  ["|"],
  ["^"],
  ["&"],
  ["==", "!="],
  ["<=", ">=", "<", ">"],
  ["<<", ">>"],
  ["+", "-"],
  ["*", "/", "%"],
];

function apply(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case "||": return a !== 0n || b !== 0n ? 1n : 0n;
    case "&&": return a !== 0n && b !== 0n ? 1n : 0n;
    case "|": return a | b;
    case "^": return a ^ b;
    case "&": return a & b;
    case "==": return a === b ? 1n : 0n;
    case "!=": return a !== b ? 1n : 0n;
    case "<=": return a <= b ? 1n : 0n;
    case ">=": return a >= b ? 1n : 0n;
    case "<": return a < b ? 1n : 0n;
    case ">": return a > b ? 1n : 0n;
    case "<<": return BigInt.asIntN(64, a << b);
    case ">>": return a >> b;
    case "+": return BigInt.asIntN(64, a + b);
    case "-": return BigInt.asIntN(64, a - b);
    case "*": return BigInt.asIntN(64, a * b);
    default:
      if (b === 0n) throw new ShellSyntaxError("divide by zero");
      return op === "/" ? a / b : a % b;
  }
}

/** Evaluate an arithmetic expression; `lookup` gives a variable's value (unset = ""). */
export function evalArith(src: string, lookup: (name: string) => string): bigint {
  const tokens = src.match(/\s+|0[xX][0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%()<>|&^!~$]/g) ?? [];
  if (tokens.join("") !== src) throw new ShellSyntaxError(`arithmetic syntax error`);
  const toks = tokens.filter((t) => !/^\s+$/.test(t) && t !== "$");
  let i = 0;
  const num = (text: string): bigint => {
    const t = text.trim();
    if (t === "") return 0n;
    if (/^-?(0[xX][0-9a-fA-F]+|\d+)$/.test(t)) return BigInt(t.startsWith("0") && /^0[0-7]+$/.test(t) ? `0o${t.slice(1)}` : t);
    throw new ShellSyntaxError(`arithmetic syntax error`);
  };
  const primary = (): bigint => {
    const t = toks[i++];
    if (t === undefined) throw new ShellSyntaxError("arithmetic syntax error");
    if (t === "(") {
      const v = binary(0);
      if (toks[i++] !== ")") throw new ShellSyntaxError("arithmetic syntax error");
      return v;
    }
    if (t === "-") return BigInt.asIntN(64, -primary());
    if (t === "+") return primary();
    if (t === "!") return primary() === 0n ? 1n : 0n;
    if (t === "~") return ~primary();
    if (/^[A-Za-z_]/.test(t)) return num(lookup(t));
    return num(t);
  };
  const binary = (level: number): bigint => {
    if (level >= BINARY.length) return primary();
    let left = binary(level + 1);
    for (;;) {
      const op = toks[i];
      if (op === undefined || !(BINARY[level] as readonly string[]).includes(op)) return left;
      i++;
      left = apply(op, left, binary(level + 1));
    }
  };
  const v = binary(0);
  if (i !== toks.length) throw new ShellSyntaxError("arithmetic syntax error");
  return v;
}
