/**
 * `run.sh -n`: what is not stable between runs is renamed. xfs_io timing figures become
 * `X sec (X)`; pids in kernel lines become `PID`; the pfn in `Memory failure: 0x…:` and
 * `Injecting memory failure for pfn 0x…` lines becomes `pfn1`, `pfn2`, … in order of
 * first appearance.
 */

export function normalizeTranscript(lines: readonly string[]): string[] {
  const pfns = new Map<string, string>();
  const pfnLabel = (hex: string): string => {
    let l = pfns.get(hex);
    if (!l) {
      l = `pfn${pfns.size + 1}`;
      pfns.set(hex, l);
    }
    return l;
  };
  return lines.map((line) => {
    let l = line.replace(/; [0-9.:]+ sec \([^)]*\)$/, "; X sec (X)");
    if (l.startsWith("[kmsg] ")) {
      l = l
        .replace(/(Memory failure: )(0x[0-9a-f]+)(:)/, (_m, a: string, pfn: string, b: string) => `${a}${pfnLabel(pfn)}${b}`)
        .replace(/(Injecting memory failure for pfn )(0x[0-9a-f]+)/, (_m, a: string, pfn: string) => `${a}${pfnLabel(pfn)}`)
        .replace(/(\S+?):(\d+)( due to)/, "$1:PID$3")
        .replace(/(\w+)\[(\d+)\]: segfault/, "$1[PID]: segfault");
    }
    return l;
  });
}

/**
 * The comparison the issue asks for: physical block numbers and mapping addresses aside.
 * fiemap BLOCK-RANGE cells become `B..B+len`, with equal start blocks given equal labels
 * (so which files share a range still has to match); `0x7f…` addresses become `ADDR`.
 */
export function shapeOfTranscript(lines: readonly string[]): string[] {
  const blocks = new Map<string, string>();
  const label = (start: string): string => {
    let l = blocks.get(start);
    if (!l) {
      l = `b${blocks.size + 1}`;
      blocks.set(start, l);
    }
    return l;
  };
  return lines.map((line) => {
    const fiemap = /^(\s+\d+: \[\d+\.\.\d+\]:\s+)(\d+)\.\.(\d+)(\s+)(\d+)(.*)$/.exec(line);
    if (fiemap) {
      const [, head, start, , , total, tail] = fiemap as unknown as [string, string, string, string, string, string, string];
      return `${head.trimEnd()} ${label(start)}+${total}${tail.replace(/\s+/g, " ")}`;
    }
    return line.replace(/0x7f[0-9a-f]{8,}/g, "ADDR").replace(/virtual address ADDR/, "virtual address ADDR");
  });
}
