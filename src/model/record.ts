/**
 * The shared vocabulary of stallwatch: phases, failure classes, the request
 * record. Declared once here; config enums, histograms, reports, metrics and
 * dashboards derive their lists from these constants.
 */

/** Phases of one HTTP request, in the order they happen. All durations in milliseconds. */
export const PHASES = ["dns", "connect", "tls", "ttfb", "transfer", "total"] as const;
export type Phase = (typeof PHASES)[number];

/** Phases that are a part of `total` (everything but `total` itself). */
export const PART_PHASES = ["dns", "connect", "tls", "ttfb", "transfer"] as const satisfies readonly Phase[];

/** Connection handling for a probe. */
export const CONNECTION_MODES = ["fresh", "reuse"] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];

/** Why a request was sent: a probe sample or a keep-warm ping (kept out of probe statistics). */
export const RECORD_TAGS = ["probe", "keep-warm", "idle-sweep"] as const;
export type RecordTag = (typeof RECORD_TAGS)[number];

/**
 * Failure classes. Stable codes: they appear in JSON output, logs, metric
 * dimensions and alarm definitions, so never rename one.
 */
export const FAILURE_CLASSES = {
  dns: "name resolution failed (NXDOMAIN, SERVFAIL, resolver unreachable)",
  "dns-timeout": "name resolution did not finish before the deadline",
  refused: "connection refused (RST in answer to SYN)",
  unreachable: "host or network unreachable",
  "connect-timeout": "TCP connect did not finish before the deadline",
  tls: "TLS handshake failed (certificate, protocol, alert)",
  "tls-timeout": "TLS handshake did not finish before the deadline",
  reset: "connection reset or closed by the peer mid-request",
  "headers-timeout": "no complete response headers before the deadline",
  "body-timeout": "response body did not complete before the deadline",
  "body-too-large": "response body exceeded the configured cap",
  protocol: "the response was not valid HTTP",
  "http-4xx": "HTTP status 400-499",
  "http-5xx": "HTTP status 500-599",
  "http-other": "HTTP status 600-999, outside the classes HTTP defines",
  assertion: "the response did not match an expectation (status, JSON field, header)",
  other: "an error stallwatch could not classify",
} as const;
export type FailureClass = keyof typeof FAILURE_CLASSES;
export const FAILURE_CLASS_NAMES = Object.keys(FAILURE_CLASSES) as FailureClass[];

/** Where a failure happened: a request phase, or after the response, while checking it. */
export type FailurePhase = Exclude<Phase, "total"> | "assert";

export interface ProbeFailure {
  /** Stable failure class. */
  code: FailureClass;
  /** The phase that was in progress when the failure happened. */
  phase: FailurePhase;
  /** Human-readable detail (never contains secret header values). */
  message: string;
  /** Underlying error code, e.g. ECONNRESET, UND_ERR_SOCKET, ERR_TLS_CERT_ALTNAME_INVALID. */
  cause?: string;
}

export interface AssertionResult {
  /** What was checked, e.g. `status`, `json.status`, `header.content-type`. */
  name: string;
  ok: boolean;
  expected: unknown;
  actual: unknown;
}

/**
 * Raw monotonic timestamps (ms, `performance.now()` time base) of one request.
 * Absent when the event did not happen (a reused connection has no DNS or connect).
 */
export interface ProbeTimestamps {
  start: number;
  dnsStart?: number;
  dnsEnd?: number;
  connectStart?: number;
  connectEnd?: number;
  tlsEnd?: number;
  /** Request headers handed to the socket. */
  sent?: number;
  /** First response byte readable. */
  firstByte?: number;
  /** Response headers parsed. */
  headers?: number;
  /** Body complete (or failure). */
  end?: number;
}

export interface TlsInfo {
  protocol?: string;
  cipher?: string;
  sessionReused: boolean;
  alpn?: string;
}

/** Headers that identify each hop (CloudFront, API Gateway, backend). Lower-case names. */
export const HOP_HEADERS = [
  "x-amzn-requestid",
  "x-amz-apigw-id",
  "x-amzn-errortype",
  "x-amzn-trace-id",
  "via",
  "x-cache",
  "x-amz-cf-pop",
  "x-amz-cf-id",
] as const;
/** `x-amzn-RequestId`, else `x-amz-apigw-id`. */
export function requestIdOf(headers: Record<string, string>): string | undefined {
  return headers["x-amzn-requestid"] ?? headers["x-amz-apigw-id"];
}

