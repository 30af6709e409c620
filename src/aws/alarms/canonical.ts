/**
 * Deployed alarm (DescribeAlarms) vs wanted alarm (Put*Alarm input), made
 * comparable: the same fields, CloudWatch's defaults filled in (ActionsEnabled
 * true, empty action lists, DatapointsToAlarm = EvaluationPeriods,
 * TreatMissingData "missing"), dimensions sorted by name wherever they are
 * (an empty `Metrics` list, which some endpoints return for a plain metric
 * alarm, is the same as none; `Dimensions` absent is the same as empty). Tags are left out:
 * DescribeAlarms does not return them and PutMetricAlarm ignores them on
 * update.
 */

type Obj = Record<string, unknown>;

const METRIC_FIELDS = [
  "AlarmDescription",
  "ActionsEnabled",
  "OKActions",
  "AlarmActions",
  "InsufficientDataActions",
  "Namespace",
  "MetricName",
  "Dimensions",
  "Statistic",
  "ExtendedStatistic",
  "Unit",
  "Period",
  "EvaluationPeriods",
  "DatapointsToAlarm",
  "Threshold",
  "ComparisonOperator",
  "TreatMissingData",
  "EvaluateLowSampleCountPercentile",
  "Metrics",
  "ThresholdMetricId",
] as const;

const COMPOSITE_FIELDS = [
  "AlarmDescription",
  "AlarmRule",
  "ActionsEnabled",
  "OKActions",
  "AlarmActions",
  "InsufficientDataActions",
] as const;

function pick(a: Obj, fields: readonly string[]): Obj {
  const out: Obj = {};
  for (const f of fields) {
    const v = a[f];
    if (v !== undefined && v !== null) out[f] = v;
  }
  out.ActionsEnabled ??= true;
  for (const f of ["OKActions", "AlarmActions", "InsufficientDataActions"]) {
    out[f] = [...((out[f] as string[] | undefined) ?? [])].sort();
  }
  out.AlarmDescription ??= "";
  return out;
}

/** The comparable form of a metric alarm (described or wanted). */
export function canonicalMetricAlarm(a: object): Obj {
  const out = pick(a as Obj, METRIC_FIELDS);
  out.DatapointsToAlarm ??= out.EvaluationPeriods;
  out.TreatMissingData ??= "missing";
  const metrics = Array.isArray(out.Metrics) ? (out.Metrics as Obj[]) : [];
  if (metrics.length === 0) {
    delete out.Metrics;
    out.Dimensions = sortedDimensions(out.Dimensions);
  } else {
    // Metric math: the dimensions live in each query's MetricStat.
    out.Metrics = metrics.map(canonicalQuery);
    const dims = sortedDimensions(out.Dimensions);
    if (dims.length > 0) out.Dimensions = dims;
    else delete out.Dimensions;
  }
  return out;
}

function sortedDimensions(dims: unknown): { Name: unknown; Value: unknown }[] {
  const list = Array.isArray(dims) ? (dims as { Name?: unknown; Value?: unknown }[]) : [];
  return list
    .map((d) => ({ Name: d.Name, Value: d.Value }))
    .sort(
      (x, y) =>
        String(x.Name).localeCompare(String(y.Name)) || String(x.Value).localeCompare(String(y.Value)),
    );
}

/** One metric-math query with its metric's dimensions sorted and null fields dropped. */
function canonicalQuery(q: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null) out[k] = v;
  out.ReturnData ??= true;
  const stat = out.MetricStat as Obj | undefined;
  const metric = stat?.Metric as Obj | undefined;
  if (stat && metric) {
    out.MetricStat = { ...stat, Metric: { ...metric, Dimensions: sortedDimensions(metric.Dimensions) } };
  }
  return out;
}

/** The comparable form of a composite alarm (described or wanted). */
export function canonicalCompositeAlarm(a: object): Obj {
  return pick(a as Obj, COMPOSITE_FIELDS);
}
