/**
 * X-Ray segment documents: BatchGetTraces returns each segment as a JSON
 * string (`Segments[].Document`). This file parses them into a small typed
 * shape, keeping only what the stall breakdown needs, and tolerating the
 * variations real documents have (in-progress segments without `end_time`,
 * inferred segments, missing `http`).
 *
 * API Gateway's segment (API Gateway developer guide, "Understanding X-Ray
 * traces for REST APIs"): name `<api>/<stage>`, origin `AWS::ApiGateway::Stage`,
 * `start_time`/`end_time` in epoch seconds (floats), `http`, and
 * `aws.api_gateway.request_id`; its `subsegments` hold the integration call.
 */

/** Origin API Gateway stages write on their segments. */
export const APIGW_ORIGIN = "AWS::ApiGateway::Stage";

/** A trace as BatchGetTraces returned it (SDK output shape, narrowed). */
export interface RawTrace {
  Id?: string | undefined;
  Duration?: number | undefined;
  LimitExceeded?: boolean | undefined;
  Segments?: Array<{ Id?: string | undefined; Document?: string | undefined }> | undefined;
}

/** HTTP facts of a (sub)segment. */
export interface SegmentHttp {
  method?: string;
  url?: string;
  status?: number;
  contentLength?: number;
}

/** One segment or subsegment, times in epoch seconds (floats). */
export interface XraySegment {
  id: string;
  name: string;
  /** Absent on subsegments and on segments that did not set it. */
  origin?: string;
  /** Parent segment/subsegment id (the `Parent` of the trace header the service received). */
  parentId?: string;
  traceId?: string;
  startS: number;
  /** Absent while in progress. */
  endS?: number;
  inProgress: boolean;
  /** `remote`, `aws` or absent. */
  namespace?: string;
  /** True for segments X-Ray inferred from a subsegment (not written by a service). */
  inferred: boolean;
  http?: SegmentHttp;
  /** `aws.api_gateway.request_id` on API Gateway segments. */
  apiGatewayRequestId?: string;
  /**
   * The host that wrote the segment, when it says: `annotations.target`, else `aws.ec2.instance_id`, else
   * `aws.ecs.container` (the container's host name). For a backend segment this names the NLB target.
   */
  host?: string;
  /** `aws.ec2.availability_zone` or `aws.ecs.availability_zone`, when the SDK recorded it. */
  availabilityZone?: string;
  error: boolean;
  fault: boolean;
  throttle: boolean;
  subsegments: XraySegment[];
}

/** A parsed trace. */
export interface XrayTrace {
  id: string;
  /** Seconds, as X-Ray computed it. */
  durationS?: number;
  limitExceeded: boolean;
  segments: XraySegment[];
  /** Documents that could not be parsed (count only; their text may hold data). */
  badDocuments: number;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function parseHttp(v: unknown): SegmentHttp | undefined {
  const h = obj(v);
  if (!h) return undefined;
  const req = obj(h.request) ?? {};
  const res = obj(h.response) ?? {};
  const out: SegmentHttp = {};
  const method = text(req.method);
  const url = text(req.url);
  const status = num(res.status);
  const len = num(res.content_length);
  if (method !== undefined) out.method = method;
  if (url !== undefined) out.url = url;
  if (status !== undefined) out.status = status;
  if (len !== undefined) out.contentLength = len;
  return out;
}

/** Parses one (sub)segment object. Undefined when `id`, `name` or `start_time` is missing. */
export function parseSegmentObject(v: unknown, depth = 0): XraySegment | undefined {
  const o = obj(v);
  if (!o || depth > 32) return undefined;
  const id = text(o.id);
  const name = text(o.name);
  const startS = num(o.start_time);
  if (id === undefined || name === undefined || startS === undefined) return undefined;
  const endS = num(o.end_time);
  const seg: XraySegment = {
    id,
    name,
    startS,
    inProgress: o.in_progress === true || endS === undefined,
    inferred: o.inferred === true,
    error: o.error === true,
    fault: o.fault === true,
    throttle: o.throttle === true,
    subsegments: [],
  };
  if (endS !== undefined) seg.endS = endS;
  const origin = text(o.origin);
  if (origin !== undefined) seg.origin = origin;
  const parentId = text(o.parent_id);
  if (parentId !== undefined) seg.parentId = parentId;
  const traceId = text(o.trace_id);
  if (traceId !== undefined) seg.traceId = traceId;
  const namespace = text(o.namespace);
  if (namespace !== undefined) seg.namespace = namespace;
  const http = parseHttp(o.http);
  if (http) seg.http = http;
  const reqId = text(obj(obj(o.aws)?.api_gateway)?.request_id);
  if (reqId !== undefined) seg.apiGatewayRequestId = reqId;
  const aws = obj(o.aws);
  const ec2 = obj(aws?.ec2);
  const ecs = obj(aws?.ecs);
  const host = text(obj(o.annotations)?.target) ?? text(ec2?.instance_id) ?? text(ecs?.container);
  if (host !== undefined) seg.host = host;
  const az = text(ec2?.availability_zone) ?? text(ecs?.availability_zone);
  if (az !== undefined) seg.availabilityZone = az;
  if (Array.isArray(o.subsegments)) {
    for (const s of o.subsegments) {
      const sub = parseSegmentObject(s, depth + 1);
      if (sub) seg.subsegments.push(sub);
    }
  }
  return seg;
}

/** Parses one `Document` string. */
export function parseSegmentDocument(doc: string): XraySegment | undefined {
  try {
    return parseSegmentObject(JSON.parse(doc));
  } catch {
    return undefined;
  }
}

/** Parses a trace from BatchGetTraces' output. Undefined when it has no Id. */
export function parseTrace(raw: RawTrace): XrayTrace | undefined {
  if (raw.Id === undefined) return undefined;
  const trace: XrayTrace = {
    id: raw.Id,
    limitExceeded: raw.LimitExceeded === true,
    segments: [],
    badDocuments: 0,
  };
  if (raw.Duration !== undefined) trace.durationS = raw.Duration;
  for (const s of raw.Segments ?? []) {
    const seg = s.Document === undefined ? undefined : parseSegmentDocument(s.Document);
    if (seg) trace.segments.push(seg);
    else trace.badDocuments++;
  }
  trace.segments.sort((a, b) => a.startS - b.startS);
  return trace;
}

/** Duration of a finished (sub)segment in ms, or undefined while in progress. */
export function segmentMs(s: XraySegment): number | undefined {
  return s.endS === undefined ? undefined : Math.max(0, (s.endS - s.startS) * 1000);
}

/** True for an API Gateway stage segment (by origin, or by the request id API Gateway writes). */
export function isApiGatewaySegment(s: XraySegment): boolean {
  return s.origin === APIGW_ORIGIN || (s.origin === undefined && s.apiGatewayRequestId !== undefined);
}

/**
 * A trace is ready for the breakdown when it has a finished API Gateway
 * segment and no segment still in progress.
 */
export function isTraceComplete(t: XrayTrace): boolean {
  return (
    t.segments.some((s) => isApiGatewaySegment(s) && !s.inProgress) && t.segments.every((s) => !s.inProgress)
  );
}
