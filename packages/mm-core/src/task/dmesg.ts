/**
 * The kernel log ring buffer: printk levels, and WARN_ON_ONCE with its counted
 * "cut here" report.
 *
 * @see kernel/printk/printk.c, include/linux/kern_levels.h, include/asm-generic/bug.h
 *      __WARN_printf(), kernel/panic.c __warn()
 *
 * Simplified: no timestamps (the oracle boots with printk.time off), one CPU.
 */

export const KERN_EMERG = 0;
export const KERN_ALERT = 1;
export const KERN_CRIT = 2;
export const KERN_ERR = 3;
export const KERN_WARNING = 4;
export const KERN_NOTICE = 5;
export const KERN_INFO = 6;
export const KERN_DEBUG = 7;

export interface LogLine {
  readonly seq: number;
  readonly level: number;
  readonly text: string;
}

export class Dmesg {
  private readonly lines: LogLine[] = [];
  private seq = 0;
  private readonly warnedOnce = new Set<string>();
  /** Every WARN that fired, including the ones WARN_ON_ONCE kept quiet. */
  warnCount = 0;
  oopsCount = 0;

  constructor(private readonly capacity = 1 << 16) {}

  printk(level: number, text: string): void {
    for (const line of text.split("\n")) {
      this.lines.push({ seq: this.seq++, level, text: line });
    }
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /**
   * `WARN_ON_ONCE(cond)` at `where` (e.g. "fs/dax.c:354 dax_insert_entry"): counts every
   * time `cond` holds, logs the report only the first time for that site.
   * Returns `cond`, like the macro.
   */
  warnOnOnce(cond: boolean, where: string, pid = 0, comm = "swapper/0"): boolean {
    if (!cond) return false;
    this.warnCount++;
    if (this.warnedOnce.has(where)) return true;
    this.warnedOnce.add(where);
    this.printk(KERN_WARNING, "------------[ cut here ]------------");
    this.printk(KERN_WARNING, `WARNING: CPU: 0 PID: ${pid} at ${where}`);
    this.printk(KERN_WARNING, `CPU: 0 UID: 0 PID: ${pid} Comm: ${comm}`);
    this.printk(KERN_WARNING, "---[ end trace 0000000000000000 ]---");
    return true;
  }

  /** An Oops: the kernel would kill the task (or panic with oops=panic); the model records it. */
  oops(headline: string, rip: string, callTrace: readonly string[]): void {
    this.oopsCount++;
    this.printk(KERN_ALERT, headline);
    this.printk(KERN_WARNING, "Oops: 0000 [#1] PREEMPT SMP NOPTI");
    this.printk(KERN_WARNING, `RIP: 0010:${rip}`);
    this.printk(KERN_WARNING, "Call Trace:");
    for (const f of callTrace) this.printk(KERN_WARNING, ` ${f}`);
  }

  /** Lines logged after `seq` (exclusive); `since(-1)` is everything. */
  since(seq: number): LogLine[] {
    return this.lines.filter((l) => l.seq > seq);
  }

  get lastSeq(): number {
    return this.seq - 1;
  }

  all(): readonly LogLine[] {
    return this.lines;
  }

  /** `dmesg -r` style: `<level>text` per line. */
  format(lines: readonly LogLine[] = this.lines): string {
    return lines.map((l) => `<${l.level}>${l.text}`).join("\n");
  }
}
