/**
 * A small DAX machine for tests, examples and benchmarks: DRAM, one pmem region (a raw
 * namespace on a pagemap region, like the oracle's memmap=...!... device), filesystem DAX
 * over it with the chosen sharing mechanism, and the fixture filesystem as its holder.
 *
 * @see init/main.c (in spirit), drivers/nvdimm/e820.c (the legacy pmem the oracle uses)
 */
import { type PmemPlatform, createPmemPlatform, type NdNamespace } from "@pagelab/hw-pmem";
import { type VmMachine, bootVm } from "@pagelab/mm-core";
import { type DaxContext, setupFsDax } from "../context.js";
import type { MechanismId, SharingMechanism } from "../mechanism/types.js";
import { FixtureFs, type FixtureFsOptions } from "./fixture.js";

export interface DaxMachineOptions extends FixtureFsOptions {
  readonly mechanism?: MechanismId | SharingMechanism;
  /** pmem bytes (multiple of 2 MiB); default 64 MiB at 1 GiB. */
  readonly pmemBytes?: number;
  readonly dramBytes?: number;
}

export interface DaxMachine extends VmMachine {
  readonly pmem: PmemPlatform;
  readonly ns: NdNamespace;
  readonly dax: DaxContext;
  readonly fs: FixtureFs;
}

export function bootDaxMachine(opts: DaxMachineOptions = {}): DaxMachine {
  const vm = bootVm({ dramBytes: opts.dramBytes ?? 64 * 1024 * 1024 });
  const pmem = createPmemPlatform({
    regions: [{ physAddr: 1 << 30, size: opts.pmemBytes ?? 64 * 1024 * 1024, pagemap: true, namespaces: [{ mode: "raw" }] }],
  });
  const ns = pmem.namespace("pmem0")!;
  const dax = setupFsDax({ vm: vm.ctx, ns, mechanism: opts.mechanism ?? "shared-count" });
  const fs = new FixtureFs(dax, opts);
  return { ...vm, pmem, ns, dax, fs };
}
