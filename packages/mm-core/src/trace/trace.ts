/**
 * Tracepoints and the trace ring buffer: events are enabled by system or by
 * `system/event` (as writing to `set_event` or `events/<system>/<event>/enable`), and each
 * enabled event records its `TP_printk()` text. What the buffer keeps is what
 * `trace_pipe` shows after the `<comm>-<pid> [cpu] flags timestamp:` prefix, which this
 * model does not produce.
 *
 * @see include/linux/tracepoint.h; kernel/trace/trace_events.c ftrace_set_clr_event();
 *      kernel/trace/trace_output.c trace_print_flags_seq() (`__print_flags`);
 *      include/linux/mm_types.h FAULT_FLAG_TRACE, VM_FAULT_RESULT_TRACE
 *
 * Simplified: one unbounded buffer per machine (no per-cpu rings, no overwrite), no
 * filters or triggers; emitting an event that is off costs one set lookup and builds no text.
 */
import {
  FAULT_FLAG_ALLOW_RETRY,
  FAULT_FLAG_INSTRUCTION,
  FAULT_FLAG_INTERRUPTIBLE,
  FAULT_FLAG_KILLABLE,
  FAULT_FLAG_MKWRITE,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_RETRY_NOWAIT,
  FAULT_FLAG_TRIED,
  FAULT_FLAG_USER,
  FAULT_FLAG_VMA_LOCK,
  FAULT_FLAG_WRITE,
  VM_FAULT_COMPLETED,
  VM_FAULT_DONE_COW,
  VM_FAULT_FALLBACK,
  VM_FAULT_HWPOISON,
  VM_FAULT_HWPOISON_LARGE,
  VM_FAULT_LOCKED,
  VM_FAULT_MAJOR,
  VM_FAULT_NEEDDSYNC,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
} from "../vm/flags.js";

/** One recorded event. */
export interface TraceEvent {
  readonly system: string;
  readonly event: string;
  /** The `TP_printk()` output. */
  readonly text: string;
}

/** A `__print_flags()` table: mask and name, in print order. */
export type TraceFlagNames = readonly (readonly [number, string])[];

/** `FAULT_FLAG_TRACE`. */
export const FAULT_FLAG_TRACE: TraceFlagNames = [
  [FAULT_FLAG_WRITE, "WRITE"], [FAULT_FLAG_MKWRITE, "MKWRITE"], [FAULT_FLAG_ALLOW_RETRY, "ALLOW_RETRY"],
  [FAULT_FLAG_RETRY_NOWAIT, "RETRY_NOWAIT"], [FAULT_FLAG_KILLABLE, "KILLABLE"], [FAULT_FLAG_TRIED, "TRIED"],
  [FAULT_FLAG_USER, "USER"], [FAULT_FLAG_REMOTE, "REMOTE"], [FAULT_FLAG_INSTRUCTION, "INSTRUCTION"],
  [FAULT_FLAG_INTERRUPTIBLE, "INTERRUPTIBLE"], [FAULT_FLAG_VMA_LOCK, "VMA_LOCK"],
];

/** `VM_FAULT_RESULT_TRACE`. */
export const VM_FAULT_RESULT_TRACE: TraceFlagNames = [
  [VM_FAULT_OOM, "OOM"], [VM_FAULT_SIGBUS, "SIGBUS"], [VM_FAULT_MAJOR, "MAJOR"], [VM_FAULT_HWPOISON, "HWPOISON"],
  [VM_FAULT_HWPOISON_LARGE, "HWPOISON_LARGE"], [VM_FAULT_SIGSEGV, "SIGSEGV"], [VM_FAULT_NOPAGE, "NOPAGE"],
  [VM_FAULT_LOCKED, "LOCKED"], [VM_FAULT_RETRY, "RETRY"], [VM_FAULT_FALLBACK, "FALLBACK"],
  [VM_FAULT_DONE_COW, "DONE_COW"], [VM_FAULT_NEEDDSYNC, "NEEDDSYNC"], [VM_FAULT_COMPLETED, "COMPLETED"],
];

/**
 * `trace_print_flags_seq()`: the names of the set masks joined by `delim`, then any bits
 * left over as `0x…`; nothing at all for 0.
 */
export function tracePrintFlags(flags: number, delim: string, names: TraceFlagNames): string {
  const out: string[] = [];
  let rest = flags;
  for (const [mask, name] of names) {
    if (mask !== 0 && (rest & mask) === mask) {
      out.push(name);
      rest &= ~mask;
    }
  }
  if (rest !== 0) out.push(`0x${(rest >>> 0).toString(16)}`);
  return out.join(delim);
}

/** The kernel's `%#lx` (unlike C libraries, 0 prints as `0x0`). */
export function traceHex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** The tracepoints of one machine and the buffer of what they printed. */
export class TraceBuffer {
  private readonly systems = new Set<string>();
  private readonly events = new Set<string>();
  private buffer: TraceEvent[] = [];

  /**
   * Turn events on: `"fs_dax"` or `"fs_dax:*"` (a whole system), `"fs_dax/dax_pte_fault"`
   * or `"fs_dax:dax_pte_fault"` (one event), `"*"` (everything). Several specs may be
   * given separated by spaces (the `TRACE=` line of an oracle script).
   */
  enable(spec: string): void {
    for (const s of spec.split(/\s+/).filter(Boolean)) {
      const [system, event] = s.split(/[/:]/, 2) as [string, string | undefined];
      if (event === undefined || event === "*" || event === "") this.systems.add(system);
      else this.events.add(`${system}/${event}`);
    }
  }

  /** Turn everything off (the buffer is kept). */
  disableAll(): void {
    this.systems.clear();
    this.events.clear();
  }

  /** Whether `system/event` records when emitted. */
  enabled(system: string, event: string): boolean {
    if (this.systems.size === 0 && this.events.size === 0) return false;
    return this.systems.has("*") || this.systems.has(system) || this.events.has(`${system}/${event}`);
  }

  /** Fire a tracepoint: `text` is built only if the event is enabled. */
  emit(system: string, event: string, text: string | (() => string)): void {
    if (!this.enabled(system, event)) return;
    this.buffer.push({ system, event, text: typeof text === "string" ? text : text() });
  }

  /** Everything recorded so far, oldest first. */
  all(): readonly TraceEvent[] {
    return this.buffer;
  }

  /** Take the recorded events out of the buffer (`trace_pipe` reads consume). */
  drain(): TraceEvent[] {
    const out = this.buffer;
    this.buffer = [];
    return out;
  }

  /** `<event>: <text>`, the line `trace_pipe` prints after its prefix. */
  static format(e: TraceEvent): string {
    return `${e.event}: ${e.text}`;
  }
}
