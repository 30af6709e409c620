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
import { Exchange } from "./exchange.js";
import type { LagMonitor } from "./lag.js";
import { type LookupFunction, parseResolve, pinnedLookup, resolveKey, systemLookup } from "./resolve.js";
import { judge, toOutcome } from "./result.js";
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

/** What every probe of one prober shares. */
interface Shared {
  clock: Clock;
  insecureTls: boolean;
  maxBodyBytes: number;
  lagMonitor: LagMonitor | undefined;
  /** Keep a closing client's promise until `close()` has awaited it. */
  track(p: Promise<unknown>): void;
  inFlight: InFlight;
  /** Signals that already have the one abort listener that aborts their probes. */
  signals: WeakSet<AbortSignal>;
}

/**
 * One probe from dispatch to outcome. Resolves exactly once: when the
 * exchange ends, when the deadline hits, or when the caller's signal aborts;
 * `reject` only if building the outcome throws (a bug), so it never hangs.
 */
class ProbeRun extends Exchange {
  private settled = false;
  /** Neighbours in the prober's in-flight list. */
  prev: ProbeRun | undefined;
  next: ProbeRun | undefined;
  /** Monotonic ms at which the hard deadline fires (set by `start`). */
  deadlineAt = Number.POSITIVE_INFINITY;
  private atMs = 0;

  constructor(
    private readonly shared: Shared,
    private readonly target: ProbeTarget,
    readonly ro: ProbeRequestOptions,
    private readonly prepared: Prepared,
    private readonly client: Client | undefined,
    private readonly resolve: (o: ProbeOutcome) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    super(
      shared.clock,
      prepared.origin,
      prepared.path,
      target.method,
      needsBody(target.expect),
      shared.maxBodyBytes,
    );
  }

  /** Sends the request now: the probe's clock (`t.start`, the deadline) starts here, not when it was queued. */
  start(dispatcher: Dispatcher): void {
    const clock = this.shared.clock;
    this.t.start = clock.now();
    this.atMs = clock.wallMs();
    this.deadlineAt = this.t.start + this.target.timeoutMs;
    try {
      this.dispatch(dispatcher);
    } catch (err) {
      this.reject(err);
    }
  }

  private dispatch(dispatcher: Dispatcher): void {
    const { ro, target, prepared: p } = this;
    const signal = ro.signal;
    if (signal?.aborted) {
      this.aborted();
      return;
    }
    this.shared.inFlight.add(this);
    if (signal) this.watch(signal);
    const headers = ro.traceHeader ? { ...p.headers, "x-amzn-trace-id": ro.traceHeader } : p.headers;
    const backstop = target.timeoutMs + UNDICI_BACKSTOP_MS;
    runWithContext(this, () =>
      dispatcher.dispatch(
        {
          origin: p.origin,
          path: p.path,
          method: target.method as Dispatcher.HttpMethod,
          headers,
          body: target.body ?? null,
          reset: this.client !== undefined,
          headersTimeout: backstop,
          bodyTimeout: backstop,
        },
        this,
      ),
    );
  }

  /** One listener per signal (not per probe): on abort, every probe in flight under it settles. */
  private watch(signal: AbortSignal): void {
    const { signals, inFlight } = this.shared;
    if (signals.has(signal)) return;
    signals.add(signal);
    signal.addEventListener(
      "abort",
      () => {
        for (const r of inFlight.all()) if (r.ro.signal === signal) r.aborted();
      },
      { once: true },
    );
  }

  protected exchangeDone(err: unknown): void {
    this.settle(
      err === undefined || this.tooLarge
        ? undefined
        : classifyError(err, phaseInProgress(this), { insecureTls: this.shared.insecureTls }),
    );
  }

  /** The hard deadline was reached. */
  expire(): void {
    this.settle(deadlineFailure(phaseInProgress(this), this.target.timeoutMs));
  }

  aborted(): void {
    this.settle({ code: "other", phase: phaseInProgress(this), message: "probe aborted", cause: "ABORTED" });
  }

