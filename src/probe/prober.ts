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
import { createSecureContext, rootCertificates } from "node:tls";
import { Agent, buildConnector, Client } from "undici";
import { type Clock, systemClock } from "../clock.js";
import { Redactor } from "../redact.js";
import { InFlight } from "./in-flight.js";
import type { LagMonitor } from "./lag.js";
import { type Prepared, ProbeRun, type Shared } from "./probe-run.js";
import { type LookupFunction, parseResolve, pinnedLookup, resolveKey, systemLookup } from "./resolve.js";
import { instrumentConnector, timedLookup } from "./timing.js";
import type { ProbeOutcome, ProbeRequestOptions, Prober, ProbeTarget } from "./types.js";

export interface ProberOptions {
  /** curl-style `host:port:address[,address]` pins. */
  resolve?: string[];
  /** Response bodies are read up to this many bytes; beyond it the probe fails with `body-too-large`. */
  maxBodyBytes: number;
  /**
   * Body bytes kept in memory for an assertion (expect.json, bodyContains),
   * per request, independently of maxBodyBytes. Default 1 MiB.
   */
  maxAssertBodyBytes?: number;
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

/** Body bytes an assertion may hold per request unless told otherwise. */
export const DEFAULT_MAX_ASSERT_BODY_BYTES = 1024 * 1024;
/** undici's own connect timeout; the probe's deadline always fires first. */
const CONNECTOR_TIMEOUT_MS = 610_000;
/** Below the NLB's default 350 s TCP idle timeout. */
const KEEP_ALIVE_MAX_MS = 300_000;

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
  // Throwaway clients still closing: a count and the close() calls waiting
  // for it to reach zero (a Set of promises, one add and delete per fresh
  // probe, kept young request graphs alive through scavenges; see timing.ts).
  let closing = 0;
  let whenClosed: (() => void)[] = [];

  const closed = (): void => {
    if (--closing > 0) return;
    const waiting = whenClosed;
    whenClosed = [];
    for (const w of waiting) w();
  };
  const track = (p: Promise<unknown>): void => {
    closing++;
    p.then(closed, closed);
  };

  /** Per-target request facts (origin, path, request headers), computed once per target. */
  const prepared = new WeakMap<ProbeTarget, Prepared>();
  const prepare = (target: ProbeTarget): Prepared => {
    const p = prepared.get(target);
    if (p && p.url === target.url && p.headersRef === target.headers) return p;
    const url = new URL(target.url);
    const redactor = Redactor.forHeaders(target.headers, target.secretHeaders);
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
      redactor,
      redact: redactor.hasSecrets ? (text) => redactor.redact(text) : undefined,
    };
    prepared.set(target, q);
    return q;
  };

  /** Probes waiting for the next check phase before they start (see `probe`). */
  let pending: ProbeRun[] = [];
  const startPending = (): void => {
    const batch = pending;
    pending = [];
    agent ??= newAgent();
    for (const run of batch) run.start(agent);
  };
  const newAgent = (): Agent =>
    new Agent({ connect: reuseConnector, keepAliveTimeout, keepAliveMaxTimeout: KEEP_ALIVE_MAX_MS });

  const shared: Shared = {
    clock,
    insecureTls: opts.insecureTls,
    maxBodyBytes: opts.maxBodyBytes,
    maxAssertBodyBytes: opts.maxAssertBodyBytes ?? DEFAULT_MAX_ASSERT_BODY_BYTES,
    lagMonitor: opts.lagMonitor,
    track,
    inFlight: new InFlight(clock),
    signals: new WeakSet(),
  };

  function probe(target: ProbeTarget, ro: ProbeRequestOptions): Promise<ProbeOutcome> {
    return new Promise((resolve, reject) => {
      const p = prepare(target);
      const fresh = ro.connection === "fresh";
      const client = fresh
        ? new Client(p.origin, { connect: freshConnector, pipelining: 1, keepAliveTimeout: 1_000 })
        : undefined;
      const run = new ProbeRun(shared, target, ro, p, client, resolve, reject);
      if (fresh) {
        run.start(client as Client);
        return;
      }
      // undici marks a pooled client free again only in a setImmediate after
      // its response ended; a request sent before that would get a second
      // connection. Start reuse probes one check phase later so back-to-back
      // probes reuse (undici's own idle-socket check waits for the same
      // phase); one setImmediate serves every probe queued in the meantime.
      if (pending.push(run) === 1) setImmediate(startPending);
    });
  }

  return {
    probe,
    async close() {
      const a = agent;
      agent = undefined;
      if (a) track(a.destroy());
      if (closing > 0) await new Promise<void>((resolve) => whenClosed.push(resolve));
    },
  };
}
