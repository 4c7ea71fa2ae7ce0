/**
 * Signals as memory management raises them: SIGSEGV and SIGBUS with their si_code,
 * si_addr and si_addr_lsb, queued, blocked, merged and delivered the way the kernel does
 * for the non-realtime signals these are.
 *
 * @see kernel/signal.c force_sig_fault(), force_sig_mceerr(), send_sig_mceerr(),
 *      legacy_queue(), force_sig_info_to_task(); include/uapi/asm-generic/siginfo.h
 *
 * Simplified: no signal handlers run code. A task either catches a signal (the handler
 * records it and returns, as pagelab-poison's children do) or takes the default action,
 * which for SIGBUS, SIGSEGV and SIGKILL is death.
 */

export const SIGKILL = 9;
export const SIGBUS = 7;
export const SIGSEGV = 11;

export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const BUS_OBJERR = 3;
export const BUS_MCEERR_AR = 4;
export const BUS_MCEERR_AO = 5;

export const SIGNAL_NAMES: Readonly<Record<number, string>> = { 7: "SIGBUS", 9: "SIGKILL", 11: "SIGSEGV" };

const SI_CODE_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  [SIGBUS]: { 1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO" },
  [SIGSEGV]: { 1: "SEGV_MAPERR", 2: "SEGV_ACCERR" },
};

/** The `si_code` name of a signal (`BUS_MCEERR_AO`), or `si_code N`. */
export function siCodeName(signo: number, code: number): string {
  return SI_CODE_NAMES[signo]?.[code] ?? `si_code ${code}`;
}

/** The parts of `siginfo_t` that memory faults fill in. */
export interface SigInfo {
  readonly signo: number;
  readonly code: number;
  /** `si_addr`: the faulting user address (page-aligned for MCEERR codes). */
  readonly addr: number;
  /** `si_addr_lsb`: log2 of the poisoned extent (12 for a page, 21 for a PMD). */
  readonly addrLsb?: number;
}

export function formatSigInfo(info: SigInfo): string {
  const name = SIGNAL_NAMES[info.signo] ?? `signal ${info.signo}`;
  const lsb = info.addrLsb !== undefined && info.addrLsb !== 12 ? ` lsb ${info.addrLsb}` : "";
  return `${name} ${siCodeName(info.signo, info.code)} at 0x${info.addr.toString(16)}${lsb}`;
}
