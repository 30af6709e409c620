import { describe, expect, it } from "vitest";
import {
  buildDeployPolicy,
  buildIamPolicy,
  buildStoreReadPolicy,
  ELBV2_DESCRIBE_ACTIONS,
} from "../../src/aws/iam.js";
import { type ConfigInput, ConfigSchema } from "../../src/config/schema.js";

const TG = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/0123456789abcdef";
const base = {
  name: "orders",
  routes: [{ name: "main", baseUrl: "https://api.example.com" }],
  endpoints: [{ path: "/" }],
};
const cfg = (extra: Partial<ConfigInput> = {}, api: Record<string, unknown> = {}) =>
  ConfigSchema.parse({ apis: [{ ...base, ...api }], ...extra });
const actions = (c: ReturnType<typeof cfg>) =>
  buildIamPolicy(c)
    .policy.Statement.flatMap((s) => s.Action)
    .sort();

describe("buildIamPolicy", () => {
  it("needs nothing for a plain config (no AWS feature on by default)", () => {
    const r = buildIamPolicy(cfg());
    expect(r.policy).toEqual({ Version: "2012-10-17", Statement: [] });
    expect(r.notes.join(" ")).toContain("no AWS call");
  });

  it("PutMetricData only in api mode, conditioned on the namespace", () => {
    const r = buildIamPolicy(cfg({ cloudwatch: { enabled: true, namespace: "Probe/Prod" } }));
    expect(r.policy.Statement).toEqual([
      {
        Sid: "PublishMetrics",
        Effect: "Allow",
        Action: ["cloudwatch:PutMetricData"],
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": "Probe/Prod" } },
      },
    ]);
  });

  it("a shared S3 store: the prober may only PutObject under its prefix; the reader Get + List under it", () => {
    const c = cfg({ store: { url: "s3://probe-fleet/stallwatch/prod" } });
    expect(buildIamPolicy(c).policy.Statement).toEqual([
      {
        Sid: "WriteStore",
        Effect: "Allow",
        Action: ["s3:PutObject"],
        Resource: "arn:aws:s3:::probe-fleet/stallwatch/prod/*",
      },
    ]);
    expect(buildStoreReadPolicy("s3://probe-fleet/stallwatch/prod").policy.Statement).toEqual([
      {
        Sid: "ReadStore",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: "arn:aws:s3:::probe-fleet/stallwatch/prod/*",
      },
      {
        Sid: "ListStore",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: "arn:aws:s3:::probe-fleet",
        Condition: { StringLike: { "s3:prefix": ["stallwatch/prod/*"] } },
      },
    ]);
    // A whole bucket: objects anywhere in it, listing unconditioned.
    const whole = buildStoreReadPolicy("s3://probe-fleet").policy.Statement;
    expect(whole.map((s) => [s.Resource, s.Condition])).toEqual([
      ["arn:aws:s3:::probe-fleet/*", undefined],
      ["arn:aws:s3:::probe-fleet", undefined],
    ]);
  });

  it("EMF mode needs no permission and says why", () => {
    const r = buildIamPolicy(cfg({ cloudwatch: { enabled: true, mode: "emf" } }));
    expect(r.policy.Statement).toEqual([]);
    expect(r.notes.join(" ")).toMatch(/execution role.*PutLogEvents/);
  });

  it("X-Ray reads only when enabled and fetching", () => {
    expect(actions(cfg({ xray: { enabled: true } }))).toEqual(["xray:BatchGetTraces"]);
    expect(actions(cfg({ xray: { enabled: true, fetchTraces: false } }))).toEqual([]);
    expect(actions(cfg({ xray: { enabled: false, fetchTraces: true } }))).toEqual([]);
  });

  it("GetMetricData with apiGateway; plus the ELBv2 Describe calls with targetGroups", () => {
    expect(actions(cfg({}, { apiGateway: { apiName: "orders", stage: "prod" } }))).toEqual([
      "cloudwatch:GetMetricData",
    ]);
    expect(actions(cfg({}, { targetGroups: [{ arn: TG }] }))).toEqual(
      ["cloudwatch:GetMetricData", ...ELBV2_DESCRIBE_ACTIONS].sort(),
    );
  });

  it("everything at once: one statement per feature, never a wildcard action", () => {
    const r = buildIamPolicy(
      cfg({ cloudwatch: { enabled: true }, xray: { enabled: true } }, { targetGroups: [{ arn: TG }] }),
    );
    expect(r.policy.Statement.map((s) => s.Sid)).toEqual([
      "PublishMetrics",
      "ReadEvidenceMetrics",
      "ReadStallTraces",
      "ReadTargetHealth",
    ]);
    for (const s of r.policy.Statement) for (const a of s.Action) expect(a).not.toContain("*");
    expect(r.policy.Statement.flatMap((s) => s.Action)).not.toContain("cloudwatch:PutDashboard");
  });
});

describe("buildDeployPolicy", () => {
  it("scopes dashboards and alarms to the name prefix and region, separately from the runtime policy", () => {
    const r = buildDeployPolicy(
      cfg({ cloudwatch: { namespace: "Stallwatch" }, aws: { region: "eu-west-1" } }),
    );
    expect(r.policy.Statement).toContainEqual({
      Sid: "DeployDashboard",
      Effect: "Allow",
      Action: ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard"],
      Resource: "arn:aws:cloudwatch::*:dashboard/Stallwatch*",
    });
    expect(r.policy.Statement).toContainEqual({
      Sid: "DeployAlarms",
      Effect: "Allow",
      Action: [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:PutCompositeAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:TagResource",
      ],
      Resource: "arn:aws:cloudwatch:eu-west-1:*:alarm:Stallwatch-*",
    });
    // Dashboard names cannot hold '/': the policy names what deploy really creates.
    expect(
      buildDeployPolicy(cfg({ cloudwatch: { namespace: "Team/Probes" } })).policy.Statement[0]?.Resource,
    ).toBe("arn:aws:cloudwatch::*:dashboard/Team-Probes*");
    expect(buildDeployPolicy(cfg(), { namePrefix: "sw-" }).policy.Statement[1]?.Resource).toBe(
      "arn:aws:cloudwatch:*:*:alarm:sw-*",
    );
  });
});

describe("deploy policy covers what the deployers call", () => {
  it("grants exactly the CloudWatch operations src/aws/{dashboard,alarms}/deploy.ts send", async () => {
    const { readFileSync } = await import("node:fs");
    const sources = ["src/aws/dashboard/deploy.ts", "src/aws/alarms/deploy.ts"].map((f) =>
      readFileSync(f, "utf8"),
    );
    const called = new Set(
      sources.flatMap((s) =>
        [...s.matchAll(/new ([A-Z][A-Za-z]+)Command\(/g)].map((m) => `cloudwatch:${m[1]}`),
      ),
    );
    // Alarms are created with Tags (the ownership marker): that needs TagResource, not a call of its own.
    called.add("cloudwatch:TagResource");
    const granted = new Set(buildDeployPolicy(cfg()).policy.Statement.flatMap((st) => st.Action));
    expect(called.size).toBeGreaterThan(3);
    expect([...granted].sort()).toEqual([...called].sort());
  });
});
