/**
 * The user-visible constants of the test_hmm "dmirror" device: snapshot permission
 * bytes and memory types.
 *
 * @see lib/test_hmm_uapi.h enum HMM_DMIRROR_PROT_*, HMM_DMIRROR_MEMORY_DEVICE_*
 */

/** The address cannot be mirrored (hmm_range_fault reported HMM_PFN_ERROR). */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
/** Not mapped (or not valid) in the CPU page table. */
export const HMM_DMIRROR_PROT_NONE = 0x00;
export const HMM_DMIRROR_PROT_READ = 0x01;
export const HMM_DMIRROR_PROT_WRITE = 0x02;
/** Mapped by a PMD leaf in the CPU page table. */
export const HMM_DMIRROR_PROT_PMD = 0x04;
export const HMM_DMIRROR_PROT_PUD = 0x08;
/** The shared zero page. */
export const HMM_DMIRROR_PROT_ZERO = 0x10;
/** Device-private memory of the device asking. */
export const HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL = 0x20;
/** Device-private memory of another device. */
export const HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE = 0x30;
export const HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL = 0x40;
export const HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE = 0x50;

export const HMM_DMIRROR_MEMORY_DEVICE_PRIVATE = 1;
export const HMM_DMIRROR_MEMORY_DEVICE_COHERENT = 2;
export type DmirrorMemoryType = typeof HMM_DMIRROR_MEMORY_DEVICE_PRIVATE | typeof HMM_DMIRROR_MEMORY_DEVICE_COHERENT;

/** The counters an HMM_DMIRROR_* ioctl returns in `struct hmm_dmirror_cmd`. */
export interface DmirrorCmdResult {
  /** Pages read, written, migrated or snapshotted. */
  cpages: number;
  /** hmm_range_fault() rounds needed. */
  faults: number;
}
