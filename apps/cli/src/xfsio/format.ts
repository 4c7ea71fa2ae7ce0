/**
 * xfs_io's number parsing and output formats, from xfsprogs 6.1: `cvtnum()` and
 * `cvtstr()` (libfrog/convert.c), `dump_buffer()` (io/pread.c), `report_io_times()`
 * (io/init.c helpers), the fiemap -v table (io/fiemap.c print_verbose()) and the mapping
 * list (io/mmap.c print_mapping()).
 */

/** `cvtnum()`: strtoll base 0 plus one suffix (b = fs block, s = sector, k m g t p e); NaN if malformed. */
export function cvtnum(blocksize: number, sectsize: number, s: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)$/.exec(s);
  if (!m) return Number.NaN;
  const digits = m[2] as string;
  let v = digits.startsWith("0x") || digits.startsWith("0X") ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith("0") ? parseInt(digits.slice(1), 8) : Number(digits);
  if (m[1] === "-") v = -v;
  const suffix = m[3] as string;
  if (suffix === "") return v;
  if (suffix.length !== 1) return Number.NaN;
  const mult: Record<string, number> = { b: blocksize, s: sectsize, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50, e: 2 ** 60 };
  const f = mult[suffix.toLowerCase()];
  return f === undefined ? Number.NaN : v * f;
}

/** `cvtstr()`: "16 KiB" when exact, "1.500 KiB" otherwise, "8.000000 bytes" below 1 KiB. */
export function cvtstr(value: number): string {
  const units: [number, string][] = [
    [2 ** 60, "EiB"],
    [2 ** 50, "PiB"],
    [2 ** 40, "TiB"],
    [2 ** 30, "GiB"],
    [2 ** 20, "MiB"],
    [2 ** 10, "KiB"],
  ];
  for (const [size, name] of units) {
    if (value >= size) {
      const q = value / size;
      return Number.isInteger(q) ? `${q} ${name}` : `${q.toFixed(3)} ${name}`;
    }
  }
  return `${value.toFixed(6)} bytes`;
}

/** The timing line after `wrote …`: `16 KiB, 4 ops; 0.0001 sec (156.250 MiB/sec and 40000.0000 ops/sec)`. */
export function reportIoTimes(bytes: number, ops: number, seconds: number): string {
  const t = Math.max(seconds, 1e-6);
  return `${cvtstr(bytes)}, ${ops} ops; ${t.toFixed(4)} sec (${cvtstr(bytes / t)}/sec and ${(ops / t).toFixed(4)} ops/sec)`;
}

const isAlnum = (b: number): boolean => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

/** `dump_buffer()`: 16 bytes a line, `%08llx:  ` then `%02x ` each, a space, isalnum() or `.`. */
export function dumpBuffer(offset: number, data: Uint8Array): string {
  let out = "";
  for (let i = 0; i < data.length; i += 16) {
    const chunk = data.subarray(i, i + 16);
    out += `${(offset + i).toString(16).padStart(8, "0")}:  `;
    for (const b of chunk) out += `${b.toString(16).padStart(2, "0")} `;
    out += " ";
    for (const b of chunk) out += isAlnum(b) ? String.fromCharCode(b) : ".";
    out += "\n";
  }
  return out;
}

export const FIEMAP_EXTENT_LAST = 0x1;
export const FIEMAP_EXTENT_SHARED = 0x2000;

export interface FiemapExtent {
  /** Bytes. */
  readonly logical: number;
  readonly physical: number;
  readonly length: number;
  readonly flags: number;
}

type Row = { n: number; file: string; block: string; total: number; flags: string | undefined };

/**
 * `fiemap -v`: header, one row per extent with holes between (and up to EOF, `size`)
 * as `hole` rows; offsets in 512-byte units; columns at least 16/16/5/5 wide.
 */
export function formatFiemapVerbose(name: string, extents: readonly FiemapExtent[], size: number): string {
  const rows: Row[] = [];
  let last = 0;
  let n = 0;
  const hole = (from: number, to: number) => rows.push({ n: n++, file: `[${from}..${to - 1}]:`, block: "hole", total: to - from, flags: undefined });
  for (const e of extents) {
    const l = Math.floor(e.logical / 512);
    const len = Math.floor(e.length / 512);
    const p = Math.floor(e.physical / 512);
    if (l > last) hole(last, l);
    rows.push({ n: n++, file: `[${l}..${l + len - 1}]:`, block: `${p}..${p + len - 1}`, total: len, flags: `0x${e.flags.toString(16)}` });
    last = l + len;
  }
  const end = Math.ceil(size / 512);
  if (last < end) hole(last, end);
  const fw = Math.max(16, ...rows.map((r) => r.file.length));
  const bw = Math.max(16, ...rows.map((r) => r.block.length));
  const tw = Math.max(5, ...rows.map((r) => String(r.total).length));
  const gw = 5;
  let out = `${name}:\n`;
  if (rows.length === 0) return out;
  out += ` EXT: ${"FILE-OFFSET".padEnd(fw)} ${"BLOCK-RANGE".padEnd(bw)} ${"TOTAL".padStart(tw)} ${"FLAGS".padStart(gw)}\n`;
  for (const r of rows) {
    out += `${String(r.n).padStart(4)}: ${r.file.padEnd(fw)} ${r.block.padEnd(bw)} ${String(r.total).padStart(tw)}`;
    out += r.flags === undefined ? "\n" : ` ${r.flags.padStart(gw)}\n`;
  }
  return out;
}

/** Plain `fiemap`: `\t0: [0..127]: 192..319`, holes as `hole`. */
export function formatFiemapPlain(name: string, extents: readonly FiemapExtent[], size: number): string {
  let out = `${name}:\n`;
  let last = 0;
  let n = 0;
  for (const e of extents) {
    const l = Math.floor(e.logical / 512);
    const len = Math.floor(e.length / 512);
    const p = Math.floor(e.physical / 512);
    if (l > last) out += `\t${n++}: [${last}..${l - 1}]: hole\n`;
    out += `\t${n++}: [${l}..${l + len - 1}]: ${p}..${p + len - 1}\n`;
    last = l + len;
  }
  const end = Math.ceil(size / 512);
  if (last < end && n > 0) out += `\t${n}: [${last}..${end - 1}]: hole\n`;
  return out;
}

export interface MappingRow {
  readonly addr: number;
  readonly length: number;
  readonly prot: { r: boolean; w: boolean; x: boolean };
  readonly name: string;
  readonly offset: number;
  readonly mapSync: boolean;
}

/** io/mmap.c print_mapping(): `[000] 0x7f…000 - 0x7f…000 rw-          /mnt/a (0 : 16384)`. */
export function formatMapping(m: MappingRow, index: number, current: boolean): string {
  const prot = `${m.prot.r ? "r" : "-"}${m.prot.w ? "w" : "-"}${m.prot.x ? "x" : "-"}`;
  const [l, r] = current ? ["[", "]"] : [" ", " "];
  return `${l}${String(index).padStart(3, "0")}${r} 0x${m.addr.toString(16)} - 0x${(m.addr + m.length).toString(16)} ${prot}  ${m.name.padStart(14)} (${m.offset} : ${m.length})${m.mapSync ? " S" : ""}\n`;
}
