/**
 * deploy/stallwatch.cfn.json: well-formed (every Ref, GetAtt and Condition
 * resolves, every parameter documented), the resources the issue asks for,
 * and — evaluated with a small CloudFormation intrinsic evaluator for every
 * combination of features — a task role whose statements EQUAL what
 * `stallwatch iam-policy` (buildIamPolicy) gives the same config.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildIamPolicy, buildStoreReadPolicy } from "../../src/aws/iam.js";
import { type ConfigInput, ConfigSchema } from "../../src/config/schema.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Resource {
  Type: string;
  Condition?: string;
  Properties?: { [k: string]: Json };
}
interface Template {
  Parameters: Record<string, { Type: string; Description?: string; Default?: Json; AllowedValues?: Json[] }>;
  Conditions: Record<string, Json>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: Json; Description?: string }>;
}

const tpl = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../deploy/stallwatch.cfn.json"), "utf8"),
) as Template;
const PSEUDO = ["AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::StackName", "AWS::NoValue"];
const NO_VALUE = Symbol("NoValue");

/** Evaluates intrinsics for given parameter values (unset ones take their Default). */
class Evaluator {
  private readonly params: Record<string, string>;
  private readonly conds = new Map<string, boolean>();
  constructor(values: Record<string, string>) {
    this.params = {};
    for (const [k, p] of Object.entries(tpl.Parameters)) {
      const v = values[k] ?? (p.Default === undefined ? undefined : String(p.Default));
      if (v === undefined) throw new Error(`parameter ${k} needs a value`);
      if (p.AllowedValues && !p.AllowedValues.map(String).includes(v))
        throw new Error(`${k}=${v} not allowed`);
      this.params[k] = v;
    }
    this.params["AWS::Region"] = "us-west-2";
    this.params["AWS::AccountId"] = "123456789012";
    this.params["AWS::Partition"] = "aws";
    this.params["AWS::StackName"] = "sw";
  }
  condition(name: string): boolean {
    if (!this.conds.has(name)) {
      const c = tpl.Conditions[name];
      if (c === undefined) throw new Error(`no condition ${name}`);
      this.conds.set(name, this.value(c) as unknown as boolean);
    }
    return this.conds.get(name)!;
  }
  exists(resource: string): boolean {
    const c = tpl.Resources[resource]?.Condition;
    return c === undefined || this.condition(c);
  }
  value(v: Json): Json | typeof NO_VALUE {
    if (Array.isArray(v)) return v.map((x) => this.value(x)).filter((x) => x !== NO_VALUE) as Json[];
    if (v === null || typeof v !== "object") return v;
    const [k, arg] = Object.entries(v)[0] ?? [];
    const a = arg as Json[];
    switch (k) {
      case "Ref": {
        const name = arg as string;
        if (name === "AWS::NoValue") return NO_VALUE;
        if (name in this.params) {
          const p = tpl.Parameters[name];
          return p?.Type.startsWith("List<") ? this.params[name]!.split(",") : this.params[name]!;
        }
        if (name in tpl.Resources) return `ref:${name}`;
        throw new Error(`Ref to unknown ${name}`);
      }
      case "Fn::GetAtt":
        return `${a[0]}.${a[1]}`;
      case "Fn::Sub": {
        const [text, vars] = Array.isArray(arg)
          ? [arg[0] as string, arg[1] as { [k: string]: Json }]
          : [arg as string, {}];
        return text.replace(/\$\{([^}]+)\}/g, (_, n: string) =>
          n in vars ? String(this.value(vars[n]!)) : (this.params[n] ?? `ref:${n}`),
        );
      }
      case "Fn::If":
        return this.value(this.condition(a[0] as string) ? a[1]! : a[2]!);
      case "Fn::Select":
        return (this.value(a[1]!) as Json[])[Number(a[0])]!;
      case "Fn::Equals":
        return String(this.value(a[0]!)) === String(this.value(a[1]!));
      case "Fn::Not":
        return !this.value(a[0]!);
      case "Fn::And":
        return a.every((x) => this.value(x) === true);
      case "Fn::Or":
        return a.some((x) => this.value(x) === true);
      case "Condition":
        return this.condition(arg as string);
      default: {
        const out: { [k: string]: Json } = {};
        for (const [key, val] of Object.entries(v)) {
          const r = this.value(val);
          if (r !== NO_VALUE) out[key] = r;
        }
        return out;
      }
    }
  }
  props(resource: string): { [k: string]: Json } {
    return this.value(tpl.Resources[resource]?.Properties ?? {}) as { [k: string]: Json };
  }
}

const base = { Image: "img", Subnets: "subnet-a,subnet-b,subnet-c", SecurityGroups: "sg-1" };

