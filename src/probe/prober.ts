/**
 * The HTTP prober: one request per call, every phase timed, every failure
 * classified, a hard deadline that always holds. Built on undici 7; phase
 * timing lives in timing.ts, classification in classify.ts.
 *
 * Connection modes:
 * - `fresh`: a throwaway Client per probe (new socket, new lookup, TLS session
 *   cache disabled, `connection: close`), destroyed afterwards.
 * - `reuse`: one keep-alive Agent (a pool per origin) shared by all probes.
 */
import type { Socket } from "node:net";
import { createSecureContext, rootCertificates } from "node:tls";
import { Agent, buildConnector, Client, type Dispatcher } from "undici";
import { type Clock, systemClock } from "../clock.js";
import type { ProbeFailure } from "../model.js";
import { needsBody } from "./assertions.js";
import { classifyError, deadlineFailure, phaseInProgress, redact, secretValues } from "./classify.js";
import { ExchangeHandler } from "./exchange.js";
import type { LagMonitor } from "./lag.js";
import { type LookupFunction, parseResolve, pinnedLookup, resolveKey, systemLookup } from "./resolve.js";
import { type ExchangeState, judge, toOutcome } from "./result.js";
import {
  applyConnTimes,
  instrumentConnector,
  type ProbeContext,
  releaseContext,
  runWithContext,
  timedLookup,
} from "./timing.js";
import type { ProbeOutcome, ProbeRequestOptions, Prober, ProbeTarget } from "./types.js";

export interface ProberOptions {
  /** curl-style `host:port:address[,address]` pins. */
  resolve?: string[];
  /** Response bodies are read up to this many bytes; beyond it the probe fails with `body-too-large`. */
  maxBodyBytes: number;
  /** Accept certificates that do not verify. */
  insecureTls: boolean;
  userAgent: string;
  clock?: Clock;
  /** Supplies `loopLagMs` for each record when given (and running). */
  lagMonitor?: LagMonitor;
  /** An extra trusted CA (PEM), added to Node's root certificates. */
  ca?: string | Buffer;
  /** Replaces the system resolver for names not pinned by `resolve` (custom resolvers, tests). */
  lookup?: LookupFunction;
  /**
   * `reuse` mode: how long an idle pooled connection is kept when the server
   * sends no Keep-Alive hint. Default 4000 (undici's). Capped at 300 000 so a
   * connection is never kept past an NLB's 350 s idle timeout.
   */
  keepAliveTimeoutMs?: number;
}

/** What a target's request looks like, worked out once (see `prepare`). */
interface Prepared {
  url: string;
  headersRef: Record<string, string>;
  origin: string;
  path: string;
  /** Request headers (user-agent added when the target sets none); never mutated. */
  headers: Record<string, string>;
}

/** undici's own connect timeout; the probe's deadline always fires first. */
const CONNECTOR_TIMEOUT_MS = 610_000;
/** Below the NLB's default 350 s TCP idle timeout. */
const KEEP_ALIVE_MAX_MS = 300_000;
/** undici's header/body timers (1 s resolution) only back up the probe's own deadline. */
const UNDICI_BACKSTOP_MS = 5_000;

