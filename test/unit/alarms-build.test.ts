/**
 * The alarms builder: one p99 / stalls / success alarm per route × endpoint,
 * each with the statistic and TreatMissingData the design calls for, periods
 * CloudWatch accepts, names that stay unique, and one composite alarm that
 * alone carries the SNS action. Every input is also run through the lab's
 * PutMetricAlarm / PutCompositeAlarm validation (the same rules the
 * integration test sends over the wire).
 */
import type { PutMetricAlarmCommandInput } from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import { buildAlarms } from "../../src/aws/alarms/build.js";
import { canonicalMetricAlarm } from "../../src/aws/alarms/canonical.js";
import { isOwned, ownershipMarker, seriesAlarmNames } from "../../src/aws/alarms/names.js";
import { metricByName } from "../../src/aws/metrics/registry.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { CloudWatchAdminStore } from "../../src/lab/aws/cloudwatch-admin.js";

const SNS = "arn:aws:sns:eu-west-1:123456789012:oncall";

function build(over: Partial<ConfigInput> = {}, endpoints = ["/a", "/b"]) {
  const { config, targets } = parseConfig({
    apis: [
      {
        name: "shop",
        routes: [
          { name: "domain", baseUrl: "https://shop.example.com" },
          { name: "execute-api", baseUrl: "https://x.execute-api.eu-west-1.amazonaws.com/prod" },
        ],
        endpoints: endpoints.map((path) => ({ path })),
      },
    ],
    cloudwatch: { enabled: true },
    ...over,
  });
  return buildAlarms({ config, targets });
}

const byKind = (list: PutMetricAlarmCommandInput[], suffix: string) =>
  list.filter((a) => a.AlarmName?.endsWith(suffix));

