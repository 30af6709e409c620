/**
 * What the lab saw: one record per request (each hop's timing, the target that
 * served it, injected delays), NLB connection events and target health
 * transitions. Kept in bounded ring buffers and emitted as they happen, so the
 * lab's later AWS endpoints (X-Ray segments, DescribeTargetHealth, CloudWatch)
 * can be fed from the simulation.
 */
import { EventEmitter } from "node:events";
import type { TargetHealthState } from "./scenarios.js";

/** The lab's two public routes. */
export const LAB_ROUTES = ["custom-domain", "execute-api"] as const;
export type LabRouteName = (typeof LAB_ROUTES)[number];

/** Hops of the simulated stack, outside in. `integration` is API Gateway's call to the VPC link / NLB. */
export type LabHop = "edge" | "apigw" | "integration" | "nlb" | "target";

/** One hop's share of a request. Offsets in ms from the request's arrival at its first hop (monotonic). */
export interface HopTiming {
  hop: LabHop;
  startMs: number;
  /** Absent when the hop never finished (client went away, lab closed). */
  endMs?: number;
  /** Delay the scenario injected at this hop (0 when none). */
  injectedDelayMs: number;
  /** Why, e.g. `bad-target`, `cold-start`, `edge-origin-retry`, `jitter`. */
  injectedReason?: string;
  /** Hop-specific detail, e.g. `new connection`, `reused connection`, `timeout`, `ECONNRESET`. */
  detail?: string;
}

/** One request through the lab, assembled from every hop it crossed. */
export interface LabRequestRecord {
  /** Wall-clock arrival at the first hop, epoch ms. */
  atMs: number;
  route: LabRouteName;
  method: string;
  /** Path as the client sent it (with the stage on execute-api). */
  path: string;
  /** Path as the backend saw it (stage stripped). */
  backendPath?: string;
  requestId?: string;
  /** `x-amz-apigw-id`. */
  extendedRequestId?: string;
  /** The X-Ray trace root, `1-…-…`. */
  traceId?: string;
  /** API Gateway's segment id (the `Parent` it sent to the backend). */
  segmentId?: string;
  /** Whether the client's trace header asked for sampling. */
  sampled?: boolean;
  cfId?: string;
  cfPop?: string;
  /** The target that served the request (`LabTarget.id`). */
  targetId?: string;
  /** Sequence number of the NLB connection that carried it. */
  nlbConnectionSeq?: number;
  /** Status the client got. */
  status?: number;
  /** Status the backend returned to API Gateway. */
  integrationStatus?: number;
  /** `x-amzn-ErrorType` when API Gateway generated the response. */
  errorType?: string;
  /** Arrival at the first hop → response finished at the first hop. */
  totalMs?: number;
  hops: HopTiming[];
}

/** An NLB flow opening or ending (`reset`: by the NLB's idle timeout; `target-reset`: by the target's RST). */
export interface LabConnectionRecord {
  atMs: number;
  kind: "open" | "close" | "reset" | "target-reset";
  /** NLB connection sequence number (0-based; round-robin uses it). */
  seq: number;
  targetId: string;
  /** The NLB-side port of the client (API Gateway's VPC-link socket). */
  clientPort: number;
  injectedDelayMs: number;
  injectedReason?: string;
}

/** A target health change (what DescribeTargetHealth would have started to return). */
export interface LabHealthTransition {
  atMs: number;
  targetId: string;
  from?: TargetHealthState;
  to: TargetHealthState;
  reason?: string;
  description?: string;
}

/** Event names and payloads of `LabEvents`. */
export interface LabEventMap {
  request: [LabRequestRecord];
  connection: [LabConnectionRecord];
  "target-health": [LabHealthTransition];
}

/** A fixed-capacity buffer that keeps the newest items. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  constructor(readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }
  get size(): number {
    return this.items.length;
  }
  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}

/** The lab's event log. Subscribe with `on('request' | 'connection' | 'target-health', fn)`. */
export class LabEvents extends EventEmitter<LabEventMap> {
  readonly requestLog: Ring<LabRequestRecord>;
  readonly connectionLog: Ring<LabConnectionRecord>;
  readonly healthLog: Ring<LabHealthTransition>;

  constructor(capacity = 10_000) {
    super();
    this.requestLog = new Ring(capacity);
    this.connectionLog = new Ring(capacity);
    this.healthLog = new Ring(capacity);
  }

  /** Finished requests, oldest first (newest `capacity` kept). */
  requests(sinceMs?: number): LabRequestRecord[] {
    const all = this.requestLog.toArray();
    return sinceMs === undefined ? all : all.filter((r) => r.atMs >= sinceMs);
  }

  connections(): LabConnectionRecord[] {
    return this.connectionLog.toArray();
  }

  healthTransitions(): LabHealthTransition[] {
    return this.healthLog.toArray();
  }

  /** Finds a finished request by `x-amzn-RequestId` or X-Ray trace root. */
  findRequest(id: string): LabRequestRecord | undefined {
    return this.requestLog.toArray().find((r) => r.requestId === id || r.traceId === id);
  }

  publishRequest(r: LabRequestRecord): void {
    this.requestLog.push(r);
    this.emit("request", r);
  }

  publishConnection(c: LabConnectionRecord): void {
    this.connectionLog.push(c);
    this.emit("connection", c);
  }

  publishHealth(h: LabHealthTransition): void {
    this.healthLog.push(h);
    this.emit("target-health", h);
  }
}
