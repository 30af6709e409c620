/**
 * The timers behind stall signatures, derived from protocol rules and the
 * host's own kernel settings rather than from a list of remembered numbers.
 *
 * SYN retransmission (Linux, net/ipv4/tcp_timer.c): the first SYN waits the
 * initial RTO (1 s); the first `tcp_syn_linear_timeouts` retransmissions keep
 * that timeout ("1, 1, 1, 1, 1, 2, 4 …" with the default 4, per the kernel's
 * ip-sysctl documentation), after which it doubles; `tcp_syn_retries` bounds
 * the count. A connect that lost k SYNs therefore ends ≈ the sum of the first
 * k timeouts after it started: 1, 2, 3, 4, 5, 7, 11 s on a kernel with 4
 * linear timeouts, 1, 3, 7, 15, 31 s on one without.
 *
 * A hop the prober cannot see (API Gateway → NLB → target, a proxy to its
 * upstream) runs somebody else's kernel: its schedule is one of the common
 * ones, so every level of each counts there ({@link remoteSynLevels}).
 *
 * Random loss has a shape: if each SYN is lost with probability p, a connect
 * loses k SYNs with probability ∝ p^k, so level k+1 is never more frequent
 * than level k in expectation. A delay that sits on one level only, and not
 * the first (a target that always answers 2 s late on a 4-linear kernel's
 * "2 lost SYNs" level), is not SYN loss: {@link levelMixConsistent}.
 */
import { PHASES, type Phase, type RequestRecord } from "../model.js";
import { keepRows, type RecordColumns } from "../record/columns.js";
import {
  remoteSynSchedules,
  remoteSynSchedulesByName,
  type SynSchedule,
  synLevelsMs,
} from "../system/tcp-syn.js";
import type { Stall } from "./stalls.js";
import { binomialUpperTail } from "./stats.js";
import { nearestLevel, rowsBySeriesConn, seriesConnKey } from "./util.js";

export type { SynSchedule };

const REMOTE = remoteSynSchedulesByName();
/** Linux before tcp_syn_linear_timeouts (and most of today's fleet): 1 s, doubling. */
export const CLASSIC_LINUX: SynSchedule = REMOTE.classic;
/** Linux with tcp_syn_linear_timeouts at its default of 4. */
export const LINEAR_LINUX: SynSchedule = REMOTE.linear;
/** Stacks with a 3 s initial RTO (RFC 1122's old default: older Linux, Windows, some middleboxes). */
export const RTO3: SynSchedule = REMOTE.rto3;

/** One level: after `lost` SYNs were lost, the connect completes ≈ `ms` after it began. */
export interface SynLevel {
  lost: number;
  ms: number;
}

/** The connect times after k lost SYNs, for every k the sender tries before giving up (src/system/tcp-syn.ts). */
export function synLevels(s: SynSchedule): SynLevel[] {
  return synLevelsMs(s).map((ms, i) => ({ lost: i + 1, ms }));
}

/** The levels a hidden hop may show: the host's schedule and the common ones, each level with the fewest lost SYNs that reaches it. */
export function remoteSynLevels(host: SynSchedule): SynLevel[] {
  const best = new Map<number, number>();
  for (const s of [host, ...remoteSynSchedules(host)]) {
    for (const l of synLevels(s)) {
      const prev = best.get(l.ms);
      if (prev === undefined || l.lost < prev) best.set(l.ms, l.lost);
    }
  }
  return [...best].map(([ms, lost]) => ({ ms, lost })).sort((a, b) => a.ms - b.ms);
}

/** The level `valueMs` sits on (the nearest within max(300 ms, 15 %)), or undefined. */
export function levelOf<T extends { ms: number }>(valueMs: number, levels: readonly T[]): T | undefined {
  const ms = nearestLevel(
    valueMs,
    levels.map((l) => l.ms),
  );
  return ms === undefined ? undefined : levels.find((l) => l.ms === ms);
}

/**
 * Whether counts of stalls per number of lost SYNs are a mix random loss can make. If each SYN is lost with
 * probability p, a connect loses exactly k with probability p^k (1 − p): one lost SYN is never rarer than k lost.
 * Two one-sided tests:
 * - pairwise, at `alpha`: level 1 is not significantly rarer than any level k above it (binomial, 1/2: the least
 *   favourable p, i.e. every SYN lost; 8 stalls on level 2 and none on level 1 is p = 0.004);
 * - against the opportunities: with `n` connections that could have lost SYNs, the c_k stalls at level k imply
 *   p ≥ (c_k / n)^(1/k), hence about n·p(1 − p) single losses; far fewer observed is no random loss. Real loss
 *   comes in bursts (a path that drops one SYN of a flow often drops the next), so this test uses alpha / 100.
 * A lone level 1 is always consistent. Returns the reason when not.
 */