describe("per-series alarms", () => {
  it("builds p99, stalls and success alarms for every route × endpoint", () => {
    const b = build();
    expect(b.metricAlarms).toHaveLength(12);
    expect(b.metricAlarms.map((a) => a.AlarmName).slice(0, 3)).toEqual([
      "Stallwatch-shop-domain-a-p99",
      "Stallwatch-shop-domain-a-stalls",
      "Stallwatch-shop-domain-a-success",
    ]);
    for (const a of b.metricAlarms) {
      expect(metricByName(a.MetricName ?? ""), a.MetricName).toBeDefined();
      expect(a.Namespace).toBe("Stallwatch");
      expect(a.Dimensions?.map((d) => d.Name)).toEqual(["Api", "Route", "Endpoint"]);
      expect(a.AlarmDescription?.endsWith(ownershipMarker("Stallwatch"))).toBe(true);
    }
  });

  it("p99: ExtendedStatistic without Statistic, missing data = missing, low sample counts evaluated", () => {
    const [p99] = byKind(build({ alarms: { p99Ms: 1500 } }).metricAlarms, "-p99");
    expect(p99).toMatchObject({
      MetricName: "Latency",
      ExtendedStatistic: "p99",
      Threshold: 1500,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "missing",
      EvaluateLowSampleCountPercentile: "evaluate",
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Period: 300,
    });
    expect(p99).not.toHaveProperty("Statistic");
  });

  it("stalls: Sum ≥ threshold in any one period, missing = notBreaching", () => {
    const [s] = byKind(
      build({ alarms: { stallsPerPeriod: 5, evaluationPeriods: 4 } }).metricAlarms,
      "-stalls",
    );
    expect(s).toMatchObject({
      MetricName: "Stalls",
      Statistic: "Sum",
      Threshold: 5,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
      EvaluationPeriods: 4,
      DatapointsToAlarm: 1,
    });
    expect(s).not.toHaveProperty("ExtendedStatistic");
  });

  it("success: Average below the floor, a silent prober is breaching", () => {
    const [s] = byKind(build({ alarms: { successPctFloor: 95 } }).metricAlarms, "-success");
    expect(s).toMatchObject({
      MetricName: "SuccessPercent",
      Statistic: "Average",
      Threshold: 95,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
  });

  it("adds the configured prober dimensions", () => {
    const [a] = build({
      cloudwatch: { enabled: true, dimensions: { Region: "eu-west-1", Prober: "p" } },
    }).metricAlarms;
    expect(a?.Dimensions).toEqual([
      { Name: "Api", Value: "shop" },
      { Name: "Route", Value: "domain" },
      { Name: "Endpoint", Value: "/a" },
      { Name: "Prober", Value: "p" },
      { Name: "Region", Value: "eu-west-1" },
    ]);
  });
});

describe("composite alarm and actions", () => {
  it("ORs every metric alarm; only the composite notifies, on ALARM and OK", () => {
    const b = build({ alarms: { snsTopicArn: SNS } });
    expect(b.compositeAlarms).toHaveLength(1);
    const c = b.compositeAlarms[0]!;
    expect(c.AlarmName).toBe("Stallwatch-any");
    expect(c.AlarmRule).toBe(b.metricAlarms.map((a) => `ALARM("${a.AlarmName}")`).join(" OR "));
    expect(c.AlarmActions).toEqual([SNS]);
    expect(c.OKActions).toEqual([SNS]);
    for (const a of b.metricAlarms) expect(a.AlarmActions ?? []).toEqual([]);
    expect(build().compositeAlarms[0]?.AlarmActions).toEqual([]);
  });

  it("refuses a composite rule over CloudWatch's 10240 characters", () => {
    const many = Array.from({ length: 40 }, (_, i) => `/endpoint-number-${i}`);
    expect(() => build({}, many)).toThrow(/composite alarm's rule would be \d+ characters/);
  });
});

describe("periods and warnings", () => {
  it("accepts what CloudWatch accepts and refuses the rest with the reason", () => {
    expect(() => build({ alarms: { periodS: 3600, evaluationPeriods: 24 } })).not.toThrow();
    expect(() => build({ alarms: { periodS: 600, evaluationPeriods: 145 } })).toThrow(/86400/);
    expect(() => build({ alarms: { periodS: 30 } })).toThrow(/storageResolutionS to 1/);
    expect(() =>
      build({ alarms: { periodS: 30 }, cloudwatch: { enabled: true, storageResolutionS: 1 } }),
    ).not.toThrow();
  });

  it("warns when nothing publishes the metrics", () => {
    expect(build({ cloudwatch: { enabled: false } }).warnings.join()).toMatch(/cloudwatch.enabled is false/);
    expect(build().warnings).toEqual([]);
  });
});

describe("names and ownership", () => {
  it("keeps names unique when endpoint slugs collide or names run long", () => {
    const names = seriesAlarmNames("Stallwatch", [
      { api: "a", route: "r", endpoint: "/x/y" },
      { api: "a", route: "r", endpoint: "/x_y" },
      { api: "a", route: "r", endpoint: `/${"long".repeat(80)}` },
    ]);
    const all = [...names.values()].flatMap((n) => Object.values(n));
    expect(new Set(all).size).toBe(9);
    for (const n of all) expect(n.length).toBeLessThanOrEqual(255);
    expect([...names.values()][0]?.p99).toMatch(/^Stallwatch-a-r-x_y-[0-9a-f]{6}-p99$/);
  });

  it("owns only alarms marked for the same namespace", () => {
    expect(isOwned(`x\n${ownershipMarker("Stallwatch")}`, "Stallwatch")).toBe(true);
    expect(isOwned(`x\n${ownershipMarker("Stallwatch-prod")}`, "Stallwatch")).toBe(false);
    expect(isOwned(undefined, "Stallwatch")).toBe(false);
  });
});

describe("the lab's PutMetricAlarm rules accept every input", () => {
  it("puts every metric alarm, then the composite", () => {
    const store = new CloudWatchAdminStore("eu-west-1");
    const b = build({ alarms: { snsTopicArn: SNS } });
    for (const a of b.metricAlarms) store.putMetricAlarm(a as unknown as Record<string, unknown>);
    for (const c of b.compositeAlarms) store.putCompositeAlarm(c as unknown as Record<string, unknown>);
    expect(store.metricAlarms.size).toBe(12);
    expect(store.compositeAlarms.size).toBe(1);
  });

  it("canonical form ignores CloudWatch's defaults and dimension order, not real changes", () => {
    const [a] = build().metricAlarms;
    const described = {
      ...a,
      Tags: undefined,
      OKActions: [],
      InsufficientDataActions: [],
      Dimensions: [...(a?.Dimensions ?? [])].reverse(),
    };
    expect(canonicalMetricAlarm(described)).toEqual(canonicalMetricAlarm(a!));
    expect(canonicalMetricAlarm({ ...described, Threshold: 1 })).not.toEqual(canonicalMetricAlarm(a!));
  });

  it('canonical form is the same whatever the shape: "Metrics": [] and null fields from an endpoint', () => {
    for (const a of build().metricAlarms) {
      expect((a.Dimensions ?? []).length).toBeGreaterThan(1); // so that order can differ
      // What a third-party endpoint returned: an empty Metrics list, nulls, dimensions in its own order.
      const described = {
        ...a,
        Tags: undefined,
        Metrics: [],
        Unit: a.Unit ?? null,
        Statistic: a.Statistic ?? null,
        ExtendedStatistic: a.ExtendedStatistic ?? null,
        Dimensions: [...(a.Dimensions ?? [])].reverse(),
      };
      expect(canonicalMetricAlarm(described)).toEqual(canonicalMetricAlarm(a));
      expect(canonicalMetricAlarm({ ...described, Dimensions: described.Dimensions.slice(1) })).not.toEqual(
        canonicalMetricAlarm(a),
      );
    }
  });

  it("canonical form sorts the dimensions inside metric-math queries too", () => {
    const query = (dims: { Name: string; Value: string }[]) => ({
      AlarmName: "m",
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanThreshold",
      Metrics: [
        {
          Id: "m1",
          MetricStat: {
            Metric: { Namespace: "N", MetricName: "X", Dimensions: dims },
            Period: 60,
            Stat: "Sum",
          },
        },
      ],
    });
    const dims = [
      { Name: "Api", Value: "a" },
      { Name: "Route", Value: "r" },
    ];
    expect(canonicalMetricAlarm(query([...dims].reverse()))).toEqual(canonicalMetricAlarm(query(dims)));
  });
});
