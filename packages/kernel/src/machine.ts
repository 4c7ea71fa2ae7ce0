/**
 * A booted machine: DRAM and the vm layer, the pmem platform with its FS_DAX pagemap and
 * dax device under the chosen sharing mechanism, xfs-lite made and mounted on /dev/pmem0,
 * the historic-bug switches, the process list, and remount / power loss.
 *
 * @see init/main.c start_kernel() (in spirit); drivers/nvdimm/pmem.c pmem_attach_disk();
 *      fs/xfs/xfs_super.c xfs_fs_fill_super(), xfs_fs_put_super(); fs/namespace.c (mount)
 *
 * Simplified: one pmem namespace and one filesystem mounted at /mnt; a power loss reboots
 * DRAM and the memmap (nothing volatile survives) over the same pmem media.
 */
import { type DaxContext, daxDeleteMappingRange, setupFsDax } from "@pagelab/dax";
import { gupSetup } from "@pagelab/gup";
import { type NdNamespace, type PmemPlatform, createPmemPlatform } from "@pagelab/hw-pmem";
import {
  type Dmesg,
  KERN_INFO,
  KERN_NOTICE,
  KernelError,
  type Sleepable,
  type Task,
  type TraceBuffer,
  type VmContext,
  type VmMachine,
  bootVm,
  createProcess,
  runSync,
} from "@pagelab/mm-core";
import { type XfsMountedFs, xfsFilesMount, xfsFilesUnmount, xfsMkfs } from "@pagelab/xfs-lite";
import { type MachineConfig, type MachineConfigInput, resolveMachineConfig } from "./config.js";
import { KernelFs } from "./fs/kernelFs.js";
import { type InvariantResult, Monitors } from "./invariants/monitors.js";
import { Syscalls, type SyncCalls, callsOf } from "./syscalls/table.js";
import type { FdTable } from "./vfs/file.js";
import { Process } from "./vfs/process.js";

