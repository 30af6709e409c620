/**
 * Assembles one LabRequestRecord from the hops a request crosses. The first
 * hop begins it; later hops find it again by a correlation key the real
 * services also propagate: `X-Amz-Cf-Id` (edge → API Gateway) and the
 * X-Ray `Root`+`Parent` API Gateway sends to the backend.
 */
import type { Clock } from "../clock.js";
import type { HopTiming, LabEvents, LabHop, LabRequestRecord, LabRouteName } from "./events.js";

export class PendingRequest {
  readonly record: LabRequestRecord;
  readonly keys: string[] = [];
  /** Hops still working on this request; it is published when the last one lets go. */
  holds = 1;
  finished = false;
  constructor(
    readonly t0: number,
    private readonly clock: Clock,
    record: LabRequestRecord,
  ) {
    this.record = record;
  }

  /** Ms since the request arrived at its first hop. */
  elapsedMs(nowMs = this.clock.now()): number {
    return nowMs - this.t0;
  }

  startHop(hop: LabHop, extra?: Partial<Omit<HopTiming, "hop">>): HopTiming {
    const h: HopTiming = { hop, startMs: this.elapsedMs(), injectedDelayMs: 0, ...extra };
    this.record.hops.push(h);
    return h;
  }

  endHop(h: HopTiming): void {
    if (h.endMs === undefined) h.endMs = this.elapsedMs();
  }
}

/**
 * The first hop `begin`s a request (holding it once); every later hop that
 * joins `hold`s it and `release`s it when its own response has closed. The
 * record is published when the last hold is released, so it is complete
 * even when the client goes away first and the inner hops close last.
 */
export class RequestTracker {
  private readonly pending = new Map<string, PendingRequest>();
  constructor(
    private readonly events: LabEvents,
    private readonly clock: Clock,
  ) {}

  begin(route: LabRouteName, method: string, path: string): PendingRequest {
    return new PendingRequest(this.clock.now(), this.clock, {
      atMs: this.clock.wallMs(),
      route,
      method,
      path,
      hops: [],
    });
  }

  /** Makes `p` findable by `key` until it is published. */
  alias(key: string, p: PendingRequest): void {
    this.pending.set(key, p);
    p.keys.push(key);
  }

  find(key: string): PendingRequest | undefined {
    return this.pending.get(key);
  }

  hold(p: PendingRequest): void {
    if (!p.finished) p.holds++;
  }

  /** The first hop's response closed: that is the request's total. Then releases its hold. */
  complete(p: PendingRequest): void {
    if (p.record.totalMs === undefined) p.record.totalMs = p.elapsedMs();
    this.release(p);
  }

  release(p: PendingRequest): void {
    if (p.finished || --p.holds > 0) return;
    p.finished = true;
    for (const k of p.keys) if (this.pending.get(k) === p) this.pending.delete(k);
    p.record.hops.sort((a, b) => a.startMs - b.startMs);
    this.events.publishRequest(p.record);
  }

  /** Requests not yet published. */
  get inFlight(): number {
    return new Set(this.pending.values()).size;
  }
}
