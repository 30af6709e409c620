/**
 * throttling: requests refused with 429 Too Many Requests. From API Gateway (it names itself in
 * `x-amzn-ErrorType: TooManyRequestsException`) the stage, usage plan or account limit was hit; otherwise the
 * backend refused. The failures are fast; a client that retries them sees seconds.
 *
 * AWS evidence: API Gateway's own count of what it answered, `4XXError` (Sum) and `Count` (AWS/ApiGateway,
 * ApiName + Stage, per minute) from GetMetricData around the run (context.cloudwatchMetrics). Its 429s are
 * among its 4XXError; fewer 4XXError than 429s seen says the 429s did not come from this stage (or the
 * metric had not arrived yet: CloudWatch publishes per minute, minutes late).
 */
import type { EvidenceSeries, VerdictEvidence } from "../../model.js";
import type { Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, pct } from "../util.js";

interface StageCounts {
  stage: string;
  errors4xx: number;
  requests?: number;
  minutes: number;
}

/** 4XXError and Count sums per ApiName/Stage from the GetMetricData series, when any has datapoints. */
function apiGatewayCounts(series: readonly EvidenceSeries[]): StageCounts[] {
  const by = new Map<string, StageCounts>();
  for (const s of series) {
    if (s.namespace !== "AWS/ApiGateway" || s.stat !== "Sum") continue;
    if (s.metricName !== "4XXError" && s.metricName !== "Count") continue;
    if (s.values.length === 0) continue;
    const stage = `${s.dimensions.ApiName ?? "?"}/${s.dimensions.Stage ?? "?"}`;
    const e = by.get(stage) ?? { stage, errors4xx: 0, minutes: 0 };
    const sum = s.values.reduce((a, b) => a + b, 0);
    if (s.metricName === "4XXError") {
      e.errors4xx += sum;
      e.minutes = Math.max(e.minutes, s.values.length);
    } else e.requests = (e.requests ?? 0) + sum;
    by.set(stage, e);
  }
  return [...by.values()].filter((e) => e.minutes > 0);
}

const isThrottled = (status: number | undefined, errorType: string | undefined): boolean =>
  status === 429 || (errorType !== undefined && /TooManyRequests|Throttl/i.test(errorType));

export const throttling: Detector = {
  id: "throttling",
  detect(input: DetectorInput): DetectorResult {
    const c = input.columns;
    const errorType = (i: number) => c.hopHeader(i, "x-amzn-errortype");
    const throttled: number[] = [];
    for (const i of input.rows) if (isThrottled(c.status(i), errorType(i))) throttled.push(i);
    if (throttled.length === 0) return {};
    const byGateway = throttled.filter((i) => errorType(i) !== undefined).length;
    const fromGateway = byGateway >= 0.5 * throttled.length;
    const stalls = throttled.map((i) => c.seq(i)).filter((seq) => input.stallSeqs.has(seq));
    const cw = input.context.cloudwatchMetrics;
    const counts = apiGatewayCounts(cw?.series ?? []);
    const corroboration: VerdictEvidence[] = counts.map((k) => ({
      source: "cloudwatch",
      text:
        `CloudWatch AWS/ApiGateway 4XXError (Sum) for ${k.stage}: ${k.errors4xx}${k.requests !== undefined ? ` of ${k.requests} requests (Count)` : ""} in ${k.minutes} minute${k.minutes === 1 ? "" : "s"} around the run` +
        (k.errors4xx >= byGateway
          ? `: API Gateway counted at least the ${byGateway} 429s it sent the prober`
          : `: fewer than the ${byGateway} 429s the prober got (the metric is per minute and arrives minutes late, or the 429s came from elsewhere)`),
    }));
    return {
      candidate: {
        summary: `${throttled.length} of ${input.rows.length} requests (${pct(throttled.length, input.rows.length)}) were refused with 429 Too Many Requests${fromGateway ? " by API Gateway (TooManyRequestsException)" : " by the backend"}: the API is throttled, not slow`,
        stalls,
        failures: throttled.map((i) => c.seq(i)),
        confidence: throttled.length >= 3 ? "high" : "medium",
        evidence: {
          throttled: throttled.length,
          requests: input.rows.length,
          fromGateway: byGateway,
          byRoute: countBy(throttled, (i) => c.route(i)),
          byErrorType: countBy(throttled, (i) => errorType(i) ?? "none"),
          ...(counts.length > 0
            ? {
                cloudwatch: counts.map((k) => ({
                  stage: k.stage,
                  "4XXError": k.errors4xx,
                  ...(k.requests !== undefined ? { Count: k.requests } : {}),
                  minutes: k.minutes,
                })),
              }
            : {}),
        },
        nextStep: fromGateway
          ? "Raise the limit that is hit, or send less: the stage's or method's throttling (rate and burst), the usage plan of the API key, or the account's regional limit (10,000 requests/s, burst 5,000). CloudWatch's 4XXError on the stage counts these; clients should retry 429s with exponential backoff and jitter, or their retries turn throttling into seconds of latency."
          : "The backend answers 429: check its own rate limiter and the Retry-After it sends; clients should back off.",
        hop: fromGateway ? "gateway" : "app",
        mechanism: fromGateway
          ? "API Gateway's token bucket (rate and burst) ran empty"
          : "the backend's rate limiter refused",
        ...(corroboration.length > 0 ? { corroboration } : {}),
      },
    };
  },
};
