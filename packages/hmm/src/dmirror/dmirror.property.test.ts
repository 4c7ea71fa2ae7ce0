import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ptePresent } from "@pagelab/mm-core";
import { P, boot, mmapAnon, rd, run, wr } from "../testing/machine.js";
import { isDevicePrivateEntry, pfnSwapEntryToPfn } from "../zoneDevice/entries.js";

const PAGES = 6;

type Op =
  | { kind: "cpuWrite"; page: number; byte: number }
  | { kind: "devWrite"; page: number; byte: number }
  | { kind: "cpuRead"; page: number }
  | { kind: "devRead"; page: number }
  | { kind: "toDevice"; page: number; n: number }
  | { kind: "toSystem"; page: number; n: number };

const page = fc.integer({ min: 0, max: PAGES - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("cpuWrite" as const), page, byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("devWrite" as const), page, byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("cpuRead" as const), page }),
  fc.record({ kind: fc.constant("devRead" as const), page }),
  fc.record({ kind: fc.constant("toDevice" as const), page, n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("toSystem" as const), page, n: fc.integer({ min: 1, max: 3 }) }),
);

describe("dmirror: CPU and device agree on memory whatever the migrations (property)", () => {
  it("every read, by the CPU or the device, returns the last byte written, and device pages are accounted", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
        const { ctx, task, mm, dev, dmirror } = boot();
        const a = mmapAnon(task, PAGES);
        const model = new Uint8Array(PAGES);
        for (const o of ops) {
          const addr = a + o.page * P;
          switch (o.kind) {
            case "cpuWrite":
              wr(task, addr + 17, Uint8Array.of(o.byte));
              model[o.page] = o.byte;
              break;
            case "devWrite": {
              const buf = new Uint8Array(P);
              buf[17] = o.byte;
              run(task, dmirror.write(addr, buf));
              model[o.page] = o.byte;
              break;
            }
            case "cpuRead":
              expect(rd(task, addr + 17, 1)[0]).toBe(model[o.page]);
              break;
            case "devRead":
              expect(run(task, dmirror.read(addr, 1)).data[17]).toBe(model[o.page]);
              break;
            case "toDevice": {
              const n = Math.min(o.n, PAGES - o.page);
              const r = run(task, dmirror.migrateToDevice(addr, n));
              for (let i = 0; i < n; i++) expect(r.data[i * P + 17]).toBe(model[o.page + i]);
              break;
            }
            case "toSystem":
              run(task, dmirror.migrateToSystem(addr, Math.min(o.n, PAGES - o.page)));
              break;
          }
        }
        // Device pages in use are exactly those the CPU page table maps as device-private.
        let onDevice = 0;
        for (let i = 0; i < PAGES; i++) {
          const pte = mm.pgtables.pteAt(a + i * P);
          if (isDevicePrivateEntry(pte)) {
            onDevice++;
            expect(ctx.memmap.pageRefCount(pfnSwapEntryToPfn(pte))).toBe(1);
          } else expect(pte === 0 || ptePresent(pte)).toBe(true); // no migration entry left behind
        }
        expect(dev.calloc - dev.cfree).toBe(onDevice);
        expect(rd(task, a + 17, 1)[0]).toBe(model[0]);
        task.exit(0);
        expect(dev.calloc - dev.cfree).toBe(0);
      }),
      { numRuns: 40, seed: 6 },
    );
  });
});
