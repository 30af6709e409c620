/**
 * `report` with and without AWS, through the built CLI (rebuilt by the global
 * setup when stale): an AWS-free report imports no @aws-sdk module (traced
 * by a module resolve hook); `--publish` does, and sends to the endpoint
 * AWS_ENDPOINT_URL names; `report --lab` runs the lab's AWS endpoints in its
 * worker and shows X-Ray and target-health evidence with no AWS account.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CloudWatchLab, createCloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import type { Report } from "../../src/model.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";

const MAIN = join(import.meta.dirname, "../../dist/cli/main.js");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every @aws-sdk module URL the child resolved. */
  sdkImports: string[];
}

let server: TestServer;
let awsLab: AwsLab;
let cw: CloudWatchLab;
let tmp: string;
let hooks: string;

beforeAll(async () => {
  server = await startServer({ routes: { "/health": behaviors.json({ status: "OK" }) } });
  cw = createCloudWatchLab();
  awsLab = await startAwsLab({ handlers: [cw] });
  tmp = mkdtempSync(join(tmpdir(), "sw-aws-cli-"));
  writeFileSync(
    join(tmp, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes("/@aws-sdk/")) appendFileSync(process.env.SW_IMPORT_TRACE, r.url + "\\n");
  return r;
}
`,
  );
  hooks = join(tmp, "register.mjs");
  writeFileSync(
    hooks,
    `import { register } from "node:module";\nregister(${JSON.stringify(`file://${join(tmp, "hooks.mjs")}`)});\n`,
  );
});
afterAll(async () => {
  await server.close();
  await awsLab.close();
  rmSync(tmp, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 45_000): Promise<CliResult> {
  const trace = join(tmp, `trace-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(trace, "");
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", hooks, MAIN, ...args],
      {
        timeout: timeoutMs,
        cwd: tmp,
        // Never the real AWS: no profile, no IMDS, dummy keys where a test needs them.
        env: {
          PATH: process.env.PATH ?? "",
          HOME: tmp,
          SW_IMPORT_TRACE: trace,
          AWS_EC2_METADATA_DISABLED: "true",
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        const sdkImports = readFileSync(trace, "utf8").split("\n").filter(Boolean);
        resolve({ code, stdout, stderr, sdkImports });
      },
    );
  });
}

describe("report and the AWS SDK", () => {
  it("an AWS-free report loads no @aws-sdk module; --publish loads it and publishes to AWS_ENDPOINT_URL", async () => {
    const args = ["report", "--url", `${server.origin}/health`, "-n", "2", "--json", "--no-progress"];
    const plain = await cli(args);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout).totals.requests).toBe(4);
    expect(plain.sdkImports).toEqual([]);

    const published = await cli([...args, "--publish"], {
      AWS_ENDPOINT_URL: awsLab.url,
      AWS_ACCESS_KEY_ID: "AKIDTEST",
      AWS_SECRET_ACCESS_KEY: "test-secret",
      AWS_REGION: "us-east-1",
    });
    expect(published.code).toBe(0);
    expect(published.sdkImports.some((u) => u.includes("/@aws-sdk/client-cloudwatch/"))).toBe(true);
    expect(published.sdkImports.some((u) => u.includes("/@aws-sdk/client-xray/"))).toBe(false);
    const line = /published (\d+) datums in (\d+) PutMetricData calls to Stallwatch/.exec(published.stderr);
    expect(line, published.stderr).not.toBeNull();
    const sent = Number(line![1]);
    expect(sent).toBeGreaterThan(0);
    expect(cw.metrics.datums.filter((d) => d.namespace === "Stallwatch")).toHaveLength(sent);
  });

  it("report --lab shows X-Ray breakdowns and NLB target health from the lab's own endpoints", async () => {
    const res = await cli([
      "report",
      "--lab",
      "bad-target",
      "-n",
      "2",
      "--json",
      "--no-progress",
      "--publish",
    ]);
    const report = JSON.parse(res.stdout) as Report;
    expect(report.totals.stalls).toBeGreaterThan(0);
    const notes = (report.notes ?? []).join("\n");
    expect(notes).toMatch(/X-Ray: (\d+) of \1 traced stalls broken down/);
    expect(notes).toMatch(/NLB target|NLB targets: all healthy/);
    // X-Ray breakdowns are evidence beside the verdict, never a cause of their own.
    expect(report.findings.map((f) => f.id)).not.toContain("backend-latency");
    const backend = report.evidence!.find((f) => f.id === "backend-latency")!;
    expect(backend.evidence.gateways).toEqual(["lab/test"]);
    expect(res.stderr).toMatch(/published \d+ datums/);
    expect(res.sdkImports.some((u) => u.includes("/@aws-sdk/client-xray/"))).toBe(true);
  });
});
