/**
 * The helpers' argument grammar and messages (../shared/oracle/helpers/common.h):
 * numbers as strtoul(…, 0) with a k/m suffix, `FILE:OFFSET:LENGTH` split from the right,
 * errno and si_code names, the signal list of a mapping.
 */
import { KernelError } from "@pagelab/mm-core";
import type { CaughtSignal } from "./proc.js";

export const PL_PAGE = 4096;
export const SIGBUS = 7;
export const SIGSEGV = 11;
export const BUS_MCEERR_AR = 4;
export const BUS_MCEERR_AO = 5;

/** `pl_num()`: decimal, 0x… hex or 0… octal, then an optional k/K or m/M; null if malformed. */
export function plNum(s: string): number | null {
  const m = /^\s*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmM]?)$/.exec(s);
  if (!m) return null;
  const digits = m[1] as string;
  let v = /^0[xX]/.test(digits) ? Number.parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith("0") ? Number.parseInt(digits, 8) : Number(digits);
  if (/[kK]/.test(m[2] as string)) v *= 1024;
  else if (/[mM]/.test(m[2] as string)) v *= 1024 * 1024;
  return v;
}

export interface PlMap {
  readonly file: string;
  readonly off: number;
  readonly len: number;
}

/**
 * `pl_parse_map()`: "FILE:OFF:LEN" split at the last two colons. On failure, `shown` is
 * the argument as the C code leaves it for its message: cut at the first split colon once
 * both were found (it writes NULs into argv).
 */
export function parseMap(arg: string): { ok: true; map: PlMap } | { ok: false; shown: string } {
  const c2 = arg.lastIndexOf(":");
  if (c2 <= 0) return { ok: false, shown: arg };
  const c1 = arg.lastIndexOf(":", c2 - 1);
  if (c1 <= 0) return { ok: false, shown: arg };
  const file = arg.slice(0, c1);
  const off = plNum(arg.slice(c1 + 1, c2));
  const len = plNum(arg.slice(c2 + 1));
  if (off === null || len === null || len === 0 || off % PL_PAGE !== 0) return { ok: false, shown: file };
  return { ok: true, map: { file, off, len } };
}

/** `FILE@OFF+LEN` as the helpers print a MAP. */
export const mapName = (m: PlMap): string => `${m.file}@${m.off}+${m.len}`;

const ERRNAMES = new Set(["EPERM", "ENOENT", "EIO", "ENXIO", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "EBUSY", "EINVAL", "ENODEV", "EOPNOTSUPP", "EHWPOISON"]);

/** `pl_errname()` of a failed call. */
export function errName(e: unknown): string {
  if (!(e instanceof KernelError)) throw e;
  return ERRNAMES.has(e.code) ? e.code : `errno ${e.errno}`;
}

const BUS_CODES: Readonly<Record<number, string>> = { 1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO" };

/** `pl_sigdesc()`: `SIGBUS CODE at +O[ lsb N]` / `SIGSEGV at +O`, comma-separated. */
export function sigDesc(sigs: readonly CaughtSignal[], base: number): string {
  return sigs
    .map((s) => {
      if (s.signo !== SIGBUS) return `SIGSEGV at +${s.addr - base}`;
      const mce = s.code === BUS_MCEERR_AR || s.code === BUS_MCEERR_AO;
      return `SIGBUS ${BUS_CODES[s.code] ?? `si_code ${s.code}`} at +${s.addr - base}${mce && s.lsb !== 12 ? ` lsb ${s.lsb}` : ""}`;
    })
    .join(", ");
}

/**
 * `pl_touch()`: read one byte of every page of [base, base+len); returns how many pages
 * faulted (the handler recorded their signals).
 */
export function touchPages(p: { load(addr: number, len: number): Uint8Array | null }, base: number, len: number): number {
  let bad = 0;
  for (let o = 0; o < len; o += PL_PAGE) if (p.load(base + o, 1) === null) bad++;
  return bad;
}
