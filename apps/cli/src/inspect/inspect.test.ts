import { describe, expect, it } from "vitest";
import { runScript } from "../run/runner.js";

const SHARED = ['xfs_io -f -c "pwrite -S 0x61 0 8k" /mnt/a', 'xfs_io -f -c "reflink /mnt/a 4k 0 4k" /mnt/b'];

describe("pagelab inspect", () => {
  it("a page by PFN: dump_page, the pmem block, every rmap owner with its DAX entry", () => {
    const r = runScript([...SHARED, "pagelab-mapall -r /mnt/a:0:8k /mnt/b:0:4k"].join("\n"), { file: "t.sh", inspect: ["file /mnt/b"] });
    const block = Number(/block (\d+) \(file block 0\)/.exec(r.inspected[0]!.lines.join("\n"))![1]);
    const pfn = 0x40000 + block;
    const page = runScript([...SHARED, "pagelab-mapall -r /mnt/a:0:8k /mnt/b:0:4k"].join("\n"), { file: "t.sh", inspect: [`page 0x${pfn.toString(16)}`] }).inspected[0]!.lines;
    expect(page[0]).toMatch(new RegExp(`^page: refcount:\\d+ mapcount:\\d+ mapping:\\S+ index:0x\\w+ pfn:0x${pfn.toString(16)}$`));
    expect(page).toContain(`pmem: pmem0 offset 0x${(block * 4096).toString(16)} (filesystem block ${block})`);
    expect(page.filter((l) => l.startsWith("owner: "))).toEqual([
      expect.stringMatching(/^owner: \/mnt\/a ino 0x\w+ block 1; dax entry: 0x\w+$/),
      expect.stringMatching(/^owner: \/mnt\/b ino 0x\w+ block 0; dax entry: 0x\w+$/),
    ]);
    expect(page.at(-1)).toBe("mapped: by no process");
  });

  it("a file: extents with each block's reference count and owners", () => {
    const lines = runScript(SHARED.join("\n"), { file: "t.sh", inspect: ["file /mnt/a"] }).inspected[0]!.lines;
    expect(lines[0]).toMatch(/^\/mnt\/a: ino 0x\w+ size 8192 blocks 16$/);
    const blocks = lines.filter((l) => l.startsWith("  block "));
    expect(blocks.map((l) => /refcount (\d+)/.exec(l)![1])).toEqual(["1", "2"]);
    expect(blocks[1]).toMatch(/owners \/mnt\/a ino 0x\w+ block 1, \/mnt\/b ino 0x\w+ block 0$/);
  });

  it("works as a script command between lines, and prints usage for a bad query", () => {
    const r = runScript(['xfs_io -f -c "pwrite 0 4k" /mnt/a', "pagelab inspect dmesg", "pagelab inspect page"].join("\n"), { file: "t.sh" });
    expect(r.lines).toContain("<6>XFS (pmem0): Ending clean mount");
    expect(r.lines.slice(-2)).toEqual(["usage: pagelab inspect page PFN | file /mnt/PATH | dmesg", "[exit 2]"]);
  });
});