/** The X-Ray trace id (`Root=` value) of an `X-Amzn-Trace-Id` header; the whole value when it has no Root. */
export function traceIdOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /(?:^|;)\s*Root=([^;]+)/i.exec(header);
  return (m?.[1] ?? header).trim();
}

/** Prefix of the backend headers API Gateway renames. */
export const REMAPPED_HEADER_PREFIX = "x-amzn-remapped-";

/** One request as stallwatch saw it. Plain JSON: it is stored, merged and diagnosed. */
export interface RequestRecord {
  /** Wall-clock start, epoch ms. */
  atMs: number;
  /** Send order within the run (0-based, across all series). */
  seq: number;
  /** Send order within its series (api × route × endpoint). */
  seriesSeq: number;
  api: string;
  route: string;
  endpoint: string;
  method: string;
  url: string;
  tag: RecordTag;
  connection: ConnectionMode;
  /** Durations per phase in ms (fractional). A phase that did not happen is absent. */
  phasesMs: Partial<Record<Phase, number>>;
  status?: number;
  /** Response body bytes received. */
  bytes: number;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  /**
   * New connection to a name: the addresses its lookup answered, in answer order, when there were several (e.g.
   * AAAA and A records). Absent for one address, an IP literal or a reused connection.
   */
  resolvedAddresses?: string[];
  /**
   * New connection: every address the client tried, in order, the last one the one it connected to; present when
   * it tried more than one (Node's Happy Eyeballs, `autoSelectFamily`: an attempt that has not connected within the
   * attempt timeout is abandoned for the next address, and the connect phase includes that wait).
   */
  connectAttempts?: string[];
  localAddress?: string;
  localPort?: number;
  /** True when the request went out on a socket that had served an earlier request. */
  reused: boolean;
  /** For a reused socket: ms it sat idle since its previous response ended. */
  socketIdleMs?: number;
  /** Ms since the previous request to the same series finished (undefined for the first). */
  idleGapMs?: number;
  /**
   * Other requests of the same run (any series) already in flight when this one was sent: the load it met.
   * Stall rates that grow with it point at a queue (a full accept queue), not at random loss.
   */
  inFlightAtSend?: number;
  tls?: TlsInfo;
  assertions: AssertionResult[];
  /** Hop-identifying response headers, lower-case names. */
  hopHeaders: Record<string, string>;
  /** `x-amzn-RequestId` (or `x-amz-apigw-id` when absent). */
  requestId?: string;
  /** X-Ray trace id sent by stallwatch, or echoed by the server. */
  traceId?: string;
  /**
   * The writer (prober) that recorded the request, set when history is read
   * back (the round's writer id); absent for a live run. Not stored per line.
   */
  writer?: string;
  /** Largest event-loop delay (ms) observed while this request was in flight. */
  loopLagMs?: number;
  ok: boolean;
  error?: ProbeFailure;
  /**
   * True when a clean stop (SIGTERM, shutdown) aborted the request: its
   * durations say when the stop came, not how the API behaved. Stored, but
   * left out of failures, stalls, histograms and metrics (see {@link countable}).
   */
  aborted?: true;
}

/** False for a request a clean stop aborted: it counts in no failure, stall, histogram or metric. */
export function countable(r: Pick<RequestRecord, "aborted">): boolean {
  return r.aborted !== true;
}

/** The identity of a series: one histogram family per (api, route, endpoint). */
export interface SeriesKey {
  api: string;
  route: string;
  endpoint: string;
}

/** The one map key of a series (api, route, endpoint); build it through here, never by hand. */
export function seriesId(k: SeriesKey): string {
  return `${k.api}\u0000${k.route}\u0000${k.endpoint}`;
}

/** The map key of a series under one connection mode. */
export function seriesConnectionId(k: SeriesKey, connection: string): string {
  return `${seriesId(k)}\u0000${connection}`;
}
