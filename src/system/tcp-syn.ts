/**
 * When a lost SYN shows up in a connect time: the kernel's SYN retransmission
 * schedule, read from the prober host's own sysctls, and the schedules a hop
 * the prober cannot see (gateway → NLB → target) is likely to use.
 *
 * A connection whose first k SYNs were lost connects right after the k-th
 * retransmission, so its connect time sits on `synLevelsMs(schedule)[k - 1]`
 * (plus the round trip). Measured on Linux 6.18 in a network namespace with
 * every SYN to a port dropped by iptables and the SYNs timestamped by tcpdump
 * (initial RTO 1 s, `tcp_syn_retries` = R, `tcp_syn_linear_timeouts` = N):
 *
 * | N | R | retransmissions at (s)                 | ETIMEDOUT at (s) |
 * |---|---|----------------------------------------|------------------|
 * | 4 | 6 | 1, 2, 3, 4, 5, 7, 11, 19, 35.5, 68.3   | 133.8            |
 * | 0 | 6 | 1, 3, 7, 15.4, 31.5, 64.0              | 129.6            |
 * | 2 | 3 | 1, 2, 3, 5, 9                          | 17.4             |
 * | 4 | 3 | 1, 2, 3, 4, 5, 7, 11                   | 19.6             |
 *
 * So, on this kernel:
 * - the first N + 1 retransmission timeouts all equal the initial RTO (N
 *   "linear" ones, then the first exponential one, 2^0 × RTO); every later
 *   one doubles, up to `tcp_rto_max_ms` (120 s). N = 0 is the classic
 *   schedule 1, 3, 7, 15, 31, 63 s.
 * - `tcp_syn_retries` does not count SYNs: the kernel gives up at the first
 *   timer expiry at least the classic schedule's time budget after the first
 *   SYN ((2^(R+1) − 1) × RTO, 127 s for R = 6). With linear timeouts that
 *   allows more than R retransmissions (10 for N = 4, R = 6).
 * - each 1 s timer fired 10–30 ms late (1.01–1.03 s steps); the long ones
 *   up to ~2 s late (the timer wheel's granularity), so measured connect
 *   times sit slightly above the levels, never below.
 *
 * Older kernels have no `tcp_syn_linear_timeouts` (N = 0).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface SynSchedule {
  /** A short name for evidence, e.g. `host`, `linux-classic`. */
  name: string;
  /** Retransmission timeout of the first SYN, ms (Linux: TCP_TIMEOUT_INIT, 1 s; RFC 1122 stacks: 3 s). */
  initialRtoMs: number;
  /** `tcp_syn_linear_timeouts`: timeouts kept at the initial RTO before doubling starts (0 = classic). */
  linearTimeouts: number;
  /** `tcp_syn_retries`: sets the time budget after which the kernel gives up. */
  retries: number;
  /** Ceiling of one retransmission timeout, ms (`tcp_rto_max_ms`, 120 s). */
  maxRtoMs: number;
  /** Where the numbers came from. */
  source: string;
}

/** Linux's TCP_TIMEOUT_INIT. */
export const LINUX_INITIAL_RTO_MS = 1000;
/** Linux's TCP_RTO_MAX (and `tcp_rto_max_ms`'s default). */
export const LINUX_MAX_RTO_MS = 120_000;
/** Linux's default `tcp_syn_retries` since 3.7. */
export const LINUX_SYN_RETRIES = 6;
/** Linux's default `tcp_syn_linear_timeouts` (where the sysctl exists). */
export const LINUX_SYN_LINEAR_TIMEOUTS = 4;

/** No schedule lists more levels than this (a guard against absurd sysctl values). */
const MAX_LEVELS = 256;

/**
 * Time after the first SYN from which the kernel gives up, ms: the classic
 * exponential schedule's total for `retries` retransmissions (the kernel's
 * tcp_model_timeout), whatever the linear timeouts.
 */
export function synGiveUpMs(s: SynSchedule): number {
  const thresh = Math.max(0, Math.floor(Math.log2(s.maxRtoMs / s.initialRtoMs)));
  if (s.retries <= thresh) return (2 ** (s.retries + 1) - 1) * s.initialRtoMs;
  return (2 ** (thresh + 1) - 1) * s.initialRtoMs + (s.retries - thresh) * s.maxRtoMs;
}

