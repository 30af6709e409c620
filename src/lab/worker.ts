/**
 * Runs the lab in a worker thread, on its own event loop.
 *
 * In the prober's process the lab's four HTTP hops per request blocked the
 * prober's event loop (measured on the healthy scenario: p99 61 ms, max
 * 327 ms, utilisation 72%), and that lag landed in the measured phases. In a
 * worker, the lab's work runs on the other core.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import type { ConfigInput } from "../config/schema.js";
import { describeLab, labConfig } from "./describe.js";
import { type LabOptions, startLab } from "./lab.js";

/** What the worker reports once the lab is listening. */
export interface LabWorkerReady {
  type: "ready";
  routes: Record<string, string>;
  scenario: string;
  description: string;
  /** The lines `stallwatch lab` prints. */
  describe: string;
  config: ConfigInput;
}

export type LabWorkerMessage = LabWorkerReady | { type: "error"; message: string } | { type: "closed" };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const opts = workerData as LabOptions;
  startLab(opts).then(
    (lab) => {
      port.on("message", (msg: { type: string }) => {
        if (msg.type === "close") {
          void lab.close().then(() => {
            port.postMessage({ type: "closed" } satisfies LabWorkerMessage);
            port.close();
          });
        }
      });
      port.postMessage({
        type: "ready",
        routes: { ...lab.routes },
        scenario: lab.scenario,
        description: lab.description,
        describe: describeLab(lab),
        config: labConfig(lab),
      } satisfies LabWorkerMessage);
    },
    (err: unknown) => {
      port.postMessage({
        type: "error",
        message: err instanceof Error ? err.message : String(err),
      } satisfies LabWorkerMessage);
    },
  );
}
