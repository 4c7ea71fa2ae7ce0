export { XfsIextTree, newIextCursor } from "./iext-tree.js";
export type { XfsIextCursor } from "./iext-tree.js";
export { SortedRecords } from "./sorted-records.js";
export {
  XFS_EXT_NORM,
  XFS_EXT_UNWRITTEN,
  XFS_DATA_FORK,
  XFS_ATTR_FORK,
  XFS_COW_FORK,
  XFS_MAX_BMBT_EXTLEN,
  HOLESTARTBLOCK,
  irecEnd,
  isHole,
} from "./types.js";
export type { XfsBmbtIrec, XfsExntst, XfsFileoff, XfsFsblock, XfsFilblks, XfsWhichfork } from "./types.js";
