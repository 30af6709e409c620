/**
 * listen-backlog: the target's accept queue overflows under load.
 *
 * A server that accepts slower than connections arrive (gunicorn with few sync
 * workers, a blocked event loop) holds at most min(listen backlog,
 * net.core.somaxconn) + 1 finished handshakes in its accept queue; with
 * tcp_abort_on_overflow = 0 (the default) Linux drops every further SYN (and
 * the final ACK of a handshake that was already under way), counting it in
 * ListenOverflows / ListenDrops. The hop in front (the NLB, nginx to the app)
 * retransmits on ITS kernel's schedule, so the prober sees the same TTFB
 * excess as any lost SYN behind the first hop: 1 s, 2 s, 3 s (linear) or
 * 1 s, 3 s (doubling). What tells the two apart is load: random loss hits a
 * request whatever else is in flight, a full queue hits the requests sent
 * while many others were in flight.
 *
 * Test: over the series whose stalls sit on a remote SYN level, the requests
 * are split by how many others were in flight when each was sent
 * (`inFlightAtSend`) at fixed boundaries (1, 2, 4 … 256), and the rate of
 * on-level stalls at or above the boundary is compared with the rate below by
 * a one-sided Fisher exact test, Bonferroni over the distinct partitions
 * tried. Without spread in the load (a fixed concurrency) it stays silent and
 * the stalls go to hidden-hop-syn-retransmit.
 *
 * A request let in after its retransmitted SYN still waits its turn in the
 * queue, so a stall is on a level when its TTFB is the level plus anything
 * the series' requests that did not stall took (their p10 … their largest).
 */
