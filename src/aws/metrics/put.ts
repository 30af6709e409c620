/**
 * Metric points → PutMetricData inputs, within the API's limits:
 * ≤1000 MetricData per call, ≤1 MB request, ≤30 dimensions and ≤150 distinct
 * Values per datum (more buckets → several datums with the same metric,
 * dimensions and timestamp, which CloudWatch aggregates).
 *
 * The request size is measured on the JSON the SDK sends (AWS JSON 1.0:
 * the same member names, Timestamp as epoch seconds) before gzip, so the
 * budget holds whether or not the SDK compresses the body.
 */
import type { MetricDatum, PutMetricDataInput } from "@aws-sdk/client-cloudwatch";
import { StallwatchError } from "../../errors.js";
import type { MetricContext, MetricPoint } from "./points.js";
import { chunkDistribution, MAX_VALUES_PER_DATUM } from "./rebucket.js";

export const MAX_DATUMS_PER_CALL = 1000;
/** 1 MB request limit, with headroom under 1 MiB for headers and number formatting differences. */
export const MAX_REQUEST_BYTES = 1_000_000;
export const MAX_DIMENSIONS = 30;

/** Thrown when a point cannot be sent at all (a bug or an absurd config), never for mere size. */
export class MetricLimitError extends StallwatchError {
  constructor(message: string) {
    super("SW_CW_LIMIT", message);
  }
}

/** Points → datums (distributions split into ≤150-value chunks). */
export function toMetricData(points: readonly MetricPoint[], ctx: MetricContext): MetricDatum[] {
  const out: MetricDatum[] = [];
  for (const p of points) {
    if (p.dimensions.length > MAX_DIMENSIONS) {
      throw new MetricLimitError(
        `${p.def.name} has ${p.dimensions.length} dimensions (max ${MAX_DIMENSIONS})`,
      );
    }
    const base = {
      MetricName: p.def.name,
      Dimensions: p.dimensions.map(([Name, Value]) => ({ Name, Value })),
      Timestamp: new Date(p.timestampMs),
      Unit: p.def.unit,
      StorageResolution: ctx.storageResolutionS,
    };
    if (p.distribution) {
      for (const chunk of chunkDistribution(p.distribution, MAX_VALUES_PER_DATUM)) {
        if (chunk.valuesMs.length === 0) continue;
        out.push({ ...base, Values: chunk.valuesMs, Counts: chunk.counts });
      }
    } else if (p.value !== undefined && Number.isFinite(p.value) && p.value >= 0) {
      out.push({ ...base, Value: p.value });
    }
  }
  return out;
}

/** The JSON body the SDK would send for these datums (Timestamp as epoch seconds). */
export function wireJson(input: PutMetricDataInput): string {
  return JSON.stringify(input, (k, v: unknown) => {
    if (k === "Timestamp" && typeof v === "string") return Date.parse(v) / 1000;
    return v;
  });
}

function datumBytes(d: MetricDatum): number {
  return Buffer.byteLength(wireJson({ Namespace: "", MetricData: [d] })) - EMPTY_BYTES;
}
const EMPTY_BYTES = Buffer.byteLength(wireJson({ Namespace: "", MetricData: [] }));

/**
 * Packs datums into as few PutMetricData inputs as the limits allow, in
 * order. A single datum bigger than the byte budget is impossible with ≤150
 * values and ≤30 short dimensions; it would throw MetricLimitError.
 */
export function packPutMetricData(
  namespace: string,
  data: readonly MetricDatum[],
  limits: { maxDatums?: number; maxBytes?: number } = {},
): PutMetricDataInput[] {
  const maxDatums = limits.maxDatums ?? MAX_DATUMS_PER_CALL;
  const maxBytes = limits.maxBytes ?? MAX_REQUEST_BYTES;
  const overhead = Buffer.byteLength(wireJson({ Namespace: namespace, MetricData: [] }));
  const out: PutMetricDataInput[] = [];
  let cur: MetricDatum[] = [];
  let bytes = overhead;
  for (const d of data) {
    const size = datumBytes(d) + (cur.length > 0 ? 1 : 0); // comma between array elements
    if (overhead + size > maxBytes) {
      throw new MetricLimitError(
        `one ${d.MetricName} datum is ${size} bytes, over the ${maxBytes} byte budget`,
      );
    }
    if (cur.length >= maxDatums || bytes + size > maxBytes) {
      out.push({ Namespace: namespace, MetricData: cur });
      cur = [];
      bytes = overhead;
    }
    bytes += datumBytes(d) + (cur.length > 0 ? 1 : 0);
    cur.push(d);
  }
  if (cur.length > 0) out.push({ Namespace: namespace, MetricData: cur });
  return out;
}

/** Points → ready-to-send inputs. Pure. */
export function buildPutMetricDataInputs(
  points: readonly MetricPoint[],
  ctx: MetricContext,
): PutMetricDataInput[] {
  return packPutMetricData(ctx.namespace, toMetricData(points, ctx));
}
