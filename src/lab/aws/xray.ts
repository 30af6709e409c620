/**
 * The lab's X-Ray endpoint: AWS REST-JSON as the real service speaks it
 * (client-xray 3.1169: `POST /Traces` for BatchGetTraces, `POST /TraceSummaries`
 * for GetTraceSummaries; JSON bodies; errors as status + `x-amzn-ErrorType`
 * header + `{"Message"}` body; timestamps as epoch seconds).
 *
 * Fed through {@link XrayStore}: `putSegments(traceId, docs, {delayMs})`
 * makes segments visible only after `delayMs`, like traces that arrive late.
 * {@link labSegments} turns one lab request (its hop timings) into the
 * segments API Gateway and an instrumented backend would have sent.
 */
import { randomBytes } from "node:crypto";
import { type Clock, systemClock } from "../../clock.js";
import type { AwsLabError, AwsLabRequest, AwsLabResponse, AwsServiceHandler } from "./server.js";

type Doc = Record<string, unknown>;

interface StoredSegment {
  id: string;
  document: string;
  doc: Doc;
  visibleAtMs: number;
}

export interface XrayStoreOptions {
  clock?: Clock;
  /** Oldest traces are dropped past this many. Default 10000. */
  maxTraces?: number;
}

/** The traces the lab's X-Ray endpoint serves. */
export class XrayStore {
  private readonly traces = new Map<string, StoredSegment[]>();
  private readonly unprocessed = new Map<string, number>();
  private readonly clock: Clock;
  private readonly maxTraces: number;

  constructor(opts: XrayStoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.maxTraces = opts.maxTraces ?? 10_000;
  }

  /** Adds segment documents (objects or JSON strings with an `id`) to a trace, visible after `delayMs`. */
  putSegments(traceId: string, segments: ReadonlyArray<Doc | string>, opts: { delayMs?: number } = {}): void {
    const visibleAtMs = this.clock.wallMs() + (opts.delayMs ?? 0);
    let list = this.traces.get(traceId);
    if (!list) {
      list = [];
      this.traces.set(traceId, list);
      if (this.traces.size > this.maxTraces) {
        const oldest = this.traces.keys().next().value;
        if (oldest !== undefined) this.traces.delete(oldest);
      }
    }
    for (const s of segments) {
      const doc = (typeof s === "string" ? JSON.parse(s) : s) as Doc;
      const id = typeof doc.id === "string" ? doc.id : randomBytes(8).toString("hex");
      list.push({ id, doc, document: typeof s === "string" ? s : JSON.stringify(doc), visibleAtMs });
    }
  }

  /** The next `times` BatchGetTraces calls report this id in UnprocessedTraceIds. */
  markUnprocessed(traceId: string, times = 1): void {
    this.unprocessed.set(traceId, times);
  }

  /** Consumes one "unprocessed" mark; true when the id is to be reported unprocessed. */
  takeUnprocessed(traceId: string): boolean {
    const n = this.unprocessed.get(traceId) ?? 0;
    if (n <= 0) return false;
    this.unprocessed.set(traceId, n - 1);
    return true;
  }

  /** Segments of a trace visible now. */
  visible(traceId: string): Array<{ id: string; document: string; doc: Doc }> {
    const now = this.clock.wallMs();
    return (this.traces.get(traceId) ?? []).filter((s) => s.visibleAtMs <= now);
  }

  /** Trace ids with at least one visible segment. */
  traceIds(): string[] {
    return [...this.traces.keys()].filter((id) => this.visible(id).length > 0);
  }

