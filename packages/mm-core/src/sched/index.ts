export { schedule, sleepableOf } from "./sleepable.js";
export type { Sleepable, SchedOp, YieldOp, BlockOp } from "./sleepable.js";
export { current, withCurrent, initTask } from "./current.js";
export { WaitQueueHead, HashedWaitTable, waitStats } from "./waitqueue.js";
export type { Waiter, LockLike } from "./waitqueue.js";
export { Mutex, lockStats } from "./mutex.js";
export { RwSemaphore } from "./rwsem.js";
export {
  heldLocks,
  lockdepReports,
  onLockdepReport,
  lockdepReset,
} from "./lockdep.js";
export type { LockdepReport } from "./lockdep.js";
export {
  Scheduler,
  Thread,
  SeededChoices,
  ScriptedChoices,
  DeadlockError,
  LivelockError,
  runSync,
  exploreSchedules,
} from "./scheduler.js";
export type { ChoiceSource, ThreadState, DeadlockEdge, SchedulerOptions } from "./scheduler.js";
