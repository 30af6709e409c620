/**
 * Every CloudWatch metric stallwatch publishes, declared once. The builders
 * (PutMetricData, EMF), the docs (docs/cloudwatch.md, drift-tested), the
 * dashboards and the alarms all take names, units and dimensions from here.
 *
 * Phase latencies are ONE metric, `PhaseLatency`, with a `Phase` dimension,
 * rather than one metric per phase: a dashboard or alarm template can iterate
 * over PHASES without new names, SEARCH('{ns,Api,Route,Endpoint,Phase}') finds
 * them all, and adding a phase to the model needs no registry change. It costs
 * the same (CloudWatch bills per unique name + dimension set either way).
 * `total` stays its own metric, `Latency`, because it is what alarms watch.
 */
import { FAILURE_CLASS_NAMES, PART_PHASES } from "../../model.js";

/** The CloudWatch units stallwatch uses. */
export type MetricUnit = "Milliseconds" | "Count" | "Percent";

/** distribution: Values/Counts from a histogram (percentiles work); count: one summed Value; percent: 0–100. */
export type MetricKind = "distribution" | "count" | "percent";

/** Dimensions every series metric carries. */
export const SERIES_DIMENSIONS = ["Api", "Route", "Endpoint"] as const;
/** Optional dimensions identifying the prober (config.cloudwatch.dimensions), appended when set. */
export const PROBER_DIMENSIONS = ["Prober", "Region", "AZ"] as const;
export type ProberDimension = (typeof PROBER_DIMENSIONS)[number];
/** Dimensions specific to one metric. */
export const EXTRA_DIMENSIONS = ["Phase", "FailureClass"] as const;
export type DimensionName =
  | (typeof SERIES_DIMENSIONS)[number]
  | ProberDimension
  | (typeof EXTRA_DIMENSIONS)[number];

export interface MetricDef {
  /** CloudWatch MetricName. Stable: dashboards and alarms reference it. */
  name: string;
  unit: MetricUnit;
  kind: MetricKind;
  /** Dimensions always present (prober dimensions are added when configured). */
  dimensions: readonly DimensionName[];
  /** Allowed values of the metric-specific dimension, when it has one. */
  dimensionValues?: Readonly<Partial<Record<DimensionName, readonly string[]>>>;
  description: string;
  /** Statistics that make sense for dashboards/alarms on this metric. */
  stats: readonly string[];
}

const PCT = ["p50", "p90", "p99", "p99.9", "Maximum", "SampleCount"] as const;

/** The registry. Keys are the names code refers to; `name` is what CloudWatch sees. */
export const METRICS = {
  Latency: {
    name: "Latency",
    unit: "Milliseconds",
    kind: "distribution",
    dimensions: SERIES_DIMENSIONS,
    description:
      "Total request time (DNS to last body byte) of probe requests, fresh and reused connections together. Percentiles from the HdrHistogram, re-bucketed to ≤1% relative error.",
    stats: PCT,
  },
  PhaseLatency: {
    name: "PhaseLatency",
    unit: "Milliseconds",
    kind: "distribution",
    dimensions: [...SERIES_DIMENSIONS, "Phase"],
    dimensionValues: { Phase: PART_PHASES },
    description:
      "Time spent in one phase (dns, connect, tls, ttfb, transfer) of probe requests. A phase that did not happen (no DNS on a reused connection) has no sample.",
    stats: PCT,
  },
  KeepWarmLatency: {
    name: "KeepWarmLatency",
    unit: "Milliseconds",
    kind: "distribution",
    dimensions: SERIES_DIMENSIONS,
    description: "Total time of keep-warm pings, kept apart from probe latency.",
    stats: PCT,
  },
  Requests: {
    name: "Requests",
    unit: "Count",
    kind: "count",
    dimensions: SERIES_DIMENSIONS,
    description: "Probe requests sent in the period (ok or not).",
    stats: ["Sum"],
  },
  Stalls: {
    name: "Stalls",
    unit: "Count",
    kind: "count",
    dimensions: SERIES_DIMENSIONS,
    description: "Probe requests the stall rule flagged (src/diagnose/stalls.ts). Published as 0 when none.",
    stats: ["Sum"],
  },
  Failures: {
    name: "Failures",
    unit: "Count",
    kind: "count",
    dimensions: SERIES_DIMENSIONS,
    description: "Failed probe requests, all classes. Published as 0 when none, so alarms see data.",
    stats: ["Sum"],
  },
  FailuresByClass: {
    name: "FailuresByClass",
    unit: "Count",
    kind: "count",
    dimensions: [...SERIES_DIMENSIONS, "FailureClass"],
    dimensionValues: { FailureClass: FAILURE_CLASS_NAMES },
    description:
      "Failed probe requests of one failure class (FAILURE_CLASSES in src/model.ts). Only published for classes that occurred, to keep the metric count (and bill) small.",
    stats: ["Sum"],
  },
  SuccessPercent: {
    name: "SuccessPercent",
    unit: "Percent",
    kind: "percent",
    dimensions: SERIES_DIMENSIONS,
    description:
      "100 × ok / requests for the round. Use Average over a period for the success rate; absent when no request was sent.",
    stats: ["Average", "Minimum"],
  },
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;
export const METRIC_KEYS = Object.keys(METRICS) as MetricKey[];

/** Looks a metric up by its CloudWatch name. */
export function metricByName(name: string): MetricDef | undefined {
  return METRIC_KEYS.map((k) => METRICS[k] as MetricDef).find((m) => m.name === name);
}

/** The dimension names a metric carries given the configured prober dimensions. */
export function dimensionsOf(
  def: MetricDef,
  prober: Partial<Record<ProberDimension, string>> = {},
): string[] {
  return [...def.dimensions, ...PROBER_DIMENSIONS.filter((d) => prober[d] !== undefined)];
}
