import { describe, expect, it } from "vitest";
import {
  arnSuffix,
  buildEvidenceQueries,
  buildGetMetricDataInputs,
  evidenceWindows,
  GET_METRIC_DATA_MAX_POINTS,
  GET_METRIC_DATA_MAX_QUERIES,
} from "../../src/aws/elbv2/metric-queries.js";

const LB = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/my-nlb/50dc6c495c0c9188";
const TG = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";

describe("GetMetricData evidence queries", () => {
  it("takes NLB dimension values from ARN suffixes", () => {
    expect(arnSuffix(LB)).toBe("net/my-nlb/50dc6c495c0c9188");
    expect(arnSuffix(TG)).toBe("targetgroup/my-targets/73e2d6bc24d8a067");
    expect(arnSuffix("arn:aws:sns:us-west-2:1:x")).toBeUndefined();
  });

  it("builds API Gateway and per-AZ NLB queries with valid, unique ids", () => {
    const qs = buildEvidenceQueries({
      apiGateway: [{ apiName: "orders", stage: "prod" }],
      targetGroups: [
        { targetGroupArn: TG, loadBalancerArn: LB, zones: ["us-west-2a", "us-west-2b"] },
        { targetGroupArn: TG.replace("my-targets", "other"), loadBalancerArn: LB, zones: [] },
      ],
    });
    const ids = qs.map((q) => q.query.Id ?? "");
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
    const names = qs.map(
      (q) => `${q.namespace} ${q.metricName} ${q.stat} ${Object.values(q.dimensions).join(",")}`,
    );
    expect(names).toEqual([
      "AWS/ApiGateway Latency p99 orders,prod",
      "AWS/ApiGateway Latency Maximum orders,prod",
      "AWS/ApiGateway IntegrationLatency p99 orders,prod",
      "AWS/ApiGateway IntegrationLatency Maximum orders,prod",
      "AWS/ApiGateway 4XXError Sum orders,prod",
      "AWS/ApiGateway 5XXError Sum orders,prod",
      "AWS/ApiGateway Count Sum orders,prod",
      "AWS/NetworkELB HealthyHostCount Minimum net/my-nlb/50dc6c495c0c9188,targetgroup/my-targets/73e2d6bc24d8a067,us-west-2a",
      "AWS/NetworkELB UnHealthyHostCount Maximum net/my-nlb/50dc6c495c0c9188,targetgroup/my-targets/73e2d6bc24d8a067,us-west-2a",
      "AWS/NetworkELB HealthyHostCount Minimum net/my-nlb/50dc6c495c0c9188,targetgroup/my-targets/73e2d6bc24d8a067,us-west-2b",
      "AWS/NetworkELB UnHealthyHostCount Maximum net/my-nlb/50dc6c495c0c9188,targetgroup/my-targets/73e2d6bc24d8a067,us-west-2b",
      "AWS/NetworkELB TCP_Target_Reset_Count Sum net/my-nlb/50dc6c495c0c9188",
      "AWS/NetworkELB TCP_ELB_Reset_Count Sum net/my-nlb/50dc6c495c0c9188",
    ]);
    expect(qs[7]?.query.MetricStat?.Metric?.Dimensions).toEqual([
      { Name: "LoadBalancer", Value: "net/my-nlb/50dc6c495c0c9188" },
      { Name: "TargetGroup", Value: "targetgroup/my-targets/73e2d6bc24d8a067" },
      { Name: "AvailabilityZone", Value: "us-west-2a" },
    ]);
  });

  it("merges windows around stalls, aligned to minutes", () => {
    const t = Date.UTC(2025, 0, 1, 12, 0, 30);
    expect(evidenceWindows([t + 120_000, t])).toEqual([
      { startMs: Date.UTC(2025, 0, 1, 11, 55), endMs: Date.UTC(2025, 0, 1, 12, 8) },
    ]);
    expect(evidenceWindows([t, t + 3_600_000])).toHaveLength(2);
  });

  it("splits at 500 queries per call, and fewer when the window would pass 100,800 points", () => {
    const many = buildEvidenceQueries({
      targetGroups: Array.from({ length: 130 }, (_, i) => ({
        targetGroupArn: TG.replace("my-targets", `tg${i}`),
        loadBalancerArn: LB.replace("my-nlb", `nlb${i}`),
        zones: ["a", "b", "c"],
      })),
    });
    expect(many).toHaveLength(130 * 8);
    const tenMin = { startMs: 0, endMs: 600_000 };
    const calls = buildGetMetricDataInputs(many, tenMin);
    expect(calls.map((c) => c.MetricDataQueries?.length)).toEqual([500, 500, 40]);
    expect(calls[0]?.StartTime).toEqual(new Date(0));
    const week = { startMs: 0, endMs: 7 * 86_400_000 };
    const big = buildGetMetricDataInputs(many, week);
    for (const c of big) {
      expect(c.MetricDataQueries!.length).toBeLessThanOrEqual(GET_METRIC_DATA_MAX_QUERIES);
      expect(c.MetricDataQueries!.length * (7 * 1440)).toBeLessThanOrEqual(GET_METRIC_DATA_MAX_POINTS);
    }
    expect(big[0]?.MetricDataQueries).toHaveLength(10);
    expect(big.flatMap((c) => c.MetricDataQueries)).toHaveLength(many.length);
  });
});