/** The UUID mkfs gives the filesystem (the oracle's, "ORACLE" in ASCII). */
export const FS_UUID = Uint8Array.from([0x4f, 0x52, 0x41, 0x43, 0x4c, 0x45, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

function uuidString(u: Uint8Array): string {
  const h = [...u].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What survives a reboot: the pmem platform and the configuration. */
interface Boot {
  readonly vm: VmMachine;
  readonly dax: DaxContext;
  kfs: KernelFs | null;
}

export class Machine {
  readonly config: MachineConfig;
  readonly pmem: PmemPlatform;
  readonly ns: NdNamespace;
  private boot: Boot;
  /** Live user processes, in creation order. */
  readonly processes: Process[] = [];
  /** The system-call table (generators, for scheduler tasks). */
  readonly sys: Syscalls = new Syscalls(this);
  /** Times the machine (re)booted after a power loss. */
  boots = 1;
  /** The invariant monitors, fed by the system-call layer. */
  readonly monitors: Monitors = new Monitors(this);

  constructor(config: MachineConfig) {
    this.config = config;
    this.pmem = createPmemPlatform({
      persistenceDomain: config.persistenceDomain,
      regions: [{ physAddr: config.pmemPhysAddr, size: config.pmemBytes, pagemap: true, namespaces: [{ mode: "raw" }] }],
    });
    this.ns = this.pmem.namespace("pmem0")!;
    const bdev = this.ns.blockDevice!;
    xfsMkfs(bdev, {
      reflink: config.mkfs.reflink,
      rmapbt: config.mkfs.rmapbt,
      uuid: FS_UUID,
      ...(config.mkfs.agcount !== undefined ? { agcount: config.mkfs.agcount } : {}),
      ...(config.mkfs.sunit !== undefined ? { sunit: config.mkfs.sunit } : {}),
      ...(config.mkfs.swidth !== undefined ? { swidth: config.mkfs.swidth } : {}),
      ...(config.mkfs.logBlocks !== undefined ? { logBlocks: config.mkfs.logBlocks } : {}),
    });
    this.boot = this.powerOn();
    this.mount();
  }

  private powerOn(): Boot {
    const vm = bootVm({ dramBytes: this.config.dramBytes });
    gupSetup(vm.ctx, this.config.bugs);
    // pmem0 is 259:0 (BLOCK_EXT_MAJOR, the first extended minor), the fs_dax traces' `dev`
    const dax = setupFsDax({ vm: vm.ctx, ns: this.ns, mechanism: this.config.mechanism, sDev: { major: 259, minor: 0 } });
    return { vm, dax, kfs: null };
  }

  get vm(): VmContext {
    return this.boot.vm.ctx;
  }
  get dmesg(): Dmesg {
    return this.boot.vm.dmesg;
  }
  /**
   * The tracepoints (`/sys/kernel/tracing`): `trace.enable("fs_dax")`, then
   * `trace.drain()` after each command and print `TraceBuffer.format(e)` per event. A
   * power loss reboots with tracing off, as a real reboot does.
   */
  get trace(): TraceBuffer {
    return this.boot.vm.ctx.trace;
  }
  get dax(): DaxContext {
    return this.boot.dax;
  }
  get devName(): string {
    return this.ns.devName;
  }

  /** The mounted filesystem (ENODEV-like KernelError when nothing is mounted). */
  get kfs(): KernelFs {
    if (this.boot.kfs === null) throw new KernelError("ENODEV", "/mnt is not mounted");
    return this.boot.kfs;
  }
  get mounted(): boolean {
    return this.boot.kfs !== null;
  }

  /** The system calls of `p`, run to completion (`runSync`). */
  calls(p: Process): SyncCalls {
    return callsOf(this.sys, p);
  }

  /** A new process with an empty address space and no open files. */
  spawn(comm: string): Process {
    return this.adopt(createProcess(this.vm, comm));
  }

  /** Track `task` as a process with `files`; its exit closes them (fput as task work). */
  adopt(task: Task, files?: FdTable): Process {
    const p = new Process(task, files);
    this.processes.push(p);
    task.onExit(() => {
      for (const [fd, f] of p.files.entries()) {
        p.files.remove(fd);
        if (--f.refs === 0 && this.mounted) this.kfs.deferRelease(f.xfile);
      }
      const i = this.processes.indexOf(p);
      if (i >= 0) this.processes.splice(i, 1);
    });
    return p;
  }

  /** Finish what exits left behind (deferred fputs, final iputs). */
  *reap(_p?: Process): Sleepable {
    if (this.mounted) yield* this.kfs.runTaskWork();
  }

  /** `mount -o dax=... /dev/pmem0 /mnt`, logging what XFS logs. */
  mount(): void {
    if (this.boot.kfs !== null) throw new KernelError("EBUSY", "/mnt is already mounted");
    const dmesg = this.dmesg;
    const p = `XFS (${this.devName}): `;
    dmesg.printk(KERN_NOTICE, `${p}Mounting V5 Filesystem ${uuidString(FS_UUID)}`);
    const mounted: XfsMountedFs = xfsFilesMount(this.ns.blockDevice!, { pageCache: this.vm, daxMode: this.config.dax, daxCapable: true });
    if (mounted.mp.mRecovery !== null && !mounted.mp.mRecovery.clean) {
      dmesg.printk(KERN_INFO, `${p}Starting recovery (logdev: internal)`);
      dmesg.printk(KERN_INFO, `${p}Ending recovery (logdev: internal)`);
    } else {
      dmesg.printk(KERN_INFO, `${p}Ending clean mount`);
    }
    this.boot.kfs = new KernelFs({
      mounted,
      dax: this.dax,
      vm: this.vm,
      mode: this.config.dax,
      rmapbt: this.config.mkfs.rmapbt,
      devName: this.devName,
      noBusyWait: this.config.bugs.daxTruncateWithoutBusyWait,
    });
  }

  /**
   * `umount /mnt`: EBUSY while a file is open or mapped; otherwise every DAX entry goes,
   * dirty data is written back and xfs-lite unmounts cleanly.
   */
  unmount(): void {
    const kfs = this.kfs;
    const busy = [...kfs.fs.inodes.values()].some((ip) => ip.openCount > 0);
    if (busy) throw new KernelError("EBUSY", "/mnt: target is busy");
    if (!kfs.shutdown) runSync(kfs.syncFs());
    for (const ip of kfs.fs.inodes.values()) {
      if (ip.mapping !== null && ip.mapping.isDax) runSync(daxDeleteMappingRange(this.dax, ip.mapping, 0));
    }
    kfs.unmountPrepare();
    this.dmesg.printk(KERN_NOTICE, `XFS (${this.devName}): Unmounting Filesystem ${uuidString(FS_UUID)}`);
    if (kfs.shutdown) kfs.fs.dropPagecache();
    else xfsFilesUnmount(kfs.mounted);
    this.boot.kfs = null;
  }

  /** `remount` as the oracle's scripts mean it: umount, mount again, data read from the media. */
  remount(): void {
    this.unmount();
    this.mount();
  }

  /**
   * Power loss: every process and all DRAM state vanish, unflushed CPU stores to pmem are
   * dropped; the machine boots again and mounts (log recovery). Returns what the platform
   * lost.
   */
  powerFail(): ReturnType<PmemPlatform["powerFail"]> {
    for (const p of [...this.processes]) p.task.exit(null, 9);
    this.processes.length = 0;
    const lost = this.pmem.powerFail();
    this.boots++;
    const dmesg = this.dmesg;
    this.boot = this.powerOn();
    // the log ring survives in the model so a scenario can read what happened before the loss
    for (const l of dmesg.all()) this.dmesg.printk(l.level, l.text);
    this.mount();
    this.monitors.shadow.reset();
    return lost;
  }

  /**
   * The invariant monitors' verdicts now (issue 5): every owner of a poisoned block
   * reached, no pinned page freed or reused, every file reads back what programs wrote,
   * the checker clean, no WARN.
   */
  invariants(): InvariantResult[] {
    return this.monitors.invariants();
  }
}

/** Boot a machine from `config` (defaults: the oracle's). */
export function bootMachine(config: MachineConfigInput = {}): Machine {
  return new Machine(resolveMachineConfig(config));
}
