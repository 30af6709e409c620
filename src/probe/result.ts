/**
 * From what one exchange produced to a ProbeOutcome: the verdict (assertions
 * and the failure class they imply) and the record fields.
 */
import type { Expect } from "../config/schema.js";
import {
  type AssertionResult,
  type ProbeFailure,
  type ProbeTimestamps,
  requestIdOf,
  traceIdOf,
} from "../model.js";
import { checkResponse } from "./assertions.js";
import { derivePhases, flattenHeaders, type HeaderBag, pickHopHeaders } from "./outcome.js";
import type { ProbeContext } from "./timing.js";
import type { ProbeOutcome, ProbeRequestOptions, ProbeTarget } from "./types.js";

/** What the exchange got so far (filled in as it goes, so a failure keeps the partial facts). */
export interface ExchangeState {
  status?: number;
  headers?: HeaderBag;
  /** `headers` flattened (see flatHeadersOf); filled in on first use. */
  flatHeaders?: Record<string, string>;
  /** Body text, kept only when an assertion needs it. */
  body?: string;
  bytes: number;
  bodyDone: boolean;
  tooLarge: boolean;
  /** Set when the body outgrew what an assertion may hold (probe.maxAssertBodyBytes): the text was dropped. */
  keepCutAt?: number;
}

/**
 * The response headers as one string per name, worked out once per exchange
 * (judge and toOutcome both read them). undici already hands them over with
 * lower-case names; they are copied only when a header repeats (an array).
 */
export function flatHeadersOf(state: ExchangeState): Record<string, string> {
  if (state.flatHeaders) return state.flatHeaders;
  const h = state.headers ?? {};
  state.flatHeaders = isFlat(h) ? (h as Record<string, string>) : flattenHeaders(h);
  return state.flatHeaders;
}

function isFlat(h: HeaderBag): boolean {
  for (const k in h) {
    if (typeof h[k] !== "string" || k !== k.toLowerCase()) return false;
  }
  return true;
}

export interface Verdict {
  assertions: AssertionResult[];
  failure?: ProbeFailure;
}

/** Check a complete (or capped) response against `expect`; pick the failure class it implies. */
export function judge(
  expect: Expect | undefined,
  state: ExchangeState,
  redact?: (text: string) => string,
): Verdict {
  const status = state.status ?? 0;
  const headers = flatHeadersOf(state);
  const assertions = checkResponse(expect, {
    status,
    headers,
    ...(state.body !== undefined ? { body: state.body } : {}),
    truncated: state.tooLarge,
    ...(state.keepCutAt !== undefined ? { notKeptOver: state.keepCutAt } : {}),
    ...(redact ? { redact } : {}),
  });
  if (state.tooLarge) {
    return {
      assertions,
      failure: {
        code: "body-too-large",
        phase: "transfer",
        message: `response body exceeded the cap; stopped reading after ${state.bytes} bytes`,
      },
    };
  }
  let allOk = true;
  for (const a of assertions) allOk &&= a.ok;
  if (allOk) return { assertions };
  const failed = assertions.filter((a) => !a.ok);
  const statusFailed = failed.some((a) => a.name === "status");
  if (statusFailed && status >= 400) {
    const code = status >= 600 ? "http-other" : status >= 500 ? "http-5xx" : "http-4xx";
    const reason = headers["x-amzn-errortype"] ? ` (${headers["x-amzn-errortype"]})` : "";
    return {
      assertions,
      failure: {
        code,
        phase: "ttfb",
        message: `HTTP ${status}${reason}`,
        cause: String(status),
      },
    };
  }
  const list = failed
    .map((a) => `${a.name}: expected ${JSON.stringify(a.expected)}, got ${JSON.stringify(a.actual)}`)
    .join("; ");
  return { assertions, failure: { code: "assertion", phase: "assert", message: list } };
}

/**
 * The raw monotonic timestamps behind each outcome's `phasesMs`, kept beside
 * the outcome rather than in it (a record is plain JSON that is stored and
 * merged; the timestamps are only for the run's columnar store). Weak: they
 * go when the outcome does.
 */
const rawTimestamps = new WeakMap<object, ProbeTimestamps>();

/** The raw timestamps the prober measured for this outcome (or the record made of it), if any. */
export function rawTimestampsOf(outcome: object): ProbeTimestamps | undefined {
  return rawTimestamps.get(outcome);
}

/**
 * The record fields of one finished probe. Positional arguments, not an
 * options object: this runs once per request on the prober's hot path.
 */
export function toOutcome(
  target: ProbeTarget,
  ctx: ProbeContext,
  state: ExchangeState,
  atMs: number,
  ro: ProbeRequestOptions,
  verdict: Verdict,
  lag: number | undefined,
): ProbeOutcome {
  const headers = flatHeadersOf(state);
  const out: ProbeOutcome = {
    atMs,
    api: target.api,
    route: target.route,
    endpoint: target.endpoint,
    method: target.method,
    url: target.url,
    connection: ro.connection,
    phasesMs: derivePhases(ctx.t, state.bodyDone),
    bytes: state.bytes,
    reused: ctx.reused,
    assertions: verdict.assertions,
    hopHeaders: pickHopHeaders(headers),
    ok: verdict.failure === undefined,
  };
  if (state.status !== undefined) out.status = state.status;
  const c = ctx.conn;
  if (c?.remoteAddress !== undefined) out.remoteAddress = c.remoteAddress;
  if (c?.remotePort !== undefined) out.remotePort = c.remotePort;
  if (c?.remoteFamily !== undefined) out.remoteFamily = c.remoteFamily;
  if (c && !ctx.reused) {
    if (c.resolved) out.resolvedAddresses = c.resolved;
    if (c.attempts) out.connectAttempts = c.attempts;
  }
  if (c?.localAddress !== undefined) out.localAddress = c.localAddress;
  if (c?.localPort !== undefined) out.localPort = c.localPort;
  if (ctx.socketIdleMs !== undefined) out.socketIdleMs = ctx.socketIdleMs;
  if (ctx.tls) out.tls = ctx.tls;
  const requestId = requestIdOf(headers);
  if (requestId !== undefined) out.requestId = requestId;
  const traceId = traceIdOf(ro.traceHeader ?? headers["x-amzn-trace-id"]);
  if (traceId !== undefined) out.traceId = traceId;
  if (lag !== undefined) out.loopLagMs = lag;
  if (verdict.failure) out.error = verdict.failure;
  rawTimestamps.set(out, ctx.t);
  return out;
}
