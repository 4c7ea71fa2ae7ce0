export {
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  migratePfn,
  migratePfnToPage,
  migratePfnFlags,
  migratePfnHas,
} from "./migratePfn.js";
export {
  folioIsolateLru,
  folioPutbackLru,
  folioTryShareAnonRmapPte,
  tryToMigrate,
  removeMigrationPtes,
  folioMigrateMapping,
  folioMigrateFlags,
} from "./migrateRmap.js";
export {
  vmaIsDax,
  migrateVmaInit,
  migrateVmaSetup,
  migrateVmaPages,
  migrateVmaFinalize,
  migrateDeviceUnmap,
  migrateDeviceRange,
  migrateDevicePfns,
  migrateDevicePages,
  migrateDeviceFinalize,
  migrateStats,
} from "./migrateDevice.js";
export type { MigrateVma } from "./migrateDevice.js";
