export {
  memoryTypeName,
  isZoneDevicePage,
  isDeviceCoherentPage,
  isPciP2pdmaPage,
  isDeviceDaxPage,
  zoneDeviceLongtermPinnable,
  MEMORY_TYPE_TRAITS,
  devPagemapSummary,
} from "./types.js";
export type { MemoryTypeTraits, DevPagemapSummary } from "./types.js";
export { DeviceMemory } from "./deviceMemory.js";
export {
  makeReadableDevicePrivateEntry,
  makeWritableDevicePrivateEntry,
  isDevicePrivateEntry,
  isWritableDevicePrivateEntry,
  makeReadableMigrationEntry,
  makeWritableMigrationEntry,
  isMigrationEntry,
  isWritableMigrationEntry,
  pfnSwapEntryToPfn,
} from "./entries.js";
export { requestFreeMemRegion, MAX_PHYSMEM_END } from "./resource.js";