describe("template structure", () => {
  it("documents every parameter and resolves every Ref, GetAtt and Condition", () => {
    for (const [k, p] of Object.entries(tpl.Parameters))
      expect(p.Description?.length ?? 0, k).toBeGreaterThan(20);
    const text = JSON.stringify(tpl);
    for (const m of text.matchAll(/"Ref":"([^"]+)"/g)) {
      const n = m[1]!;
      expect(n in tpl.Parameters || n in tpl.Resources || PSEUDO.includes(n), `Ref ${n}`).toBe(true);
    }
    for (const m of text.matchAll(/"Fn::GetAtt":\["([^"]+)"/g))
      expect(m[1]! in tpl.Resources, `GetAtt ${m[1]}`).toBe(true);
    const condNames = [
      ...Object.values(tpl.Resources).flatMap((r) => (r.Condition ? [r.Condition] : [])),
      ...[...text.matchAll(/"Fn::If":\["([^"]+)"/g)].map((m) => m[1]!),
      ...[...text.matchAll(/\{"Condition":"([^"]+)"\}/g)].map((m) => m[1]!),
    ];
    expect(condNames.length).toBeGreaterThan(10);
    for (const c of condNames) expect(c in tpl.Conditions, `condition ${c}`).toBe(true);
    for (const [k, o] of Object.entries(tpl.Outputs)) expect(o.Description, k).toBeTruthy();
  });

  it("runs a Fargate task with awslogs (non-blocking) into a log group with retention", () => {
    const ev = new Evaluator({ ...base, LogRetentionDays: "14", LogGroupName: "/sw" });
    const td = ev.props("TaskDefinition");
    expect(td).toMatchObject({ RequiresCompatibilities: ["FARGATE"], NetworkMode: "awsvpc" });
    const c = (td.ContainerDefinitions as { [k: string]: Json }[])[0]!;
    expect(c.LogConfiguration).toEqual({
      LogDriver: "awslogs",
      Options: {
        "awslogs-group": "ref:LogGroup",
        "awslogs-region": "us-west-2",
        "awslogs-stream-prefix": "stallwatch",
        mode: "non-blocking",
        "max-buffer-size": "4m",
      },
    });
    // The shared store is on by default, in a bucket the stack creates.
    expect(c.Command).toEqual([
      "run",
      "-c",
      "/app/config/config.json",
      "--store-url",
      "s3://ref:Bucket/stallwatch",
    ]);
    const local = new Evaluator({ ...base, SharedStore: "false" });
    const lc = (local.props("TaskDefinition").ContainerDefinitions as { Command: Json }[])[0]!;
    expect(lc.Command).toEqual(["run", "-c", "/app/config/config.json"]);
    expect(c.LinuxParameters).toEqual({ InitProcessEnabled: true });
    expect(ev.props("LogGroup")).toEqual({ LogGroupName: "/sw", RetentionInDays: "14" });
    expect(td.TaskRoleArn).toBe("TaskRole.Arn");
    expect(td.ExecutionRoleArn).toBe("ExecutionRole.Arn");
  });

  it("mode run: an EventBridge Scheduler schedule starts the task; mode daemon: an ECS service", () => {
    const run = new Evaluator({ ...base });
    expect(run.exists("ScheduleA")).toBe(true);
    expect(run.exists("ServiceA")).toBe(false);
    expect(run.exists("SchedulerRole")).toBe(true);
    const s = run.props("ScheduleA");
    expect(s).toMatchObject({ ScheduleExpression: "rate(5 minutes)", FlexibleTimeWindow: { Mode: "OFF" } });
    expect(s.Target).toMatchObject({
      Arn: "Cluster.Arn",
      RoleArn: "SchedulerRole.Arn",
      EcsParameters: {
        TaskDefinitionArn: "ref:TaskDefinition",
        LaunchType: "FARGATE",
        NetworkConfiguration: { AwsvpcConfiguration: { Subnets: ["subnet-a", "subnet-b", "subnet-c"] } },
      },
    });
    const daemon = new Evaluator({ ...base, Mode: "daemon" });
    expect(daemon.exists("ScheduleA")).toBe(false);
    expect(daemon.exists("SchedulerRole")).toBe(false);
    expect(daemon.exists("ServiceA")).toBe(true);
    expect(daemon.props("ServiceA")).toMatchObject({ DesiredCount: 1, LaunchType: "FARGATE" });
    const c = (daemon.props("TaskDefinition").ContainerDefinitions as { Command: Json }[])[0]!;
    expect(c.Command).toEqual([
      "daemon",
      "-c",
      "/app/config/config.json",
      "--store-url",
      "s3://ref:Bucket/stallwatch",
    ]);
  });

  it("one prober per AZ pins each to one subnet", () => {
    const perAz = new Evaluator({ ...base, ProberPerAz: "true", AzCount: "3" });
    for (const [r, subnet] of [
      ["ScheduleA", "subnet-a"],
      ["ScheduleB", "subnet-b"],
      ["ScheduleC", "subnet-c"],
    ] as const) {
      expect(perAz.exists(r), r).toBe(true);
      const t = perAz.props(r).Target as {
        EcsParameters: { NetworkConfiguration: { AwsvpcConfiguration: { Subnets: Json } } };
      };
      expect(t.EcsParameters.NetworkConfiguration.AwsvpcConfiguration.Subnets).toEqual([subnet]);
    }
    const two = new Evaluator({ ...base, ProberPerAz: "true", AzCount: "2", Mode: "daemon" });
    expect(["ServiceA", "ServiceB", "ServiceC"].map((r) => two.exists(r))).toEqual([true, true, false]);
    const one = new Evaluator({ ...base, AzCount: "3" });
    expect(["ScheduleA", "ScheduleB", "ScheduleC"].map((r) => one.exists(r))).toEqual([true, false, false]);
  });
});

describe("the task role equals `stallwatch iam-policy` for the same features", () => {
  const TG = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/0123456789abcdef";
  const modes = ["api", "emf", "off"] as const;
  const combos = modes.flatMap((mode) =>
    [false, true].flatMap((gw) =>
      [false, true].flatMap((tg) =>
        [false, true].flatMap((xray) => [false, true].map((store) => ({ mode, gw, tg, xray, store }))),
      ),
    ),
  );

  it.each(combos)("%o", ({ mode, gw, tg, xray, store }) => {
    const input: ConfigInput = {
      apis: [
        {
          name: "a",
          routes: [{ name: "r", baseUrl: "https://a.example.com" }],
          endpoints: [{ path: "/" }],
          ...(gw ? { apiGateway: { apiName: "a", stage: "prod" } } : {}),
          ...(tg ? { targetGroups: [{ arn: TG }] } : {}),
        },
      ],
      cloudwatch: { enabled: mode !== "off", mode: mode === "off" ? "api" : mode, namespace: "Team/Probes" },
      xray: { enabled: xray, fetchTraces: true },
      ...(store ? { store: { url: "s3://probe-fleet/fleet/prod" } } : {}),
    };
    const want = buildIamPolicy(ConfigSchema.parse(input)).policy;
    const ev = new Evaluator({
      ...base,
      MetricsMode: mode,
      Namespace: "Team/Probes",
      ReadApiGatewayMetrics: String(gw),
      WatchTargetGroups: String(tg),
      FetchXRayTraces: String(xray),
      SharedStore: String(store),
      StoreBucket: "probe-fleet",
      StorePrefix: "fleet/prod",
    });
    if (want.Statement.length === 0) {
      expect(ev.exists("TaskPolicy")).toBe(false);
      return;
    }
    expect(ev.exists("TaskPolicy")).toBe(true);
    const doc = ev.props("TaskPolicy").PolicyDocument;
    expect(doc).toEqual(JSON.parse(JSON.stringify(want)));
    const actions = (p: { Statement: { Action: string[] }[] }) => p.Statement.flatMap((s) => s.Action).sort();
    expect(actions(doc as never)).toEqual(actions(want));
  });
});

describe("the shared S3 store", () => {
  it("creates a private, encrypted, retained bucket whose lifecycle rule expires rounds under the prefix", () => {
    const ev = new Evaluator({ ...base, StorePrefix: "fleet", StoreRetentionDays: "45" });
    expect(ev.exists("Bucket")).toBe(true);
    expect(tpl.Resources.Bucket).toMatchObject({ DeletionPolicy: "Retain" });
    const b = ev.props("Bucket");
    expect(b.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect((b.LifecycleConfiguration as { Rules: Json[] }).Rules).toEqual([
      { Id: "expire-rounds", Status: "Enabled", Prefix: "fleet/", ExpirationInDays: "45" },
      {
        Id: "abort-incomplete-uploads",
        Status: "Enabled",
        Prefix: "",
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ]);
    // The task role writes into the created bucket.
    const doc = ev.props("TaskPolicy").PolicyDocument as { Statement: { Sid: string; Resource: Json }[] };
    expect(doc.Statement.find((x) => x.Sid === "WriteStore")?.Resource).toBe(
      "arn:aws:s3:::ref:Bucket/fleet/*",
    );
  });

  it("an existing bucket by parameter: no bucket created; the read policy equals `iam-policy --report`", () => {
    const ev = new Evaluator({ ...base, StoreBucket: "probe-fleet", StorePrefix: "fleet/prod" });
    expect(ev.exists("Bucket")).toBe(false);
    expect(ev.props("FleetReportPolicy").PolicyDocument).toEqual(
      JSON.parse(JSON.stringify(buildStoreReadPolicy("s3://probe-fleet/fleet/prod").policy)),
    );
    expect(ev.value(tpl.Outputs.StoreUrl!.Value)).toBe("s3://probe-fleet/fleet/prod");
    const off = new Evaluator({ ...base, SharedStore: "false" });
    expect(["Bucket", "FleetReportPolicy"].map((r) => off.exists(r))).toEqual([false, false]);
  });
});
