/**
 * One probe in flight: the request's dispatch, its hard deadline (kept by
 * InFlight, in-flight.ts), its abort, and the record it settles with.
 * createProber (prober.ts) makes one ProbeRun per probe.
 */
import type { Socket } from "node:net";
import type { Client, Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { ProbeFailure } from "../model.js";
import { type Redactor, redactResponseParts } from "../redact.js";
import { needsBody } from "./assertions.js";
import { classifyError, deadlineFailure, phaseInProgress } from "./classify.js";
import { Exchange } from "./exchange.js";
import type { InFlight } from "./in-flight.js";
import type { LagMonitor } from "./lag.js";
import { judge, toOutcome } from "./result.js";
import { applyConnTimes, type ProbeContext, releaseContext, runWithContext } from "./timing.js";
import type { ProbeOutcome, ProbeRequestOptions, ProbeTarget } from "./types.js";

/** What a target's request looks like, worked out once (see `prepare`). */
export interface Prepared {
  url: string;
  headersRef: Record<string, string>;
  origin: string;
  path: string;
  /** Request headers (user-agent added when the target sets none); never mutated. */
  headers: Record<string, string>;
  /** Hides the target's secret header values wherever a response reflects them. */
  redactor: Redactor;
  /** `redactor.redact`, bound (undefined when the target has no secret values). */
  redact: ((text: string) => string) | undefined;
}

/** undici's header/body timers (1 s resolution) only back up the probe's own deadline. */
const UNDICI_BACKSTOP_MS = 5_000;

/** What every probe of one prober shares. */
export interface Shared {
  clock: Clock;
  insecureTls: boolean;
  maxBodyBytes: number;
  maxAssertBodyBytes: number;
  lagMonitor: LagMonitor | undefined;
  /** Keep a closing client's promise until `close()` has awaited it. */
  track(p: Promise<unknown>): void;
  inFlight: InFlight<ProbeRun>;
  /** Signals that already have the one abort listener that aborts their probes. */
  signals: WeakSet<AbortSignal>;
}

/**
 * One probe from dispatch to outcome. Resolves exactly once: when the
 * exchange ends, when the deadline hits, or when the caller's signal aborts;
 * `reject` only if building the outcome throws (a bug), so it never hangs.
 */
export class ProbeRun extends Exchange {
  private settled = false;
  /** The caller's signal aborted this probe (a clean stop): the record is marked `aborted`. */
  private stopped = false;
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
      shared.maxAssertBodyBytes,
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
    this.stopped = true;
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
    const verdict = failure ? { assertions: [], failure } : judge(target.expect, this, this.prepared.redact);
    const lag = this.shared.lagMonitor?.maxLagMs(t.start, t.end);
    // Redacted here, before the record exists: a reflected secret must reach no sink.
    const out = toOutcome(target, this, this, this.atMs, this.ro, verdict, lag);
    if (this.stopped) out.aborted = true;
    return redactResponseParts(out, this.prepared.redactor);
  }
}

/** Destroy the socket a probe was still setting up (TCP or TLS unfinished). */
function destroyConnecting(ctx: ProbeContext): void {
  const c = ctx.conn;
  const socket: Socket | undefined = c?.socket;
  const established = c?.https ? c.tlsEnd !== undefined : c?.connectEnd !== undefined;
  if (socket && !established && !socket.destroyed) socket.destroy();
}
