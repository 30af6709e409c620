/**
 * Runs the lab in a worker thread, on its own event loop.
 *
 * In the prober's process the lab's four HTTP hops per request blocked the
 * prober's event loop (measured on the healthy scenario: p99 61 ms, max
 * 327 ms, utilisation 72%), and that lag landed in the measured phases. In a
 * worker, the lab's work runs on the other core.
 *
 * The lab's AWS side (CloudWatch, X-Ray and ELBv2 endpoints fed by the
 * simulation, ./aws/feed.ts) runs here too, so serving the SDK's calls and
 * building segments stays off the prober's loop. The config the worker sends
 * back turns every AWS feature on and points it at the lab.
 *
 * Before the lab starts, its code is warmed on a throwaway lab (./warm-up.ts): the stack it stands for is
 * a long-running, warm service, and the first requests through a fresh isolate's hops are not.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { ConfigInput } from "../config/schema.js";
import { type LabAws, type LabAwsInfo, startLabAws, withLabAws } from "./aws/feed.js";
import { describeLab, labConfig } from "./describe.js";
import { type LabOptions, startLab } from "./lab.js";
import { warmUpLab } from "./warm-up.js";

/** What the worker is started with: the lab's options, and whether to start its AWS side. */
export interface LabWorkerOptions extends LabOptions {
  /** Start the lab's local AWS endpoints and enable the AWS features in `config`. Default true. */
  aws?: boolean;
  /** Warm the lab's code on a throwaway lab before starting this one (./warm-up.ts). Default true. */
  warmUp?: boolean;
}

/** What the worker reports once the lab is listening. */
export interface LabWorkerReady {
  type: "ready";
  routes: Record<string, string>;
  scenario: string;
  description: string;
  /** The lines `stallwatch lab` prints. */
  describe: string;
  /** A config probing the lab; with the AWS side, X-Ray, the target group and CloudWatch are enabled. */
  config: ConfigInput;
  /** The lab's AWS side, when started. */
  aws?: LabAwsInfo;
}

export type LabWorkerMessage = LabWorkerReady | { type: "error"; message: string } | { type: "closed" };

async function start(opts: LabWorkerOptions): Promise<{ ready: LabWorkerReady; close(): Promise<void> }> {
  const { aws: withAws = true, warmUp = true, ...labOpts } = opts;
  // Best effort: a lab that cannot start says so below, in its own words.
  if (warmUp) await warmUpLab(labOpts.host ? { host: labOpts.host } : {}).catch(() => {});
  const lab = await startLab(labOpts);
  let aws: LabAws | undefined;
  let spoolDir: string | undefined;
  const close = async (): Promise<void> => {
    await aws?.close();
    await lab.close();
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  };
  try {
    let config = labConfig(lab);
    let describe = describeLab(lab);
    let info: LabAwsInfo | undefined;
    if (withAws) {
      aws = await startLabAws(lab);
      spoolDir = await mkdtemp(join(tmpdir(), "stallwatch-lab-spool-"));
      info = {
        url: aws.url,
        region: aws.region,
        targetGroupArn: aws.targetGroupArn,
        loadBalancerArn: aws.loadBalancerArn,
        apiName: aws.apiName,
        stage: aws.stage,
      };
      config = withLabAws(config, info, { spoolDir });
      describe += `\nAWS endpoints (CloudWatch, X-Ray, ELBv2): ${aws.url}  (set AWS_ENDPOINT_URL to it)`;
    }
    const ready: LabWorkerReady = {
      type: "ready",
      routes: { ...lab.routes },
      scenario: lab.scenario,
      description: lab.description,
      describe,
      config,
      ...(info ? { aws: info } : {}),
    };
    return { ready, close };
  } catch (err) {
    await close();
    throw err;
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  start(workerData as LabWorkerOptions).then(
    ({ ready, close }) => {
      port.on("message", (msg: { type: string }) => {
        if (msg.type === "close") {
          void close().then(() => {
            port.postMessage({ type: "closed" } satisfies LabWorkerMessage);
            port.close();
          });
        }
      });
      port.postMessage(ready satisfies LabWorkerMessage);
    },
    (err: unknown) => {
      port.postMessage({
        type: "error",
        message: err instanceof Error ? err.message : String(err),
      } satisfies LabWorkerMessage);
    },
  );
}
