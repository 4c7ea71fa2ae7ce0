import { describe, expect, it } from "vitest";
import { PAGE_MAPPING_ANON, PG_dirty, PG_lru, PG_uptodate } from "./flags.js";
import { createMemory } from "./memory.js";
import { DevPagemap, MEMORY_DEVICE_FS_DAX, memremapPages } from "./memremap.js";

const MiB = 1024 * 1024;

describe("dumpPage", () => {
  it("prints a freshly allocated page as dump_page() does", () => {
    const mem = createMemory({ dramBytes: 32 * MiB });
    const pfn = mem.buddy.allocPage();
    expect(pfn).toBeGreaterThanOrEqual(4096);
    expect(mem.memmap.dumpPage(pfn).split("\n")).toEqual([
      `page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x${pfn.toString(16)}`,
      "flags: 0xfffffc0000000(node=0|zone=1|lastcpupid=0x1fffff)",
    ]);
  });

  it("marks anon pages and lists flags by name", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pfn = mem.buddy.allocPage();
    mem.memmap.setPageMapping(pfn, {}, PAGE_MAPPING_ANON);
    mem.memmap.setPageIndex(pfn, 0x7f001);
    mem.memmap.pageMapcountInc(pfn);
    for (const f of [PG_uptodate, PG_dirty, PG_lru]) mem.memmap.setPageFlag(pfn, f);
    const lines = mem.memmap.dumpPage(pfn, "test").split("\n");
    expect(lines[0]).toBe(`page: refcount:1 mapcount:1 mapping:0000000000000000 index:0x7f001 pfn:0x${pfn.toString(16)}`);
    expect(lines[1]).toBe("anon flags: 0x7ffffc0000038(uptodate|dirty|lru|node=0|zone=0|lastcpupid=0x1fffff)");
    expect(lines[2]).toBe("page dumped because: test");
  });

  it("prints a file page's hashed mapping pointer and its dump_mapping() line", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const pfn = mem.buddy.allocPage();
    const mapping = { dumpMapping: () => 'aops:xfs_address_space_operations ino:83 dentry name(?):"W"' };
    mem.memmap.setPageMapping(pfn, mapping);
    const lines = mem.memmap.dumpPage(pfn).split("\n");
    expect(lines[0]).toMatch(/ mapping:00000000[0-9a-f]{8} index:0x0 /);
    expect(lines[0]).not.toContain("mapping:0000000000000000");
    expect(lines[1]).toBe('aops:xfs_address_space_operations ino:83 dentry name(?):"W"');
    expect(lines[2]).toMatch(/^flags: /);
  });

  it("shows a free page's buddy type", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const lines = mem.memmap.dumpPage(512).split("\n");
    expect(lines[0]).toBe("page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x200");
    expect(lines[2]).toBe("page_type: f0(buddy)");
  });

  it("shows an idle fsdax page as reserved in zone 4", () => {
    const mem = createMemory({ dramBytes: 4 * MiB });
    const start = 2 ** 32;
    memremapPages(mem, new DevPagemap({ type: MEMORY_DEVICE_FS_DAX, range: { start, end: start + 2 * MiB - 1 } }));
    expect(mem.memmap.dumpPage(start / 4096).split("\n")).toEqual([
      "page: refcount:1 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x100000",
      "flags: 0x27ffffc0002000(reserved|node=0|zone=4|lastcpupid=0x1fffff)",
    ]);
  });
});
