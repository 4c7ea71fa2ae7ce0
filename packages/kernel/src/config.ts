/**
 * The machine configuration: what `bootMachine()` assembles, with the defaults of the
 * real-kernel reference (../shared/oracle: 512 MiB of pmem at 1 GiB = pfn 0x40000,
 * 4 KiB blocks, `mkfs.xfs -m reflink=1,rmapbt=1`, `mount -o dax=always`, Linux 6.12's
 * `shared-count` sharing).
 *
 * @see init/main.c (in spirit); fs/xfs/xfs_super.c xfs_fs_parse_param() (dax=); mkfs.xfs -m -d -l;
 *      drivers/nvdimm/e820.c (the legacy memmap=512M!1G pmem the oracle boots with)
 */
import type { DaxMountMode, MechanismId } from "@pagelab/dax";
import type { GupBugSwitches } from "@pagelab/gup";

/** `mkfs.xfs -m reflink=,rmapbt= -d agcount=`. */
export interface MkfsConfig {
  readonly reflink: boolean;
  readonly rmapbt: boolean;
  /** Allocation groups (default: what mkfs picks for the size). */
  readonly agcount?: number;
  /** `-d su=` / `sunit=`: the data stripe unit in blocks (`sb_unit`). */
  readonly sunit?: number;
  /** `-d sw=` / `swidth=`: the data stripe width in blocks (`sb_width`). */
  readonly swidth?: number;
  /** `-l size=` in blocks. */
  readonly logBlocks?: number;
}

/** Historic-bug switches: gup's, including the DAX truncate without the busy-page wait. */
export type HistoricBugs = GupBugSwitches;

export interface MachineConfig {
  /** DRAM bytes (multiple of 2 MiB). */
  readonly dramBytes: number;
  /** pmem bytes (multiple of 2 MiB) and the physical address of region0. */
  readonly pmemBytes: number;
  readonly pmemPhysAddr: number;
  /** ADR (default, as the oracle's qemu) or eADR. */
  readonly persistenceDomain: "adr" | "eadr";
  readonly mkfs: MkfsConfig;
  /** `-o dax=always|never|inode`. */
  readonly dax: DaxMountMode;
  readonly mechanism: MechanismId;
  /** Seed of the scheduler interleavings a scenario runs. */
  readonly seed: number;
  readonly bugs: HistoricBugs;
}

export type MachineConfigInput = Partial<Omit<MachineConfig, "mkfs" | "bugs">> & {
  readonly mkfs?: Partial<MkfsConfig>;
  readonly bugs?: Partial<HistoricBugs>;
};

export const DEFAULT_MACHINE_CONFIG: MachineConfig = Object.freeze({
  dramBytes: 64 * 1024 * 1024,
  pmemBytes: 512 * 1024 * 1024,
  pmemPhysAddr: 1024 * 1024 * 1024,
  persistenceDomain: "adr",
  mkfs: Object.freeze({ reflink: true, rmapbt: true }),
  dax: "always",
  mechanism: "shared-count",
  seed: 0,
  bugs: Object.freeze({ cowLeakAfterFork: false, dirtyCow: false, daxTruncateWithoutBusyWait: false }),
});

/** The full configuration with defaults filled in. */
export function resolveMachineConfig(input: MachineConfigInput = {}): MachineConfig {
  const d = DEFAULT_MACHINE_CONFIG;
  return Object.freeze({
    ...d,
    ...input,
    mkfs: Object.freeze({ ...d.mkfs, ...input.mkfs }),
    bugs: Object.freeze({ ...d.bugs, ...input.bugs }),
  });
}
