/**
 * The dashboard builder: layout within CloudWatch's limits, every widget the
 * issue asks for, every metric it names taken from the registry (and the
 * check that proves it fails on a renamed metric), and the generated example
 * in dashboards/ kept in step with the builder.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DashboardBody, MetricRow, Widget } from "../../src/aws/dashboard/body.js";
import { buildDashboard, dashboardNameFor } from "../../src/aws/dashboard/build.js";
import { dashboardMetricProblems, metricsNamed } from "../../src/aws/dashboard/rows.js";
import { METRICS } from "../../src/aws/metrics/registry.js";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { dashboardProblems } from "../../src/lab/aws/cloudwatch-admin.js";

const root = join(import.meta.dirname, "../..");
const TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app-tg/0123456789abcdef";
const LB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/app-nlb/fedcba9876543210";

function config(over: Partial<ConfigInput> = {}, endpoints = ["/a", "/b"]): ReturnType<typeof parseConfig> {
  return parseConfig({
    apis: [
      {
        name: "shop",
        routes: [
          { name: "domain", baseUrl: "https://shop.example.com" },
          { name: "execute-api", baseUrl: "https://x.execute-api.eu-west-1.amazonaws.com/prod" },
        ],
        endpoints: endpoints.map((path) => ({ path })),
        apiGateway: { apiName: "shop-api", stage: "prod" },
        targetGroups: [{ arn: TG, loadBalancerArn: LB }, { arn: TG.replace("app-tg", "other-tg") }],
      },
    ],
    aws: { region: "eu-west-1" },
    ...over,
  });
}

function build(over: Partial<ConfigInput> = {}, endpoints?: string[], logGroupName?: string) {
  const { config: c, targets } = config(over, endpoints);
  return buildDashboard({
    config: c,
    targets,
    region: "eu-west-1",
    ...(logGroupName ? { logGroupName } : {}),
  });
}

const metricWidgets = (b: DashboardBody) =>
  b.widgets.filter((w): w is Extract<Widget, { type: "metric" }> => w.type === "metric");
const byTitle = (b: DashboardBody, prefix: string) =>
  b.widgets.filter((w) => "title" in w.properties && w.properties.title.startsWith(prefix));

describe("layout and limits", () => {
  it("places every widget inside the 24-wide grid without overlaps, within the widget and line caps", () => {
    const { body } = build();
    expect(body.widgets.length).toBeGreaterThan(10);
    expect(body.widgets.length).toBeLessThanOrEqual(500);
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++)
        for (let y = w.y; y < w.y + w.height; y++) {
          const k = `${x},${y}`;
          expect(cells.has(k), `overlap at ${k}`).toBe(false);
          cells.add(k);
        }
    }
    for (const w of metricWidgets(body)) expect(w.properties.metrics.length).toBeLessThanOrEqual(30);
    expect(dashboardProblems(JSON.stringify(body))).toEqual([]);
  });

  it("splits overview graphs when there are many series and refuses more than 500 widgets", () => {
    const many = Array.from({ length: 30 }, (_, i) => `/e${i}`);
    const { body } = build({}, many);
    expect(byTitle(body, "Stall rate %").length).toBe(6); // 60 series, 10 per graph
    expect(byTitle(body, "Stall rate % (1/6)").length).toBe(1);
    const tooMany = Array.from({ length: 90 }, (_, i) => `/e${i}`);
    expect(() => build({}, tooMany)).toThrow(/more than CloudWatch's 500/);
  });

  it("names the dashboard after the namespace, with only the characters PutDashboard accepts", () => {
    expect(dashboardNameFor("Stallwatch")).toBe("Stallwatch");
    expect(dashboardNameFor("Team/Synthetics prod")).toBe("Team-Synthetics-prod");
    expect(build().name).toBe("Stallwatch");
  });
});

describe("widgets", () => {
  it("has latency p50/p90/p99/max and the phase p99s per route × endpoint", () => {
    const { body } = build();
    const latency = byTitle(body, "Latency ");
    expect(latency.map((w) => (w.properties as { title: string }).title)).toEqual([
      "Latency shop · domain · /a",
      "Latency shop · domain · /b",
      "Latency shop · execute-api · /a",
      "Latency shop · execute-api · /b",
    ]);
    const rows = (latency[0] as Extract<Widget, { type: "metric" }>).properties.metrics as MetricRow[];
    expect(rows.map((r) => (r.at(-1) as { stat: string }).stat)).toEqual(["p50", "p90", "p99", "Maximum"]);
    expect(rows[0]?.slice(0, 8)).toEqual([
      "Stallwatch",
      "Latency",
      "Api",
      "shop",
      "Route",
      "domain",
      "Endpoint",
      "/a",
    ]);
    const phases = byTitle(body, "Phases p99 shop · domain · /a")[0] as Extract<Widget, { type: "metric" }>;
    expect(phases.properties.metrics.map((r) => (r as MetricRow)[9])).toEqual([
      "dns",
      "connect",
      "tls",
      "ttfb",
      "transfer",
    ]);
  });

  it("computes the stall rate with metric math over Stalls and Requests", () => {
    const { body } = build();
    const w = byTitle(body, "Stall rate %")[0] as Extract<Widget, { type: "metric" }>;
    const exprs = w.properties.metrics.filter((r) => typeof r[0] === "object").map((r) => r[0]);
    expect(exprs).toHaveLength(4);
    expect(exprs[0]).toMatchObject({ id: "rate0", expression: "100 * st0 / rq0" });
    const ids = w.properties.metrics.map((r) => (r.at(-1) as { id?: string }).id).filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
  });

  it("shows success %, with the alarm floor as an annotation", () => {
    const { body } = build({ alarms: { successPctFloor: 97.5 } });
    const w = byTitle(body, "Success %")[0] as Extract<Widget, { type: "metric" }>;
    expect(w.properties.annotations?.horizontal[0]?.value).toBe(97.5);
    expect((w.properties.metrics[0] as MetricRow)[1]).toBe("SuccessPercent");
  });

  it("puts keep-warm beside probes only where keep-warm pings", () => {
    expect(byTitle(build().body, "Keep-warm")).toHaveLength(0);
    const { body } = build({ keepWarm: { enabled: true, endpoints: ["/b"], routes: ["domain"] } });
    const kw = byTitle(body, "Keep-warm beside probes");
    expect(kw.map((w) => (w.properties as { title: string }).title)).toEqual([
      "Keep-warm beside probes shop · domain · /b",
    ]);
    const names = (kw[0] as Extract<Widget, { type: "metric" }>).properties.metrics.map(
      (r) => (r as MetricRow)[1],
    );
    expect(names).toEqual(["Latency", "Latency", "KeepWarmLatency", "KeepWarmLatency"]);
  });

  it("lists recent stalls from the structured logs with Logs Insights, log group configurable", () => {
    const logs = build().body.widgets.filter((w) => w.type === "log");
    expect(logs).toHaveLength(2);
    const q = (logs[0]!.properties as { query: string }).query;
    expect(q).toContain("SOURCE '/stallwatch'");
    expect(q).toContain('filter event = "stall"');
    for (const f of ["api", "route", "endpoint", "totalMs", "phase", "remoteAddress", "requestId"])
      expect(q).toContain(f);
    const custom = build({}, undefined, "/ecs/prober").body.widgets.find((w) => w.type === "log");
    expect((custom!.properties as { query: string }).query).toContain("SOURCE '/ecs/prober'");
  });

  it("shows API Gateway Latency vs IntegrationLatency and NLB hosts per AZ from ARN suffixes", () => {
    const { body } = build();
    const gw = byTitle(body, "API Gateway shop-api/prod")[0] as Extract<Widget, { type: "metric" }>;
    const names = gw.properties.metrics.map((r) => (r as MetricRow).slice(0, 6).join(" "));
    expect(names).toContain("AWS/ApiGateway Latency ApiName shop-api Stage prod");
    expect(names).toContain("AWS/ApiGateway IntegrationLatency ApiName shop-api Stage prod");
    const nlb = byTitle(body, "NLB hosts per AZ")[0] as Extract<Widget, { type: "metric" }>;
    const expr = (nlb.properties.metrics[0]![0] as { expression: string }).expression;
    expect(expr).toContain("{AWS/NetworkELB,AvailabilityZone,LoadBalancer,TargetGroup}");
    expect(expr).toContain('LoadBalancer="net/app-nlb/fedcba9876543210"');
    expect(expr).toContain('TargetGroup="targetgroup/app-tg/0123456789abcdef"');
    expect(nlb.properties.region).toBe("eu-west-1");
    // The second target group has no loadBalancerArn: a text widget says what to add.
    const note = body.widgets.find((w) => w.type === "text" && w.properties.markdown.includes("other-tg"));
    expect((note!.properties as { markdown: string }).markdown).toContain("loadBalancerArn");
  });

  it("carries the configured prober dimensions on every stallwatch metric, in publisher order", () => {
    const { body } = build({
      cloudwatch: { namespace: "Synth", dimensions: { AZ: "eu-west-1a", Prober: "p1" } },
    });
    const own = metricsNamed(body).filter((m) => m.namespace === "Synth");
    expect(own.length).toBeGreaterThan(20);
    for (const m of own) expect(m.dimensions.slice(-2)).toEqual(["Prober", "AZ"]);
  });
});

describe("every metric comes from the registry", () => {
  it("names only registry metrics (with their published dimensions) and known AWS metrics", () => {
    const { body } = build({ keepWarm: { enabled: true } });
    const scope = { namespace: "Stallwatch", prober: {} };
    expect(dashboardMetricProblems(body, scope)).toEqual([]);
    const used = new Set(
      metricsNamed(body)
        .filter((m) => m.namespace === "Stallwatch")
        .map((m) => m.name),
    );
    for (const key of [
      "Latency",
      "PhaseLatency",
      "KeepWarmLatency",
      "Requests",
      "Stalls",
      "Failures",
      "SuccessPercent",
    ] as const) {
      expect(used.has(METRICS[key].name), key).toBe(true);
    }
  });

  it("catches a renamed metric, a missing dimension and an unknown AWS metric", () => {
    const { body } = build();
    const scope = { namespace: "Stallwatch", prober: {} };
    const renamed = JSON.parse(JSON.stringify(body).replaceAll('"Stalls"', '"StallCount"')) as DashboardBody;
    expect(dashboardMetricProblems(renamed, scope).join("\n")).toMatch(
      /Stallwatch StallCount is not in the metric registry/,
    );
    const noEndpoint = JSON.parse(JSON.stringify(body).replaceAll('"Endpoint","/a",', "")) as DashboardBody;
    expect(dashboardMetricProblems(noEndpoint, scope).join("\n")).toMatch(/has dimensions \[Api,Route\]/);
    const aws = JSON.parse(
      JSON.stringify(body).replaceAll("UnHealthyHostCount", "SickHostCount"),
    ) as DashboardBody;
    expect(dashboardMetricProblems(aws, scope).join("\n")).toMatch(/SickHostCount is neither/);
  });
});

describe("dashboards/stallwatch.example.json", () => {
  it("is what the builder makes of config.example.json (UPDATE_EXAMPLES=1 rewrites it)", async () => {
    const loaded = await loadConfig(join(root, "config.example.json"), {});
    const { body } = buildDashboard({ config: loaded.config, targets: loaded.targets, region: "us-west-2" });
    const file = join(root, "dashboards/stallwatch.example.json");
    const text = `${JSON.stringify(body, null, 2)}\n`;
    if (process.env.UPDATE_EXAMPLES === "1") writeFileSync(file, text);
    expect(
      readFileSync(file, "utf8"),
      "regenerate with UPDATE_EXAMPLES=1 npx vitest run test/unit/dashboard-build.test.ts",
    ).toBe(text);
  });
});
