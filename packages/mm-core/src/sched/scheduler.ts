/**
 * A deterministic scheduler for tasks written as generators. At every switch point a
 * choice source picks the next runnable task: a seeded PRNG (replayable from its seed),
 * or a scripted list (for replaying a trace and for exhaustive exploration). When every
 * task is asleep the run stops with a deadlock report naming the wait-for cycle.
 *
 * @see kernel/sched/core.c __schedule(), try_to_wake_up(); kernel/hung_task.c (the
 *      "blocked for more than N seconds" report this replaces)
 *
 * Simplified: one CPU, no priorities or time slices; a task runs until its next switch
 * point. Exceptions thrown by a task end that task (recorded on its thread) — except a
 * KernelBug, which is a bug in the model and stops the whole run.
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { KernelBug } from "../errno.js";
import { Task } from "../task/task.js";
import { current, withCurrent } from "./current.js";
import type { SchedOp, Sleepable } from "./sleepable.js";
import type { WaitQueueHead, Waiter } from "./waitqueue.js";

/** Picks one of `n` runnable tasks (only asked when n > 1). */
export interface ChoiceSource {
  choose(n: number): number;
}

/** Seeded choices: the same seed gives the same interleaving. */
export class SeededChoices implements ChoiceSource {
  private readonly rng;
  constructor(readonly seed: number) {
    this.rng = xoroshiro128plus(seed);
  }
  choose(n: number): number {
    return uniformInt(this.rng, 0, n - 1);
  }
}

/**
 * Replays `prefix`, then picks 0; records every choice point so that `exploreSchedules`
 * can enumerate all interleavings depth-first.
 */
export class ScriptedChoices implements ChoiceSource {
  readonly made: { n: number; picked: number }[] = [];
  constructor(private readonly prefix: readonly number[] = []) {}
  choose(n: number): number {
    const i = this.made.length;
    const picked = i < this.prefix.length ? Math.min(this.prefix[i]!, n - 1) : 0;
    this.made.push({ n, picked });
    return picked;
  }
}

export type ThreadState = "runnable" | "blocked" | "done";

export class Thread<T = unknown> {
  state: ThreadState = "runnable";
  blockedOn: WaitQueueHead | null = null;
  result: T | undefined;
  error: unknown;
  /** Set when the thread finished by throwing. */
  failed = false;
  steps = 0;
  constructor(
    readonly task: Task,
    readonly gen: Sleepable<T>,
  ) {}
}

export interface DeadlockEdge {
  readonly task: Task;
  readonly waitsOn: string;
  readonly heldBy: readonly Task[];
}

/** Every task is asleep and nothing can wake them. */
export class DeadlockError extends Error {
  override readonly name = "DeadlockError";
  constructor(
    /** The wait-for cycle if there is one, else every sleeping task. */
    readonly edges: readonly DeadlockEdge[],
    readonly cycle: boolean,
  ) {
    super(
      (cycle ? "deadlock: wait-for cycle\n" : "deadlock: every task is asleep\n") +
        edges
          .map(
            (e) =>
              `  ${e.task.comm}/${e.task.pid} waits on ${e.waitsOn}` +
              (e.heldBy.length ? ` held by ${e.heldBy.map((t) => `${t.comm}/${t.pid}`).join(", ")}` : ""),
          )
          .join("\n"),
    );
  }
}

/** The run went on for more steps than allowed (a livelock, or a task that never ends). */
export class LivelockError extends Error {
  override readonly name = "LivelockError";
}

export interface SchedulerOptions {
  /** Seed for the default seeded choice source. */
  readonly seed?: number;
  readonly choices?: ChoiceSource;
  /** Give up after this many steps (default 50 million). */
  readonly maxSteps?: number;
}

export class Scheduler {
  private readonly threads: Thread[] = [];
  private readonly choices: ChoiceSource;
  private readonly maxSteps: number;
  /** One entry per switch: the pid of the task picked to run next. */
  readonly trace: number[] = [];
  steps = 0;
  /** Choices actually made (only where more than one task could run). */
  decisions = 0;

  constructor(opts: SchedulerOptions = {}) {
    this.choices = opts.choices ?? new SeededChoices(opts.seed ?? 0);
    this.maxSteps = opts.maxSteps ?? 50_000_000;
  }

  /** Start `body` as a thread of `task` (a Task, or a name for a new one). */
  spawn<T>(task: Task | string, body: () => Sleepable<T>): Thread<T> {
    const t = typeof task === "string" ? new Task({ comm: task }) : task;
    return this.adopt(t, withCurrent(t, body));
  }

