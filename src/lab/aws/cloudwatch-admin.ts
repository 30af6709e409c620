/**
 * The lab CloudWatch's dashboards and alarms: stored, listed, and validated
 * with the rules of the API references (PutMetricAlarm, PutCompositeAlarm,
 * PutDashboard + the dashboard body structure), so `dashboard deploy` and
 * `alarms deploy` can be checked without AWS. Validation is a documented
 * subset; where the real service's exact error code is not documented, the
 * code chosen is noted (ValidationError for metric-math and period rules).
 */
import { CwLabError, invalidCombination, invalidValue, missing, validation } from "./cloudwatch-errors.js";

const ACCOUNT = "000000000000";
const STATISTICS = new Set(["SampleCount", "Average", "Sum", "Minimum", "Maximum"]);
const OPERATORS = new Set([
  "GreaterThanOrEqualToThreshold",
  "GreaterThanThreshold",
  "LessThanThreshold",
  "LessThanOrEqualToThreshold",
  "LessThanLowerOrGreaterThanUpperThreshold",
  "LessThanLowerThreshold",
  "GreaterThanUpperThreshold",
]);
const MISSING = new Set(["breaching", "notBreaching", "ignore", "missing"]);
const EXTENDED =
  /^(p|tm|tc|ts|wm)(\d{1,2}(\.\d{1,10})?|100)$|^(PR|TM|TC|TS|WM)\(\d*(\.\d+)?%?:\d*(\.\d+)?%?\)$|^IQM$/;
const WIDGET_TYPES = new Set(["metric", "text", "log", "alarm", "explorer", "custom"]);

type Obj = Record<string, unknown>;

export function validPeriod(p: unknown): boolean {
  return (
    typeof p === "number" &&
    Number.isInteger(p) &&
    (p === 10 || p === 20 || p === 30 || (p > 0 && p % 60 === 0))
  );
}

export class CloudWatchAdminStore {
  readonly metricAlarms = new Map<string, Obj>();
  readonly compositeAlarms = new Map<string, Obj>();
  readonly dashboards = new Map<string, { body: string; modifiedS: number }>();

  constructor(
    private readonly region: string,
    private readonly wallMs: () => number = Date.now,
  ) {}

  private arn(kind: "alarm" | "dashboard", name: string): string {
    return kind === "alarm"
      ? `arn:aws:cloudwatch:${this.region}:${ACCOUNT}:alarm:${name}`
      : `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${name}`;
  }

  putMetricAlarm(b: Obj): Obj {
    const name = b.AlarmName;
    if (typeof name !== "string" || name.length === 0 || name.length > 255) throw missing("AlarmName");
    const evals = b.EvaluationPeriods;
    if (typeof evals !== "number" || evals < 1) throw missing("EvaluationPeriods");
    if (typeof b.ComparisonOperator !== "string" || !OPERATORS.has(b.ComparisonOperator)) {
      throw invalidValue(
        `The value ${String(b.ComparisonOperator)} for parameter ComparisonOperator is invalid.`,
      );
    }
    if (b.Threshold === undefined && b.ThresholdMetricId === undefined) throw missing("Threshold");
    if (b.DatapointsToAlarm !== undefined && (b.DatapointsToAlarm as number) > evals) {
      throw validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.");
    }
    if (b.TreatMissingData !== undefined && !MISSING.has(String(b.TreatMissingData))) {
      throw invalidValue(
        `The value ${String(b.TreatMissingData)} for parameter TreatMissingData is invalid.`,
      );
    }
    let periods: number[];
    if (b.Metrics !== undefined) {
      for (const k of ["MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period"]) {
        if (b[k] !== undefined) throw invalidCombination(`${k} must not be specified together with Metrics.`);
      }
      periods = checkAlarmMetrics(b.Metrics);
    } else {
      if (typeof b.MetricName !== "string") throw missing("MetricName");
      if (typeof b.Namespace !== "string") throw missing("Namespace");
      if ((b.Statistic === undefined) === (b.ExtendedStatistic === undefined)) {
        throw invalidCombination("Exactly one of Statistic or ExtendedStatistic must be specified.");
      }
      if (b.Statistic !== undefined && !STATISTICS.has(String(b.Statistic))) {
        throw invalidValue(`The value ${String(b.Statistic)} for parameter Statistic is invalid.`);
      }
      if (b.ExtendedStatistic !== undefined && !EXTENDED.test(String(b.ExtendedStatistic))) {
        throw invalidValue(
          `The value ${String(b.ExtendedStatistic)} for parameter ExtendedStatistic is invalid.`,
        );
      }
      if (b.Period === undefined) throw missing("Period");
      periods = [b.Period as number];
    }
    if (b.EvaluateLowSampleCountPercentile !== undefined) {
      if (!["evaluate", "ignore"].includes(String(b.EvaluateLowSampleCountPercentile))) {
        throw invalidValue("EvaluateLowSampleCountPercentile must be 'evaluate' or 'ignore'.");
      }
      if (!/^p/.test(String(b.ExtendedStatistic ?? ""))) {
        throw invalidCombination("EvaluateLowSampleCountPercentile requires a percentile ExtendedStatistic.");
      }
    }
    for (const p of periods) {
      if (!validPeriod(p))
        throw validation(`The value ${p} for parameter Period must be 10, 20, 30 or a multiple of 60.`);
      const limit = p < 3600 ? 86_400 : 604_800;
      if (p * evals > limit) {
        throw validation(`Period (${p}) × EvaluationPeriods (${evals}) must not exceed ${limit} seconds.`);
      }
    }
    const now = this.wallMs() / 1000;
    const prev = this.metricAlarms.get(name);
    const { Tags: _tags, ...rest } = b;
    this.metricAlarms.set(name, {
      ...rest,
      AlarmArn: this.arn("alarm", name),
      ActionsEnabled: b.ActionsEnabled ?? true,
      AlarmConfigurationUpdatedTimestamp: now,
      StateValue: prev?.StateValue ?? "INSUFFICIENT_DATA",
      StateReason: prev?.StateReason ?? "Unchecked: Initial alarm creation",
      StateUpdatedTimestamp: prev?.StateUpdatedTimestamp ?? now,
    });
    return {};
  }

