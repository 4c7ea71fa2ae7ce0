/**
 * `dump_page()`: the kernel's description of one struct page, line for line.
 *
 * @see mm/debug.c dump_page(), __dump_folio(), page_type_name(); fs/inode.c dump_mapping();
 *      lib/vsprintf.c format_page_flags() (%pGp), pointer hashing (%p)
 *
 * Lines printed (6.12, order-0 pages):
 *   page: refcount:R mapcount:M mapping:P index:0xI pfn:0xN
 *   [dump_mapping() line, if the mapping object provides one]
 *   [anon |ksm ]flags: 0xFLAGS(names|node=0|zone=Z|lastcpupid=0x1fffff)
 *   [page_type: f0(buddy)]
 *   [page dumped because: REASON]
 * The `raw:` hex lines are left out: they would print host addresses the model does not
 * have. `mapping:` prints like the kernel's hashed %p: NULL as 16 zeros, otherwise
 * 8 zeros and a 32-bit hash (of the mapping's id). 6.12 prints nothing about the pgmap of
 * a ZONE_DEVICE page; its flags show `reserved` and `zone=4`.
 */
import { formatPageFlags, pageTypeHasType, pageTypeName } from "./flags.js";
import type { Memmap } from "./memmap.js";

/** A mapping object that can describe itself as `dump_mapping()` does (vm's AddressSpace). */
export interface DumpableMapping {
  /** e.g. `aops:xfs_address_space_operations ino:83 dentry name(?):"foo"`. */
  dumpMapping(): string;
}

function isDumpable(o: object): o is DumpableMapping {
  return typeof (o as Partial<DumpableMapping>).dumpMapping === "function";
}

/** `%p` of a non-NULL pointer: hashed, as printed without `no_hash_pointers`. */
export function hashedPointer(value: number): string {
  let h = Math.imul((value % 0x100000000) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.floor(value / 0x100000000), 0xc2b2ae35);
  h ^= h >>> 16;
  return `00000000${(h >>> 0).toString(16).padStart(8, "0")}`;
}

export function dumpPage(mm: Memmap, pfn: number, reason?: string): string {
  const raw = mm.rawMapcount(pfn);
  const typed = pageTypeHasType(raw);
  const mapping = mm.folioMapping(pfn);
  const mappingText = mapping ? hashedPointer(mm.pageMapping(pfn)) : "0000000000000000";
  const lines = [
    `page: refcount:${mm.pageRefCount(pfn)} mapcount:${typed ? 0 : raw + 1} mapping:${mappingText} ` +
      `index:0x${mm.pageIndex(pfn).toString(16)} pfn:0x${pfn.toString(16)}`,
  ];
  let type = "";
  if (mm.folioTestKsm(pfn)) type = "ksm ";
  else if (mm.folioTestAnon(pfn)) type = "anon ";
  else if (mapping && isDumpable(mapping)) lines.push(mapping.dumpMapping());
  lines.push(`${type}flags: ${formatPageFlags(mm.pageFlags(pfn), mm.pageZonenum(pfn))}`);
  if (typed) lines.push(`page_type: ${((raw >>> 24) & 0xff).toString(16)}(${pageTypeName(raw >>> 0)})`);
  if (reason) lines.push(`page dumped because: ${reason}`);
  return lines.join("\n");
}