  /** Run an already started sleepable as a thread of `task`. */
  adopt<T>(task: Task, gen: Sleepable<T>): Thread<T> {
    const thread = new Thread<T>(task, gen);
    this.threads.push(thread as Thread);
    return thread;
  }

  get allThreads(): readonly Thread[] {
    return this.threads;
  }

  /** Run one switch: pick a runnable thread and run it to its next switch point. */
  step(): boolean {
    const runnable = this.threads.filter((t) => t.state === "runnable");
    if (runnable.length === 0) {
      if (this.threads.some((t) => t.state === "blocked")) throw this.deadlock();
      return false;
    }
    let pick = 0;
    if (runnable.length > 1) {
      pick = this.choices.choose(runnable.length);
      this.decisions++;
    }
    const thread = runnable[pick]!;
    this.trace.push(thread.task.pid);
    this.runThread(thread);
    return true;
  }

  /** Run until every thread has finished. */
  run(): void {
    while (this.step()) {
      if (++this.steps > this.maxSteps) throw new LivelockError(`no end after ${this.maxSteps} switches`);
    }
  }

  private runThread(thread: Thread): void {
    let r: IteratorResult<SchedOp, unknown>;
    try {
      r = withCurrent(thread.task, () => thread.gen.next());
    } catch (e) {
      thread.state = "done";
      thread.failed = true;
      thread.error = e;
      if (e instanceof KernelBug) throw e;
      return;
    }
    thread.steps++;
    if (r.done) {
      thread.state = "done";
      thread.result = r.value;
      return;
    }
    const op = r.value;
    if (op.kind === "block") {
      thread.state = "blocked";
      thread.blockedOn = op.wq;
      const waiter: Waiter = {
        task: thread.task,
        exclusive: op.exclusive,
        key: op.key,
        wake: () => {
          thread.state = "runnable";
          thread.blockedOn = null;
        },
      };
      op.wq.addWaiter(waiter);
    }
  }

  private deadlock(): DeadlockError {
    const blocked = this.threads.filter((t) => t.state === "blocked");
    const edges: DeadlockEdge[] = blocked.map((t) => ({
      task: t.task,
      waitsOn: t.blockedOn?.name ?? "?",
      heldBy: t.blockedOn?.lock?.holders() ?? [],
    }));
    const cycle = findCycle(edges);
    return cycle ? new DeadlockError(cycle, true) : new DeadlockError(edges, false);
  }
}

function findCycle(edges: readonly DeadlockEdge[]): DeadlockEdge[] | null {
  const byTask = new Map(edges.map((e) => [e.task, e]));
  for (const start of edges) {
    const path: DeadlockEdge[] = [];
    const seen = new Set<Task>();
    let e: DeadlockEdge | undefined = start;
    while (e && !seen.has(e.task)) {
      seen.add(e.task);
      path.push(e);
      e = e.heldBy.map((t) => byTask.get(t)).find((x) => x !== undefined);
    }
    if (e) return path.slice(path.indexOf(e));
  }
  return null;
}

/**
 * Run a sleepable to completion as the only task (as `current`, or as `task`), and
 * return its result. If it would sleep forever, throws DeadlockError.
 */
export function runSync<T>(gen: Sleepable<T>, task: Task = current()): T {
  const s = new Scheduler();
  const t = s.adopt(task, gen);
  s.run();
  if (t.failed) throw t.error;
  return t.result as T;
}

/**
 * Run a scenario under every interleaving, depth-first, up to `maxRuns` runs.
 * `scenario` builds fresh state, runs it on a scheduler using the given choice source
 * and checks its invariants (throwing on failure). Returns the number of runs and
 * whether the space was exhausted.
 */
export function exploreSchedules(
  scenario: (choices: ChoiceSource) => void,
  maxRuns = 10_000,
): { runs: number; exhausted: boolean } {
  let prefix: number[] = [];
  for (let runs = 1; runs <= maxRuns; runs++) {
    const choices = new ScriptedChoices(prefix);
    scenario(choices);
    // Next prefix: bump the deepest choice that still has an untried alternative.
    const made = choices.made;
    let i = made.length - 1;
    while (i >= 0 && made[i]!.picked + 1 >= made[i]!.n) i--;
    if (i < 0) return { runs, exhausted: true };
    prefix = made.slice(0, i).map((m) => m.picked);
    prefix.push(made[i]!.picked + 1);
  }
  return { runs: maxRuns, exhausted: false };
}