  putCompositeAlarm(b: Obj): Obj {
    const name = b.AlarmName;
    if (typeof name !== "string" || name.length === 0 || name.length > 255) throw missing("AlarmName");
    const rule = b.AlarmRule;
    if (typeof rule !== "string" || rule.length === 0) throw missing("AlarmRule");
    if (rule.length > 10_240) throw invalidValue("AlarmRule must be at most 10240 characters.");
    const refs = [...rule.matchAll(/\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)/g)].map(
      (m) => m[1] ?? "",
    );
    if (refs.length === 0 && !/^\s*(TRUE|FALSE)\s*$/.test(rule))
      throw validation("AlarmRule references no alarm.");
    for (const r of refs) {
      const ref = r.startsWith("arn:") ? (r.split(":alarm:")[1] ?? r) : r;
      if (!this.metricAlarms.has(ref) && !this.compositeAlarms.has(ref)) {
        throw validation(`AlarmRule refers to an alarm that does not exist: ${r}`);
      }
      if (ref === name) throw validation("A composite alarm cannot refer to itself.");
    }
    const now = this.wallMs() / 1000;
    const { Tags: _tags, ...rest } = b;
    this.compositeAlarms.set(name, {
      ...rest,
      AlarmArn: this.arn("alarm", name),
      ActionsEnabled: b.ActionsEnabled ?? true,
      AlarmConfigurationUpdatedTimestamp: now,
      StateValue: this.compositeAlarms.get(name)?.StateValue ?? "INSUFFICIENT_DATA",
      StateUpdatedTimestamp: now,
    });
    return {};
  }

  describeAlarms(b: Obj): Obj {
    const names = b.AlarmNames as string[] | undefined;
    const prefix = b.AlarmNamePrefix as string | undefined;
    if (names && prefix) throw invalidCombination("AlarmNames and AlarmNamePrefix are mutually exclusive.");
    const types = (b.AlarmTypes as string[] | undefined) ?? ["MetricAlarm"];
    const pick = (m: Map<string, Obj>): Obj[] =>
      [...m.entries()]
        .filter(([n]) => (!names || names.includes(n)) && (!prefix || n.startsWith(prefix)))
        .filter(([, a]) => b.StateValue === undefined || a.StateValue === b.StateValue)
        .sort(([a], [c]) => a.localeCompare(c))
        .map(([, a]) => a);
    return {
      MetricAlarms: types.includes("MetricAlarm") ? pick(this.metricAlarms) : [],
      CompositeAlarms: types.includes("CompositeAlarm") ? pick(this.compositeAlarms) : [],
    };
  }

  deleteAlarms(b: Obj): Obj {
    const names = b.AlarmNames as string[] | undefined;
    if (!Array.isArray(names) || names.length === 0) throw missing("AlarmNames");
    if (names.length > 100)
      throw invalidValue("The collection AlarmNames must not have a size greater than 100.");
    for (const n of names) {
      this.metricAlarms.delete(n);
      this.compositeAlarms.delete(n);
    }
    return {};
  }

  putDashboard(b: Obj): Obj {
    const name = b.DashboardName;
    if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,255}$/.test(name)) {
      throw new CwLabError(
        400,
        "InvalidParameterInput",
        "The value for field DashboardName contains invalid characters.",
      );
    }
    if (typeof b.DashboardBody !== "string") throw missing("DashboardBody");
    const problems = dashboardProblems(b.DashboardBody);
    if (problems.length > 0) {
      throw new CwLabError(
        400,
        "InvalidParameterInput",
        `The dashboard body is invalid, there are ${problems.length} validation errors`,
        { dashboardValidationMessages: problems },
      );
    }
    this.dashboards.set(name, { body: b.DashboardBody, modifiedS: this.wallMs() / 1000 });
    return { DashboardValidationMessages: [] };
  }

  getDashboard(b: Obj): Obj {
    const name = String(b.DashboardName ?? "");
    const d = this.dashboards.get(name);
    if (!d) throw new CwLabError(404, "ResourceNotFound", `Dashboard ${name} does not exist`);
    return { DashboardArn: this.arn("dashboard", name), DashboardBody: d.body, DashboardName: name };
  }

  listDashboards(b: Obj): Obj {
    const prefix = (b.DashboardNamePrefix as string | undefined) ?? "";
    return {
      DashboardEntries: [...this.dashboards.entries()]
        .filter(([n]) => n.startsWith(prefix))
        .sort(([a], [c]) => a.localeCompare(c))
        .map(([n, d]) => ({
          DashboardName: n,
          DashboardArn: this.arn("dashboard", n),
          LastModified: d.modifiedS,
          Size: Buffer.byteLength(d.body),
        })),
    };
  }

  deleteDashboards(b: Obj): Obj {
    const names = (b.DashboardNames as string[] | undefined) ?? [];
    const absent = names.filter((n) => !this.dashboards.has(n));
    if (absent.length > 0)
      throw new CwLabError(404, "ResourceNotFound", `Dashboards do not exist: ${absent.join(", ")}`);
    for (const n of names) this.dashboards.delete(n);
    return {};
  }
}

