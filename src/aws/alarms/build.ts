/**
 * The alarms builder (pure): config + probe targets + the metric registry →
 * PutMetricAlarm and PutCompositeAlarm inputs. Per api × route × endpoint:
 *
 *  p99      Latency, ExtendedStatistic p99 (never with Statistic) >
 *           alarms.p99Ms for evaluationPeriods of evaluationPeriods.
 *           TreatMissingData "missing": no data means "latency unknown",
 *           not "latency fine" — if every period is empty the alarm goes to
 *           INSUFFICIENT_DATA instead of lying OK; when only some are empty
 *           (rounds sparser than the period) CloudWatch evaluates the ones
 *           that have data. A silent prober is the success alarm's job.
 *           EvaluateLowSampleCountPercentile "evaluate": probes are few by
 *           design (3 per round), far below the ~1000 samples CloudWatch
 *           wants for a significant p99; "ignore" would leave the alarm
 *           frozen exactly when a few probes stall. With few samples p99 is
 *           about the period's max — the stall we want to hear about — and
 *           requiring every evaluation period to breach filters one-offs.
 *  stalls   Stalls, Sum ≥ alarms.stallsPerPeriod in ANY ONE of the last
 *           evaluationPeriods periods (DatapointsToAlarm 1): stalls are
 *           intermittent, so demanding consecutive bad periods would rarely
 *           fire; the alarm then stays in ALARM for evaluationPeriods
 *           periods, a natural cool-down. TreatMissingData "notBreaching":
 *           Stalls is published as 0 every round, so missing data only means
 *           no round ran — not a stall; the success alarm reports that.
 *  success  SuccessPercent, Average < alarms.successPctFloor for every
 *           evaluation period. TreatMissingData "breaching": this is the
 *           heartbeat — a prober that stopped reporting (task failing to
 *           start, schedule disabled, credentials gone) is as bad as failing
 *           probes and must not look healthy. Hence alarms.periodS must be at
 *           least the interval between rounds (docs/dashboards-alarms.md).
 *
 * One composite alarm `<ns>-any` = ALARM(a) OR ALARM(b) OR …; only it has
 * actions (alarms.snsTopicArn: ALARM and OK), so one incident sends one
 * notification instead of one per series.
 */
import type { PutCompositeAlarmCommandInput, PutMetricAlarmCommandInput } from "@aws-sdk/client-cloudwatch";
import type { Config } from "../../config/schema.js";
import { StallwatchError } from "../../errors.js";
import { seriesId } from "../../model.js";
import { seriesDimensions } from "../dashboard/rows.js";
import { type SeriesTarget, seriesOf } from "../dashboard/series.js";
import { METRICS, type MetricKey } from "../metrics/registry.js";
import { alarmPrefix, compositeAlarmName, ownershipMarker, seriesAlarmNames } from "./names.js";

/** AlarmRule is limited to 10240 characters. */
export const MAX_ALARM_RULE = 10_240;

export interface AlarmsBuildInput {
  config: Pick<Config, "cloudwatch" | "alarms" | "keepWarm">;
  /** The probe targets (LoadedConfig.targets). */
  targets: readonly SeriesTarget[];
}

export interface BuiltAlarms {
  /** Every managed alarm's name starts with this. */
  prefix: string;
  /** Last line of every managed alarm's description (ownership). */
  marker: string;
  metricAlarms: PutMetricAlarmCommandInput[];
  compositeAlarms: PutCompositeAlarmCommandInput[];
  /** Things that are legal but probably not what was meant. */
  warnings: string[];
}

function invalid(message: string): StallwatchError {
  return new StallwatchError("SW_ALARMS", message, 2);
}

/** Checks the CloudWatch period rules the config schema cannot see alone. */
function checkPeriods(config: AlarmsBuildInput["config"]): void {
  const { periodS, evaluationPeriods } = config.alarms;
  if (!(periodS === 10 || periodS === 20 || periodS === 30 || (periodS > 0 && periodS % 60 === 0))) {
    throw invalid(`alarms.periodS ${periodS}: CloudWatch alarm periods are 10, 20, 30 or a multiple of 60`);
  }
  const limit = periodS < 3600 ? 86_400 : 604_800;
  if (periodS * evaluationPeriods > limit) {
    throw invalid(
      `alarms.periodS × alarms.evaluationPeriods = ${periodS * evaluationPeriods} s; CloudWatch allows at most ${limit} s`,
    );
  }
  if (periodS < 60 && config.cloudwatch.storageResolutionS !== 1) {
    throw invalid(
      `alarms.periodS ${periodS} needs high-resolution metrics: set cloudwatch.storageResolutionS to 1, or use a period of 60 s or more`,
    );
  }
}

