import { describe, expect, it } from "vitest";
import { normalizeTranscript, shapeOfTranscript } from "./normalize.js";
import { parseMkfsOpts, parseMountDax, parseScript } from "./script.js";

describe("script format", () => {
  it("keeps comments, skips empty lines and reads #oracle: options", () => {
    const s = parseScript("#oracle: MKFS_OPTS=-m reflink=1,rmapbt=0\n# hello\n\nxfs_io -c fsync /mnt/a\n");
    expect(s.options.MKFS_OPTS).toBe("-m reflink=1,rmapbt=0");
    expect(s.lines.map((l) => [l.kind, l.lineNo])).toEqual([
      ["comment", 1],
      ["comment", 2],
      ["command", 4],
    ]);
  });

  it("parses the mkfs and mount options the machine models", () => {
    expect(parseMkfsOpts("-m reflink=1,rmapbt=1 -d agcount=2,su=2m,sw=1 -l size=64m")).toEqual({ reflink: true, rmapbt: true, agcount: 2, sunit: 512, swidth: 512, logBlocks: 16384 });
    expect(parseMkfsOpts("-d sunit=1024,swidth=4096")).toMatchObject({ sunit: 128, swidth: 512 });
    expect(parseMkfsOpts("-m reflink=1,rmapbt=0").rmapbt).toBe(false);
    expect(parseMountDax("dax=never")).toBe("never");
    expect(parseMountDax(undefined)).toBe("always");
  });
});

describe("run.sh -n normalisation", () => {
  it("hides timing figures, pids and pfns (numbered by first appearance)", () => {
    expect(
      normalizeTranscript([
        "16 KiB, 4 ops; 0.0014 sec (11.161 MiB/sec and 2857.1429 ops/sec)",
        "[kmsg] <6>Injecting memory failure for pfn 0x40018 at process virtual address 0x7ffff7ff0000",
        "[kmsg] <3>Memory failure: 0x40018: Sending SIGBUS to plchild0:412 due to hardware memory corruption",
        "[kmsg] <3>Memory failure: 0x40020: recovery action for dax page: Recovered",
      ]),
    ).toEqual([
      "16 KiB, 4 ops; X sec (X)",
      "[kmsg] <6>Injecting memory failure for pfn pfn1 at process virtual address 0x7ffff7ff0000",
      "[kmsg] <3>Memory failure: pfn1: Sending SIGBUS to plchild0:PID due to hardware memory corruption",
      "[kmsg] <3>Memory failure: pfn2: recovery action for dax page: Recovered",
    ]);
  });

  it("compares fiemap shapes: same sharing, different block numbers", () => {
    const real = ["   0: [0..7]:          192..199             8 0x2000", "   0: [0..7]:          192..199             8 0x2000"];
    const sim = ["   0: [0..7]:          4096..4103           8 0x2000", "   0: [0..7]:          4096..4103           8 0x2000"];
    expect(shapeOfTranscript(sim)).toEqual(shapeOfTranscript(real));
    const unshared = ["   0: [0..7]:          4096..4103           8 0x2000", "   0: [0..7]:          4200..4207           8 0x2000"];
    expect(shapeOfTranscript(unshared)).not.toEqual(shapeOfTranscript(real));
  });
});