  clear(): void {
    this.traces.clear();
    this.unprocessed.clear();
  }
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Doc => (typeof v === "object" && v !== null ? (v as Doc) : {});

/** Trace facts X-Ray computes: start, duration (first start → last end), response time (root segment). */
function traceFacts(docs: Doc[]): { startS: number; durationS: number; root: Doc | undefined } {
  const starts = docs.map((d) => num(d.start_time)).filter((v): v is number => v !== undefined);
  const ends = docs.map((d) => num(d.end_time)).filter((v): v is number => v !== undefined);
  const startS = starts.length ? Math.min(...starts) : 0;
  const durationS = ends.length ? Math.max(...ends) - startS : 0;
  const root = docs.find((d) => d.parent_id === undefined) ?? docs[0];
  return { startS, durationS: Math.round(durationS * 1000) / 1000, root };
}

export interface XrayHandlerOptions {
  /** Traces per BatchGetTraces page (NextToken beyond). Default 5. */
  pageSize?: number;
}

class XrayRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type SummaryFilter = (f: { responseS: number; durationS: number; services: string[] }) => boolean;

/** The subset of X-Ray filter expressions the lab understands, joined by AND. */
function parseFilter(expr: string | undefined): SummaryFilter {
  if (expr === undefined || expr.trim() === "") return () => true;
  const tests: SummaryFilter[] = [];
  for (const raw of expr.split(/\s+AND\s+/i)) {
    const part = raw.trim();
    const cmp = /^(responsetime|duration)\s*(>=|<=|>|<|=)\s*([0-9.]+)$/i.exec(part);
    const svc = /^service\(\s*"([^"]*)"\s*\)$/i.exec(part);
    if (cmp) {
      const [, field, op, v] = cmp;
      const n = Number(v);
      const key = field?.toLowerCase() === "duration" ? "durationS" : "responseS";
      tests.push((f) => {
        const x = f[key];
        return op === ">"
          ? x > n
          : op === ">="
            ? x >= n
            : op === "<"
              ? x < n
              : op === "<="
                ? x <= n
                : x === n;
      });
    } else if (svc) {
      const name = svc[1] ?? "";
      tests.push((f) => f.services.includes(name));
    } else {
      throw new XrayRequestError(
        400,
        "InvalidRequestException",
        `lab: unsupported filter expression '${part}'`,
      );
    }
  }
  return (f) => tests.every((t) => t(f));
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): AwsLabResponse => ({
  status,
  headers: {
    "content-type": "application/json",
    "x-amzn-requestid": randomBytes(16).toString("hex"),
    ...headers,
  },
  body: JSON.stringify(body),
});

function batchGetTraces(store: XrayStore, input: Doc, pageSize: number): AwsLabResponse {
  const ids = input.TraceIds;
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > 5 || !ids.every((i) => typeof i === "string")) {
    throw new XrayRequestError(400, "InvalidRequestException", "TraceIds must hold 1 to 5 trace ids");
  }
  const offset = typeof input.NextToken === "string" ? Number.parseInt(input.NextToken, 10) || 0 : 0;
  const unprocessed: string[] = [];
  const found: Doc[] = [];
  for (const id of ids as string[]) {
    if (store.takeUnprocessed(id)) {
      unprocessed.push(id);
      continue;
    }
    const segs = store.visible(id);
    if (segs.length === 0) continue;
    const facts = traceFacts(segs.map((s) => s.doc));
    found.push({
      Id: id,
      Duration: facts.durationS,
      LimitExceeded: false,
      Segments: segs.map((s) => ({ Id: s.id, Document: s.document })),
    });
  }
  const page = found.slice(offset, offset + pageSize);
  const next = offset + pageSize < found.length ? String(offset + pageSize) : undefined;
  return json(200, {
    Traces: page,
    UnprocessedTraceIds: offset === 0 ? unprocessed : [],
    ...(next !== undefined ? { NextToken: next } : {}),
  });
}

