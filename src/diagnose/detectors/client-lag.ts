/**
 * client-lag: the prober's own event loop was blocked while the request was in
 * flight, long enough to account for the stall. Takes precedence over every
 * network explanation: stallwatch must never blame the network for its pauses.
 *
 * What counts as a block comes from the lag monitor (src/probe/lag.ts), not
 * from a tuned constant. Its drift sampler ticks every period P (10 ms by
 * default) and reads a block of B ms as a delay between B − P and B, by where
 * the block fell between two ticks; a block shorter than P may read as
 * nothing. So a reading is evidence of a block only above P: the floor
 * (loopLagFloorMs). Neither the run's p99 (when the loop blocks often, the
 * p99 is the block itself: 60 ms busy-waits 5 times a second gave a drift
 * p99 of 58-60 ms) nor its median on top (over a short run one block is the
 * median: a 200 ms block in a 220 ms run read as its own floor). The loop's
 * ordinary lateness is in every request, hence in the series' typical total,
 * which the rule below takes off first.
 *
 * Above the floor, the lag explains the stall when it is at least half of
 * it, or when it covers the stall's whole excess over its series' typical
 * total (total − typical ≤ lag + P: a block adds at most its own length, and
 * the sampler reads it up to P short). Not "total − lag ≤ threshold": a block
 * adds nothing when it falls while the request waits on the network, so a
 * stall just over its threshold would be claimed by any hiccup above the
 * floor (a 45 ms server hold against a 40 ms threshold, 20 ms hiccups: 25 of
 * 80 such stalls), and a 255 ms IPv6 fallback against the 250 ms floor by a
 * 10 ms one; neither block made its request slow.
 */
import { lagSamplePeriodMs, loopLagFloorMs } from "../../model.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtDuration, signatureConfidence } from "../util.js";

export const clientLag: Detector = {
  id: "client-lag",
  detect(input: DetectorInput): DetectorResult {
    const lag = input.lag;
    const floorMs = loopLagFloorMs(lag);
    const period = lagSamplePeriodMs(lag);
    const matched: number[] = [];
    const detailBySeq = new Map<number, string>();
    let maxLagMs = 0;
    for (const s of input.stalls) {
      const lagMs = s.record.loopLagMs;
      if (lagMs === undefined || !(lagMs > floorMs)) continue;
      // The lag explains the stall when it is most of it, or covers all the time the stall took beyond its
      // series' typical total (no typical: the whole of it).
      if (lagMs >= 0.5 * s.totalMs || s.totalMs - (s.typicalMs ?? 0) <= lagMs + period) {
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
    const candidate: Candidate = {
      summary: `${matched.length} of ${input.stalls.length} stalls happened while stallwatch's own event loop was blocked (up to ${fmtDuration(maxLagMs)}): the prober, not the network`,
      stalls: matched,
      confidence: signatureConfidence(matched.length, Math.max(share, 0.7)),
      evidence: {
        stalls: matched.length,
        maxLoopLagMs: Math.round(maxLagMs),
        loopLagFloorMs: Math.round(floorMs * 10) / 10,
        samplePeriodMs: period,
        rule: "loopLagMs > sampler period, and ≥ 50% of the stall or total − series' typical total ≤ loopLagMs + sampler period",
        ...(lag
          ? {
              runLoopLagP50Ms: lag.p50,
              runLoopLagP99Ms: lag.p99,
              runLoopLagMaxMs: lag.max,
              loopUtilization: lag.utilization,
            }
          : {}),
      },
      nextStep:
        "Run the prober where it has CPU to spare (lower --concurrency, fewer endpoints per process, a larger task) and re-check; these stalls say nothing about the API.",
      detailBySeq,
    };
    return { candidate };
  },
};
