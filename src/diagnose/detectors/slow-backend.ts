/**
 * slow-backend: stalls in time-to-first-byte while DNS, connect and TLS were
 * quick. The fallback explanation: the time went after the request was sent.
 */
import { median } from "../stalls.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, fmtDuration, nearestLevel, signatureConfidence, stallIn } from "../util.js";

/** API Gateway's integration timeout (29 s) and CloudFront's origin attempts (3 × 10 s). */
const APIGW_TIMEOUT_MS = 29_000;
const CLOUDFRONT_LEVELS_MS = [10_000, 20_000, 30_000];

export const slowBackend: Detector = {
  id: "slow-backend",
  detect(input: DetectorInput): DetectorResult {
    const ttfbStalls = input.stalls.filter((s) => {
      if (!stallIn(s, "ttfb")) return false;
      const setupMs =
        (s.record.phasesMs.dns ?? 0) + (s.record.phasesMs.connect ?? 0) + (s.record.phasesMs.tls ?? 0);
      return setupMs < s.thresholdMs;
    });
    if (ttfbStalls.length === 0) return {};
    const ttfb = ttfbStalls.map((s) => s.record.phasesMs.ttfb ?? 0).sort((a, b) => a - b);
    const medianMs = median(ttfb);
    const apigw = ttfbStalls.filter(
      (s) =>
        Math.abs((s.record.phasesMs.ttfb ?? 0) - APIGW_TIMEOUT_MS) <= 1500 &&
        (s.record.status === 504 || s.record.hopHeaders["x-amzn-errortype"] !== undefined),
    );
    const cloudfront = ttfbStalls.filter(
      (s) => nearestLevel(s.record.phasesMs.ttfb ?? 0, CLOUDFRONT_LEVELS_MS) !== undefined,
    );
    const detailBySeq = new Map<number, string>();
    for (const s of ttfbStalls)
      detailBySeq.set(s.record.seq, `ttfb ${fmtDuration(s.record.phasesMs.ttfb ?? 0)}, set-up quick`);
    let nextStep =
      "The time went after the request was sent: compare API Gateway's Latency with IntegrationLatency around the stalls and enable X-Ray (xray.enabled) to split it into API Gateway, VPC link/NLB and the backend.";
    let why = "the time went to API Gateway, the VPC link/NLB or the backend";
    if (apigw.length >= 0.5 * ttfbStalls.length) {
      why = "~29 s then 504: API Gateway's integration timeout";
      nextStep =
        "The integration did not answer within API Gateway's 29 s limit: check the VPC link/NLB target health and the backend's slowest requests (X-Ray integration subsegment).";
    } else if (cloudfront.length >= 0.7 * ttfbStalls.length) {
      why = "near 10/20/30 s: CloudFront origin connection attempts (custom domain)";
      nextStep =
        "CloudFront retries its origin connection every 10 s: compare with the execute-api route at the same time; check the distribution's origin settings (connection timeout and attempts).";
    }
    const candidate: Candidate = {
      summary: `${ttfbStalls.length} stalls waited for the first byte (median ${fmtDuration(medianMs)}, max ${fmtDuration(ttfb[ttfb.length - 1] ?? 0)}) while DNS, connect and TLS were quick: ${why}`,
      stalls: ttfbStalls.map((s) => s.record.seq),
      confidence: signatureConfidence(ttfbStalls.length, 1),
      evidence: {
        ttfbStalls: ttfbStalls.length,
        medianTtfbMs: Math.round(medianMs),
        maxTtfbMs: Math.round(ttfb[ttfb.length - 1] ?? 0),
        apiGatewayTimeouts: apigw.length,
        nearCloudFrontLevels: cloudfront.length,
        byRoute: countBy(ttfbStalls, (s) => s.record.route),
        byStatus: countBy(ttfbStalls, (s) =>
          s.record.status === undefined ? undefined : String(s.record.status),
        ),
      },
      nextStep,
      detailBySeq,
    };
    return { candidate };
  },
};
