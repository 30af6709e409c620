/**
 * The real ElasticLoadBalancingV2Client against the lab's ELBv2 endpoint (AWS
 * Query, XML answers on loopback): the describe calls stallwatch makes, error
 * XML for unknown ARNs, throttling and 5xx, and the monitor + tracker +
 * target-unhealthy finding end to end.
 */
import {
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  TargetGroupNotFoundException,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeTopology } from "../../src/aws/elbv2/describe.js";
import { TargetHealthMonitor } from "../../src/aws/elbv2/monitor.js";
import type { Clock } from "../../src/clock.js";
import { targetUnhealthyFindings } from "../../src/diagnose/detectors/target-unhealthy.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import {
  applyLabHealth,
  Elbv2State,
  elbv2Handler,
  type LabArns,
  seedLabTopology,
} from "../../src/lab/aws/elbv2.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import type { RequestRecord } from "../../src/model.js";

let lab: AwsLab;
let state: Elbv2State;
let arns: LabArns;
let client: ElasticLoadBalancingV2Client;

const TARGETS = [
  {
    id: "t1",
    address: "127.0.0.11",
    port: 8080,
    availabilityZone: "us-west-2a",
    health: { state: "healthy" },
  },
  {
    id: "t2",
    address: "127.0.0.12",
    port: 8080,
    availabilityZone: "us-west-2b",
    health: { state: "healthy" },
  },
  {
    id: "t3",
    address: "127.0.0.13",
    port: 8080,
    availabilityZone: "us-west-2c",
    health: { state: "healthy" },
  },
];
const NODES = { "us-west-2a": "10.0.1.10", "us-west-2b": "10.0.2.10", "us-west-2c": "10.0.3.17" };

function makeClient(maxAttempts = 3): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({
    endpoint: lab.url,
    region: "us-west-2",
    credentials: { accessKeyId: "AKIDLAB", secretAccessKey: "lab-secret" },
    maxAttempts,
  });
}

beforeEach(async () => {
  state = new Elbv2State();
  arns = seedLabTopology(state, TARGETS, { nodeAddressByAz: NODES });
  lab = await startAwsLab({ handlers: [elbv2Handler(state)] });
  client = makeClient();
});

afterEach(async () => {
  client.destroy();
  await lab.close();
});

describe("lab ELBv2 endpoint with the real client", () => {
  it("answers DescribeTargetHealth in the shape the SDK parses", async () => {
    applyLabHealth(state, arns.targetGroupArn, "127.0.0.13", {
      state: "unhealthy",
      reason: "Target.Timeout",
      description: "Request timed out",
    });
    const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.targetGroupArn }));
    expect(out.TargetHealthDescriptions).toHaveLength(3);
    expect(out.TargetHealthDescriptions?.[2]).toMatchObject({
      Target: { Id: "127.0.0.13", Port: 8080, AvailabilityZone: "us-west-2c" },
      HealthCheckPort: "8080",
      TargetHealth: { State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out" },
    });
    const one = await client.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: arns.targetGroupArn,
        Targets: [{ Id: "127.0.0.12" }],
      }),
    );
    expect(one.TargetHealthDescriptions?.map((d) => d.Target?.Id)).toEqual(["127.0.0.12"]);
  });

  it("answers an unknown target group with the modelled TargetGroupNotFoundException", async () => {
    const bad = arns.targetGroupArn.replace("fedcba", "000000");
    const err = await client
      .send(new DescribeTargetHealthCommand({ TargetGroupArn: bad }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetGroupNotFoundException);
    expect(err).toMatchObject({ $metadata: { httpStatusCode: 400 }, Code: "TargetGroupNotFound" });
    await expect(
      client.send(
        new DescribeLoadBalancersCommand({
          LoadBalancerArns: [arns.loadBalancerArn.replace("0123", "9999")],
        }),
      ),
    ).rejects.toMatchObject({ name: "LoadBalancerNotFoundException" });
  });

  it("parses Throttling and 5xx error XML, and the SDK retries them", async () => {
    const one = makeClient(1);
    lab.faults.throttle(1, "elbv2");
    await expect(
      one.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.targetGroupArn })),
    ).rejects.toMatchObject({
      name: "Throttling",
      $metadata: { httpStatusCode: 400 },
    });
    lab.faults.fail5xx(1, "elbv2");
    await expect(
      one.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.targetGroupArn })),
    ).rejects.toMatchObject({
      name: "InternalFailure",
      $metadata: { httpStatusCode: 500 },
    });
    one.destroy();
    lab.faults.throttle(1, "elbv2");
    lab.faults.fail5xx(1, "elbv2");
    const out = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arns.targetGroupArn }));
    expect(out.TargetHealthDescriptions).toHaveLength(3);
  });

  it("describeTopology reads AZs, node addresses, health check and the effective cross-zone setting", async () => {
    const t = await describeTopology(client, { arn: arns.targetGroupArn });
    expect(t.ok).toBe(true);
    if (!t.ok) return;
    expect(t.value.loadBalancerArn).toBe(arns.loadBalancerArn);
    expect(t.value.zones.map((z) => [z.zoneName, z.nodeAddresses])).toEqual([
      ["us-west-2a", ["10.0.1.10"]],
      ["us-west-2b", ["10.0.2.10"]],
      ["us-west-2c", ["10.0.3.17"]],
    ]);
    expect(t.value).toMatchObject({ crossZone: false, crossZoneSource: "load-balancer", targetType: "ip" });
    expect(t.value.healthCheck).toMatchObject({ intervalS: 5, unhealthyThreshold: 2 });
    const missing = await describeTopology(client, { arn: arns.targetGroupArn.replace("fedcba", "000000") });
    expect(missing.ok).toBe(false);
    if (!missing.ok)
      expect(missing.failure).toMatchObject({ kind: "not-found", code: "TargetGroupNotFound" });
  });
});

