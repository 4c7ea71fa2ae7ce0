import { describe, expect, it } from "vitest";
import { cvtnum, cvtstr, dumpBuffer, formatFiemapVerbose, formatMapping, reportIoTimes } from "./format.js";

describe("cvtnum", () => {
  it("takes decimal, 0x, octal and one k/m/g/b/s suffix", () => {
    expect(cvtnum(4096, 512, "16k")).toBe(16384);
    expect(cvtnum(4096, 512, "0x1000")).toBe(4096);
    expect(cvtnum(4096, 512, "010")).toBe(8);
    expect(cvtnum(4096, 512, "2b")).toBe(8192);
    expect(cvtnum(4096, 512, "3s")).toBe(1536);
    expect(cvtnum(4096, 512, "4M")).toBe(4 * 2 ** 20);
  });

  it("rejects trailing junk and empty numbers", () => {
    expect(cvtnum(4096, 512, "16kb")).toBeNaN();
    expect(cvtnum(4096, 512, "abc")).toBeNaN();
    expect(cvtnum(4096, 512, "")).toBeNaN();
  });
});

describe("report lines", () => {
  it("prints sizes exactly when whole and as bytes below 1 KiB", () => {
    expect(cvtstr(16384)).toBe("16 KiB");
    expect(cvtstr(4 * 2 ** 20)).toBe("4 MiB");
    expect(cvtstr(8)).toBe("8.000000 bytes");
    expect(cvtstr(0)).toBe("0.000000 bytes");
    expect(cvtstr(1536)).toBe("1.500 KiB");
  });

  it("shapes the timing line like xfs_io", () => {
    expect(reportIoTimes(16384, 4, 0.0001)).toMatch(/^16 KiB, 4 ops; 0\.0001 sec \(156\.250 MiB\/sec and 40000\.0000 ops\/sec\)$/);
  });
});

describe("dump_buffer", () => {
  it("prints offsets, hex and isalnum characters, with a short last line", () => {
    const data = new Uint8Array([0x61, 0x61, 0x61, 0x61, 0, 0, 0, 0]);
    expect(dumpBuffer(0xffc, data)).toBe("00000ffc:  61 61 61 61 00 00 00 00  aaaa....\n");
    const long = new Uint8Array(20).fill(0xcd);
    expect(dumpBuffer(0, long)).toBe(
      "00000000:  cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd  ................\n00000010:  cd cd cd cd  ....\n",
    );
  });
});

describe("fiemap -v", () => {
  it("matches the oracle's table for a shared extent with a hole up to EOF", () => {
    const out = formatFiemapVerbose("/mnt/d1", [{ logical: 0, physical: 192 * 512, length: 4096, flags: 0x2001 }], 8192);
    expect(out).toBe(
      [
        "/mnt/d1:",
        " EXT: FILE-OFFSET      BLOCK-RANGE      TOTAL FLAGS",
        "   0: [0..7]:          192..199             8 0x2001",
        "   1: [8..15]:         hole                 8",
        "",
      ].join("\n"),
    );
  });

  it("right-aligns small flags in five columns", () => {
    const out = formatFiemapVerbose("/mnt/p", [{ logical: 0, physical: 8192 * 512, length: 4 * 2 ** 20, flags: 1 }], 4 * 2 ** 20);
    expect(out.split("\n")[2]).toBe("   0: [0..8191]:       8192..16383       8192   0x1");
  });
});

describe("mapping list", () => {
  it("marks the current mapping with brackets and right-aligns the name", () => {
    const m = { addr: 0x7ffff7b02000, length: 16384, prot: { r: true, w: true, x: false }, name: "/mnt/a", offset: 0, mapSync: false };
    expect(formatMapping(m, 0, true)).toBe("[000] 0x7ffff7b02000 - 0x7ffff7b06000 rw-          /mnt/a (0 : 16384)\n");
    expect(formatMapping(m, 1, false)).toBe(" 001  0x7ffff7b02000 - 0x7ffff7b06000 rw-          /mnt/a (0 : 16384)\n");
  });
});