  private settle(failure: ProbeFailure | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.shared.inFlight.delete(this);
    // settle may run inside undici's parser callbacks: end the throwaway
    // client once they have returned (a `reset` request's socket is closed by
    // undici by then), but before whoever awaits this probe could call close().
    // A finished exchange leaves nothing to cancel: close() ends the client
    // without destroy()'s error object and stack trace (a third of a fresh
    // probe's JavaScript time in a profile); anything unfinished is destroyed.
    const client = this.client;
    if (client) {
      // A finished fresh probe's connection is never used again: close it now,
      // inside undici's response-complete callback. Left to undici, it is
      // destroyed with an error whose stack trace Node formats on the spot
      // (~50 µs of CPU per fresh probe, most of the prober's own cost there).
      if (this.bodyDone) this.socket?.destroy();
      const done = this.bodyDone;
      queueMicrotask(() => this.shared.track(done ? client.close() : client.destroy()));
    }
    try {
      this.resolve(this.outcome(failure));
    } catch (err) {
      this.reject(err); // a bug in building the record: the caller records it, nothing hangs
    }
    // Clean up after resolving: nothing below may delay or fail the probe.
    if (!this.bodyDone) {
      this.abort(new Error("probe settled"));
      // A connection still being set up when the deadline hit is not worth keeping.
      if (this.conn && this.t.sent === undefined) destroyConnecting(this);
    }
  }

  private outcome(failure: ProbeFailure | undefined): ProbeOutcome {
    const t = this.t;
    const clock = this.shared.clock;
    t.end = this.bodyDone && this.bodyEndAt !== undefined ? this.bodyEndAt : clock.now();
    applyConnTimes(this);
    releaseContext(this);
    const target = this.target;
    const verdict = failure ? { assertions: [], failure } : judge(target.expect, this);
    if (verdict.failure && target.secretHeaders.length > 0) {
      const secrets = secretValues(target.headers, target.secretHeaders);
      if (secrets.length > 0) verdict.failure.message = redact(verdict.failure.message, secrets);
    }
    const lag = this.shared.lagMonitor?.maxLagMs(t.start, t.end);
    return toOutcome(target, this, this, this.atMs, this.ro, verdict, lag);
  }
}

/**
 * The probes in flight, and every one's hard deadline on one timer, armed for
 * the earliest of them: no Timeout object per request, and it fires no later
 * than a timer of the probe's own would. The probes form an intrusive
 * doubly-linked list (`prev`/`next` on the probe), not a Set: a hash table
 * left behind by a rehash still points at the probes it held, and from the
 * old generation that kept every young request graph alive through
 * scavenges (see timing.ts).
 */
class InFlight {
  private head: ProbeRun | undefined;
  private tail: ProbeRun | undefined;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  constructor(private readonly clock: Clock) {}

  add(run: ProbeRun): void {
    run.prev = this.tail;
    run.next = undefined;
    if (this.tail) this.tail.next = run;
    else this.head = run;
    this.tail = run;
    this.size++;
    if (run.deadlineAt < this.armedAt) this.arm(run.deadlineAt);
    else if (this.size === 1) this.timer?.ref();
  }

  /**
   * The timer stays armed when the last probe leaves (re-arming one per
   * request cost more than the probe's own bookkeeping); it is unref'd so an
   * idle prober never holds the process open, and finds nothing due if it fires.
   */
  delete(run: ProbeRun): void {
    if (run.prev === undefined && this.head !== run) return; // not in the list
    if (run.prev) run.prev.next = run.next;
    else this.head = run.next;
    if (run.next) run.next.prev = run.prev;
    else this.tail = run.prev;
    run.prev = undefined;
    run.next = undefined;
    this.size--;
    if (this.size === 0) this.timer?.unref();
  }

  /** The probes in flight now (a copy: settling one unlinks it). */
  all(): ProbeRun[] {
    const out: ProbeRun[] = [];
    for (let r = this.head; r; r = r.next) out.push(r);
    return out;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    // Whole milliseconds, rounded up: a timer never fires before the deadline it serves.
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(at - this.clock.now())));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.all()) {
      if (r.deadlineAt <= now) r.expire();
      else if (r.deadlineAt < next) next = r.deadlineAt;
    }
    if (next < this.armedAt && this.size > 0) this.arm(next);
  }
}

/** Destroy the socket a probe was still setting up (TCP or TLS unfinished). */
function destroyConnecting(ctx: ProbeContext): void {
  const c = ctx.conn;
  const socket: Socket | undefined = c?.socket;
  const established = c?.https ? c.tlsEnd !== undefined : c?.connectEnd !== undefined;
  if (socket && !established && !socket.destroyed) socket.destroy();
}
