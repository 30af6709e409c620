/**
 * The lab CloudWatch's metric side: PutMetricData (validated like the real
 * service: limits from the PutMetricData API reference), GetMetricData
 * (MetricStat queries: SampleCount, Sum, Average, Minimum, Maximum, pNN[.N]
 * over stored Values/Counts, nearest rank), ListMetrics.
 *
 * Wire shapes follow the installed SDK's JSON codec: timestamps are epoch
 * SECONDS (numbers), member names as in the API reference.
 */
import { rankAt } from "../../aws/metrics/rebucket.js";
import { CwLabError, invalidCombination, invalidValue, missing } from "./cloudwatch-errors.js";

const UNITS = new Set(
  (
    "Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits " +
    "Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second " +
    "Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None"
  ).split(" "),
);
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const TWO_WEEKS_MS = 14 * 24 * 3600 * 1000;
const TWO_HOURS_MS = 2 * 3600 * 1000;

type Dim = { Name: string; Value: string };
interface WireDatum {
  MetricName?: string;
  Dimensions?: Dim[];
  Timestamp?: number;
  Value?: number;
  Values?: number[];
  Counts?: number[];
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
  Unit?: string;
  StorageResolution?: number;
}

/** One stored datum. */
export interface StoredDatum {
  namespace: string;
  metricName: string;
  /** Sorted by name. */
  dimensions: Dim[];
  timestampMs: number;
  unit?: string;
  values: number[];
  counts: number[];
  statistic?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
  storageResolution: number;
}

const dimKey = (ns: string, name: string, dims: readonly Dim[]): string =>
  [
    ns,
    name,
    ...[...dims].sort((a, b) => a.Name.localeCompare(b.Name)).map((d) => `${d.Name}=${d.Value}`),
  ].join("\u0000");

function checkNumber(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v))
    throw invalidValue(`The value for parameter ${what} is invalid.`);
  const a = Math.abs(v);
  if (a !== 0 && (a < 8.51592e-109 || a > 1.174271e108)) {
    throw invalidValue(`The value ${v} for parameter ${what} is out of range.`);
  }
  return v;
}

export class CloudWatchMetricStore {
  readonly datums: StoredDatum[] = [];
  /** Raw (decompressed) request sizes of accepted PutMetricData calls, bytes. */
  readonly putSizes: number[] = [];

  constructor(private readonly wallMs: () => number = Date.now) {}

