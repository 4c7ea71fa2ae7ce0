/**
 * The oracle's script format (../shared/oracle/NOTES.md): one shell line per command,
 * `#` lines echoed, empty lines skipped, `#oracle: KEY=VALUE` option lines, `remount`.
 */

export type ScriptLine =
  | { readonly kind: "comment"; readonly lineNo: number; readonly text: string }
  | { readonly kind: "command"; readonly lineNo: number; readonly text: string };

export interface OracleOptions {
  /** e.g. `-m reflink=1,rmapbt=1 -d agcount=2,su=2m,sw=1 -l size=64m`. */
  readonly MKFS_OPTS?: string;
  readonly MOUNT_OPTS?: string;
  readonly [key: string]: string | undefined;
}

export interface Script {
  readonly lines: readonly ScriptLine[];
  readonly options: OracleOptions;
}

export function parseScript(text: string): Script {
  const lines: ScriptLine[] = [];
  const options: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    const opt = /^#oracle:\s*([A-Z_]+)=(.*)$/.exec(line);
    if (opt) options[opt[1] as string] = (opt[2] as string).trim();
    if (line.startsWith("#")) lines.push({ kind: "comment", lineNo: i + 1, text: line });
    else lines.push({ kind: "command", lineNo: i + 1, text: line });
  });
  return { lines, options };
}

export interface MkfsOptions {
  readonly reflink: boolean;
  readonly rmapbt: boolean;
  readonly agcount?: number;
  /** Data stripe unit and width in filesystem blocks (`-d su=,sw=` or `sunit=,swidth=`). */
  readonly sunit?: number;
  readonly swidth?: number;
  /** Internal log size in filesystem blocks (`-l size=`). */
  readonly logBlocks?: number;
}

/** A mkfs size: bytes with an optional k/m/g suffix. */
function mkfsBytes(v: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(v);
  if (!m) return Number.NaN;
  return Number(m[1]) * ({ "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[(m[2] as string).toLowerCase()]!;
}

/**
 * The mkfs.xfs options the machine models: `-m reflink=,rmapbt=`, `-d agcount=` and the
 * stripe geometry (`su=` bytes and `sw=` units, or `sunit=`/`swidth=` in 512-byte
 * sectors) and the log size (`-l size=`), in 4 KiB blocks.
 */
export function parseMkfsOpts(opts: string): MkfsOptions {
  let reflink = true;
  let rmapbt = false;
  let agcount: number | undefined;
  let su: number | undefined;
  let sw: number | undefined;
  let sunitSectors: number | undefined;
  let swidthSectors: number | undefined;
  let logBlocks: number | undefined;
  const words = opts.split(/\s+/).filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const flag = words[i];
    const value = words[i + 1] ?? "";
    if (flag !== "-m" && flag !== "-d" && flag !== "-l") continue;
    i++;
    for (const kv of value.split(",")) {
      const [k, v] = kv.split("=");
      if (flag === "-m" && k === "reflink") reflink = v === "1";
      if (flag === "-m" && k === "rmapbt") rmapbt = v === "1";
      if (flag === "-d" && k === "agcount") agcount = Number(v);
      if (flag === "-d" && k === "su") su = mkfsBytes(v ?? "");
      if (flag === "-d" && k === "sw") sw = Number(v);
      if (flag === "-d" && k === "sunit") sunitSectors = Number(v);
      if (flag === "-d" && k === "swidth") swidthSectors = Number(v);
      if (flag === "-l" && k === "size") logBlocks = mkfsBytes(v ?? "") / 4096;
    }
  }
  const sunit = su !== undefined ? su / 4096 : sunitSectors !== undefined ? sunitSectors / 8 : undefined;
  const swidth = sunit !== undefined && sw !== undefined ? sunit * sw : swidthSectors !== undefined ? swidthSectors / 8 : sunit;
  return {
    reflink,
    rmapbt,
    ...(agcount !== undefined ? { agcount } : {}),
    ...(sunit !== undefined && swidth !== undefined ? { sunit, swidth } : {}),
    ...(logBlocks !== undefined ? { logBlocks } : {}),
  };
}

/** `dax=always|never|inode` from MOUNT_OPTS (default always, as the oracle mounts). */
export function parseMountDax(opts: string | undefined): "always" | "never" | "inode" {
  const m = /(?:^|,)dax(?:=(always|never|inode))?(?:,|$)/.exec(opts ?? "dax=always");
  if (!m) return "never";
  return (m[1] as "always" | "never" | "inode" | undefined) ?? "always";
}