/** Metric-math rules of PutMetricAlarm's `Metrics`. Returns the periods to check. */
function checkAlarmMetrics(m: unknown): number[] {
  if (!Array.isArray(m) || m.length === 0) throw missing("Metrics");
  if (m.length > 20) throw validation("The collection Metrics must not have a size greater than 20.");
  const queries = m as Obj[];
  const stats = queries.filter((q) => q.MetricStat !== undefined);
  if (stats.length > 10) throw validation("Metrics may contain at most 10 MetricStat queries.");
  const returning = queries.filter((q) => q.ReturnData !== false);
  if (returning.length !== 1) {
    throw validation("Metrics list must contain exactly one metric matching the ReturnData parameter.");
  }
  const ids = new Set<string>();
  const periods: number[] = [];
  for (const q of queries) {
    const id = String(q.Id ?? "");
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) throw validation(`Invalid metric id '${id}'.`);
    if (ids.has(id)) throw validation(`Duplicate metric id '${id}'.`);
    ids.add(id);
    if ((q.MetricStat === undefined) === (q.Expression === undefined)) {
      throw validation(`Metric '${id}' must have exactly one of MetricStat or Expression.`);
    }
    const ms = q.MetricStat as Obj | undefined;
    if (ms) {
      if (typeof ms.Stat !== "string") throw missing(`Metrics.${id}.MetricStat.Stat`);
      periods.push(ms.Period as number);
    } else if (q.Period !== undefined) {
      periods.push(q.Period as number);
    }
  }
  return periods;
}

/** Structural checks of a dashboard body, as DashboardValidationMessages. */
export function dashboardProblems(body: string): { DataPath: string; Message: string }[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return [{ DataPath: "", Message: "Dashboard body is not valid JSON" }];
  }
  const out: { DataPath: string; Message: string }[] = [];
  const widgets = (doc as Obj)?.widgets;
  if (!Array.isArray(widgets)) return [{ DataPath: "/widgets", Message: "Should be array" }];
  if (widgets.length > 500)
    out.push({ DataPath: "/widgets", Message: "Should NOT have more than 500 items" });
  widgets.forEach((w: Obj, i) => {
    const at = `/widgets/${i}`;
    if (!WIDGET_TYPES.has(String(w?.type)))
      out.push({ DataPath: `${at}/type`, Message: "Should be equal to one of the allowed values" });
    for (const k of ["x", "y", "width", "height"] as const) {
      const v = w?.[k];
      if (
        v !== undefined &&
        (typeof v !== "number" || v < 0 || (k === "width" && v > 24) || (k === "x" && v > 23))
      ) {
        out.push({ DataPath: `${at}/${k}`, Message: "Should be within range" });
      }
    }
    const p = w?.properties as Obj | undefined;
    if (typeof p !== "object" || p === null) {
      out.push({ DataPath: `${at}`, Message: "Should have required property 'properties'" });
      return;
    }
    if (w.type === "metric") {
      if (typeof p.region !== "string")
        out.push({ DataPath: `${at}/properties`, Message: "Should have required property 'region'" });
      if (p.metrics !== undefined && !(Array.isArray(p.metrics) && p.metrics.every(Array.isArray))) {
        out.push({ DataPath: `${at}/properties/metrics`, Message: "Should be array of arrays" });
      }
    }
    if (w.type === "text" && typeof p.markdown !== "string") {
      out.push({ DataPath: `${at}/properties`, Message: "Should have required property 'markdown'" });
    }
    if (w.type === "log" && typeof p.query !== "string") {
      out.push({ DataPath: `${at}/properties`, Message: "Should have required property 'query'" });
    }
  });
  return out;
}
