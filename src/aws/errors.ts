/**
 * AWS call failures as classified results. The AWS senders (X-Ray, ELBv2,
 * CloudWatch metrics, the dashboard deploy) never throw on an AWS error: they
 * return an {@link AwsFailure} the caller can log, count and show as evidence
 * ("X-Ray: throttled").
 */

/** Kinds of failure, from the caller's point of view. */
export const AWS_FAILURE_KINDS = [
  "throttled",
  "server",
  "network",
  "timeout",
  "credentials",
  "access-denied",
  "not-found",
  "invalid-request",
  "other",
] as const;
export type AwsFailureKind = (typeof AWS_FAILURE_KINDS)[number];

/** One failed AWS call. */
export interface AwsFailure {
  kind: AwsFailureKind;
  /** The operation, e.g. `BatchGetTraces`. */
  operation: string;
  /** AWS error code or Node error code, e.g. `ThrottledException`, `ECONNREFUSED`. */
  code: string;
  message: string;
  /** HTTP status when the service answered. */
  status?: number;
  /** True when trying again later may succeed. */
  retryable: boolean;
}

const THROTTLE = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "SlowDown",
]);
const ACCESS = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
]);
const CREDS = new Set([
  "CredentialsProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
]);
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const TIMEOUT = new Set([
  "AbortError",
  "TimeoutError",
  "ETIMEDOUT",
  "RequestTimeout",
  "RequestTimeoutException",
]);

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The service an operation belongs to, for messages. */
export function serviceOf(operation: string): string {
  if (operation === "BatchGetTraces" || operation === "GetTraceSummaries") return "X-Ray";
  if (/^Describe(Target|LoadBalancer)/.test(operation)) return "ELBv2";
  return "CloudWatch";
}

/**
 * When the SDK could not parse the answer (an HTML error page from a proxy, a
 * load balancer or an emulator: "Deserialization error … Unexpected token
 * '<'"), what the answer was: status, content type and service.
 */
function unparsedAnswer(
  operation: string,
  e: Record<string, unknown>,
  status: number | undefined,
): string | undefined {
  if (status === undefined) return undefined;
  const msg = str(e.message) ?? "";
  const unparsed =
    /Deserialization error/i.test(msg) ||
    e.name === "SyntaxError" ||
    (e.name === "Unknown" && msg === "Unknown");
  if (!unparsed) return undefined;
  const resp = e.$response as { headers?: Record<string, string | undefined> } | undefined;
  const ctype = str(resp?.headers?.["content-type"]);
  return `${serviceOf(operation)} answered ${operation} with HTTP ${status}${ctype ? ` (${ctype})` : ""}, not an AWS response: an error page from a proxy, a load balancer or an emulator in front of the endpoint?`;
}

/** Classifies whatever an SDK `send` rejected with. */
export function classifyAwsError(operation: string, err: unknown): AwsFailure {
  const e = (typeof err === "object" && err !== null ? err : {}) as Record<string, unknown>;
  const meta = (typeof e.$metadata === "object" && e.$metadata !== null ? e.$metadata : {}) as Record<
    string,
    unknown
  >;
  const status = typeof meta.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
  const unparsed = unparsedAnswer(operation, e, status);
  const code =
    unparsed !== undefined ? `HTTP ${status}` : (str(e.Code) ?? str(e.code) ?? str(e.name) ?? "Unknown");
  const message = unparsed ?? str(e.message) ?? String(err);
  const base = { operation, code, message, ...(status !== undefined ? { status } : {}) };
  const nodeCode = str(e.code);
  if (THROTTLE.has(code) || status === 429) return { ...base, kind: "throttled", retryable: true };
  if (nodeCode !== undefined && NETWORK.has(nodeCode))
    return { ...base, code: nodeCode, kind: "network", retryable: true };
  if (TIMEOUT.has(code) || (nodeCode !== undefined && TIMEOUT.has(nodeCode)))
    return { ...base, kind: "timeout", retryable: true };
  if (CREDS.has(code) || code === "CredentialsProviderError")
    return { ...base, kind: "credentials", retryable: false };
  if (ACCESS.has(code) || status === 403) return { ...base, kind: "access-denied", retryable: false };
  if (status !== undefined && status >= 500) return { ...base, kind: "server", retryable: true };
  if (/NotFound$/.test(code) || status === 404) return { ...base, kind: "not-found", retryable: false };
  if (status !== undefined && status >= 400) return { ...base, kind: "invalid-request", retryable: false };
  return { ...base, kind: "other", retryable: false };
}

/** Runs `fn` with an abort signal that fires after `timeoutMs` (a hard deadline per call). */
export async function withDeadline<T>(
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), Math.max(1, timeoutMs));
  try {
    return await fn(ac.signal);
  } finally {
    clearTimeout(timer);
  }
}
