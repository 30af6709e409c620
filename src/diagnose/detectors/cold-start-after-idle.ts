/** cold-start-after-idle: stall probability rises with the idle gap since the previous request to the series. */
import { GapSamples, idleSplit } from "../split.js";
import { roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtGap, pct, statisticalConfidence } from "../util.js";

const FIVE_MIN_MS = 300_000;
const NICE_INTERVALS_MS = [10_000, 15_000, 30_000, 60_000, 120_000, 180_000, 240_000, FIVE_MIN_MS];

/** The keep-warm interval that keeps every gap below where stalls begin. */
export function keepWarmIntervalMs(stallsBeginMs: number): number {
  if (stallsBeginMs > FIVE_MIN_MS) return FIVE_MIN_MS;
  const safe = 0.8 * stallsBeginMs;
  let best = Math.max(1000, Math.floor(safe / 1000) * 1000);
  for (const v of NICE_INTERVALS_MS) if (v <= safe) best = v;
  return best;
}

export const coldStartAfterIdle: Detector = {
  id: "cold-start-after-idle",
  detect(input: DetectorInput): DetectorResult {
    const c = input.columns;
    const samples = new GapSamples(input.rows.length);
    for (const i of input.rows) {
      const gapMs = c.idleGapMs(i);
      if (gapMs === undefined) continue;
      const seq = c.seq(i);
      samples.push(seq, gapMs, input.stallSeqs.has(seq));
    }
    const out = idleSplit(samples, input.settings.alpha, "cold-start");
    if (!out.ok) return { notes: [out.reason] };
    const s = out.split;
    const intervalMs = keepWarmIntervalMs(s.stallsBeginMs);
    const interval = fmtGap(intervalMs);
    const detailBySeq = new Map<number, string>();
    // Only the explained stalls' gaps: a map over every sample was a Map entry and a tuple per request.
    const explained = new Set(s.explained);
    for (const x of samples.stalls)
      if (explained.has(x.seq)) detailBySeq.set(x.seq, `after ${fmtGap(x.gapMs)} idle`);
    const candidate: Candidate = {
      summary: `${s.stallsAbove} of ${s.nAbove} requests after ≥ ${fmtGap(s.firstAboveMs)} idle stalled (${pct(s.stallsAbove, s.nAbove)}) against ${s.stallsBelow} of ${s.nBelow} after shorter gaps: stalls begin between ${fmtGap(s.lastQuietGapMs)} and ${fmtGap(s.stallsBeginMs)} idle (Fisher p=${roundP(s.pAdjusted)})`,
      stalls: s.explained,
      confidence: statisticalConfidence(s.pAdjusted, s.stallsAbove),
      evidence: {
        test: "Fisher exact, one-sided (stall rate above the gap boundary > below), Bonferroni over boundaries",
        n: samples.length,
        boundaryMs: s.boundaryMs,
        thresholdMs: s.stallsBeginMs,
        lastQuietGapMs: s.lastQuietGapMs,
        above: { n: s.nAbove, stalls: s.stallsAbove },
        below: { n: s.nBelow, stalls: s.stallsBelow },
        pValue: roundP(s.pValue),
        pAdjusted: roundP(s.pAdjusted),
        tests: s.tests,
        keepWarmIntervalMs: intervalMs,
      },
      nextStep:
        intervalMs === FIVE_MIN_MS
          ? `Keep-warm pings every 5 min would avoid it (stalls begin after ~${fmtGap(s.stallsBeginMs)} idle): enable keepWarm; the cause is a cold start (Lambda/ENI, scaled-to-zero service) or an idle-dropped path.`
          : `Keep-warm pings every ${interval} would avoid it (stalls begin after ~${fmtGap(s.stallsBeginMs)} idle, so the default 5 min is too slow): set keepWarm.cron accordingly, or find what goes cold (Lambda/ENI, scaled-to-zero service, NLB idle timeout).`,
      detailBySeq,
    };
    return { candidate };
  },
};
