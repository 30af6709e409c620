/**
 * client-lag: the prober's own event loop was blocked while the request was in
 * flight, long enough to account for the stall. Takes precedence over every
 * network explanation: stallwatch must never blame the network for its pauses.
 */
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtDuration, signatureConfidence } from "../util.js";

/** Loop lag below this never explains a stall. */
export const MIN_LOOP_LAG_MS = 100;

export const clientLag: Detector = {
  id: "client-lag",
  detect(input: DetectorInput): DetectorResult {
    const matched: number[] = [];
    const detailBySeq = new Map<number, string>();
    let maxLagMs = 0;
    for (const s of input.stalls) {
      const lagMs = s.record.loopLagMs;
      if (lagMs === undefined || lagMs < MIN_LOOP_LAG_MS) continue;
      // The lag explains the stall when it is most of it, or when the request
      // would have been under the threshold without it.
      if (lagMs >= 0.5 * s.totalMs || s.totalMs - lagMs <= s.thresholdMs) {
        matched.push(s.record.seq);
        detailBySeq.set(
          s.record.seq,
          `event loop blocked ${fmtDuration(lagMs)} of ${fmtDuration(s.totalMs)}`,
        );
        maxLagMs = Math.max(maxLagMs, lagMs);
      }
    }
    if (matched.length === 0) return {};
    const share = matched.length / input.stalls.length;
    const lag = input.lag;
    const candidate: Candidate = {
      summary: `${matched.length} of ${input.stalls.length} stalls happened while stallwatch's own event loop was blocked (up to ${fmtDuration(maxLagMs)}): the prober, not the network`,
      stalls: matched,
      confidence: signatureConfidence(matched.length, Math.max(share, 0.7)),
      evidence: {
        stalls: matched.length,
        maxLoopLagMs: Math.round(maxLagMs),
        minLoopLagMs: MIN_LOOP_LAG_MS,
        rule: "loopLagMs ≥ 50% of the stall, or total − loopLagMs ≤ stall threshold",
        ...(lag
          ? { runLoopLagP99Ms: lag.p99, runLoopLagMaxMs: lag.max, loopUtilization: lag.utilization }
          : {}),
      },
      nextStep:
        "Run the prober where it has CPU to spare (lower --concurrency, fewer endpoints per process, a larger task) and re-check; these stalls say nothing about the API.",
      detailBySeq,
    };
    return { candidate };
  },
};
