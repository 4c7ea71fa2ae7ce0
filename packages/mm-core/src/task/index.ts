export {
  Task,
  PF_MCE_PROCESS,
  PF_MCE_EARLY,
  PR_MCE_KILL_CLEAR,
  PR_MCE_KILL_SET,
  PR_MCE_KILL_LATE,
  PR_MCE_KILL_EARLY,
  PR_MCE_KILL_DEFAULT,
} from "./task.js";
export type { TaskMm, TaskState, SignalDisposition, DeliveredSignal } from "./task.js";
export {
  SIGKILL,
  SIGBUS,
  SIGSEGV,
  SEGV_MAPERR,
  SEGV_ACCERR,
  BUS_ADRALN,
  BUS_ADRERR,
  BUS_OBJERR,
  BUS_MCEERR_AR,
  BUS_MCEERR_AO,
  SIGNAL_NAMES,
  siCodeName,
  formatSigInfo,
} from "./signal.js";
export type { SigInfo } from "./signal.js";
export {
  Dmesg,
  KERN_EMERG,
  KERN_ALERT,
  KERN_CRIT,
  KERN_ERR,
  KERN_WARNING,
  KERN_NOTICE,
  KERN_INFO,
  KERN_DEBUG,
} from "./dmesg.js";
export type { LogLine } from "./dmesg.js";
