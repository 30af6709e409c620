/**
 * Deployed alarm (DescribeAlarms) vs wanted alarm (Put*Alarm input), made
 * comparable: the same fields, CloudWatch's defaults filled in (ActionsEnabled
 * true, empty action lists, DatapointsToAlarm = EvaluationPeriods,
 * TreatMissingData "missing"), dimensions sorted by name. Tags are left out:
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
  if (out.Metrics === undefined) {
    const dims = (out.Dimensions as { Name?: string; Value?: string }[] | undefined) ?? [];
    out.Dimensions = [...dims]
      .map((d) => ({ Name: d.Name, Value: d.Value }))
      .sort((x, y) => String(x.Name).localeCompare(String(y.Name)));
  }
  return out;
}

/** The comparable form of a composite alarm (described or wanted). */
export function canonicalCompositeAlarm(a: object): Obj {
  return pick(a as Obj, COMPOSITE_FIELDS);
}