function getTraceSummaries(store: XrayStore, input: Doc, pageSize: number): AwsLabResponse {
  const startS = num(input.StartTime);
  const endS = num(input.EndTime);
  if (startS === undefined || endS === undefined || endS < startS) {
    throw new XrayRequestError(
      400,
      "InvalidRequestException",
      "StartTime and EndTime are required, EndTime ≥ StartTime",
    );
  }
  const byTraceId = input.TimeRangeType === "TraceId";
  const filter = parseFilter(typeof input.FilterExpression === "string" ? input.FilterExpression : undefined);
  const out: Doc[] = [];
  for (const id of store.traceIds()) {
    const docs = store.visible(id).map((s) => s.doc);
    const facts = traceFacts(docs);
    const at = byTraceId ? Number.parseInt(id.slice(2, 10), 16) : facts.startS;
    if (!(at >= startS && at <= endS)) continue;
    const root = facts.root ?? {};
    const responseS = (num(root.end_time) ?? facts.startS) - (num(root.start_time) ?? facts.startS);
    const services = docs.map((d) => String(d.name ?? ""));
    if (!filter({ responseS, durationS: facts.durationS, services })) continue;
    const http = obj(root.http);
    const req = obj(http.request);
    const res = obj(http.response);
    out.push({
      Id: id,
      StartTime: facts.startS,
      Duration: facts.durationS,
      ResponseTime: Math.round(responseS * 1000) / 1000,
      HasFault: docs.some((d) => d.fault === true),
      HasError: docs.some((d) => d.error === true),
      HasThrottle: docs.some((d) => d.throttle === true),
      IsPartial: docs.some((d) => d.in_progress === true),
      Http: {
        ...(typeof req.url === "string" ? { HttpURL: req.url } : {}),
        ...(typeof req.method === "string" ? { HttpMethod: req.method } : {}),
        ...(num(res.status) !== undefined ? { HttpStatus: num(res.status) } : {}),
      },
      ServiceIds: [...new Set(services)].map((n) => ({ Name: n })),
    });
  }
  const offset = typeof input.NextToken === "string" ? Number.parseInt(input.NextToken, 10) || 0 : 0;
  const next = offset + pageSize < out.length ? String(offset + pageSize) : undefined;
  return json(200, {
    TraceSummaries: out.slice(offset, offset + pageSize),
    ApproximateTime: Math.floor(Date.now() / 1000),
    TracesProcessedCount: out.length,
    ...(next !== undefined ? { NextToken: next } : {}),
  });
}

const PATHS = new Set(["/Traces", "/TraceSummaries"]);

/** The X-Ray handler for the shared lab server (or any `(req) => response` host). */
export function xrayHandler(store: XrayStore, opts: XrayHandlerOptions = {}): AwsServiceHandler {
  const pageSize = Math.max(1, opts.pageSize ?? 5);
  const renderError = (_req: AwsLabRequest, err: AwsLabError): AwsLabResponse => {
    // X-Ray throttles with ThrottledException (HTTP 429), not the query-style `Throttling`.
    const throttled = err.code === "Throttling" || err.code === "ThrottledException";
    const code = throttled ? "ThrottledException" : err.code;
    return json(throttled ? 429 : err.status, { Message: err.message }, { "x-amzn-errortype": code });
  };
  return {
    name: "xray",
    matches: (req) => req.method === "POST" && PATHS.has(req.url.pathname),
    renderError,
    async handle(req, body) {
      try {
        let input: Doc;
        try {
          input = obj(body.length ? JSON.parse(body.toString("utf8")) : {});
        } catch {
          throw new XrayRequestError(400, "InvalidRequestException", "body is not JSON");
        }
        return req.url.pathname === "/Traces"
          ? batchGetTraces(store, input, pageSize)
          : getTraceSummaries(store, input, pageSize);
      } catch (e) {
        if (!(e instanceof XrayRequestError)) throw e;
        return renderError(req, { status: e.status, code: e.code, message: e.message, type: "Sender" });
      }
    },
  };
}

/** The parts of a lab request record (src/lab/events.ts `LabRequestRecord`) the segments are built from. */
export interface LabTraceInput {
  atMs: number;
  method: string;
  path: string;
  backendPath?: string;
  requestId?: string;
  traceId?: string;
  segmentId?: string;
  sampled?: boolean;
  status?: number;
  integrationStatus?: number;
  targetId?: string;
  hops: ReadonlyArray<{ hop: string; startMs: number; endMs?: number }>;
}

