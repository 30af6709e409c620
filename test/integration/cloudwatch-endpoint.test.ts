/**
 * The REAL @aws-sdk/client-cloudwatch against the lab's CloudWatch endpoint
 * over loopback HTTP: wire protocol, error parsing, limits, GetMetricData
 * percentiles, dashboards and alarms.
 */
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  GetMetricDataCommand,
  ListDashboardsCommand,
  ListMetricsCommand,
  PutCompositeAlarmCommand,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudWatchClient } from "../../src/aws/clients.js";
import { buildMetricPoints } from "../../src/aws/metrics/points.js";
import { buildPutMetricDataInputs } from "../../src/aws/metrics/put.js";
import { type CloudWatchLab, createCloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import type { AwsLabRequest, AwsServiceHandler } from "../../src/lab/aws/server.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import { HistogramSet } from "../../src/record/histograms.js";

const creds = { accessKeyId: "AKIDLAB", secretAccessKey: "lab-secret" };
let lab: AwsLab;
let cw: CloudWatchLab;
let client: CloudWatchClient;
const seen: { target?: string; encoding?: string; queryMode?: string; ctype?: string }[] = [];
const saved = { ...process.env };

/** Wraps the handler to record the headers the SDK sent. */
function recording(h: CloudWatchLab): AwsServiceHandler {
  return {
    name: h.name,
    matches: (r) => h.matches(r),
    renderError: (r, e) => h.renderError(r, e),
    handle: (r: AwsLabRequest, body: Buffer) => {
      seen.push({
        ...(r.target ? { target: r.target } : {}),
        encoding: String(r.headers["content-encoding"] ?? ""),
        queryMode: String(r.headers["x-amzn-query-mode"] ?? ""),
        ctype: String(r.headers["content-type"] ?? ""),
      });
      return h.handle(r, body);
    },
  };
}

beforeAll(async () => {
  cw = createCloudWatchLab();
  lab = await startAwsLab({ handlers: [recording(cw)] });
  // The standard SDK override, no explicit endpoint: proves AWS_ENDPOINT_URL_CLOUDWATCH is honoured.
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = lab.url;
  client = await createCloudWatchClient({ region: "us-east-1", credentials: creds, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await lab?.close();
  process.env = saved;
});

function lognormalSet(n: number, seed = 7): HistogramSet {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s + 0.5) / 2 ** 31;
  };
  const set = new HistogramSet();
  const key = {
    api: "shop",
    route: "execute-api",
    endpoint: "/health",
    connection: "reuse" as const,
    tag: "probe" as const,
  };
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
    const ms = Math.exp(Math.log(40) + 0.6 * z) + (i % 97 === 0 ? 3000 + 40 * (i % 13) : 0);
    set.recordValue(key, "total", ms);
    set.recordValue(key, "ttfb", ms * 0.8);
  }
  return set;
}