export function levelMixConsistent(
  countsByLost: ReadonlyMap<number, number>,
  n?: number,
  alpha = 0.01,
): string | undefined {
  const c1 = countsByLost.get(1) ?? 0;
  for (const [k, ck] of [...countsByLost].sort((a, b) => a[0] - b[0])) {
    if (k === 1 || ck === 0) continue;
    const pair = c1 + ck;
    // P(X ≤ c1) for X ~ Bin(c1 + ck, 1/2): how unlikely so few single losses are next to k losses.
    const pPair = c1 === 0 ? 0.5 ** pair : 1 - binomialUpperTail(c1 + 1, pair, 0.5);
    if (pPair < alpha)
      return `${ck} stalls sit on the ${k}-lost-SYN level but ${c1} on the 1-lost-SYN level: random loss makes one lost SYN at least as common as ${k} (binomial p=${pPair.toExponential(1)})`;
    if (n !== undefined && n > ck) {
      const p = (ck / n) ** (1 / k);
      const q1 = p * (1 - p);
      const pLow = c1 === 0 ? (1 - q1) ** n : 1 - binomialUpperTail(c1 + 1, n, q1);
      if (pLow < alpha / 100)
        return `${ck} of ${n} connections lost ${k} SYNs, so SYNs were lost at ≥ ${Math.round(100 * p)} %, which would lose exactly one SYN on ~${Math.round(n * q1)} connections; ${c1} did (binomial p=${pLow.toExponential(1)})`;
    }
  }
  return undefined;
}

/** Typical duration of each phase per series and connection mode, and how much it varies. */
export interface Typical {
  /** Median over requests that did not stall, ms. */
  median: Partial<Record<Phase, number>>;
  /** Half the interquartile range over the same requests, ms: the phase's ordinary jitter. */
  spread: Partial<Record<Phase, number>>;
}
export type TypicalPhases = Map<string, Typical>;

/** Median and spread of each phase per series × connection over `rows` of `columns` that succeeded without a stall. */
export function typicalPhases(
  columns: RecordColumns,
  rows: ArrayLike<number>,
  stallSeqs: ReadonlySet<number>,
): TypicalPhases {
  // Rows per series × connection mode (one key string per group, none per row), then per phase one scratch
  // buffer sorted in place: no per-row key strings, value arrays or sorted copies (at 300,000 requests those
  // were tens of MB of garbage the report's peak RSS kept).
  const ok = keepRows(rows, (i) => columns.ok(i) && !stallSeqs.has(columns.seq(i)));
  const out: TypicalPhases = new Map();
  let scratch = new Float64Array(0);
  for (const [key, group] of rowsBySeriesConn(columns, ok)) {
    if (scratch.length < group.length) scratch = new Float64Array(group.length);
    const t: Typical = { median: {}, spread: {} };
    for (const p of PHASES) {
      let n = 0;
      for (const i of group) {
        const v = columns.phase(i, p);
        if (v !== undefined) scratch[n++] = v;
      }
      if (n === 0) continue;
      const s = scratch.subarray(0, n).sort();
      const at = (q: number): number => s[Math.min(n - 1, Math.floor(q * n))] ?? 0;
      t.median[p] = at(0.5);
      t.spread[p] = (at(0.75) - at(0.25)) / 2;
    }
    out.set(key, t);
  }
  return out;
}

/** How much longer `phase` took in this stall than is typical for its series (0 when unknown). */
export function excessMs(stall: Stall, phase: Phase, typical: TypicalPhases): number {
  const v = stall.record.phasesMs[phase];
  if (v === undefined) return 0;
  return Math.max(0, v - (typical.get(seriesConnKey(stall.record))?.median[phase] ?? 0));
}

/**
 * The window around a timer level an excess must fall in on a hop the prober cannot see. A timer never fires
 * early and usually a little late (measured on Linux 6.18: 10–30 ms per 1 s SYN timer, more for long ones), and
 * the phase adds its ordinary jitter: from level − max(50 ms, 4 × spread) to level + max(100 ms, 4 × spread)
 * + 40 ms per timer that fired + 3 % of the level.
 */
export function timerWindowMs(
  stall: Stall,
  phase: Phase,
  typical: TypicalPhases,
  level: { ms: number; fired: number },
): { below: number; above: number } {
  const spread = typical.get(seriesConnKey(stall.record))?.spread[phase] ?? 0;
  return {
    below: Math.max(50, 4 * spread),
    above: Math.max(100, 4 * spread) + 40 * level.fired + 0.03 * level.ms,
  };
}

/** Set-up (DNS + connect + TLS) of the stall's own request, ms. */
export function setupMs(r: RequestRecord): number {
  return (r.phasesMs.dns ?? 0) + (r.phasesMs.connect ?? 0) + (r.phasesMs.tls ?? 0);
}
