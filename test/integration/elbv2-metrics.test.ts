/**
 * getEvidenceMetrics with the real CloudWatchClient against the lab's
 * CloudWatch endpoint: HealthyHostCount per AZ around a stall, fed from the
 * lab's ELBv2 state as the NLB would publish it.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  buildEvidenceQueries,
  buildGetMetricDataInputs,
  evidenceWindows,
  getEvidenceMetrics,
} from "../../src/aws/elbv2/metric-queries.js";
import { type CloudWatchLab, createCloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import { applyLabHealth, Elbv2State, nlbHealthDatums, seedLabTopology } from "../../src/lab/aws/elbv2.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";

let lab: AwsLab;
let cw: CloudWatchLab;
let client: CloudWatchClient;

beforeEach(async () => {
  cw = createCloudWatchLab();
  lab = await startAwsLab({ handlers: [cw] });
  client = new CloudWatchClient({
    endpoint: lab.url,
    region: "us-east-1",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
  });
});
afterEach(async () => {
  client.destroy();
  await lab.close();
});

describe("GetMetricData evidence over HTTP", () => {
  it("returns HealthyHostCount per AZ around a stall, joined back to its query", async () => {
    const state = new Elbv2State();
    const arns = seedLabTopology(state, [
      {
        id: "t1",
        address: "127.0.0.11",
        port: 80,
        availabilityZone: "us-west-2a",
        health: { state: "healthy" },
      },
      {
        id: "t2",
        address: "127.0.0.12",
        port: 80,
        availabilityZone: "us-west-2b",
        health: { state: "healthy" },
      },
    ]);
    const minute = 60_000;
    const t0 = Math.floor(Date.now() / minute) * minute - 30 * minute;
    for (let m = 0; m < 10; m++) {
      applyLabHealth(
        state,
        arns.targetGroupArn,
        "127.0.0.12",
        m >= 4 && m < 7 ? { state: "unhealthy", reason: "Target.Timeout" } : { state: "healthy" },
      );
      cw.metrics.datums.push(...nlbHealthDatums(state, arns.targetGroupArn, t0 + m * minute));
    }
    const queries = buildEvidenceQueries({
      targetGroups: [
        {
          targetGroupArn: arns.targetGroupArn,
          loadBalancerArn: arns.loadBalancerArn,
          zones: ["us-west-2a", "us-west-2b"],
        },
      ],
    });
    const [window] = evidenceWindows([t0 + 5 * minute + 1000], 3 * minute, 3 * minute);
    const res = await getEvidenceMetrics(client, queries, buildGetMetricDataInputs(queries, window!));
    expect(res.failures).toEqual([]);
    const healthyB = res.series.find(
      (s) => s.metricName === "HealthyHostCount" && s.dimensions.AvailabilityZone === "us-west-2b",
    );
    // Window: minutes 2..8 (3 min either side of the stall at 5:01, aligned); az b was down in minutes 4-6.
    expect(healthyB?.values).toEqual([1, 1, 0, 0, 0, 1, 1]);
    expect(healthyB?.timestampsMs[0]).toBe(t0 + 2 * minute);
    const healthyA = res.series.find(
      (s) => s.metricName === "HealthyHostCount" && s.dimensions.AvailabilityZone === "us-west-2a",
    );
    expect(healthyA?.values.every((v) => v === 1)).toBe(true);
  });

  it("returns a classified failure, not a throw, when CloudWatch is down", async () => {
    await lab.faults.down("503", "cloudwatch");
    const one = new CloudWatchClient({
      endpoint: lab.url,
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    });
    const queries = buildEvidenceQueries({ apiGateway: [{ apiName: "x", stage: "prod" }] });
    const res = await getEvidenceMetrics(
      one,
      queries,
      buildGetMetricDataInputs(queries, { startMs: 0, endMs: 600_000 }),
    );
    one.destroy();
    expect(res.series).toEqual([]);
    expect(res.failures).toMatchObject([
      { operation: "GetMetricData", kind: "server", status: 503, retryable: true },
    ]);
  });
});