import type { RecordColumns } from "../../record/columns.js";
import { excessMs, remoteSynLevels, type SynLevel, timerWindowMs } from "../physics.js";
import { SPLIT_MIN_RATE_RATIO, SPLIT_MIN_SAMPLES, SPLIT_MIN_SIDE, SPLIT_MIN_STALLS_ABOVE } from "../split.js";
import type { Stall } from "../stalls.js";
import { bonferroni, fisherExact, roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import {
  countBy,
  fmtDuration,
  pct,
  rowsBySeriesConn,
  seriesConnKey,
  statisticalConfidence,
} from "../util.js";
import { hiddenCandidates } from "./hidden-hop.js";
import { lostText } from "./tcp-syn-retransmit.js";

export const ID = "listen-backlog";
/** Split points: requests with ≥ this many others in flight against fewer. */
export const IN_FLIGHT_BOUNDARIES = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
/** The split test's minimums are the idle split's (src/diagnose/split.ts): one set for every split by a covariate. */
export const BACKLOG_MIN_SAMPLES = SPLIT_MIN_SAMPLES;

interface Sample {
  seq: number;
  inFlight: number;
  stall: boolean;
}

interface Split {
  boundary: number;
  nAbove: number;
  stallsAbove: number;
  nBelow: number;
  stallsBelow: number;
  p: number;
  pAdjusted: number;
  tests: number;
}

/** The most significant split of the on-level stall rate by load, or why there is none. */
export function loadSplit(samples: readonly Sample[], alpha: number): { split: Split } | { reason: string } {
  if (samples.length < BACKLOG_MIN_SAMPLES)
    return {
      reason: `too few requests with a known load for the ${ID} test: n=${samples.length} < ${BACKLOG_MIN_SAMPLES}`,
    };
  const seen = new Set<number>();
  let best: Omit<Split, "pAdjusted" | "tests"> | undefined;
  for (const boundary of IN_FLIGHT_BOUNDARIES) {
    const above = samples.filter((s) => s.inFlight >= boundary);
    const nAbove = above.length;
    const nBelow = samples.length - nAbove;
    if (nAbove < SPLIT_MIN_SIDE || nBelow < SPLIT_MIN_SIDE || seen.has(nAbove)) continue;
    seen.add(nAbove);
    const stallsAbove = above.filter((s) => s.stall).length;
    const stallsBelow = samples.filter((s) => s.stall).length - stallsAbove;
    const { greater } = fisherExact({
      a: stallsAbove,
      b: nAbove - stallsAbove,
      c: stallsBelow,
      d: nBelow - stallsBelow,
    });
    if (!best || greater < best.p) best = { boundary, nAbove, stallsAbove, nBelow, stallsBelow, p: greater };
  }
  if (!best)
    return {
      reason: `${ID} test: the load did not vary (no split by requests in flight with ≥ ${SPLIT_MIN_SIDE} requests on each side)`,
    };
  const tests = seen.size;
  const pAdjusted = bonferroni(best.p, tests);
  const rateAbove = best.stallsAbove / best.nAbove;
  const rateBelow = best.stallsBelow / best.nBelow;
  const shown = `${best.stallsAbove} of ${best.nAbove} with ≥ ${best.boundary} in flight vs ${best.stallsBelow} of ${best.nBelow} with fewer`;
  if (pAdjusted >= alpha)
    return {
      reason: `${ID} test: ${shown}, p=${roundP(pAdjusted)} after ${tests} splits (need < ${roundP(alpha)})`,
    };
  if (best.stallsAbove < SPLIT_MIN_STALLS_ABOVE || rateAbove < SPLIT_MIN_RATE_RATIO * rateBelow)
    return { reason: `${ID} test: ${shown}: too small an effect` };
  return { split: { ...best, pAdjusted, tests } };
}

/** TTFB of the series' requests that did not stall: its 10th percentile and its largest, ms. */
function ttfbRange(
  c: RecordColumns,
  series: ArrayLike<number>,
  stallSeqs: ReadonlySet<number>,
): { fast: number; slow: number } {
  const v: number[] = [];
  for (let k = 0; k < series.length; k++) {
    const i = series[k]!;
    const ttfb = c.phase(i, "ttfb");
    if (c.ok(i) && !stallSeqs.has(c.seq(i)) && ttfb !== undefined) v.push(ttfb);
  }
  v.sort((a, b) => a - b);
  if (v.length === 0) return { fast: 0, slow: 0 };
  const at = (q: number): number => v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
  return { fast: at(0.1), slow: v[v.length - 1]! };
}

/**
 * The remote SYN level a stall sits on. A request that lost k SYNs takes the level plus what it would have taken
 * otherwise, which under load is anything from the series' fast TTFB (p10) to the slowest that did not stall
 * (the queue): from level + p10 − 50 ms to level + that + the timer's lateness (physics.timerWindowMs).
 */
function onLevel(
  s: Stall,
  input: DetectorInput,
  levels: readonly SynLevel[],
  range: { fast: number; slow: number },
): SynLevel | undefined {
  const ttfb = s.record.phasesMs.ttfb ?? 0;
  let best: SynLevel | undefined;
  for (const l of levels) {
    const w = timerWindowMs(s, "ttfb", input.typical, { ms: l.ms, fired: l.lost });
    const lo = l.ms + range.fast - 50;
    const hi = l.ms + range.slow + w.above;
    if (ttfb >= lo && ttfb <= hi && (!best || l.ms > best.ms)) best = l;
  }
  return best;
}

function band(n: number): string {
  if (n === 0) return "0";
  const lo = 2 ** Math.floor(Math.log2(n));
  const hi = 2 * lo - 1;
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

export const listenBacklog: Detector = {
  id: ID,
  detect(input: DetectorInput): DetectorResult {
    const cands = hiddenCandidates(input);
    if (cands.length === 0) return {};
    const levels = remoteSynLevels(input.settings.synSchedule);
    const c = input.columns;
    const bySeries = rowsBySeriesConn(c, input.rows);
    const rangeBySeries = new Map<string, { fast: number; slow: number }>();
    const matched: Stall[] = [];
    const levelBySeq = new Map<number, SynLevel>();
    for (const s of cands) {
      const k = seriesConnKey(s.record);
      let q = rangeBySeries.get(k);
      if (q === undefined) {
        q = ttfbRange(c, bySeries.get(k) ?? new Uint32Array(0), input.stallSeqs);
        rangeBySeries.set(k, q);
      }
      const level = onLevel(s, input, levels, q);
      if (!level) continue;
      matched.push(s);
      levelBySeq.set(s.record.seq, level);
    }
    if (matched.length === 0) return {};
    const series = new Set(matched.map((s) => seriesConnKey(s.record)));
    const onLevelSeqs = new Set(matched.map((s) => s.record.seq));
    const samples: Sample[] = [];
    for (const k of series)
      for (const i of bySeries.get(k) ?? []) {
        const inFlight = c.inFlightAtSend(i);
        if (inFlight !== undefined)
          samples.push({ seq: c.seq(i), inFlight, stall: onLevelSeqs.has(c.seq(i)) });
      }
    const out = loadSplit(samples, input.settings.alpha);
    if ("reason" in out) return { notes: [out.reason] };
    const sp = out.split;
    const withLoad = matched.filter((s) => s.record.inFlightAtSend !== undefined);
    const byLost = countBy(withLoad, (s) => lostText(levelBySeq.get(s.record.seq)?.lost ?? 1));
    const byInFlight: Record<string, { requests: number; stalls: number }> = {};
    for (const x of [...samples].sort((a, b) => a.inFlight - b.inFlight)) {
      const b = band(x.inFlight);
      const e = byInFlight[b] ?? { requests: 0, stalls: 0 };
      byInFlight[b] = e;
      e.requests++;
      if (x.stall) e.stalls++;
    }
    const detailBySeq = new Map<number, string>();
    for (const s of withLoad) {
      const l = levelBySeq.get(s.record.seq);
      detailBySeq.set(
        s.record.seq,
        `ttfb +${fmtDuration(excessMs(s, "ttfb", input.typical))} ≈ ${fmtDuration(l?.ms ?? 0)} (${lostText(l?.lost ?? 1)}) with ${s.record.inFlightAtSend} other requests in flight`,
      );
    }
    const rates = Object.entries(byInFlight)
      .map(([b, e]) => `${b} in flight: ${e.stalls}/${e.requests}`)
      .join(", ");
    const candidate: Candidate = {
      summary: `${withLoad.length} requests waited a SYN retransmission time longer for the first byte, and the more requests were in flight the more often (${rates}; ${pct(sp.stallsAbove, sp.nAbove)} with ≥ ${sp.boundary} in flight against ${pct(sp.stallsBelow, sp.nBelow)} with fewer, Fisher p=${roundP(sp.pAdjusted)}): the target's accept queue overflows under load and drops SYNs`,
      stalls: withLoad.map((s) => s.record.seq),
      confidence: statisticalConfidence(sp.pAdjusted, sp.stallsAbove),
      evidence: {
        test: "Fisher exact, one-sided, on-level stall rate with ≥ boundary requests in flight vs fewer; Bonferroni over the splits",
        boundary: sp.boundary,
        above: { requests: sp.nAbove, stalls: sp.stallsAbove },
        below: { requests: sp.nBelow, stalls: sp.stallsBelow },
        pValue: roundP(sp.p),
        pAdjusted: roundP(sp.pAdjusted),
        splitsTried: sp.tests,
        byInFlight,
        byLostSyns: byLost,
        levelsMs: levels.map((l) => l.ms),
        ttfbWithoutStallMs: Object.fromEntries(
          [...rangeBySeries].map(([k, r]) => [k, { p10: Math.round(r.fast), max: Math.round(r.slow) }]),
        ),
        byRoute: countBy(withLoad, (s) => s.record.route),
      },
      nextStep:
        "The target (or the app behind its proxy) accepts connections slower than they arrive: raise its accept queue (net.core.somaxconn — 4096 by default since Linux 5.4, 128 before — and the listen backlog: gunicorn --backlog (default 2048), nginx `listen … backlog=` (default 511)), add workers or async workers, and confirm with `nstat -az TcpExtListenOverflows TcpExtListenDrops` (or /proc/net/netstat) on the target rising under load. In X-Ray the time sits before the backend segment starts (the integration's connect); API Gateway IntegrationLatency rises with it while the backend's own time does not.",
      detailBySeq,
      hop: "target",
      mechanism: `a full accept queue on the target drops SYNs under load; the hop in front retransmits them (${Object.entries(
        byLost,
      )
        .map(([k, n]) => `${n}× ${k}`)
        .join(", ")})`,
    };
    return { candidate };
  },
};
