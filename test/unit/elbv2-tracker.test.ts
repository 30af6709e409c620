import { describe, expect, it } from "vitest";
import { resolveCrossZone, snapshotFromOutput, topologyFromOutputs } from "../../src/aws/elbv2/describe.js";
import { targetGroupsOf } from "../../src/aws/elbv2/monitor.js";
import { TargetHealthTracker } from "../../src/aws/elbv2/tracker.js";
import type { TargetHealthEntry } from "../../src/model.js";

const TG = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/0123456789abcdef";
const t = (id: string, az: string, state: string, reason?: string): TargetHealthEntry => ({
  id,
  port: 80,
  az,
  state,
  ...(reason ? { reason } : {}),
});

describe("TargetHealthTracker", () => {
  it("records transitions bracketed by the observations around them, and degraded spans", () => {
    const tr = new TargetHealthTracker();
    expect(
      tr.observe({
        targetGroupArn: TG,
        atMs: 1000,
        targets: [t("a", "az1", "healthy"), t("b", "az2", "initial", "Elb.RegistrationInProgress")],
      }),
    ).toHaveLength(2);
    const changed = tr.observe({
      targetGroupArn: TG,
      atMs: 2000,
      targets: [t("a", "az1", "unhealthy", "Target.Timeout"), t("b", "az2", "healthy")],
    });
    expect(changed.map((c) => [c.targetId, c.from, c.to, c.prevAtMs, c.atMs])).toEqual([
      ["a", "healthy", "unhealthy", 1000, 2000],
      ["b", "initial", "healthy", 1000, 2000],
    ]);
    tr.observe({
      targetGroupArn: TG,
      atMs: 3000,
      targets: [t("a", "az1", "unhealthy", "Target.Timeout"), t("b", "az2", "healthy")],
    });
    tr.observe({
      targetGroupArn: TG,
      atMs: 4000,
      targets: [t("a", "az1", "draining", "Target.DeregistrationInProgress"), t("b", "az2", "healthy")],
    });
    tr.observe({ targetGroupArn: TG, atMs: 5000, targets: [t("b", "az2", "healthy")] });
    const h = tr.history();
    expect(h.snapshots).toBe(5);
    expect(h.transitions.at(-1)).toMatchObject({
      targetId: "a",
      from: "draining",
      to: "deregistered",
      atMs: 5000,
    });
    expect(h.degraded.map((w) => [w.targetId, w.state, w.sinceMs, w.fromMs, w.toMs])).toEqual([
      ["b", "initial", undefined, 1000, 2000],
      ["a", "unhealthy", 1000, 2000, 4000],
      ["a", "draining", undefined, 4000, 5000],
    ]);
    expect(h.zones.map((z) => [z.az, z.fromMs, z.toMs])).toEqual([
      ["az2", 1000, 2000],
      ["az1", 2000, undefined],
    ]);
  });

  it("counts an NLB AZ without registered targets as dark, and ignores out-of-order snapshots", () => {
    const tr = new TargetHealthTracker({ maxEntries: 2 });
    tr.setZones(TG, ["az1", "az2"]);
    tr.observe({ targetGroupArn: TG, atMs: 1000, targets: [t("a", "az1", "unhealthy")] });
    expect(tr.observe({ targetGroupArn: TG, atMs: 500, targets: [] })).toEqual([]);
    tr.observe({
      targetGroupArn: TG,
      atMs: 2000,
      targets: [t("a", "az1", "unhealthy"), t("b", "az2", "healthy")],
    });
    const h = tr.history();
    expect(h.zones.map((z) => [z.az, z.targets.length, z.toMs])).toEqual([
      ["az2", 0, 2000],
      ["az1", 1, undefined],
    ]);
    expect(h.degraded[0]).toMatchObject({ targetId: "a", fromMs: 1000 });
    expect(h.degraded[0]?.toMs).toBeUndefined();
  });

  it("bounds what it keeps", () => {
    const tr = new TargetHealthTracker({ maxEntries: 3 });
    for (let i = 0; i < 20; i++)
      tr.observe({
        targetGroupArn: TG,
        atMs: i * 1000,
        targets: [t("a", "az1", i % 2 ? "healthy" : "unhealthy")],
      });
    expect(tr.transitions()).toHaveLength(3);
    expect(tr.history().degraded.length).toBeLessThanOrEqual(3);
  });
});

describe("ELBv2 output mapping", () => {
  it("maps DescribeTargetHealth output, keeping unknown states as strings", () => {
    const s = snapshotFromOutput(TG, 42, {
      TargetHealthDescriptions: [
        {
          Target: { Id: "10.0.1.5", Port: 80, AvailabilityZone: "us-west-2a" },
          TargetHealth: { State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out" },
        },
        { Target: { Id: "i-0abc" }, TargetHealth: { State: "healthy" } },
        { TargetHealth: { State: "healthy" } },
      ],
    });
    expect(s).toEqual({
      targetGroupArn: TG,
      atMs: 42,
      targets: [
        {
          id: "10.0.1.5",
          port: 80,
          az: "us-west-2a",
          state: "unhealthy",
          reason: "Target.Timeout",
          description: "Request timed out",
        },
        { id: "i-0abc", state: "healthy" },
      ],
    });
  });

  it("resolves cross-zone: target group attribute, else the NLB's, else off", () => {
    expect(resolveCrossZone("true", "false")).toEqual({ crossZone: true, crossZoneSource: "target-group" });
    expect(resolveCrossZone("use_load_balancer_configuration", "true")).toEqual({
      crossZone: true,
      crossZoneSource: "load-balancer",
    });
    expect(resolveCrossZone(undefined, undefined)).toEqual({ crossZone: false, crossZoneSource: "default" });
  });

  it("maps the topology with node addresses per AZ", () => {
    const topo = topologyFromOutputs(
      TG,
      1,
      { TargetGroupName: "tg", HealthCheckIntervalSeconds: 10, UnhealthyThresholdCount: 3 },
      {
        LoadBalancerArn: "arn:lb",
        AvailabilityZones: [
          {
            ZoneName: "us-west-2a",
            LoadBalancerAddresses: [{ IpAddress: "203.0.113.5", PrivateIPv4Address: "10.0.1.9" }],
          },
          { ZoneName: "us-west-2b" },
        ],
      },
      [],
      [{ Key: "load_balancing.cross_zone.enabled", Value: "false" }],
    );
    expect(topo.zones).toEqual([
      { zoneName: "us-west-2a", nodeAddresses: ["203.0.113.5", "10.0.1.9"] },
      { zoneName: "us-west-2b", nodeAddresses: [] },
    ]);
    expect(topo).toMatchObject({
      crossZone: false,
      crossZoneSource: "load-balancer",
      healthCheck: { intervalS: 10, unhealthyThreshold: 3 },
    });
  });

  it("collects configured target groups across APIs, once each", () => {
    const lb = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/n/0123456789abcdef";
    expect(
      targetGroupsOf({
        apis: [{ targetGroups: [{ arn: TG }] }, { targetGroups: [{ arn: TG, loadBalancerArn: lb }] }, {}],
      } as never),
    ).toEqual([{ arn: TG, loadBalancerArn: lb }]);
  });
});
