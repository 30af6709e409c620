/**
 * `dashboard print|deploy` with the REAL @aws-sdk/client-cloudwatch against
 * the lab's CloudWatch endpoint on loopback: PutDashboard accepts the body,
 * a second deploy changes nothing, a dry run only reads, failures are
 * StallwatchErrors.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CloudWatchClient, GetDashboardCommand, PutDashboardCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildDashboard } from "../../src/aws/dashboard/build.js";
import { formatChanges } from "../../src/aws/dashboard/changes.js";
import { deployDashboard } from "../../src/aws/dashboard/deploy.js";
import { dashboardCommand } from "../../src/cli/dashboard.js";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { StallwatchError } from "../../src/errors.js";
import type { CloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import type { AwsLab } from "../../src/lab/aws/server.js";
import {
  type CloudWatchLabFixture,
  LAB_CREDENTIALS,
  startCloudWatchLabFixture,
} from "../helpers/cloudwatch-lab.js";

const creds = LAB_CREDENTIALS;
let lab: AwsLab;
let cw: CloudWatchLab;
let client: CloudWatchClient;
let dir: string;
const saved = { ...process.env };

function configInput(p99Ms = 2000): ConfigInput {
  return {
    apis: [
      {
        name: "shop",
        routes: [{ name: "domain", baseUrl: "https://shop.example.com" }],
        endpoints: [{ path: "/health" }, { path: "/orders" }],
        apiGateway: { apiName: "shop-api", stage: "prod" },
        targetGroups: [
          {
            arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef",
            loadBalancerArn:
              "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nlb/fedcba9876543210",
          },
        ],
      },
    ],
    cloudwatch: { enabled: true },
    alarms: { p99Ms },
    aws: { region: "us-east-1" },
  };
}

function built(p99Ms?: number) {
  const { config, targets } = parseConfig(configInput(p99Ms));
  return buildDashboard({ config, targets, region: "us-east-1" });
}

const puts = (): number => cw.operations.get("PutDashboard") ?? 0;

let fixture: CloudWatchLabFixture | undefined;

beforeAll(async () => {
  fixture = await startCloudWatchLabFixture("sw-dash-");
  ({ cw, lab, client, dir } = fixture);
});

afterAll(async () => {
  await fixture?.close();
  process.env = saved;
});

beforeEach(async () => {
  cw.admin.dashboards.clear();
  await lab.faults.reset();
});

describe("deploy is idempotent", () => {
  it("creates, then changes nothing on the second run", async () => {
    const b = built();
    const first = await deployDashboard(client, b);
    expect(first.changes).toEqual([{ action: "create", resource: "dashboard", name: "Stallwatch" }]);
    expect(first.applied).toBe(1);
    const got = await client.send(new GetDashboardCommand({ DashboardName: "Stallwatch" }));
    expect(JSON.parse(got.DashboardBody ?? "")).toEqual(b.body);
    const before = puts();
    const second = await deployDashboard(client, built());
    expect(second.changes[0]?.action).toBe("unchanged");
    expect(second.applied).toBe(0);
    expect(puts()).toBe(before);
    expect(formatChanges(second)).toContain("no changes (1 unchanged)");
  });

  it("dry run shows the field diff and changes nothing; the real run then applies it", async () => {
    await deployDashboard(client, built(2000));
    const stored = cw.admin.dashboards.get("Stallwatch")?.body;
    const before = puts();
    const dry = await deployDashboard(client, built(1500), { dryRun: true });
    expect(dry.changes[0]?.action).toBe("update");
    expect(dry.changes[0]?.diff).toContainEqual(expect.objectContaining({ from: 2000, to: 1500 }));
    expect(dry.applied).toBe(0);
    expect(puts()).toBe(before);
    expect(cw.admin.dashboards.get("Stallwatch")?.body).toBe(stored);
    expect(formatChanges(dry)).toMatch(
      /dashboard Stallwatch: would update\n {2}~ widgets\[\d+\]\.properties\.annotations\.horizontal\[0\]\.value: 2000 → 1500/,
    );
    const real = await deployDashboard(client, built(1500));
    expect(real.applied).toBe(1);
    expect((await deployDashboard(client, built(1500))).changes[0]?.action).toBe("unchanged");
  });

  it("dry run against nothing deployed says create and creates nothing", async () => {
    const dry = await deployDashboard(client, built(), { dryRun: true });
    expect(dry.changes[0]?.action).toBe("create");
    expect(cw.admin.dashboards.size).toBe(0);
  });
});

describe("the lab really validates (so 'accepted' means something)", () => {
  it("rejects a widget wider than the grid through the same SDK call", async () => {
    const b = built();
    const bad = { ...b.body, widgets: [{ ...b.body.widgets[0]!, width: 25 }] };
    await expect(
      client.send(new PutDashboardCommand({ DashboardName: "bad", DashboardBody: JSON.stringify(bad) })),
    ).rejects.toThrow(/dashboard body is invalid/);
  });

  it("turns an AWS failure into a StallwatchError naming the call", async () => {
    await lab.faults.down("503", "cloudwatch");
    const err = await deployDashboard(client, built()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StallwatchError);
    expect((err as StallwatchError).code).toBe("SW_AWS");
    expect((err as Error).message).toMatch(/GetDashboard failed \(server, ServiceUnavailable\)/);
  });
});

describe("the CLI command", () => {
  it("print writes a body PutDashboard accepts; deploy and deploy --dry-run print what changed", async () => {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify(configInput()));
    const env = {
      ...saved,
      AWS_ENDPOINT_URL_CLOUDWATCH: lab.url,
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      STALLWATCH_LOG_GROUP: "/ecs/stallwatch",
    };
    process.env = env; // the SDK reads endpoint and credentials from the process environment
    let out = "";
    const stdout = { write: (s: string) => (out += s) };
    await dashboardCommand("print", { config: file }, { stdout, env });
    const body = JSON.parse(out) as { widgets: { type: string; properties: { query?: string } }[] };
    expect(body.widgets.find((w) => w.type === "log")?.properties.query).toContain(
      "SOURCE '/ecs/stallwatch'",
    );
    await client.send(new PutDashboardCommand({ DashboardName: "printed", DashboardBody: out }));

    out = "";
    await dashboardCommand("deploy", { config: file, dryRun: true }, { stdout, env });
    expect(out).toBe(
      "dashboard Stallwatch: would create\ndry run: 1 to create, 0 to update, 0 to delete, 0 unchanged; nothing was changed\n",
    );
    expect(cw.admin.dashboards.has("Stallwatch")).toBe(false);
    out = "";
    await dashboardCommand("deploy", { config: file }, { stdout, env });
    expect(out).toBe(
      "dashboard Stallwatch: create\n1 to create, 0 to update, 0 to delete, 0 unchanged; 1 call made\n",
    );
    out = "";
    await dashboardCommand("deploy", { config: file }, { stdout, env });
    expect(out).toBe("dashboard Stallwatch: unchanged\nno changes (1 unchanged)\n");
    await expect(dashboardCommand("print", { config: file, dryRun: true }, { stdout, env })).rejects.toThrow(
      /--dry-run goes with deploy/,
    );
    await expect(dashboardCommand("apply", { config: file }, { stdout, env })).rejects.toThrow(
      /unknown action 'apply'/,
    );
  });
});