/**
 * Connect-time levels, ms: element k − 1 is when the k-th retransmission
 * leaves, i.e. the connect time of a connection whose first k SYNs were
 * lost, for every k the kernel tries before giving up.
 */
export function synLevelsMs(s: SynSchedule): number[] {
  const giveUp = synGiveUpMs(s);
  const levels: number[] = [];
  let at = 0;
  let rto = s.initialRtoMs;
  for (let k = 1; k <= MAX_LEVELS && rto > 0; k++) {
    at += rto;
    if (at >= giveUp) break;
    levels.push(at);
    if (k > s.linearTimeouts) rto = Math.min(rto * 2, s.maxRtoMs);
  }
  return levels;
}

/** The raw sysctl texts (absent when the file does not exist). */
export interface SynSysctls {
  linearTimeouts?: string | undefined;
  retries?: string | undefined;
  rtoMaxMs?: string | undefined;
}

function nonNegativeInt(text: string | undefined, fallback: number): number {
  const n = Number(text?.trim());
  return text !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** A schedule from sysctl texts: absent `tcp_syn_linear_timeouts` (older kernels) → 0, unreadable values → Linux defaults. */
export function parseSynSysctls(raw: SynSysctls, source = "sysctl"): SynSchedule {
  const maxRto = nonNegativeInt(raw.rtoMaxMs, LINUX_MAX_RTO_MS);
  return {
    name: "host",
    initialRtoMs: LINUX_INITIAL_RTO_MS,
    linearTimeouts: nonNegativeInt(raw.linearTimeouts, 0),
    retries: nonNegativeInt(raw.retries, LINUX_SYN_RETRIES),
    maxRtoMs: maxRto > 0 ? maxRto : LINUX_MAX_RTO_MS,
    source,
  };
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The SYN schedule this host's own connections use, from
 * `/proc/sys/net/ipv4` (of the network namespace the process runs in).
 */
export function hostSynSchedule(dir = "/proc/sys/net/ipv4"): SynSchedule {
  return parseSynSysctls(
    {
      linearTimeouts: readOptional(join(dir, "tcp_syn_linear_timeouts")),
      retries: readOptional(join(dir, "tcp_syn_retries")),
      rtoMaxMs: readOptional(join(dir, "tcp_rto_max_ms")),
    },
    dir,
  );
}

/**
 * Schedules a hop the prober cannot see may use: Linux without linear
 * timeouts (1, 3, 7, 15, 31, 63 s), Linux with them (the host's N when it
 * has some, else the kernel default 4: 1, 2, 3, 4, 5, 7, 11 … s), and an
 * RFC 1122 stack with a 3 s initial RTO (Linux before 3.1 with its 5
 * retries: 3, 9, 21, 45, 93 s; Windows stops after 3 and 9).
 */
export interface RemoteSynSchedules {
  classic: SynSchedule;
  linear: SynSchedule;
  rto3: SynSchedule;
}

/** The schedules a hop the prober cannot see may use, by name (see {@link RemoteSynSchedules}). */
export function remoteSynSchedulesByName(host?: SynSchedule): RemoteSynSchedules {
  const linux = {
    initialRtoMs: LINUX_INITIAL_RTO_MS,
    retries: LINUX_SYN_RETRIES,
    maxRtoMs: LINUX_MAX_RTO_MS,
  };
  return {
    classic: {
      ...linux,
      name: "linux-classic",
      linearTimeouts: 0,
      source: "Linux defaults without tcp_syn_linear_timeouts",
    },
    linear: {
      ...linux,
      name: "linux-linear",
      linearTimeouts: host && host.linearTimeouts > 0 ? host.linearTimeouts : LINUX_SYN_LINEAR_TIMEOUTS,
      source: "Linux defaults with tcp_syn_linear_timeouts",
    },
    rto3: {
      name: "rto-3s",
      initialRtoMs: 3000,
      linearTimeouts: 0,
      retries: 5,
      maxRtoMs: LINUX_MAX_RTO_MS,
      source: "RFC 1122 initial RTO of 3 s (Linux before 3.1, Windows)",
    },
  };
}

/** The same schedules as a list, in that order. */
export function remoteSynSchedules(host?: SynSchedule): SynSchedule[] {
  const s = remoteSynSchedulesByName(host);
  return [s.classic, s.linear, s.rto3];
}