  putMetricData(body: Record<string, unknown>, rawBytes: number): Record<string, unknown> {
    if (rawBytes > MAX_PAYLOAD_BYTES) {
      throw new CwLabError(
        413,
        "RequestEntityTooLarge",
        `Request size ${rawBytes} exceeded ${MAX_PAYLOAD_BYTES} bytes`,
      );
    }
    const ns = body.Namespace;
    if (typeof ns !== "string" || ns.length === 0) throw missing("Namespace");
    if (ns.length > 255 || ns.startsWith("AWS/")) {
      throw invalidValue(`The value ${ns} for parameter Namespace is invalid.`);
    }
    const data = body.MetricData as WireDatum[] | undefined;
    if (!Array.isArray(data) || data.length === 0) throw missing("MetricData");
    if (data.length > 1000) {
      throw invalidValue("The collection MetricData must not have a size greater than 1000.");
    }
    const now = this.wallMs();
    const accepted: StoredDatum[] = data.map((d, i) => {
      const at = `MetricData.member.${i + 1}`;
      if (typeof d.MetricName !== "string" || d.MetricName.length === 0 || d.MetricName.length > 255) {
        throw missing(`${at}.MetricName`);
      }
      const dims = d.Dimensions ?? [];
      if (dims.length > 30) {
        throw invalidValue(`The collection ${at}.Dimensions must not have a size greater than 30.`);
      }
      const names = new Set<string>();
      for (const dm of dims) {
        if (
          !dm.Name ||
          dm.Name.length > 255 ||
          typeof dm.Value !== "string" ||
          dm.Value.length < 1 ||
          dm.Value.length > 1024
        ) {
          throw invalidValue(`The dimension ${dm.Name} in ${at} is invalid.`);
        }
        if (names.has(dm.Name))
          throw invalidValue(`The dimension ${dm.Name} appears more than once in ${at}.`);
        names.add(dm.Name);
      }
      const kinds = [d.Value !== undefined, d.Values !== undefined, d.StatisticValues !== undefined].filter(
        Boolean,
      );
      if (kinds.length > 1) {
        throw invalidCombination(`${at}: Value, Values and StatisticValues are mutually exclusive.`);
      }
      if (kinds.length === 0) throw missing(`${at}.Value`);
      if (d.Counts !== undefined && d.Values === undefined) {
        throw invalidCombination(`${at}: Counts requires Values.`);
      }
      let values: number[] = [];
      let counts: number[] = [];
      if (d.Value !== undefined) {
        values = [checkNumber(d.Value, `${at}.Value`)];
        counts = [1];
      } else if (d.Values !== undefined) {
        if (d.Values.length > 150) {
          throw invalidValue(`The collection ${at}.Values must not have a size greater than 150.`);
        }
        values = d.Values.map((v, j) => checkNumber(v, `${at}.Values.member.${j + 1}`));
        if (d.Counts !== undefined && d.Counts.length !== d.Values.length) {
          throw invalidValue(`The parameters ${at}.Values and ${at}.Counts must be of the same size.`);
        }
        counts = d.Counts
          ? d.Counts.map((c, j) => checkNumber(c, `${at}.Counts.member.${j + 1}`))
          : values.map(() => 1);
        if (counts.some((c) => c < 0)) throw invalidValue(`${at}.Counts must not be negative.`);
      }
      const ts = d.Timestamp === undefined ? now : d.Timestamp * 1000;
      if (ts < now - TWO_WEEKS_MS || ts > now + TWO_HOURS_MS) {
        throw invalidValue(
          `The parameter ${at}.Timestamp must specify a time no more than two weeks in the past or two hours in the future.`,
        );
      }
      if (d.Unit !== undefined && !UNITS.has(d.Unit))
        throw invalidValue(`The value ${d.Unit} for parameter ${at}.Unit is invalid.`);
      const res = d.StorageResolution ?? 60;
      if (res !== 1 && res !== 60)
        throw invalidValue(`The value ${res} for parameter ${at}.StorageResolution is invalid.`);
      return {
        namespace: ns,
        metricName: d.MetricName,
        dimensions: [...dims].sort((a, b) => a.Name.localeCompare(b.Name)),
        timestampMs: ts,
        ...(d.Unit ? { unit: d.Unit } : {}),
        values,
        counts,
        ...(d.StatisticValues ? { statistic: d.StatisticValues } : {}),
        storageResolution: res,
      };
    });
    // All or nothing, like the real API: validate every datum before storing any.
    this.datums.push(...accepted);
    this.putSizes.push(rawBytes);
    return {};
  }

  listMetrics(body: Record<string, unknown>): Record<string, unknown> {
    const ns = body.Namespace as string | undefined;
    const name = body.MetricName as string | undefined;
    const filters = (body.Dimensions as { Name: string; Value?: string }[] | undefined) ?? [];
    const seen = new Map<string, { Namespace: string; MetricName: string; Dimensions: Dim[] }>();
    for (const d of this.datums) {
      if (ns !== undefined && d.namespace !== ns) continue;
      if (name !== undefined && d.metricName !== name) continue;
      if (
        !filters.every((f) =>
          d.dimensions.some((x) => x.Name === f.Name && (f.Value === undefined || x.Value === f.Value)),
        )
      )
        continue;
      const k = dimKey(d.namespace, d.metricName, d.dimensions);
      if (!seen.has(k))
        seen.set(k, { Namespace: d.namespace, MetricName: d.metricName, Dimensions: d.dimensions });
    }
    return { Metrics: [...seen.values()] };
  }

