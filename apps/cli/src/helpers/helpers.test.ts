import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { runScript } from "../run/runner.js";

/** The transcript of `lines` (one per script line) under `mechanism`, `-n` normalised. */
function run(lines: string[], mechanism = "shared-count"): string[] {
  const r = runScript(lines.join("\n"), { file: "t.sh", mechanism, normalize: true });
  expect(r.errors).toEqual([]);
  return r.lines;
}

/** What the last command of a transcript printed (the lines after its `$ ` line). */
const last = (out: string[]): string[] => out.slice(out.findLastIndex((l) => l.startsWith("$ ")) + 1);
const md5Of = (byte: number, n: number): string => createHash("md5").update(new Uint8Array(n).fill(byte)).digest("hex");

const ROTATE = [
  'xfs_io -f -c "pwrite -S 0x61 0 8k" /mnt/a',
  'xfs_io -f -c "reflink /mnt/a 0 4k 4k" -c "reflink /mnt/a 4k 0 4k" /mnt/b',
];

describe("pagelab-mapall", () => {
  it("labels the same DAX page the same in every file that shares it (-p)", () => {
    const out = run([...ROTATE, "pagelab-mapall -r -p /mnt/a:0:8k /mnt/b:0:8k /mnt/b:4k:4k"]);
    expect(last(out)).toEqual([
      `/mnt/a@0+8192: ${md5Of(0x61, 8192)} pages p0,p1`,
      `/mnt/b@0+8192: ${md5Of(0x61, 8192)} pages p1,p0`,
      `/mnt/b@4096+4096: ${md5Of(0x61, 4096)} pages p0`,
    ]);
  });

  it("gives each file its own page under page-cache-copy", () => {
    const out = run([...ROTATE, "pagelab-mapall -r -p /mnt/a:0:8k /mnt/b:0:8k"], "page-cache-copy");
    expect(out.at(-1)).toMatch(/pages p2,p3$/);
  });

  it("reports the pages that fault instead of an md5, and open errors with exit 1", () => {
    const out = run(['xfs_io -f -c "pwrite 0 4k" /mnt/s', "pagelab-mapall -r /mnt/s:0:12k /mnt/none:0:4k"]);
    expect(last(out)).toEqual(["/mnt/s@0+12288: SIGBUS BUS_ADRERR at +4096, SIGBUS BUS_ADRERR at +8192", "/mnt/none@0+4096: open ENOENT", "[exit 1]"]);
  });

  it("rejects a MAP whose offset is not page-aligned, printed as the C code leaves argv", () => {
    const out = run(["pagelab-mapall /mnt/a:100:4k"]);
    expect(last(out)).toEqual(["pagelab-mapall: bad MAP '/mnt/a'", "[exit 2]"]);
  });
});

