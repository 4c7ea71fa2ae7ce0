import { BUS_ADRERR, MAP_SHARED, PROT_READ, SIGBUS, Scheduler, type Sleepable, schedule } from "@pagelab/mm-core";
import { describe, expect, it } from "vitest";
import { bootMachine } from "../machine.js";
import type { AccessOutcome } from "../syscalls/mman.js";
import { O_CREAT, O_RDWR } from "../vfs/file.js";

const K = 4096;

describe("XFS's MMAPLOCK is the mapping's invalidate_lock", () => {
  it("a DAX fault waits while truncate holds MMAPLOCK exclusive, then sees the new EOF (SIGBUS)", () => {
    const m = bootMachine();
    const t = m.spawn("truncater");
    const f = m.spawn("faulter");
    f.task.dispositions.set(SIGBUS, "catch");
    const ct = m.calls(t);
    const fd = ct.open("/mnt/f", O_CREAT | O_RDWR);
    ct.pwrite(fd, new Uint8Array(2 * K).fill(0x66), 0);
    const cf = m.calls(f);
    const ffd = cf.open("/mnt/f", O_RDWR);
    const addr = cf.mmap({ len: 2 * K, prot: PROT_READ, flags: MAP_SHARED, fd: ffd });
    const ip = m.kfs.fs.lookup(m.kfs.fs.root, "f");
    expect(m.kfs.mapping(ip).invalidateLock).toBe(ip.mmapLock);

    // widen truncate's window: inside daxOps.invalidate (MMAPLOCK held exclusive) wait
    // until another task has queued on the lock, or give up after a while
    const events: string[] = [];
    let inside = false;
    const ops = m.kfs.fs.daxOps!;
    m.kfs.fs.daxOps = {
      writeback: ops.writeback,
      *invalidate(ino, pos, len): Sleepable {
        if (!inside) {
          inside = true;
          events.push(`truncate holds MMAPLOCK: ${ino.mmapLock.writer === t.task}`);
          const before = ino.mmapLock.contended;
          for (let i = 0; i < 500 && ino.mmapLock.contended === before; i++) yield* schedule();
          events.push(`fault queued on it: ${ino.mmapLock.contended > before}`);
        }
        yield* ops.invalidate(ino, pos, len);
      },
    };
    let fault: AccessOutcome | undefined;
    const sched = new Scheduler({ seed: m.config.seed });
    sched.spawn(t.task, function* (): Sleepable {
      events.push(`truncate ${yield* m.sys.ftruncate(t, fd, K)}`);
    });
    sched.spawn(f.task, function* (): Sleepable {
      while (!inside) yield* schedule();
      fault = yield* m.sys.load(f, addr + K, 1);
      events.push(`fault ${fault.ok ? "mapped" : "signalled"}`);
    });
    sched.run();
    expect(events).toEqual(["truncate holds MMAPLOCK: true", "fault queued on it: true", "truncate 0", "fault signalled"]);
    expect(fault!.ok).toBe(false);
    expect(fault!.ok === false && fault!.signal).toMatchObject({ signo: SIGBUS, code: BUS_ADRERR });
    expect(cf.load(addr, 1)).toMatchObject({ ok: true, data: Uint8Array.of(0x66) });
  });
});