/** Builds every alarm. Throws StallwatchError SW_ALARMS (exit 2) on periods CloudWatch would refuse. */
export function buildAlarms(input: AlarmsBuildInput): BuiltAlarms {
  const { config } = input;
  checkPeriods(config);
  const cw = config.cloudwatch;
  const a = config.alarms;
  const ns = cw.namespace;
  const scope = { namespace: ns, prober: cw.dimensions ?? {} };
  const marker = ownershipMarker(ns);
  const series = seriesOf(config, input.targets);
  const names = seriesAlarmNames(ns, series);
  const warnings: string[] = [];
  if (!cw.enabled)
    warnings.push("cloudwatch.enabled is false: nothing publishes the metrics these alarms watch");
  if (series.length === 0) warnings.push("the config has no probe targets: no per-series alarms");
  const tags = [
    { Key: "managed-by", Value: "stallwatch" },
    { Key: "stallwatch:namespace", Value: ns },
  ];
  const common = (key: MetricKey, s: (typeof series)[number]) => ({
    Namespace: ns,
    MetricName: METRICS[key].name,
    Dimensions: seriesDimensions(METRICS[key], s, scope).map(([Name, Value]) => ({ Name, Value })),
    Period: a.periodS,
    EvaluationPeriods: a.evaluationPeriods,
    ActionsEnabled: true,
    Tags: tags,
  });
  const where = (s: (typeof series)[number]): string => `${s.api} · ${s.route} · ${s.endpoint}`;
  const metricAlarms: PutMetricAlarmCommandInput[] = [];
  for (const s of series) {
    const n = names.get(seriesId(s))!;
    metricAlarms.push({
      AlarmName: n.p99,
      AlarmDescription: `p99 latency of ${where(s)} above ${a.p99Ms} ms in ${a.evaluationPeriods} consecutive ${a.periodS} s periods. Missing data: missing (unknown, not OK).\n${marker}`,
      ...common("Latency", s),
      ExtendedStatistic: "p99",
      DatapointsToAlarm: a.evaluationPeriods,
      Threshold: a.p99Ms,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "missing",
      EvaluateLowSampleCountPercentile: "evaluate",
    });
    metricAlarms.push({
      AlarmName: n.stalls,
      AlarmDescription: `${where(s)} had ${a.stallsPerPeriod} or more stalls in one ${a.periodS} s period (any of the last ${a.evaluationPeriods}). Missing data: not breaching (no round ran; see the success alarm).\n${marker}`,
      ...common("Stalls", s),
      Statistic: "Sum",
      DatapointsToAlarm: 1,
      Threshold: a.stallsPerPeriod,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    metricAlarms.push({
      AlarmName: n.success,
      AlarmDescription: `success rate of ${where(s)} below ${a.successPctFloor}% in ${a.evaluationPeriods} consecutive ${a.periodS} s periods, or the prober stopped reporting. Missing data: breaching (heartbeat).\n${marker}`,
      ...common("SuccessPercent", s),
      Statistic: "Average",
      DatapointsToAlarm: a.evaluationPeriods,
      Threshold: a.successPctFloor,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
  }
  const compositeAlarms: PutCompositeAlarmCommandInput[] = [];
  if (metricAlarms.length > 0) {
    const rule = metricAlarms.map((m) => `ALARM("${m.AlarmName}")`).join(" OR ");
    if (rule.length > MAX_ALARM_RULE) {
      throw invalid(
        `the composite alarm's rule would be ${rule.length} characters (CloudWatch allows ${MAX_ALARM_RULE}): ${series.length} series are too many for one composite alarm; split the config`,
      );
    }
    const actions = a.snsTopicArn !== undefined ? [a.snsTopicArn] : [];
    compositeAlarms.push({
      AlarmName: compositeAlarmName(ns),
      AlarmDescription: `Any stallwatch alarm of namespace ${ns} (p99 latency, stalls, success rate) is in ALARM.${actions.length ? " Notifies on ALARM and OK." : " No actions: set alarms.snsTopicArn to be notified."}\n${marker}`,
      AlarmRule: rule,
      ActionsEnabled: true,
      AlarmActions: actions,
      OKActions: actions,
      Tags: tags,
    });
  }
  return { prefix: alarmPrefix(ns), marker, metricAlarms, compositeAlarms, warnings };
}
