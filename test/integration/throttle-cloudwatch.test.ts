/**
 * Throttling's AWS evidence: what the lab's API Gateway front answered (its token bucket's 429s) read back as
 * AWS/ApiGateway 4XXError and Count through the real CloudWatch SDK client (GetMetricData) from the lab's
 * endpoint; and end to end, `report --lab throttle --json` showing it in the verdict's evidence.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildEvidenceQueries,
  buildGetMetricDataInputs,
  evidenceWindows,
  getEvidenceMetrics,
} from "../../src/aws/elbv2/metric-queries.js";
import { type LabAws, startLabAws } from "../../src/lab/aws/feed.js";
import { type Lab, startLab } from "../../src/lab/index.js";
import { labReport, verdictLine } from "../helpers/lab-report.js";
import { expectOneCount } from "../helpers/one-count.js";
import { hitFresh } from "./lab-helpers.js";

let lab: Lab | undefined;
let aws: LabAws | undefined;
let client: CloudWatchClient | undefined;
afterEach(async () => {
  client?.destroy();
  await aws?.close();
  await lab?.close();
});

describe("throttling evidence from CloudWatch", { timeout: 60_000 }, () => {
  it("GetMetricData (real SDK) returns the 429s the lab's gateway sent as 4XXError, every request as Count", async () => {
    lab = await startLab({
      scenario: "throttle",
      timings: { throttleRatePerS: 2, throttleBurst: 3 },
      seed: 5,
    });
    aws = await startLabAws(lab);
    const url = `${lab.routes["execute-api"]}/`;
    const hits = await Promise.all(Array.from({ length: 12 }, () => hitFresh(url)));
    const throttled = hits.filter((h) => h.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(5);
    expect(throttled.every((h) => h.headers["x-amzn-errortype"] === "TooManyRequestsException")).toBe(true);

    client = new CloudWatchClient({
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    });
    const queries = buildEvidenceQueries({ apiGateway: [{ apiName: aws.apiName, stage: aws.stage }] });
    const [w] = evidenceWindows([Date.now()]);
    const res = await getEvidenceMetrics(client, queries, buildGetMetricDataInputs(queries, w!));
    expect(res.failures).toEqual([]);
    const sum = (name: string) =>
      res.series
        .filter((s) => s.metricName === name && s.stat === "Sum")
        .flatMap((s) => s.values)
        .reduce((a, b) => a + b, 0);
    expect(sum("4XXError")).toBe(throttled.length);
    expect(sum("Count")).toBe(hits.length);
    expect(sum("5XXError")).toBe(0);
  });

  it("report --lab throttle: the verdict's evidence carries API Gateway's 4XXError next to the 429s", async () => {
    const r = await labReport("throttle", ["--count", "10"]);
    console.log(verdictLine("throttle", r));
    expectOneCount(r);
    const seen429 = r.failures.filter((f) => f.status === 429).length;
    expect(seen429).toBeGreaterThan(0);
    const f = r.findings.find((x) => x.id === "throttling");
    const counted = (f?.evidence.cloudwatch as Array<Record<string, number>> | undefined)?.[0];
    // The gateway also counted the prober's warm-up requests: at least what the report saw, never fewer.
    expect(counted?.["4XXError"], JSON.stringify(f?.evidence)).toBeGreaterThanOrEqual(seen429);
    expect(counted?.Count).toBeGreaterThanOrEqual(r.totals.requests);
    expect(r.verdict?.cause).toBe("throttling");
    const cw = r.verdict?.evidence.filter((e) => e.source === "cloudwatch") ?? [];
    expect(cw, JSON.stringify(r.verdict?.evidence)).toHaveLength(1);
    expect(cw[0]?.text).toContain("4XXError");
    expect(cw[0]?.text).toContain("counted at least");
  });
});
