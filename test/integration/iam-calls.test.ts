/**
 * The IAM policies grant exactly what is called. Every request that reaches
 * the lab's AWS endpoint is recorded as the IAM actions it needs (the lab
 * server's `actions`, parameters included: an alarm created with Tags needs
 * cloudwatch:TagResource), while a round with every AWS feature on runs
 * through the real SDK clients, and while the dashboard and the alarms are
 * deployed. The runtime policy must equal the runtime calls, the deploy
 * policy the deploy calls: nothing missing (AccessDenied in production),
 * nothing extra (more than least privilege).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it } from "vitest";
import { awsParts } from "../../src/app/aws.js";
import { runPipeline } from "../../src/app/pipeline.js";
import { buildAlarms } from "../../src/aws/alarms/build.js";
import { deployAlarms } from "../../src/aws/alarms/deploy.js";
import { buildDashboard } from "../../src/aws/dashboard/build.js";
import { deployDashboard } from "../../src/aws/dashboard/deploy.js";
import { buildDeployPolicy, buildIamPolicy } from "../../src/aws/iam.js";
import { parseConfig } from "../../src/config/load.js";
import { type LabAws, startLabAws, withLabAws } from "../../src/lab/aws/feed.js";
import { type Lab, labConfig, startLab } from "../../src/lab/index.js";
import { BAD_TARGET_INDEX } from "../../src/lab/scenarios.js";

let lab: Lab | undefined;
let labAws: LabAws | undefined;
let tmp: string | undefined;
const saved = { ...process.env };

afterEach(async () => {
  await labAws?.close();
  await lab?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  process.env = { ...saved };
});

const granted = (st: { Action: string[] }[]): string[] => [...new Set(st.flatMap((s) => s.Action))].sort();
const distinct = (a: readonly string[]): string[] => [...new Set(a)].sort();

describe("IAM policies against the calls actually made", () => {
  it("runtime and deploy policies grant exactly the actions the lab endpoint saw", async () => {
    lab = await startLab({
      scenario: "bad-target",
      timings: { slowMs: 600, healthFlapPeriodMs: 600_000, healthCheckIntervalMs: 100 },
      seed: 11,
    });
    labAws = await startLabAws(lab, { traceDelayMs: 50, nlbMetricsIntervalMs: 200 });
    tmp = mkdtempSync(join(tmpdir(), "sw-iam-calls-"));
    const input = withLabAws(labConfig(lab), labAws, { spoolDir: join(tmp, "spool"), pollTimeoutS: 3 });
    const loaded = parseConfig({
      ...input,
      probe: { count: 4, concurrency: 2, connection: "fresh", stallMs: 400, timeoutMs: 5000 },
      alarms: { p99Ms: 2000 },
    });
    const bad = lab.targets[BAD_TARGET_INDEX]!;
    lab.setTargetHealth(bad.id, { state: "unhealthy", reason: "Target.Timeout" });

    // Runtime: one round with every AWS feature the config enables.
    const aws = awsParts(loaded, {
      log: () => {},
      endpointUrl: labAws.url,
      traceInitialDelayMs: 100,
    });
    try {
      expect(aws.features).toMatchObject({ xrayHeader: true, targetHealth: true, publish: true });
      const res = await runPipeline({
        loaded,
        probe: { warmUp: false },
        sources: aws.sources,
        pollMs: 200,
        ...(aws.metrics ? { metrics: aws.metrics } : {}),
      });
      expect(res.stalls.length).toBeGreaterThan(0); // so the trace and evidence reads run
      expect(res.failures).toEqual([]);
    } finally {
      await aws.close();
    }
    const runtimeCalls = distinct(labAws.server.actions);
    expect(runtimeCalls).toContain("cloudwatch:PutMetricData");
    expect(granted(buildIamPolicy(loaded.config).policy.Statement)).toEqual(runtimeCalls);

    // Deploy: the dashboard and the alarms, created, then again with one endpoint fewer (a stale
    // alarm is deleted), then once more unchanged.
    const before = labAws.server.actions.length;
    const client = new CloudWatchClient({
      endpoint: labAws.url,
      region: labAws.region,
      credentials: { accessKeyId: "AKIDLAB", secretAccessKey: "lab" },
    });
    const dashboard = buildDashboard({
      config: loaded.config,
      targets: loaded.targets,
      region: labAws.region,
    });
    const alarms = buildAlarms({ config: loaded.config, targets: loaded.targets });
    const extra = { ...loaded.targets[0]!, endpoint: "/retired" };
    const before2 = buildAlarms({ config: loaded.config, targets: [...loaded.targets, extra] });
    await deployAlarms(client, before2);
    for (let i = 0; i < 2; i++) {
      await deployDashboard(client, dashboard);
      await deployAlarms(client, alarms);
    }
    client.destroy();
    const deployCalls = distinct(labAws.server.actions.slice(before));
    expect(deployCalls).toContain("cloudwatch:TagResource");
    expect(granted(buildDeployPolicy(loaded.config).policy.Statement)).toEqual(deployCalls);
  });
});
