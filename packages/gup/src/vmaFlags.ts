/**
 * Which VMAs GUP may walk, and for what: the per-VMA gate of the slow path.
 *
 * @see mm/gup.c check_vma_flags(), writable_file_mapping_allowed();
 *      include/linux/fs.h vma_is_fsdax(), vma_is_dax(); mm/mmap.c vma_needs_dirty_tracking()
 *
 * 6.12 rules: VM_IO/VM_PFNMAP → EFAULT; FOLL_ANON on a file VMA → EFAULT; FOLL_LONGTERM on
 * an fsdax VMA → EOPNOTSUPP (device-dax, a character device, is allowed); a long-term
 * write pin of a file mapping that needs dirty tracking → EFAULT; a write to a VMA
 * without VM_WRITE needs FOLL_FORCE and a private (CoW) mapping; a read of a VMA without
 * VM_READ needs FOLL_FORCE and VM_MAYREAD. No secretmem, hugetlb, shadow stacks or pkeys.
 */
import {
  ERRNO, VM_IO, VM_MAYREAD, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, isCowMapping, vmaIsAnonymous, vmaWantsWritenotify,
  type VmAreaStruct,
} from "@pagelab/mm-core";
import { FOLL_ANON, FOLL_FORCE, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from "./foll.js";

/** `vma_is_dax()`: the VMA maps a DAX inode (fsdax file or device-dax). */
export function vmaIsDax(vma: VmAreaStruct): boolean {
  return vma.vmFile?.mapping.isDax ?? false;
}

/** `vma_is_fsdax()`: a DAX file of a filesystem, not a device-dax character device. */
export function vmaIsFsdax(vma: VmAreaStruct): boolean {
  const file = vma.vmFile;
  if (!file || !vmaIsDax(vma)) return false;
  return file.isCharDevice !== true;
}

/** `vma_needs_dirty_tracking()`: a shared writable file mapping the filesystem must hear about. */
export function vmaNeedsDirtyTracking(vma: VmAreaStruct): boolean {
  if ((vma.vmFlags & (VM_SHARED | VM_WRITE)) !== (VM_SHARED | VM_WRITE)) return false;
  return vmaWantsWritenotify(vma);
}

/** `writable_file_mapping_allowed()`: only long-term pins of dirty-tracked mappings are refused. */
export function writableFileMappingAllowed(vma: VmAreaStruct, gupFlags: number): boolean {
  if ((gupFlags & (FOLL_PIN | FOLL_LONGTERM)) !== (FOLL_PIN | FOLL_LONGTERM)) return true;
  return !vmaNeedsDirtyTracking(vma);
}

/** `check_vma_flags()`: 0, or the negative errno GUP fails with. */
export function checkVmaFlags(vma: VmAreaStruct, gupFlags: number): number {
  const vmFlags = vma.vmFlags;
  const write = (gupFlags & FOLL_WRITE) !== 0;
  const anon = vmaIsAnonymous(vma);
  if (vmFlags & (VM_IO | VM_PFNMAP)) return -ERRNO.EFAULT;
  if (gupFlags & FOLL_ANON && !anon) return -ERRNO.EFAULT;
  if (gupFlags & FOLL_LONGTERM && vmaIsFsdax(vma)) return -ERRNO.EOPNOTSUPP;
  if (write) {
    if (!anon && !writableFileMappingAllowed(vma, gupFlags)) return -ERRNO.EFAULT;
    if (!(vmFlags & VM_WRITE)) {
      if (!(gupFlags & FOLL_FORCE)) return -ERRNO.EFAULT;
      // FOLL_FORCE may only CoW: a shared read-only mapping stays read-only.
      if (!isCowMapping(vmFlags)) return -ERRNO.EFAULT;
    }
  } else if (!(vmFlags & VM_READ)) {
    if (!(gupFlags & FOLL_FORCE)) return -ERRNO.EFAULT;
    if (!(vmFlags & VM_MAYREAD)) return -ERRNO.EFAULT;
  }
  return 0;
}
