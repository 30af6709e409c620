/** transfer-stall: the stall's time went after the first byte, while the body arrived. */
import { excessMs } from "../physics.js";
import { median } from "../stalls.js";
import type { Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, fmtDuration, signatureConfidence, stallIn } from "../util.js";

export const transferStall: Detector = {
  id: "transfer-stall",
  detect(input: DetectorInput): DetectorResult {
    const matched = input.stalls.filter((s) => stallIn(s, "transfer"));
    if (matched.length === 0) return {};
    const medianExcessMs = median(matched.map((s) => excessMs(s, "transfer", input.typical)));
    const detailBySeq = new Map(
      matched.map((s) => [
        s.record.seq,
        `transfer ${fmtDuration(s.record.phasesMs.transfer ?? 0)} after the first byte`,
      ]),
    );
    return {
      candidate: {
        summary: `${matched.length} stalls received their headers on time, then waited for the body (median +${fmtDuration(medianExcessMs)} in transfer)`,
        stalls: matched.map((s) => s.record.seq),
        confidence: signatureConfidence(matched.length, 1),
        evidence: {
          transferStalls: matched.length,
          medianExcessMs: Math.round(medianExcessMs),
          byEndpoint: countBy(matched, (s) => s.record.endpoint),
          medianBytes: median(matched.map((s) => s.record.bytes)),
        },
        nextStep:
          "The server sent its headers and then paused: check whether the handler streams its body (flushes headers before the work is done), proxy buffering (nginx proxy_buffering), and retransmissions on the path (a lost segment waits for the RTO, ≥ 200 ms).",
        detailBySeq,
        mechanism: "the body stalled after the headers",
      },
    };
  },
};
