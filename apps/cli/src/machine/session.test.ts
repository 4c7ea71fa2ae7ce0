import { describe, expect, it } from "vitest";
import { runScript } from "../run/runner.js";

describe("the shell's /mnt is the machine's filesystem", () => {
  it("ls lists /mnt through readdir, and stat -f counts the blocks an rm frees through statfs", () => {
    const r = runScript(['xfs_io -f -c "pwrite 0 8k" /mnt/a', 'xfs_io -f -c "pwrite 0 4k" /mnt/b', "ls /mnt", "stat -f -c %f /mnt", "rm /mnt/a", "stat -f -c %f /mnt; ls /mnt"].join("\n"), { file: "t.sh" });
    expect(r.errors).toEqual([]);
    const at = (cmd: string) => r.lines[r.lines.indexOf(`$ ${cmd}`) + 1]!;
    expect(r.lines.slice(r.lines.indexOf("$ ls /mnt") + 1, r.lines.indexOf("$ ls /mnt") + 3)).toEqual(["a", "b"]);
    const before = Number(at("stat -f -c %f /mnt"));
    const after = r.lines.slice(-2);
    expect(Number(after[0])).toBe(before + 2);
    expect(after[1]).toBe("b");
  });
});