  getMetricData(body: Record<string, unknown>): Record<string, unknown> {
    const queries = body.MetricDataQueries as Record<string, unknown>[] | undefined;
    if (!Array.isArray(queries) || queries.length === 0) throw missing("MetricDataQueries");
    if (queries.length > 500)
      throw invalidValue("The collection MetricDataQueries must not have a size greater than 500.");
    if (typeof body.StartTime !== "number") throw missing("StartTime");
    if (typeof body.EndTime !== "number") throw missing("EndTime");
    const startMs = body.StartTime * 1000;
    const endMs = body.EndTime * 1000;
    if (endMs <= startMs)
      throw invalidValue("The parameter StartTime must be less than the parameter EndTime.");
    const ascending = body.ScanBy === "TimestampAscending";
    const results = queries.map((q) => {
      const id = String(q.Id ?? "");
      const ms = q.MetricStat as
        | {
            Metric: { Namespace: string; MetricName: string; Dimensions?: Dim[] };
            Period: number;
            Stat: string;
          }
        | undefined;
      if (!ms) {
        return {
          Id: id,
          Label: id,
          Timestamps: [],
          Values: [],
          StatusCode: "InternalError",
          Messages: [{ Code: "Unsupported", Value: "lab: only MetricStat queries are evaluated" }],
        };
      }
      const periodMs = ms.Period * 1000;
      const key = dimKey(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions ?? []);
      const buckets = new Map<number, StoredDatum[]>();
      for (const d of this.datums) {
        if (d.timestampMs < startMs || d.timestampMs >= endMs) continue;
        if (dimKey(d.namespace, d.metricName, d.dimensions) !== key) continue;
        const b = d.timestampMs - (d.timestampMs % periodMs);
        const list = buckets.get(b) ?? [];
        list.push(d);
        buckets.set(b, list);
      }
      const rows = [...buckets.entries()]
        .map(([t, list]) => [t, computeStat(list, ms.Stat)] as const)
        .filter((r): r is readonly [number, number] => r[1] !== undefined)
        .sort((a, b) => (ascending ? a[0] - b[0] : b[0] - a[0]));
      return {
        Id: id,
        Label: String(q.Label ?? ms.Metric.MetricName),
        Timestamps: rows.map(([t]) => t / 1000),
        Values: rows.map(([, v]) => v),
        StatusCode: "Complete",
      };
    });
    return { MetricDataResults: results, Messages: [] };
  }
}

/** One statistic over the datums of a period. Undefined when it cannot be computed. */
export function computeStat(list: readonly StoredDatum[], stat: string): number | undefined {
  const pairs: [number, number][] = [];
  let n = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let statSetOnly = false;
  for (const d of list) {
    if (d.statistic) {
      n += d.statistic.SampleCount;
      sum += d.statistic.Sum;
      min = Math.min(min, d.statistic.Minimum);
      max = Math.max(max, d.statistic.Maximum);
      if (d.statistic.SampleCount > 1 && d.statistic.Minimum !== d.statistic.Maximum) statSetOnly = true;
      continue;
    }
    d.values.forEach((v, i) => {
      const c = d.counts[i] ?? 1;
      if (c <= 0) return;
      pairs.push([v, c]);
      n += c;
      sum += v * c;
      min = Math.min(min, v);
      max = Math.max(max, v);
    });
  }
  if (n === 0) return undefined;
  switch (stat) {
    case "SampleCount":
      return n;
    case "Sum":
      return sum;
    case "Average":
      return sum / n;
    case "Minimum":
      return min;
    case "Maximum":
      return max;
  }
  const m = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(stat);
  if (!m || statSetOnly || pairs.some(([v]) => v < 0)) return undefined;
  const p = Number(m[1]);
  pairs.sort((a, b) => a[0] - b[0]);
  const rank = rankAt(p, n);
  let seen = 0;
  for (const [v, c] of pairs) {
    seen += c;
    if (seen >= rank) return v;
  }
  return max;
}
