/**
 * `alarms print|deploy` with the REAL @aws-sdk/client-cloudwatch against the
 * lab's CloudWatch endpoint: PutMetricAlarm / PutCompositeAlarm accept every
 * input, a second deploy changes nothing, a dry run only reads, alarms the
 * config no longer has are deleted — but only stallwatch's own.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  PutCompositeAlarmCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
} from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildAlarms } from "../../src/aws/alarms/build.js";
import { deployAlarms } from "../../src/aws/alarms/deploy.js";
import { ownershipMarker } from "../../src/aws/alarms/names.js";
import { formatChanges } from "../../src/aws/dashboard/changes.js";
import { alarmsCommand } from "../../src/cli/alarms.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import type { CloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import type { AwsLab } from "../../src/lab/aws/server.js";
import {
  type CloudWatchLabFixture,
  LAB_CREDENTIALS,
  startCloudWatchLabFixture,
} from "../helpers/cloudwatch-lab.js";

const creds = LAB_CREDENTIALS;
const SNS = "arn:aws:sns:us-east-1:123456789012:oncall";
let lab: AwsLab;
let cw: CloudWatchLab;
let client: CloudWatchClient;
let dir: string;
const saved = { ...process.env };

function configInput(endpoints = ["/health", "/orders"], p99Ms = 2000): ConfigInput {
  return {
    apis: [
      {
        name: "shop",
        routes: [{ name: "domain", baseUrl: "https://shop.example.com" }],
        endpoints: endpoints.map((path) => ({ path })),
      },
    ],
    cloudwatch: { enabled: true },
    alarms: { p99Ms, snsTopicArn: SNS },
    aws: { region: "us-east-1" },
  };
}

function built(endpoints?: string[], p99Ms?: number) {
  const { config, targets } = parseConfig(configInput(endpoints, p99Ms));
  return buildAlarms({ config, targets });
}

const writes = (): number =>
  ["PutMetricAlarm", "PutCompositeAlarm", "DeleteAlarms"].reduce(
    (n, op) => n + (cw.operations.get(op) ?? 0),
    0,
  );

async function deployedNames(): Promise<string[]> {
  const r = await client.send(new DescribeAlarmsCommand({ AlarmTypes: ["MetricAlarm", "CompositeAlarm"] }));
  return [...(r.MetricAlarms ?? []), ...(r.CompositeAlarms ?? [])].map((a) => a.AlarmName ?? "").sort();
}

let fixture: CloudWatchLabFixture | undefined;

beforeAll(async () => {
  fixture = await startCloudWatchLabFixture("sw-alarms-");
  ({ cw, lab, client, dir } = fixture);
});

afterAll(async () => {
  await fixture?.close();
  process.env = saved;
});

beforeEach(() => {
  cw.admin.metricAlarms.clear();
  cw.admin.compositeAlarms.clear();
});

describe("deploy is idempotent", () => {
  it("creates every alarm, then changes nothing on the second run", async () => {
    const first = await deployAlarms(client, built());
    expect(first.changes.map((c) => c.action)).toEqual(Array(7).fill("create"));
    expect(first.applied).toBe(7);
    expect(await deployedNames()).toEqual([
      "Stallwatch-any",
      "Stallwatch-shop-domain-health-p99",
      "Stallwatch-shop-domain-health-stalls",
      "Stallwatch-shop-domain-health-success",
      "Stallwatch-shop-domain-orders-p99",
      "Stallwatch-shop-domain-orders-stalls",
      "Stallwatch-shop-domain-orders-success",
    ]);
    const p99 = (
      await client.send(new DescribeAlarmsCommand({ AlarmNames: ["Stallwatch-shop-domain-health-p99"] }))
    ).MetricAlarms?.[0];
    expect(p99).toMatchObject({ ExtendedStatistic: "p99", EvaluateLowSampleCountPercentile: "evaluate" });
    expect(p99?.Statistic).toBeUndefined();
    const before = writes();
    const second = await deployAlarms(client, built());
    expect(second.changes.every((c) => c.action === "unchanged")).toBe(true);
    expect(second.applied).toBe(0);
    expect(writes()).toBe(before);
    expect(formatChanges(second)).toMatch(/no changes \(7 unchanged\)\n$/);
  });

  it("dry run lists updates with field diffs and stale deletions, and changes nothing", async () => {
    await deployAlarms(client, built());
    const before = writes();
    const names = await deployedNames();
    const dry = await deployAlarms(client, built(["/health"], 1500), { dryRun: true });
    expect(writes()).toBe(before);
    expect(await deployedNames()).toEqual(names);
    const byName = new Map(dry.changes.map((c) => [c.name, c]));
    expect(byName.get("Stallwatch-shop-domain-health-p99")).toMatchObject({
      action: "update",
      diff: [
        expect.objectContaining({ path: "AlarmDescription" }),
        expect.objectContaining({ path: "Threshold", from: 2000, to: 1500 }),
      ],
    });
    expect(byName.get("Stallwatch-shop-domain-health-stalls")?.action).toBe("unchanged");
    expect(byName.get("Stallwatch-any")?.diff?.map((d) => d.path)).toEqual(["AlarmRule"]);
    for (const k of ["p99", "stalls", "success"]) {
      expect(byName.get(`Stallwatch-shop-domain-orders-${k}`)).toMatchObject({
        action: "delete",
        resource: "metric-alarm",
      });
    }
    const text = formatChanges(dry);
    expect(text).toContain(
      "metric-alarm Stallwatch-shop-domain-health-p99: would update\n  ~ AlarmDescription:",
    );
    expect(text).toContain("  ~ Threshold: 2000 → 1500\n");
    // A long string shows the part that differs, not a truncated common prefix.
    expect(text).toMatch(
      /~ AlarmRule: «…health-success"\) OR ALARM\("Stallwatch-shop-domain-orders-p99"\) OR .*» → «…health-success"\)»\n/,
    );
    expect(text).toContain("metric-alarm Stallwatch-shop-domain-orders-p99: would delete\n");
    expect(text).toMatch(
      /dry run: 0 to create, 2 to update, 3 to delete, 2 unchanged; nothing was changed\n$/,
    );
  });

  it("applies updates and deletes stale alarms, leaving other owners' alarms alone", async () => {
    await deployAlarms(client, built());
    const foreign: PutMetricAlarmCommandInput = {
      AlarmName: "Stallwatch-hand-made",
      AlarmDescription: "made by a person",
      Namespace: "Stallwatch",
      MetricName: "Stalls",
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanThreshold",
    };
    await client.send(new PutMetricAlarmCommand(foreign));
    await client.send(
      new PutMetricAlarmCommand({
        ...foreign,
        AlarmName: "Stallwatch-prod-x-p99",
        AlarmDescription: `other config\n${ownershipMarker("Stallwatch-prod")}`,
      }),
    );
    const res = await deployAlarms(client, built(["/health"], 1500));
    expect(res.applied).toBe(2 + 1); // p99 + composite updated, 3 stale deleted in one call
    const names = await deployedNames();
    expect(names).toContain("Stallwatch-hand-made");
    expect(names).toContain("Stallwatch-prod-x-p99");
    expect(names.filter((n) => n.includes("orders"))).toEqual([]);
    expect((await deployAlarms(client, built(["/health"], 1500))).applied).toBe(0);
  });

  it("a dry run with nothing deployed creates nothing", async () => {
    const dry = await deployAlarms(client, built(), { dryRun: true });
    expect(dry.changes.map((c) => c.action)).toEqual(Array(7).fill("create"));
    expect(await deployedNames()).toEqual([]);
  });
});

describe("the CLI command", () => {
  it("print writes inputs the SDK accepts; deploy twice, the second changes nothing", async () => {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify(configInput()));
    const env = {
      ...saved,
      AWS_ENDPOINT_URL_CLOUDWATCH: lab.url,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    };
    process.env = env;
    let out = "";
    let err = "";
    const io = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env,
    };
    await alarmsCommand("print", { config: file }, io);
    const doc = JSON.parse(out) as { metricAlarms: PutMetricAlarmCommandInput[]; compositeAlarms: object[] };
    expect(doc.metricAlarms).toHaveLength(6);
    for (const a of doc.metricAlarms) await client.send(new PutMetricAlarmCommand(a));
    for (const c of doc.compositeAlarms) await client.send(new PutCompositeAlarmCommand(c as never));
    expect(err).toBe("");
    cw.admin.metricAlarms.clear();
    cw.admin.compositeAlarms.clear();

    out = "";
    await alarmsCommand("deploy", { config: file }, io);
    expect(out).toMatch(/7 to create, 0 to update, 0 to delete, 0 unchanged; 7 calls made\n$/);
    out = "";
    await alarmsCommand("deploy", { config: file, dryRun: true }, io);
    expect(out).toMatch(
      /dry run: 0 to create, 0 to update, 0 to delete, 7 unchanged; nothing was changed\n$/,
    );
    out = "";
    await alarmsCommand("deploy", { config: file }, io);
    expect(out).toMatch(/no changes \(7 unchanged\)\n$/);
  });
});