describe("TargetHealthMonitor over HTTP, then target-unhealthy", () => {
  it("records a flapping target and an AZ without healthy targets, and explains the stalls through that AZ's node", async () => {
    let wall = Date.UTC(2025, 0, 1, 12, 0, 0);
    const clock: Clock = { now: () => wall, wallMs: () => wall };
    const monitor = new TargetHealthMonitor(client, [{ arn: arns.targetGroupArn }], { clock });
    const records: RequestRecord[] = [];
    const rec = (i: number, at: number, totalMs: number, addr: string): RequestRecord =>
      ({
        atMs: at,
        seq: i,
        seriesSeq: i,
        api: "a",
        route: "direct",
        endpoint: "/",
        method: "GET",
        url: "http://nlb/",
        tag: "probe",
        connection: "fresh",
        phasesMs: { connect: totalMs - 5, ttfb: 5, total: totalMs },
        bytes: 2,
        reused: false,
        assertions: [],
        hopHeaders: {},
        ok: true,
        remoteAddress: addr,
      }) as RequestRecord;
    const addrs = Object.values(NODES);
    let seq = 0;
    // 10 rounds, 10 s apart; rounds 4-6 the us-west-2c target is unhealthy.
    for (let round = 0; round < 10; round++) {
      const down = round >= 4 && round <= 6;
      applyLabHealth(
        state,
        arns.targetGroupArn,
        "127.0.0.13",
        down ? { state: "unhealthy", reason: "Target.Timeout" } : { state: "healthy" },
      );
      const r = await monitor.round();
      expect(r.failures).toEqual([]);
      for (let k = 0; k < 6; k++) {
        const addr = addrs[k % 3]!;
        const stalled = down && addr === NODES["us-west-2c"];
        records.push(rec(seq++, wall + 1000 + k * 1000, stalled ? 3010 : 12 + (k % 4), addr));
      }
      wall += 10_000;
    }
    const h = monitor.tracker.history();
    expect(h.transitions.filter((t) => t.from !== undefined).map((t) => `${t.from}->${t.to}`)).toEqual([
      "healthy->unhealthy",
      "unhealthy->healthy",
    ]);
    expect(h.zones).toHaveLength(1);
    expect(h.zones[0]).toMatchObject({ az: "us-west-2c" });
    const stalls = detectStalls(records);
    expect(stalls).toHaveLength(6);
    const findings = targetUnhealthyFindings(records, stalls, monitor.evidence());
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ id: "target-unhealthy", confidence: "high" });
    expect(findings[0]!.stalls.sort((a, b) => a - b)).toEqual(stalls.map((s) => s.record.seq));
    expect(findings[0]!.evidence).toMatchObject({ stallsThroughDarkAzNode: 6 });
    expect(findings[0]!.summary).toContain("us-west-2c");
  });

  it("raises nothing when every target stays healthy", async () => {
    let wall = Date.UTC(2025, 0, 1, 12, 0, 0);
    const monitor = new TargetHealthMonitor(client, [{ arn: arns.targetGroupArn }], {
      clock: { now: () => wall, wallMs: () => wall },
    });
    for (let i = 0; i < 3; i++) {
      await monitor.round();
      wall += 10_000;
    }
    const ev = monitor.evidence();
    expect(ev.history.degraded).toEqual([]);
    expect(ev.history.snapshots).toBe(3);
    expect(targetUnhealthyFindings([], [], ev)).toEqual([]);
  });
});
