/**
 * Failure classification: an error (or a deadline) plus the phase that was in
 * progress → a stable FailureClass with its phase and a readable message.
 * Pure functions; the prober supplies the phase from its timestamps.
 */
import type { FailureClass, FailurePhase, ProbeFailure } from "../model.js";
import type { ProbeContext } from "./timing.js";

/** A phase a request can be in when something goes wrong. */
export type WirePhase = Exclude<FailurePhase, "assert">;

/** The phase in progress right now, judged from what has happened so far. */
export function phaseInProgress(ctx: Pick<ProbeContext, "t" | "conn" | "reused">): WirePhase {
  if (ctx.t.headers !== undefined) return "transfer";
  if (ctx.t.sent !== undefined) return "ttfb";
  const c = ctx.conn;
  if (!c) return "connect";
  if (c.expectLookup && c.dnsEnd === undefined) return "dns";
  if (c.connectEnd === undefined) return "connect";
  if (c.https && c.tlsEnd === undefined) return "tls";
  return "ttfb";
}

const TIMEOUT_BY_PHASE: Record<WirePhase, FailureClass> = {
  dns: "dns-timeout",
  connect: "connect-timeout",
  tls: "tls-timeout",
  ttfb: "headers-timeout",
  transfer: "body-timeout",
};

/** The hard deadline hit while `phase` was in progress. */
export function deadlineFailure(phase: WirePhase, timeoutMs: number): ProbeFailure {
  const what: Record<WirePhase, string> = {
    dns: "name resolution",
    connect: "TCP connect",
    tls: "TLS handshake",
    ttfb: "waiting for response headers",
    transfer: "reading the response body",
  };
  return {
    code: TIMEOUT_BY_PHASE[phase],
    phase,
    message: `deadline of ${timeoutMs} ms reached during ${what[phase]}`,
    cause: "DEADLINE",
  };
}

const DNS_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NODATA",
  "EAI_NONAME",
  "EAI_SERVICE",
  "ESERVFAIL",
  "ENODATA",
  "ENONAME",
  "ETIMEOUT",
]);
const UNREACHABLE_CODES = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL"]);
const RESET_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ERR_STREAM_PREMATURE_CLOSE",
]);
const CERT_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The most specific error code in an error, its cause chain and (AggregateError) its members. */
export function errorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): string | undefined => {
    if (!e || typeof e !== "object" || seen.has(e)) return undefined;
    seen.add(e);
    const x = e as ErrorLike;
    // Prefer an inner, more specific code over undici's generic wrapper codes.
    const inner = visit(x.cause) ?? (Array.isArray(x.errors) ? x.errors.map(visit).find(Boolean) : undefined);
    const own = typeof x.code === "string" ? x.code : undefined;
    if (own && own !== "UND_ERR_SOCKET" && own !== "UND_ERR_ABORTED") return own;
    return inner ?? own;
  };
  return visit(err);
}

function messageOf(err: unknown): string {
  if (!err || typeof err !== "object") return String(err);
  const x = err as ErrorLike;
  let msg = typeof x.message === "string" && x.message ? x.message : String(err);
  if (Array.isArray(x.errors) && x.errors.length) {
    msg += ` (${x.errors.map(messageOf).join("; ")})`;
  }
  return msg;
}

/** Classify an error thrown by undici or the socket layer; `phase` is the phase that was in progress. */
export function classifyError(
  err: unknown,
  phase: WirePhase,
  opts: { insecureTls?: boolean } = {},
): ProbeFailure {
  const code = errorCode(err) ?? "";
  const raw = messageOf(err).replace(/\s+/g, " ").trim();
  const name = err instanceof Error ? err.name : "";
  const make = (c: FailureClass, p: WirePhase, message = raw): ProbeFailure => {
    const f: ProbeFailure = { code: c, phase: p, message };
    if (code || name === "HTTPParserError") f.cause = code || name;
    return f;
  };

  if (DNS_CODES.has(code) || (phase === "dns" && code.startsWith("EAI_"))) return make("dns", "dns");
  if (code === "ECONNREFUSED") return make("refused", "connect");
  if (UNREACHABLE_CODES.has(code)) return make("unreachable", "connect");
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
    const p = phase === "dns" || phase === "tls" ? phase : "connect";
    return make(TIMEOUT_BY_PHASE[p], p);
  }
  if (CERT_CODES.has(code)) {
    const hint = opts.insecureTls ? "" : " (set probe.insecureTls to accept certificates that do not verify)";
    return make("tls", "tls", `TLS certificate rejected: ${raw} [${code}]${hint}`);
  }
  if (code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_") || (code === "EPROTO" && phase === "tls")) {
    return make("tls", "tls", `TLS handshake failed: ${raw}`);
  }
  // undici 7 leaves HTTPParserError.code undefined for some parser errors; the name is reliable.
  if (code.startsWith("HPE_") || name === "HTTPParserError" || /bad response|bad upgrade/i.test(raw)) {
    return make("protocol", phase === "transfer" ? "transfer" : "ttfb", `invalid HTTP response: ${raw}`);
  }
  if (code === "UND_ERR_HEADERS_OVERFLOW") {
    return make("protocol", "ttfb", `invalid HTTP response: headers larger than the client accepts (${raw})`);
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT") return make("headers-timeout", "ttfb");
  if (code === "UND_ERR_BODY_TIMEOUT") return make("body-timeout", "transfer");
  if (RESET_CODES.has(code)) return make("reset", phase);
  return make("other", phase);
}
