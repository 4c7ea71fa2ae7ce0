import { describe, expect, it } from "vitest";
import { runDemo } from "./demo.js";

function demoOutput(): string[] {
  const lines: string[] = [];
  runDemo((l) => lines.push(l));
  return lines;
}

describe("pagelab demo", () => {
  const out = demoOutput();

  it("creates ZONE_DEVICE struct pages for pmem that idle at refcount 1", () => {
    expect(out).toContain("memremap_pages: 131072 ZONE_DEVICE struct pages (FS_DAX), idle at refcount 1:");
    expect(out).toContain("  page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x40000");
  });

  it("loses the store that was never flushed when power fails", () => {
    expect(out).toContain('after power loss:  line 0 = "flushed", line 1 = "" (never written back)');
  });

  it("shares the anonymous page after fork and copies it on the child's write", () => {
    expect(out.some((l) => /^  page: refcount:2 mapcount:2 .* index:0x7ffff7ffe pfn:0x[0-9a-f]+$/.test(l))).toBe(true);
    expect(out).toContain('parent reads "written by parent", child reads "written by child!"');
    const cow = out.find((l) => l.startsWith("child's store faulted and copied"));
    const [, parentPfn, childPfn] = /parent pfn (0x[0-9a-f]+), child pfn (0x[0-9a-f]+)/.exec(cow ?? "") ?? [];
    expect(parentPfn).toBeDefined();
    expect(parentPfn).not.toBe(childPfn);
  });

  it("signals the accessing process AR and the early-kill process AO at its own address", () => {
    expect(out.filter((l) => l.includes("Sending SIGBUS to"))).toHaveLength(2);
    expect(out).toContain("parent: SIGBUS BUS_MCEERR_AR at 0x7ffff7ffe000 (killed)");
    expect(out).toContain("early: SIGBUS BUS_MCEERR_AO at 0x7ffff7ffe000 (caught)");
  });
});
