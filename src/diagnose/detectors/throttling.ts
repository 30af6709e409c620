/**
 * throttling: requests refused with 429 Too Many Requests. From API Gateway (it names itself in
 * `x-amzn-ErrorType: TooManyRequestsException`) the stage, usage plan or account limit was hit; otherwise the
 * backend refused. The failures are fast; a client that retries them sees seconds.
 */
import type { Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, pct } from "../util.js";

const isThrottled = (status: number | undefined, errorType: string | undefined): boolean =>
  status === 429 || (errorType !== undefined && /TooManyRequests|Throttl/i.test(errorType));

export const throttling: Detector = {
  id: "throttling",
  detect(input: DetectorInput): DetectorResult {
    const throttled = input.records.filter((r) => isThrottled(r.status, r.hopHeaders["x-amzn-errortype"]));
    if (throttled.length === 0) return {};
    const byGateway = throttled.filter((r) => r.hopHeaders["x-amzn-errortype"] !== undefined).length;
    const fromGateway = byGateway >= 0.5 * throttled.length;
    const stalls = throttled.filter((r) => input.stallSeqs.has(r.seq)).map((r) => r.seq);
    return {
      candidate: {
        summary: `${throttled.length} of ${input.records.length} requests (${pct(throttled.length, input.records.length)}) were refused with 429 Too Many Requests${fromGateway ? " by API Gateway (TooManyRequestsException)" : " by the backend"}: the API is throttled, not slow`,
        stalls,
        failures: throttled.map((r) => r.seq),
        confidence: throttled.length >= 3 ? "high" : "medium",
        evidence: {
          throttled: throttled.length,
          requests: input.records.length,
          fromGateway: byGateway,
          byRoute: countBy(throttled, (r) => r.route),
          byErrorType: countBy(throttled, (r) => r.hopHeaders["x-amzn-errortype"] ?? "none"),
        },
        nextStep: fromGateway
          ? "Raise the limit that is hit, or send less: the stage's or method's throttling (rate and burst), the usage plan of the API key, or the account's regional limit (10,000 requests/s, burst 5,000). CloudWatch's 4XXError on the stage counts these; clients should retry 429s with exponential backoff and jitter, or their retries turn throttling into seconds of latency."
          : "The backend answers 429: check its own rate limiter and the Retry-After it sends; clients should back off.",
        hop: fromGateway ? "gateway" : "app",
        mechanism: fromGateway
          ? "API Gateway's token bucket (rate and burst) ran empty"
          : "the backend's rate limiter refused",
      },
    };
  },
};
