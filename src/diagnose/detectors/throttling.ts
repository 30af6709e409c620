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
    const c = input.columns;
    const errorType = (i: number) => c.hopHeader(i, "x-amzn-errortype");
    const throttled: number[] = [];
    for (const i of input.rows) if (isThrottled(c.status(i), errorType(i))) throttled.push(i);
    if (throttled.length === 0) return {};
    const byGateway = throttled.filter((i) => errorType(i) !== undefined).length;
    const fromGateway = byGateway >= 0.5 * throttled.length;
    const stalls = throttled.map((i) => c.seq(i)).filter((seq) => input.stallSeqs.has(seq));
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