describe("pagelab-poison", () => {
  it("late kill on an unshared page: the poisoner gets AR, the other mapping only loses the PTE", () => {
    const out = run(['xfs_io -f -c "pwrite -S 0x75 0 16k" /mnt/u', "pagelab-poison /mnt/u:0:16k /mnt/u:4k:8k -- 0:8k"]);
    expect(last(out).slice(0, 2)).toEqual([
      "child 0 /mnt/u@0+16384: madvise ok; SIGBUS BUS_MCEERR_AR at +8192; unmapped +8192; touch ok",
      "child 1 /mnt/u@4096+8192: no signal; unmapped +4096; touch ok",
    ]);
    expect(out.filter((l) => l.includes("Sending SIGBUS"))).toEqual(["[kmsg] <3>Memory failure: pfn1: Sending SIGBUS to plchild0:PID due to hardware memory corruption"]);
  });

  it("without a poison spec nobody is signalled and nothing is unmapped", () => {
    const out = run(['xfs_io -f -c "pwrite 0 8k" /mnt/u', "pagelab-poison -e /mnt/u:0:8k"]);
    expect(last(out)).toEqual(["child 0 /mnt/u@0+8192: no signal; unmapped none; touch ok"]);
  });

  it("reports set-up faults past EOF and a child that cannot open its file (exit 1)", () => {
    const out = run(['xfs_io -f -c "pwrite 0 4k" /mnt/u', "pagelab-poison -r /mnt/u:0:8k /mnt/nope:0:4k"]);
    expect(last(out)).toEqual([
      "child 0 /mnt/u@0+8192: setup SIGBUS BUS_ADRERR at +4096; no signal; unmapped none; touch SIGBUS BUS_ADRERR at +4096",
      "child 1 /mnt/nope@0+4096: open ENOENT",
      "[exit 1]",
    ]);
  });

  it("-x runs the command after the poison step and prints its status first", () => {
    const out = run(['xfs_io -f -c "pwrite 0 4k" /mnt/u', "pagelab-poison -x 'echo hi; false' /mnt/u:0:4k"]);
    expect(last(out)).toEqual(["hi", "x: exit 1", "child 0 /mnt/u@0+4096: no signal; unmapped none; touch ok"]);
  });

  it("usage errors exit 2 with the oracle's messages", () => {
    expect(last(run(["pagelab-poison"]))).toEqual(["usage: pagelab-poison [-r] [-e] [-x CMD] FILE:OFFSET:LENGTH... [-- N:OFFSET[:LENGTH]]", "[exit 2]"]);
    expect(last(run(["pagelab-poison /mnt/u:0:4k -- 1:0"]))).toEqual(["pagelab-poison: bad POISON (child N, offset within its mapping)", "[exit 2]"]);
  });
});

describe("pagelab-dio", () => {
  it("a direct read from the device lands in the file through its mapping (pinned FOLL_WRITE for the I/O)", () => {
    const out = run([
      'xfs_io -f -c "pwrite -S 0x61 0 8k" -c fsync /mnt/a',
      "pagelab-dio /dev/pmem0:536866816 /mnt/a:8k:4k:4k",
      "remount",
      "od -A d -t x1 /mnt/a",
    ]);
    expect(out).toContain("dio pread into map: 4096 (ok)");
    expect(last(out)).toEqual(["0000000 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61", "*", "0004096 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", "*", "0008192"]);
  });

  it("reports misaligned direct I/O as EINVAL, a missing device as an open error (exit 1), bad ranges as usage (exit 2)", () => {
    const setup = 'xfs_io -f -c "pwrite 0 8k" /mnt/a';
    expect(last(run([setup, "pagelab-dio /dev/pmem0:100 /mnt/a:8k:0:4k"]))).toEqual(["dio pread into map: -1 (EINVAL)"]);
    expect(last(run([setup, "pagelab-dio /dev/nope:0 /mnt/a:8k:0:4k"]))).toEqual(["open ENOENT", "[exit 1]"]);
    expect(last(run([setup, "pagelab-dio /dev/pmem0:0 /mnt/a:8k:8k:4k"]))).toEqual(["usage: pagelab-dio SRC:SRCOFF FILE:MAPLEN:BUFOFF:LEN", "[exit 2]"]);
  });
});

describe("pagelab-pinlong", () => {
  it("a long-term pin of a DAX mapping is refused with EOPNOTSUPP", () => {
    expect(last(run(['xfs_io -f -c "pwrite 0 8k" /mnt/a', "pagelab-pinlong /mnt/a:0:8k"]))).toEqual(["register buffers: EOPNOTSUPP"]);
  });

  it("on a page-cache file the shared writable mapping is refused too (EFAULT: it needs dirty tracking)", () => {
    const out = run(["#oracle: MOUNT_OPTS=dax=never", 'xfs_io -f -c "pwrite 0 8k" /mnt/a', "pagelab-pinlong /mnt/a:0:8k"]);
    expect(last(out)).toEqual(["register buffers: EFAULT"]);
  });

  it("a file that cannot be opened prints the errno and exits 1", () => {
    expect(last(run(["pagelab-pinlong /mnt/none:0:4k"]))).toEqual(["open: ENOENT", "[exit 1]"]);
  });
});
