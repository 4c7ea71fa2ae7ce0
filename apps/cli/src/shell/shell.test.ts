import { describe, expect, it } from "vitest";
import { MemFs } from "./fs.js";
import { BufferOut, Shell, type Utility } from "./interp.js";
import { parseShell } from "./parser.js";
import { busyboxApplets } from "./utils.js";

function sh(line: string, fs = new MemFs(), extra: [string, Utility][] = []): { out: string; status: number; fs: MemFs } {
  const shell = new Shell({ fs, commands: new Map([...busyboxApplets, ...extra]), stepLimit: 10_000 });
  const out = new BufferOut();
  const status = shell.run(line, out, out);
  return { out: out.text(), status, fs };
}

describe("shell parsing", () => {
  it("keeps double-quoted -c arguments of xfs_io as one word each", () => {
    const list = parseShell(`xfs_io -f -c "pwrite -S 0x61 0 16k" -c fsync /mnt/a`);
    const cmd = list.items[0]?.first.commands[0];
    expect(cmd?.kind).toBe("simple");
    if (cmd?.kind !== "simple") return;
    expect(cmd.words).toHaveLength(7);
    expect(cmd.words[3]?.parts).toEqual([{ kind: "lit", text: "pwrite -S 0x61 0 16k", quoted: true }]);
  });

  it("reports an unterminated loop as a syntax error with exit 2", () => {
    const r = sh("for f in a b; do echo $f");
    expect(r.status).toBe(2);
    expect(r.out).toMatch(/^sh: syntax error: unexpected end of file \(expecting "done"\)/);
  });
});

describe("shell execution", () => {
  it("runs for loops, && / || chains and $? like ash", () => {
    expect(sh(`for f in W X; do echo "== $f"; done; false || echo no; true && echo yes; false; echo $?`).out).toBe("== W\n== X\nno\nyes\n1\n");
  });

  it("expands $(…), $((…)) and splits unquoted results into fields", () => {
    expect(sh(`x=$((4096 * 3 + 1)); echo $x; set=$(echo a b); for w in $set; do echo [$w]; done; echo "$(printf "a  b")"`).out).toBe(
      "12289\n[a]\n[b]\na  b\n",
    );
  });

  it("pipes, redirects to a private /tmp and appends with >>", () => {
    const r = sh(`echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f | grep -c o; grep -v one /tmp/f; echo err 1>&2 2>/dev/null`);
    expect(r.out).toBe("2\ntwo\nerr\n");
    expect(new TextDecoder().decode(r.fs.readFile("/tmp/f"))).toBe("one\ntwo\n");
  });

  it("routes stderr into a pipe with 2>&1", () => {
    expect(sh(`cat /nope 2>&1 | sed 's/nope/gone/'`).out).toBe("cat: can't open '/gone': No such file or directory\n");
  });

  it("prints busybox's not-found message and exits 127", () => {
    const r = sh("frobnicate 1");
    expect(r).toMatchObject({ out: "sh: frobnicate: not found\n", status: 127 });
  });

  it("evaluates if/elif/else with test and [", () => {
    expect(sh(`if [ 3 -gt 4 ]; then echo a; elif test -e /tmp; then echo b; else echo c; fi`).out).toBe("b\n");
  });

  it("stops a loop that never ends instead of hanging", () => {
    expect(() => sh("while true; do :; done")).toThrow(/more than 10000/);
  });

  it("passes a command's exit status through, 135 for a SIGBUS death", () => {
    const bus: Utility = (ctx) => {
      ctx.out.write("before\n");
      return 135;
    };
    expect(sh("bus; echo $?", new MemFs(), [["bus", bus]]).out).toBe("before\n135\n");
  });
});

describe("busybox applets", () => {
  it("od -A d -t x1 folds repeated lines into * and ends with the size", () => {
    const r = sh(`printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' > /tmp/a; printf 'bc' >> /tmp/a; od -A d -t x1 /tmp/a`);
    expect(r.out).toBe("0000000 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61\n*\n0000048 62 63\n0000050\n");
  });

  it("od -t c prints characters in 4-column cells and escapes", () => {
    expect(sh(`printf 'w\\n\\001' | od -A d -t c`).out).toBe("0000000   w  \\n 001\n0000003\n");
  });

  it("md5sum prints the digest and the name as given", () => {
    expect(sh(`printf abc > /tmp/x; md5sum /tmp/x /tmp/none`).out).toBe(
      "900150983cd24fb0d6963f7d28e17f72  /tmp/x\nmd5sum: can't open '/tmp/none': No such file or directory\n",
    );
  });

  it("stat -c and truncate -s agree on sizes and blocks", () => {
    expect(sh(`truncate -s 8k /tmp/t; stat -c '%n %s %b' /tmp/t; truncate -s +1 /tmp/t; stat -c %s /tmp/t`).out).toBe("/tmp/t 8192 16\n8193\n");
  });

  it("sed substitutes with groups and & and deletes by regex", () => {
    expect(sh(`printf 'ab 12\\ncd 34\\n' | sed -e 's/\\([a-z]*\\) \\([0-9]*\\)/\\2-\\1 &/' -e '/^34/d'`).out).toBe("12-ab ab 12\n");
  });

  it("head and tail select lines; rm reports what it cannot remove", () => {
    expect(sh(`seq 5 | head -n 2; seq 5 | tail -2; seq 5 | tail -n +4; rm /tmp/none`).out).toBe(
      "1\n2\n4\n5\n4\n5\nrm: can't remove '/tmp/none': No such file or directory\n",
    );
  });

  it("globs absolute patterns against the tree", () => {
    expect(sh(`touch /tmp/a1 /tmp/a2 /tmp/b; echo /tmp/a*; echo /tmp/z*`).out).toBe("/tmp/a1 /tmp/a2\n/tmp/z*\n");
  });
});
