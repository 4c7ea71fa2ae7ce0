import { describe, expect, it } from "vitest";
import { Dmesg, KERN_ERR } from "./dmesg.js";
import { BUS_ADRERR, BUS_MCEERR_AO, BUS_MCEERR_AR, SIGBUS, SIGKILL, SIGSEGV, SEGV_MAPERR, formatSigInfo } from "./signal.js";
import { PF_MCE_EARLY, PF_MCE_PROCESS, PR_MCE_KILL_CLEAR, PR_MCE_KILL_EARLY, PR_MCE_KILL_SET, Task } from "./task.js";

describe("Task signals", () => {
  it("kills a task that takes the default action and reports 128 + signal like a shell", () => {
    const t = new Task({ comm: "xfs_io" });
    t.forceSignal({ signo: SIGBUS, code: BUS_ADRERR, addr: 0x7000 });
    expect(t.alive).toBe(false);
    expect(t.shellStatus).toBe(135);
    expect(t.delivered).toEqual([{ signo: SIGBUS, code: BUS_ADRERR, addr: 0x7000, outcome: "killed" }]);
  });

  it("merges a second SIGBUS into one still pending, as legacy_queue() does", () => {
    const t = new Task({ comm: "plchild0" });
    t.dispositions.set(SIGBUS, "catch");
    t.blockSignals([SIGBUS], true);
    expect(t.sendSignal({ signo: SIGBUS, code: BUS_MCEERR_AO, addr: 0x1000, addrLsb: 12 })).toBe(true);
    expect(t.sendSignal({ signo: SIGBUS, code: BUS_MCEERR_AO, addr: 0x2000, addrLsb: 12 })).toBe(false);
    expect(t.delivered).toHaveLength(0);
    t.blockSignals([SIGBUS], false);
    expect(t.delivered.map((d) => d.addr)).toEqual([0x1000]);
    expect(t.sent).toHaveLength(2);
    expect(t.alive).toBe(true);
  });

  it("forces a blocked synchronous fault signal through by resetting it to the default action", () => {
    const t = new Task({ comm: "victim" });
    t.dispositions.set(SIGSEGV, "catch");
    t.blockSignals([SIGSEGV], true);
    t.forceSignal({ signo: SIGSEGV, code: SEGV_MAPERR, addr: 0 });
    expect(t.alive).toBe(false);
    expect(t.exitSignal).toBe(SIGSEGV);
  });

  it("delivers SIGKILL even when everything is blocked and runs exit hooks once", () => {
    const t = new Task({ comm: "t" });
    let exits = 0;
    t.onExit(() => exits++);
    t.blockSignals([SIGBUS, SIGSEGV, SIGKILL], true);
    t.sendSignal({ signo: SIGKILL, code: 0, addr: 0 });
    t.sendSignal({ signo: SIGKILL, code: 0, addr: 0 });
    expect(t.alive).toBe(false);
    expect(exits).toBe(1);
  });

  it("follows prctl(PR_MCE_KILL) for the early-kill decision", () => {
    const t = new Task({ comm: "t" });
    expect(t.mceEarlyKill(false)).toBe(false);
    expect(t.mceEarlyKill(true)).toBe(true);
    t.prctlMceKill(PR_MCE_KILL_SET, PR_MCE_KILL_EARLY);
    expect(t.flags & (PF_MCE_PROCESS | PF_MCE_EARLY)).toBe(PF_MCE_PROCESS | PF_MCE_EARLY);
    expect(t.mceEarlyKill(false)).toBe(true);
    t.prctlMceKill(PR_MCE_KILL_CLEAR);
    expect(t.mceEarlyKill(false)).toBe(false);
  });

  it("formats siginfo with the si_code name and a non-page lsb", () => {
    expect(formatSigInfo({ signo: SIGBUS, code: BUS_MCEERR_AR, addr: 0x200000, addrLsb: 21 })).toBe(
      "SIGBUS BUS_MCEERR_AR at 0x200000 lsb 21",
    );
  });
});

describe("Dmesg", () => {
  it("logs WARN_ON_ONCE once per site but counts every hit", () => {
    const d = new Dmesg();
    expect(d.warnOnOnce(true, "fs/dax.c:354 dax_insert_entry")).toBe(true);
    d.warnOnOnce(true, "fs/dax.c:354 dax_insert_entry");
    expect(d.warnOnOnce(false, "fs/dax.c:354 dax_insert_entry")).toBe(false);
    expect(d.warnCount).toBe(2);
    expect(d.all().filter((l) => l.text.startsWith("WARNING:"))).toHaveLength(1);
  });

  it("returns the lines logged since a sequence number", () => {
    const d = new Dmesg();
    d.printk(KERN_ERR, "before");
    const mark = d.lastSeq;
    d.printk(KERN_ERR, "Memory failure: 0x40018: recovery action for dax page: Recovered");
    expect(d.format(d.since(mark))).toBe("<3>Memory failure: 0x40018: recovery action for dax page: Recovered");
  });
});
