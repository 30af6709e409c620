/**
 * The lab's CloudWatch endpoint on loopback with a real SDK client pointed at it (dummy credentials, no retries),
 * and a temp directory: what the dashboard and alarm deploy tests share.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { createCloudWatchClient } from "../../src/aws/clients.js";
import { type CloudWatchLab, createCloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";

export const LAB_CREDENTIALS = { accessKeyId: "AKIDLAB", secretAccessKey: "lab-secret" };

export interface CloudWatchLabFixture {
  cw: CloudWatchLab;
  lab: AwsLab;
  client: CloudWatchClient;
  dir: string;
  close(): Promise<void>;
}

export async function startCloudWatchLabFixture(dirPrefix: string): Promise<CloudWatchLabFixture> {
  const cw = createCloudWatchLab();
  const lab = await startAwsLab({ handlers: [cw] });
  const client = await createCloudWatchClient({
    region: "us-east-1",
    endpoint: lab.url,
    credentials: LAB_CREDENTIALS,
    maxAttempts: 1,
  });
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  return {
    cw,
    lab,
    client,
    dir,
    async close() {
      client.destroy();
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
