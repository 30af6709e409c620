/**
 * CloudWatch evidence for the minutes around stalls: GetMetricData queries
 * for API Gateway (AWS/ApiGateway Latency, IntegrationLatency, 4XXError,
 * 5XXError, Count by ApiName + Stage) and the NLB (AWS/NetworkELB HealthyHostCount /
 * UnHealthyHostCount per AZ with LoadBalancer + TargetGroup +
 * AvailabilityZone, TCP_Target_Reset_Count, TCP_ELB_Reset_Count by
 * LoadBalancer). Builders are pure; the sender takes a CloudWatch client and
 * loads the SDK lazily.
 *
 * Limits (GetMetricData): ≤ 500 queries and ≤ 100,800 data points per call;
 * query ids match ^[a-z][a-zA-Z0-9_]*$. NLB dimension values are ARN
 * suffixes: `net/<name>/<id>` and `targetgroup/<name>/<id>`.
 */
import type {
  CloudWatchClient,
  GetMetricDataCommandInput,
  MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import type { EvidenceSeries } from "../../model.js";
import { type AwsFailure, classifyAwsError, withDeadline } from "../errors.js";

export type { EvidenceSeries };

export const GET_METRIC_DATA_MAX_QUERIES = 500;
export const GET_METRIC_DATA_MAX_POINTS = 100_800;

/** `net/<name>/<id>` from a load balancer ARN, `targetgroup/<name>/<id>` from a target group ARN. */
export function arnSuffix(arn: string): string | undefined {
  const lb = /:loadbalancer\/((?:net|app|gwy)\/[^/]+\/[0-9a-f]+)$/.exec(arn);
  if (lb) return lb[1];
  const tg = /:(targetgroup\/[^/]+\/[0-9a-f]+)$/.exec(arn);
  return tg?.[1];
}

/** What to query. */
export interface EvidenceMetricTargets {
  apiGateway?: ReadonlyArray<{ apiName: string; stage: string }>;
  targetGroups?: ReadonlyArray<{ targetGroupArn: string; loadBalancerArn: string; zones: readonly string[] }>;
}

/** One query and what it means. */
export interface EvidenceQuery {
  query: MetricDataQuery;
  namespace: "AWS/ApiGateway" | "AWS/NetworkELB";
  metricName: string;
  stat: string;
  dimensions: Record<string, string>;
}

function q(
  i: number,
  namespace: EvidenceQuery["namespace"],
  metricName: string,
  stat: string,
  dimensions: Record<string, string>,
  periodS: number,
): EvidenceQuery {
  const dims = Object.entries(dimensions);
  return {
    namespace,
    metricName,
    stat,
    dimensions,
    query: {
      Id: `m${i}`,
      Label: `${metricName} ${stat} ${dims.map(([, v]) => v).join(" ")}`,
      MetricStat: {
        Metric: {
          Namespace: namespace,
          MetricName: metricName,
          Dimensions: dims.map(([Name, Value]) => ({ Name, Value })),
        },
        Period: periodS,
        Stat: stat,
      },
      ReturnData: true,
    },
  };
}

/** Every evidence query for the targets. `periodS`: 60 by default (these AWS metrics are per minute). */
export function buildEvidenceQueries(targets: EvidenceMetricTargets, periodS = 60): EvidenceQuery[] {
  const out: EvidenceQuery[] = [];
  const add = (ns: EvidenceQuery["namespace"], name: string, stat: string, dims: Record<string, string>) =>
    out.push(q(out.length, ns, name, stat, dims, periodS));
  for (const a of targets.apiGateway ?? []) {
    const dims = { ApiName: a.apiName, Stage: a.stage };
    add("AWS/ApiGateway", "Latency", "p99", dims);
    add("AWS/ApiGateway", "Latency", "Maximum", dims);
    add("AWS/ApiGateway", "IntegrationLatency", "p99", dims);
    add("AWS/ApiGateway", "IntegrationLatency", "Maximum", dims);
    // 4XXError counts API Gateway's own 429s (throttling) with every other 4xx; Count is every request.
    add("AWS/ApiGateway", "4XXError", "Sum", dims);
    add("AWS/ApiGateway", "5XXError", "Sum", dims);
    add("AWS/ApiGateway", "Count", "Sum", dims);
  }
  for (const tg of targets.targetGroups ?? []) {
    const lb = arnSuffix(tg.loadBalancerArn);
    const group = arnSuffix(tg.targetGroupArn);
    if (lb === undefined || group === undefined) continue;
    for (const az of tg.zones) {
      const dims = { LoadBalancer: lb, TargetGroup: group, AvailabilityZone: az };
      add("AWS/NetworkELB", "HealthyHostCount", "Minimum", dims);
      add("AWS/NetworkELB", "UnHealthyHostCount", "Maximum", dims);
    }
    add("AWS/NetworkELB", "TCP_Target_Reset_Count", "Sum", { LoadBalancer: lb });
    add("AWS/NetworkELB", "TCP_ELB_Reset_Count", "Sum", { LoadBalancer: lb });
  }
  // Ids must be unique per call: the same LoadBalancer may appear under two target groups.
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.namespace}|${e.metricName}|${e.stat}|${JSON.stringify(e.dimensions)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A time window, epoch ms. */
export interface TimeWindow {
  startMs: number;
  endMs: number;
}

/**
 * Windows around stall times: [at − beforeMs, at + afterMs], aligned to whole
 * minutes, overlapping ones merged. Default 5 minutes either side.
 */
export function evidenceWindows(
  stallAtMs: readonly number[],
  beforeMs = 300_000,
  afterMs = 300_000,
): TimeWindow[] {
  const minute = 60_000;
  const spans = [...stallAtMs]
    .sort((a, b) => a - b)
    .map((t) => ({
      startMs: Math.floor((t - beforeMs) / minute) * minute,
      endMs: Math.ceil((t + afterMs) / minute) * minute,
    }));
  const out: TimeWindow[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s.startMs <= last.endMs) last.endMs = Math.max(last.endMs, s.endMs);
    else out.push({ ...s });
  }
  return out;
}

/**
 * GetMetricData inputs for a window: ≤ 500 queries per call, and fewer when
 * the window × period would exceed 100,800 points per call.
 */
export function buildGetMetricDataInputs(
  queries: readonly EvidenceQuery[],
  window: TimeWindow,
): GetMetricDataCommandInput[] {
  const periods = queries.map((e) => e.query.MetricStat?.Period ?? 60);
  const minPeriodS = periods.length ? Math.min(...periods) : 60;
  const pointsPerQuery = Math.max(1, Math.ceil((window.endMs - window.startMs) / 1000 / minPeriodS));
  const perCall = Math.max(
    1,
    Math.min(GET_METRIC_DATA_MAX_QUERIES, Math.floor(GET_METRIC_DATA_MAX_POINTS / pointsPerQuery)),
  );
  const out: GetMetricDataCommandInput[] = [];
  for (let i = 0; i < queries.length; i += perCall) {
    out.push({
      MetricDataQueries: queries.slice(i, i + perCall).map((e) => e.query),
      StartTime: new Date(window.startMs),
      EndTime: new Date(window.endMs),
      ScanBy: "TimestampAscending",
    });
  }
  return out;
}

/** One returned series, joined back to its query. */
export interface EvidenceMetricsResult {
  series: EvidenceSeries[];
  failures: AwsFailure[];
}

/** Sends the inputs (following NextToken), joining results to their queries. Never throws. */
export async function getEvidenceMetrics(
  client: Pick<CloudWatchClient, "send">,
  queries: readonly EvidenceQuery[],
  inputs: readonly GetMetricDataCommandInput[],
  opts: { callTimeoutMs?: number; maxPages?: number } = {},
): Promise<EvidenceMetricsResult> {
  const byId = new Map(queries.map((e) => [e.query.Id, e]));
  const series = new Map<string, EvidenceSeries>();
  const failures: AwsFailure[] = [];
  const { GetMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
  for (const input of inputs) {
    let token: string | undefined;
    for (let page = 0; page < (opts.maxPages ?? 20); page++) {
      try {
        const out = await withDeadline(opts.callTimeoutMs ?? 10_000, (abortSignal) =>
          client.send(new GetMetricDataCommand({ ...input, ...(token ? { NextToken: token } : {}) }), {
            abortSignal,
          }),
        );
        for (const r of out.MetricDataResults ?? []) {
          const e = r.Id === undefined ? undefined : byId.get(r.Id);
          if (!e || r.Id === undefined) continue;
          const s = series.get(r.Id) ?? {
            id: r.Id,
            namespace: e.namespace,
            metricName: e.metricName,
            stat: e.stat,
            dimensions: e.dimensions,
            timestampsMs: [],
            values: [],
          };
          (r.Timestamps ?? []).forEach((t, i) => {
            const v = r.Values?.[i];
            if (v !== undefined) {
              s.timestampsMs.push(t.getTime());
              s.values.push(v);
            }
          });
          if (r.StatusCode !== undefined) s.status = r.StatusCode;
          series.set(r.Id, s);
        }
        token = out.NextToken;
      } catch (err) {
        failures.push(classifyAwsError("GetMetricData", err));
        break;
      }
      if (!token) break;
    }
  }
  return { series: [...series.values()], failures };
}