export function createProber(opts: ProberOptions): Prober {
  const clock = opts.clock ?? systemClock;
  const pins = parseResolve(opts.resolve ?? []);
  // One secure context for every connection: building one parses the whole
  // CA list (tens of ms) and would otherwise land in the first timed phase.
  const tlsOptions = {
    rejectUnauthorized: !opts.insecureTls,
    secureContext: createSecureContext(
      opts.ca !== undefined ? { ca: [...rootCertificates, opts.ca.toString()] } : {},
    ),
  };

  /** Base connectors per host:port (each with its pinned or custom lookup). */
  const baseConnectors = (maxCachedSessions: number | undefined) => {
    const cache = new Map<string, buildConnector.connector>();
    return (o: buildConnector.Options): buildConnector.connector => {
      const port = Number(o.port) || (o.protocol === "https:" ? 443 : 80);
      const key = resolveKey(o.hostname, port);
      let c = cache.get(key);
      if (!c) {
        const pin = pins.get(key);
        const lookup = timedLookup(pin ? pinnedLookup(pin.addresses) : (opts.lookup ?? systemLookup));
        c = buildConnector({
          ...tlsOptions,
          timeout: CONNECTOR_TIMEOUT_MS,
          ...(maxCachedSessions !== undefined ? { maxCachedSessions } : {}),
          lookup,
        } as buildConnector.BuildOptions);
        cache.set(key, c);
      }
      return c;
    };
  };
  const freshConnector = instrumentConnector(baseConnectors(0), clock);
  const reuseConnector = instrumentConnector(baseConnectors(undefined), clock);
  const keepAliveTimeout = Math.min(opts.keepAliveTimeoutMs ?? 4_000, KEEP_ALIVE_MAX_MS);
  let agent: Agent | undefined;
  const closing = new Set<Promise<unknown>>();

  const track = (p: Promise<unknown>): void => {
    const q = p.catch(() => undefined).finally(() => closing.delete(q));
    closing.add(q);
  };

  /** Per-target request facts (origin, path, request headers), computed once per target. */
  const prepared = new WeakMap<ProbeTarget, Prepared>();
  const prepare = (target: ProbeTarget): Prepared => {
    const p = prepared.get(target);
    if (p && p.url === target.url && p.headersRef === target.headers) return p;
    const url = new URL(target.url);
    const headers: Record<string, string> = {};
    if (!Object.keys(target.headers).some((h) => h.toLowerCase() === "user-agent")) {
      headers["user-agent"] = opts.userAgent;
    }
    Object.assign(headers, target.headers);
    const q: Prepared = {
      url: target.url,
      headersRef: target.headers,
      origin: url.origin,
      path: url.pathname + url.search,
      headers,
    };
    prepared.set(target, q);
    return q;
  };

  function probe(target: ProbeTarget, ro: ProbeRequestOptions): Promise<ProbeOutcome> {
    if (ro.connection === "fresh")
      return new Promise((resolve, reject) => start(target, ro, resolve, reject));
    // undici marks a pooled client free again only in a setImmediate after its
    // response ended; a request sent before that would get a second
    // connection. Start reuse probes one check phase later so back-to-back
    // probes reuse (undici's own idle-socket check waits for the same phase).
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        try {
          start(target, ro, resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** Starts one probe; `reject` only if building its outcome throws (a bug), so it can never hang. */
  function start(
    target: ProbeTarget,
    ro: ProbeRequestOptions,
    resolve: (o: ProbeOutcome) => void,
    reject: (err: unknown) => void,
  ): void {
    const p = prepare(target);
    const ctx: ProbeContext = {
      clock,
      origin: p.origin,
      path: p.path,
      method: target.method,
      t: { start: clock.now() },
      reused: false,
    };
    const atMs = clock.wallMs();
    const state: ExchangeState = { bytes: 0, bodyDone: false, tooLarge: false };
    const fresh = ro.connection === "fresh";
    const client = fresh
      ? new Client(p.origin, { connect: freshConnector, pipelining: 1, keepAliveTimeout: 1_000 })
      : undefined;
    agent ??= new Agent({
      connect: reuseConnector,
      keepAliveTimeout,
      keepAliveMaxTimeout: KEEP_ALIVE_MAX_MS,
    });
    const dispatcher: Dispatcher = client ?? agent;

    let settled = false;
    const settle = (failure: ProbeFailure | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ro.signal?.removeEventListener("abort", onExternalAbort);
      // settle may run inside undici's parser callbacks: destroy the throwaway
      // client once they have returned (a `reset` request's socket is closed by
      // undici by then), but before whoever awaits this probe could call close().
      if (client) queueMicrotask(() => track(client.destroy()));
      try {
        resolve(outcome(failure));
      } catch (err) {
        reject(err); // a bug in building the record: the caller records it, nothing hangs
      }
      // Clean up after resolving: nothing below may delay or fail the probe.
      if (!state.bodyDone) {
        handler.abort(new Error("probe settled"));
        // A connection still being set up when the deadline hit is not worth keeping.
        if (ctx.conn && ctx.t.sent === undefined) destroyConnecting(ctx);
      }
    };
    const outcome = (failure: ProbeFailure | undefined): ProbeOutcome => {
      const t = ctx.t;
      t.end = state.bodyDone && ctx.bodyEndAt !== undefined ? ctx.bodyEndAt : clock.now();
      applyConnTimes(ctx);
      releaseContext(ctx);
      const verdict = failure ? { assertions: [], failure } : judge(target.expect, state);
      if (verdict.failure) {
        const secrets = secretValues(target.headers, target.secretHeaders);
        if (secrets.length > 0) verdict.failure.message = redact(verdict.failure.message, secrets);
      }
      const lag = opts.lagMonitor?.maxLagMs(t.start, t.end);
      return toOutcome({ target, ctx, state, atMs, connection: ro.connection, verdict, lag, ro });
    };
    const onExternalAbort = (): void =>
      settle({ code: "other", phase: phaseInProgress(ctx), message: "probe aborted", cause: "ABORTED" });
    const handler = new ExchangeHandler(state, needsBody(target.expect), opts.maxBodyBytes, (err) =>
      settle(
        err === undefined || state.tooLarge
          ? undefined
          : classifyError(err, phaseInProgress(ctx), { insecureTls: opts.insecureTls }),
      ),
    );
    const timer = setTimeout(
      () => settle(deadlineFailure(phaseInProgress(ctx), target.timeoutMs)),
      target.timeoutMs,
    );
    if (ro.signal?.aborted) {
      onExternalAbort();
      return;
    }
    ro.signal?.addEventListener("abort", onExternalAbort, { once: true });

    const headers = ro.traceHeader ? { ...p.headers, "x-amzn-trace-id": ro.traceHeader } : p.headers;
    const backstop = target.timeoutMs + UNDICI_BACKSTOP_MS;
    runWithContext(ctx, () =>
      dispatcher.dispatch(
        {
          origin: p.origin,
          path: p.path,
          method: target.method as Dispatcher.HttpMethod,
          headers,
          body: target.body ?? null,
          reset: fresh,
          headersTimeout: backstop,
          bodyTimeout: backstop,
        },
        handler,
      ),
    );
  }

  return {
    probe,
    async close() {
      const a = agent;
      agent = undefined;
      if (a) track(a.destroy());
      await Promise.all([...closing]);
    },
  };
}

/** Destroy the socket a probe was still setting up (TCP or TLS unfinished). */
function destroyConnecting(ctx: ProbeContext): void {
  const c = ctx.conn;
  const socket: Socket | undefined = c?.socket;
  const established = c?.https ? c.tlsEnd !== undefined : c?.connectEnd !== undefined;
  if (socket && !established && !socket.destroyed) socket.destroy();
}
