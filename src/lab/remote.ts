/**
 * The main-thread handle of a lab running in a worker thread (./worker.ts).
 * The worker runs `worker.js` next to this file; when this file is the
 * TypeScript source (tests), it runs the built `dist/lab/worker.js` instead.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { ConfigInput } from "../config/schema.js";
import { StallwatchError } from "../errors.js";
import type { LabAwsInfo } from "./aws/feed.js";
import type { LabWorkerMessage, LabWorkerOptions, LabWorkerReady } from "./worker.js";

export interface RemoteLab {
  routes: Record<string, string>;
  scenario: string;
  description: string;
  describe: string;
  /** A config probing the lab; with the AWS side, X-Ray, the target group and CloudWatch point at it. */
  config: ConfigInput;
  /** The lab's AWS endpoint URL (CloudWatch, X-Ray, ELBv2), for AWS_ENDPOINT_URL; absent with `aws: false`. */
  awsEndpoint?: string;
  /** The lab's AWS side: endpoint, region, target group and NLB ARNs, ApiName and stage. */
  aws?: LabAwsInfo;
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;

function workerUrl(): URL {
  const sibling = new URL("./worker.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL("../../dist/lab/worker.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new StallwatchError("SW_LAB_START", "the lab's worker script is not built: run `npm run build`");
}
const CLOSE_TIMEOUT_MS = 5_000;

/** Starts the lab (and, unless `aws: false`, its AWS endpoints) in a worker thread. */
export async function startLabInWorker(opts: LabWorkerOptions): Promise<RemoteLab> {
  const worker = new Worker(workerUrl(), { workerData: opts });
  const ready = await new Promise<LabWorkerReady>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StallwatchError("SW_LAB_START", "the lab did not start within 15 s")),
      START_TIMEOUT_MS,
    );
    worker.once("error", (err) => {
      clearTimeout(timer);
      reject(new StallwatchError("SW_LAB_START", `the lab failed: ${err.message}`));
    });
    worker.on("message", (msg: LabWorkerMessage) => {
      if (msg.type === "ready") {
        clearTimeout(timer);
        resolve(msg);
      } else if (msg.type === "error") {
        clearTimeout(timer);
        reject(new StallwatchError("SW_LAB_START", msg.message));
      }
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  let closing: Promise<void> | undefined;
  const { type: _type, ...facts } = ready;
  return {
    ...facts,
    ...(ready.aws ? { awsEndpoint: ready.aws.url } : {}),
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), CLOSE_TIMEOUT_MS);
        worker.on("message", (msg: LabWorkerMessage) => {
          if (msg.type === "closed") {
            clearTimeout(timer);
            void worker.terminate().then(() => resolve());
          }
        });
        worker.postMessage({ type: "close" });
      });
      return closing;
    },
  };
}
