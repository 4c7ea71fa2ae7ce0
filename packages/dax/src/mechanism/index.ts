export { MECHANISM_IDS } from "./types.js";
export type { MechanismId, SharingMechanism, InsertRequest, MapTarget, PageOwnerAnswer } from "./types.js";
export { OneToOneMechanism, checkDaxReflinkMount } from "./oneToOne.js";
export type { OneToOneOptions } from "./oneToOne.js";
export { SharedCountMechanism, daxPageIsShared, daxPageShareGet, daxPageSharePut } from "./sharedCount.js";
export { PageCacheCopyMechanism, COPY_RECORD_BYTES } from "./pageCacheCopy.js";
export { forEachMappedPfn, pageFieldOwner } from "./pageFields.js";
import { KernelError } from "@pagelab/mm-core";
import { OneToOneMechanism } from "./oneToOne.js";
import { PageCacheCopyMechanism } from "./pageCacheCopy.js";
import { SharedCountMechanism } from "./sharedCount.js";
import type { MechanismId, SharingMechanism } from "./types.js";

/** The mechanisms implemented so far. */
export const IMPLEMENTED_MECHANISMS = ["one-to-one", "shared-count", "page-cache-copy"] as const satisfies readonly MechanismId[];

/** A fresh mechanism instance by id (each machine gets its own: some keep state). */
export function createMechanism(id: MechanismId): SharingMechanism {
  switch (id) {
    case "one-to-one":
      return new OneToOneMechanism();
    case "shared-count":
      return new SharedCountMechanism();
    case "page-cache-copy":
      return new PageCacheCopyMechanism();
    default:
      throw new KernelError("ENOSYS", `sharing mechanism ${id} is not implemented yet`);
  }
}
