/**
 * An AWS endpoint that answers an HTML error page (a proxy, a load balancer,
 * an emulator) through the real SDK clients: the error says the service, the
 * operation and the HTTP status, not the SDK's "Deserialization error …
 * Unexpected token '<'".
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CloudWatchClient, PutDashboardCommand } from "@aws-sdk/client-cloudwatch";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { BatchGetTracesCommand, XRayClient } from "@aws-sdk/client-xray";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCall } from "../../src/aws/dashboard/deploy.js";
import { describeTargetHealth } from "../../src/aws/elbv2/describe.js";
import { classifyAwsError } from "../../src/aws/errors.js";

let server: Server;
let endpoint: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(500, { "content-type": "text/html" });
      res.end("<html><body><h1>500 Internal Server Error</h1></body></html>");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const cfg = () => ({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDLAB", secretAccessKey: "lab" },
  maxAttempts: 1,
});

describe("an HTML 500 from the AWS endpoint", () => {
  it("CloudWatch: names the service, the operation and the status", async () => {
    const client = new CloudWatchClient(cfg());
    const err = await awsCall("PutDashboard", 5000, (abortSignal) =>
      client.send(new PutDashboardCommand({ DashboardName: "d", DashboardBody: "{}" }), { abortSignal }),
    ).catch((e: unknown) => e as Error);
    client.destroy();
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain("CloudWatch answered PutDashboard with HTTP 500 (text/html), not an AWS response");
    expect(msg).not.toMatch(/Deserialization|Unexpected token/);
  });

  it("X-Ray and ELBv2: the same, in the classified failure", async () => {
    const xray = new XRayClient(cfg());
    const xerr = await xray
      .send(new BatchGetTracesCommand({ TraceIds: ["1-5f84c7a9-1234567890abcdef01234567"] }))
      .catch((e: unknown) => e);
    xray.destroy();
    const xf = classifyAwsError("BatchGetTraces", xerr);
    expect(xf).toMatchObject({ kind: "server", code: "HTTP 500", status: 500, retryable: true });
    expect(xf.message).toContain("X-Ray answered BatchGetTraces with HTTP 500 (text/html)");
    expect(xf.message).not.toMatch(/Deserialization|Unexpected token/);

    const elb = new ElasticLoadBalancingV2Client(cfg());
    const res = await describeTargetHealth(
      elb,
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/0123456789abcdef",
    );
    elb.destroy();
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.failure).toMatchObject({ kind: "server", code: "HTTP 500", status: 500 });
    expect(res.failure.message).toContain("ELBv2 answered DescribeTargetHealth with HTTP 500 (text/html)");
  });
});
