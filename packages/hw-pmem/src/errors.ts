/**
 * How the pmem model fails: an expected failure carries an errno-like `code` (what the
 * driver returns as -errno), and a consumed media error is a machine check.
 *
 * @see include/uapi/asm-generic/errno-base.h, include/linux/mm.h (EHWPOISON),
 *      arch/x86/kernel/cpu/mce/core.c do_machine_check(), drivers/acpi/nfit/mce.c
 *
 * This package depends on nothing, so it does not throw mm-core's `KernelError`;
 * `PmemError` has the same shape (`code`, `errno`) and consumers test `code`.
 * `MachineCheckError` is recognised by `name === "MachineCheckError"` (duck typing),
 * since other packages do not import it.
 */
import { type Pfn, physPfn, CACHELINE_SIZE, alignDown } from "./types.js";

export const PMEM_ERRNO = {
  EIO: 5,
  ENXIO: 6,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  EOPNOTSUPP: 95,
  EHWPOISON: 133,
} as const;

export type PmemErrno = keyof typeof PMEM_ERRNO;

/** An expected failure of the pmem driver or the namespace layer. */
export class PmemError extends Error {
  override readonly name = "PmemError";
  readonly errno: number;
  constructor(
    readonly code: PmemErrno,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.errno = PMEM_ERRNO[code];
  }
}

export function isPmemError(e: unknown, code?: PmemErrno): e is PmemError {
  return e instanceof PmemError && (code === undefined || e.code === code);
}

/**
 * A CPU load consumed poison: the machine check exception the kernel turns into
 * `memory_failure()` (and SIGBUS for a user access). `physAddr` is the poisoned cache line.
 */
export class MachineCheckError extends Error {
  override readonly name = "MachineCheckError";
  readonly physAddr: number;
  readonly pfn: Pfn;
  constructor(physAddr: number) {
    const line = alignDown(physAddr, CACHELINE_SIZE);
    super(`machine check: uncorrectable memory error at physical address 0x${line.toString(16)}`);
    this.physAddr = line;
    this.pfn = physPfn(line);
  }
}

/** Whether `e` is a machine check, by name, as other packages detect it. */
export function isMachineCheck(e: unknown): e is MachineCheckError {
  return e instanceof Error && e.name === "MachineCheckError";
}
