/** timeout: requests that never completed within their deadline (*-timeout failure classes). */
import type { FailureClass } from "../../model.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, fmtDuration, maxOf, topCount } from "../util.js";

export const TIMEOUT_CLASSES: ReadonlySet<FailureClass> = new Set<FailureClass>([
  "dns-timeout",
  "connect-timeout",
  "tls-timeout",
  "headers-timeout",
  "body-timeout",
]);

const NEXT_STEP: Record<string, string> = {
  "dns-timeout":
    "Name resolution never finished: check the resolver (/etc/resolv.conf, VPC resolver limits of 1024 packets/s per ENI) and whether queries are dropped.",
  "connect-timeout":
    "SYNs were never answered: check security groups and NACLs, NLB target health per AZ (cross-zone load balancing is off by default on NLBs), and whether the target's listen queue overflows.",
  "tls-timeout":
    "The TLS handshake never finished: check the TLS terminator's load and whether packets after the ClientHello are dropped (MTU, firewall).",
  "headers-timeout":
    "No response headers before the deadline: API Gateway's integration timeout is 29 s; compare IntegrationLatency with Latency and enable X-Ray to see whether the VPC link/NLB or the backend held the request.",
  "body-timeout":
    "The response body stalled mid-transfer: check the backend's streaming/buffering (nginx proxy_buffering) and payload sizes.",
};

export const timeout: Detector = {
  id: "timeout",
  detect(input: DetectorInput): DetectorResult {
    const timedOut = input.stalls.filter((s) => s.record.error && TIMEOUT_CLASSES.has(s.record.error.code));
    if (timedOut.length === 0) return {};
    const byClass = countBy(timedOut, (s) => s.record.error?.code);
    const byAddress = countBy(timedOut, (s) => s.record.remoteAddress);
    const [topClass] = topCount(byClass) ?? ["headers-timeout"];
    const classes = Object.entries(byClass)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    const deadlineMs = input.settings.timeoutMs ?? maxOf(timedOut.map((s) => s.totalMs));
    const detailBySeq = new Map<number, string>();
    for (const s of timedOut) {
      detailBySeq.set(s.record.seq, `${s.record.error?.code} after ${fmtDuration(s.totalMs)}`);
    }
    const candidate: Candidate = {
      summary: `${timedOut.length} request${timedOut.length === 1 ? "" : "s"} never completed within the ${fmtDuration(deadlineMs)} deadline: ${classes}`,
      stalls: timedOut.map((s) => s.record.seq),
      confidence: "high",
      evidence: {
        requests: input.rows.length,
        timedOut: timedOut.length,
        byClass,
        byAddress,
        deadlineMs: Math.round(deadlineMs),
      },
      nextStep: NEXT_STEP[topClass] ?? NEXT_STEP["headers-timeout"]!,
      detailBySeq,
    };
    return { candidate };
  },
};