describe("lab CloudWatch with the real SDK", () => {
  it("speaks AWS JSON 1.0 with query mode, reached through AWS_ENDPOINT_URL_CLOUDWATCH", async () => {
    await client.send(new ListMetricsCommand({ Namespace: "None" }));
    const last = seen.at(-1);
    expect(last?.target).toBe("GraniteServiceVersion20100801.ListMetrics");
    expect(last?.ctype).toBe("application/x-amz-json-1.0");
    expect(last?.queryMode).toBe("true");
  });

  it("stores a published distribution whose p50/p99/p99.9 match the histogram within 1%", async () => {
    const set = lognormalSet(20_000);
    const ts = Date.now() - 60_000;
    const ctx = { namespace: "SwTest", storageResolutionS: 60 as const, dimensions: { Prober: "lab-1" } };
    const inputs = buildPutMetricDataInputs(
      buildMetricPoints({ histograms: set, counts: [], timestampMs: ts }, ctx),
      ctx,
    );
    for (const input of inputs) await client.send(new PutMetricDataCommand(input));
    // A 5.8 KB body: under the SDK's 10,240-byte compression threshold, so sent plain.
    expect(seen.at(-1)?.encoding).toBe("");

    const h = set.get(
      { api: "shop", route: "execute-api", endpoint: "/health", connection: "reuse", tag: "probe" },
      "total",
    )!;
    const dims = [
      { Name: "Api", Value: "shop" },
      { Name: "Route", Value: "execute-api" },
      { Name: "Endpoint", Value: "/health" },
      { Name: "Prober", Value: "lab-1" },
    ];
    const stats = ["p50", "p99", "p99.9", "SampleCount", "Maximum"];
    const out = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(ts - 3_600_000),
        EndTime: new Date(ts + 3_600_000),
        MetricDataQueries: stats.map((s, i) => ({
          Id: `q${i}`,
          MetricStat: {
            Metric: { Namespace: "SwTest", MetricName: "Latency", Dimensions: dims },
            Period: 3600,
            Stat: s,
          },
        })),
      }),
    );
    const v = (i: number): number => out.MetricDataResults?.[i]?.Values?.[0] ?? Number.NaN;
    expect(out.MetricDataResults?.[0]?.Timestamps?.[0]).toBeInstanceOf(Date);
    const pairs: [number, number][] = [
      [v(0), h.getValueAtPercentile(50) / 1000],
      [v(1), h.getValueAtPercentile(99) / 1000],
      [v(2), h.getValueAtPercentile(99.9) / 1000],
    ];
    for (const [got, want] of pairs) expect(Math.abs(got - want) / want).toBeLessThanOrEqual(0.01);
    expect(v(3)).toBe(20_000);
    expect(Math.abs(v(4) - h.maxValue / 1000) / (h.maxValue / 1000)).toBeLessThanOrEqual(0.01);

    const listed = await client.send(
      new ListMetricsCommand({ Namespace: "SwTest", MetricName: "PhaseLatency" }),
    );
    expect(listed.Metrics?.[0]?.Dimensions?.find((d) => d.Name === "Phase")?.Value).toBe("ttfb");
  });

  it("rejects what the real service rejects, with errors the SDK parses by name and query code", async () => {
    const base = { MetricName: "X", Timestamp: new Date(), Unit: "Milliseconds" as const };
    const cases: [string, () => Promise<unknown>, string, string][] = [
      [
        "151 values",
        () =>
          client.send(
            new PutMetricDataCommand({
              Namespace: "SwTest",
              MetricData: [{ ...base, Values: Array.from({ length: 151 }, (_, i) => i + 1) }],
            }),
          ),
        "InvalidParameterValueException",
        "InvalidParameterValue",
      ],
      [
        "1001 datums",
        () =>
          client.send(
            new PutMetricDataCommand({
              Namespace: "SwTest",
              MetricData: Array.from({ length: 1001 }, () => ({ ...base, Value: 1 })),
            }),
          ),
        "InvalidParameterValueException",
        "InvalidParameterValue",
      ],
      [
        "31 dimensions",
        () =>
          client.send(
            new PutMetricDataCommand({
              Namespace: "SwTest",
              MetricData: [
                {
                  ...base,
                  Value: 1,
                  Dimensions: Array.from({ length: 31 }, (_, i) => ({ Name: `d${i}`, Value: "v" })),
                },
              ],
            }),
          ),
        "InvalidParameterValueException",
        "InvalidParameterValue",
      ],
      [
        "Value with Values",
        () =>
          client.send(
            new PutMetricDataCommand({
              Namespace: "SwTest",
              MetricData: [{ ...base, Value: 1, Values: [1] }],
            }),
          ),
        "InvalidParameterCombinationException",
        "InvalidParameterCombination",
      ],
      [
        "AWS/ namespace",
        () =>
          client.send(
            new PutMetricDataCommand({ Namespace: "AWS/EC2", MetricData: [{ ...base, Value: 1 }] }),
          ),
        "InvalidParameterValueException",
        "InvalidParameterValue",
      ],
      [
        "3-week-old timestamp",
        () =>
          client.send(
            new PutMetricDataCommand({
              Namespace: "SwTest",
              MetricData: [{ ...base, Value: 1, Timestamp: new Date(Date.now() - 21 * 86_400_000) }],
            }),
          ),
        "InvalidParameterValueException",
        "InvalidParameterValue",
      ],
    ];
    for (const [what, call, name, code] of cases) {
      const err = (await call().then(
        () => undefined,
        (e: unknown) => e,
      )) as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
      expect(err, what).toBeDefined();
      expect(err?.name, what).toBe(name);
      expect(err?.Code, what).toBe(code);
      expect(err?.$metadata?.httpStatusCode, what).toBe(400);
    }
  });

  it("answers a body over 1 MB with 413", async () => {
    const big = Array.from({ length: 1000 }, (_, i) => ({
      MetricName: "Big",
      Timestamp: new Date(),
      Values: Array.from({ length: 150 }, (_, j) => i * 1000 + j + 0.123456),
    }));
    const err = (await client
      .send(new PutMetricDataCommand({ Namespace: "SwTest", MetricData: big }))
      .catch((e: unknown) => e)) as {
      $metadata?: { httpStatusCode?: number };
    };
    expect(err?.$metadata?.httpStatusCode).toBe(413);
    // Bodies ≥ 10,240 bytes are gzip-compressed by the SDK; the lab undid it before measuring.
    expect(seen.at(-1)?.encoding).toBe("gzip");
  });

  it("parses throttling and 5xx answers as the SDK's retryable errors", async () => {
    lab.faults.throttle(1, "cloudwatch");
    const t = (await client.send(new ListMetricsCommand({})).catch((e: unknown) => e)) as {
      name: string;
      $retryable?: unknown;
    };
    expect(t.name).toBe("Throttling");
    lab.faults.fail5xx(1, "cloudwatch");
    const f = (await client.send(new ListMetricsCommand({})).catch((e: unknown) => e)) as {
      $metadata?: { httpStatusCode?: number };
      name: string;
    };
    expect(f.$metadata?.httpStatusCode).toBe(500);
    await expect(client.send(new ListMetricsCommand({}))).resolves.toBeDefined();
  });

  it("stores dashboards and alarms, enforcing the alarm rules", async () => {
    const body = JSON.stringify({
      widgets: [
        {
          type: "metric",
          x: 0,
          y: 0,
          width: 12,
          height: 6,
          properties: { region: "us-east-1", metrics: [["SwTest", "Latency"]] },
        },
      ],
    });
    await client.send(new PutDashboardCommand({ DashboardName: "sw-main", DashboardBody: body }));
    const got = await client.send(new GetDashboardCommand({ DashboardName: "sw-main" }));
    expect(got.DashboardBody).toBe(body);
    const list = await client.send(new ListDashboardsCommand({ DashboardNamePrefix: "sw-" }));
    expect(list.DashboardEntries?.map((d) => d.DashboardName)).toEqual(["sw-main"]);
    const bad = (await client
      .send(
        new PutDashboardCommand({
          DashboardName: "sw-bad",
          DashboardBody: JSON.stringify({ widgets: [{ type: "metric", properties: {} }] }),
        }),
      )
      .catch((e: unknown) => e)) as { name: string; dashboardValidationMessages?: { DataPath?: string }[] };
    expect(bad.name).toBe("DashboardInvalidInputError");
    expect(bad.dashboardValidationMessages?.[0]?.DataPath).toBe("/widgets/0/properties");
    const missing = (await client
      .send(new GetDashboardCommand({ DashboardName: "nope" }))
      .catch((e: unknown) => e)) as {
      $metadata?: { httpStatusCode?: number };
    };
    expect(missing.$metadata?.httpStatusCode).toBe(404);

    const alarm = {
      AlarmName: "sw-p99",
      Namespace: "SwTest",
      MetricName: "Latency",
      ExtendedStatistic: "p99",
      Period: 300,
      EvaluationPeriods: 3,
      Threshold: 2000,
      ComparisonOperator: "GreaterThanThreshold" as const,
      TreatMissingData: "notBreaching",
    };
    await client.send(new PutMetricAlarmCommand(alarm));
    const both = (await client
      .send(new PutMetricAlarmCommand({ ...alarm, Statistic: "Average" }))
      .catch((e: unknown) => e)) as {
      name: string;
    };
    expect(both.name).toBe("InvalidParameterCombinationException");
    const long = (await client
      .send(new PutMetricAlarmCommand({ ...alarm, Period: 600, EvaluationPeriods: 145 }))
      .catch((e: unknown) => e)) as {
      name: string;
    };
    expect(long.name).toBe("ValidationException");
    const period = (await client
      .send(new PutMetricAlarmCommand({ ...alarm, Period: 45 }))
      .catch((e: unknown) => e)) as { name: string };
    expect(period.name).toBe("ValidationException");
    const math = (await client
      .send(
        new PutMetricAlarmCommand({
          AlarmName: "sw-math",
          EvaluationPeriods: 1,
          Threshold: 99,
          ComparisonOperator: "LessThanThreshold",
          Metrics: [
            {
              Id: "ok",
              MetricStat: {
                Metric: { Namespace: "SwTest", MetricName: "Requests" },
                Period: 300,
                Stat: "Sum",
              },
            },
            { Id: "e", Expression: "ok*1" },
          ],
        }),
      )
      .catch((e: unknown) => e)) as { name: string };
    expect(math.name).toBe("ValidationException"); // two queries return data

    await client.send(new PutCompositeAlarmCommand({ AlarmName: "sw-any", AlarmRule: 'ALARM("sw-p99")' }));
    const described = await client.send(
      new DescribeAlarmsCommand({ AlarmTypes: ["MetricAlarm", "CompositeAlarm"] }),
    );
    expect(described.MetricAlarms?.map((a) => [a.AlarmName, a.ExtendedStatistic, a.StateValue])).toEqual([
      ["sw-p99", "p99", "INSUFFICIENT_DATA"],
    ]);
    expect(described.CompositeAlarms?.[0]?.AlarmRule).toBe('ALARM("sw-p99")');
    expect(described.MetricAlarms?.[0]?.AlarmConfigurationUpdatedTimestamp).toBeInstanceOf(Date);
    await client.send(new DeleteAlarmsCommand({ AlarmNames: ["sw-any", "sw-p99"] }));
    const after = await client.send(
      new DescribeAlarmsCommand({ AlarmTypes: ["MetricAlarm", "CompositeAlarm"] }),
    );
    expect(after.MetricAlarms).toEqual([]);
    expect(after.CompositeAlarms).toEqual([]);
  });
});
