/**
 * How a system call returns: a non-negative result or `-errno`, as the syscall ABI does.
 *
 * @see arch/x86/entry/common.c do_syscall_64() (the return value in rax)
 */
import { KernelError, isKernelError, type Sleepable } from "@pagelab/mm-core";

/** Run `body`; a KernelError becomes `-errno`, anything else is a bug and propagates. */
export function* syscallReturn<T>(body: () => Sleepable<T>): Sleepable<T | number> {
  try {
    return yield* body();
  } catch (e) {
    if (isKernelError(e)) return -e.errno;
    throw e;
  }
}

/** A non-negative integer argument, or EINVAL. */
export function checkUint(v: number, code: "EINVAL" | "EFAULT" = "EINVAL"): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new KernelError(code);
  return v;
}