export interface LabSegmentOptions {
  /** Default `lab-api`. */
  apiName?: string;
  /** Default `prod`. */
  stage?: string;
  /** Whether the lab's backend writes its own segment. Default true. */
  backendInstrumented?: boolean;
  /**
   * How the backend names itself in its segment: the NLB target id (the address, for IP targets) and its AZ, as an
   * instrumented ECS task does in `aws.ecs`. Default: the lab's own target id, no AZ.
   */
  targetOf?: (targetId: string) => { id: string; availabilityZone?: string } | undefined;
  random?: () => string;
}

/**
 * The segments X-Ray would hold for one lab request: API Gateway's stage
 * segment with its integration subsegment, and the backend's segment when
 * instrumented. Empty for unsampled or untraced requests.
 */
export function labSegments(rec: LabTraceInput, opts: LabSegmentOptions = {}): Doc[] {
  if (rec.traceId === undefined || rec.sampled === false) return [];
  const rand = opts.random ?? (() => randomBytes(8).toString("hex"));
  const hop = (name: string) => rec.hops.find((h) => h.hop === name);
  const gw = hop("apigw");
  if (!gw) return [];
  const s = (ms: number) => (rec.atMs + ms) / 1000;
  const gwId = rec.segmentId ?? rand();
  const stage = opts.stage ?? "prod";
  const timing = (h: { startMs: number; endMs?: number }) =>
    h.endMs === undefined
      ? { start_time: s(h.startMs), in_progress: true }
      : { start_time: s(h.startMs), end_time: s(h.endMs) };
  const integ = hop("integration");
  const docs: Doc[] = [];
  const gateway: Doc = {
    id: gwId,
    trace_id: rec.traceId,
    name: `${opts.apiName ?? "lab-api"}/${stage}`,
    origin: "AWS::ApiGateway::Stage",
    ...timing(gw),
    http: {
      request: { url: `https://lab.invalid${rec.path}`, method: rec.method },
      response: { status: rec.status ?? 0 },
    },
    aws: { api_gateway: { request_id: rec.requestId ?? "", stage, rest_api_id: "lab0000000" } },
    subsegments: integ
      ? [
          {
            id: rand(),
            name: `lab.invalid${rec.backendPath ?? rec.path}`,
            namespace: "remote",
            ...timing(integ),
            http: {
              request: { url: `http://nlb.lab.invalid${rec.backendPath ?? rec.path}`, method: rec.method },
              response: { status: rec.integrationStatus ?? rec.status ?? 0 },
            },
          },
        ]
      : [],
  };
  docs.push(gateway);
  const target = hop("target");
  if (target && (opts.backendInstrumented ?? true)) {
    docs.push({
      id: rand(),
      trace_id: rec.traceId,
      parent_id: gwId,
      name: "lab-backend",
      origin: "AWS::ECS::Container",
      ...timing(target),
      http: {
        request: { url: rec.backendPath ?? rec.path, method: rec.method },
        response: { status: rec.integrationStatus ?? 0 },
      },
      ...backendIdentity(rec.targetId, opts.targetOf),
    });
  }
  return docs;
}

function backendIdentity(
  targetId: string | undefined,
  targetOf: LabSegmentOptions["targetOf"],
): Record<string, unknown> {
  if (targetId === undefined) return {};
  const t = targetOf?.(targetId) ?? { id: targetId };
  return {
    annotations: { target: t.id },
    aws: {
      ecs: { container: t.id, ...(t.availabilityZone ? { availability_zone: t.availabilityZone } : {}) },
    },
  };
}

/** Feeds one finished lab request into the store (`events.on("request", r => feedLabRequest(store, r))`). */
export function feedLabRequest(
  store: XrayStore,
  rec: LabTraceInput,
  opts: LabSegmentOptions & { delayMs?: number } = {},
): void {
  const docs = labSegments(rec, opts);
  if (docs.length > 0 && rec.traceId !== undefined)
    store.putSegments(rec.traceId, docs, { delayMs: opts.delayMs ?? 0 });
}
