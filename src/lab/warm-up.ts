/**
 * Warms the lab's code before the lab reports ready.
 *
 * The stack the lab stands for (CloudFront, API Gateway, an NLB, nginx and the app) is a long-running
 * service: a prober's first request meets code that has served traffic for hours. The lab starts in a fresh
 * V8 isolate (its worker thread), where the first requests through its four hops run Node's HTTP and socket
 * code and the hops' own code for the first time (lazy compilation, regular expressions compiled, inline
 * caches empty). Measured with the lab's own per-hop timings on a 2-core machine, quiet: the first three
 * requests of a bad-target run took 56–375 ms inside the lab against 4–8 ms for the later ones, the worker
 * busy 232–250 ms of the first 250 ms; under CPU load they took 250–670 ms and became stalls no scenario
 * injected, served by healthy targets. After this warm-up the first four took 9–59 ms quiet and 6–87 ms
 * under the same load, with no such stall in 6 loaded runs.
 *
 * The warm-up runs a throwaway lab (scenario healthy, no AWS side) in the same isolate, which shares the
 * compiled code, and sends a few rounds of requests over both routes and every endpoint, on fresh and
 * reused connections, with an X-Ray trace header as the prober sends; it is closed before the real lab
 * starts, so the real lab's state (NLB rotation, events, X-Ray segments, metrics, the scenario's clocks and
 * idle tracker) begins untouched. Best effort under a hard deadline: a failed warm-up request is ignored.
 */
import { setMaxListeners } from "node:events";
import http from "node:http";
import { startLab } from "./lab.js";

/** The endpoints labConfig probes (describe.ts). */
const ENDPOINTS = ["/", "/header", "/foo/bar", "/foo/baz"] as const;

export interface LabWarmUpOptions {
  /** Address the throwaway lab listens on: the real lab's, so the same address family's code is warmed. */
  host?: string;
  /** Rounds of requests (each: both routes × every endpoint × fresh and reused, at once). Default 2. */
  rounds?: number;
  /** Hard deadline for the whole warm-up, ms. Default 5000. */
  deadlineMs?: number;
}

/** What the warm-up sent, and how many of its requests were answered 200. */
export interface LabWarmUpResult {
  requests: number;
  ok: number;
}

export async function warmUpLab(opts: LabWarmUpOptions = {}): Promise<LabWarmUpResult> {
  const signal = AbortSignal.timeout(opts.deadlineMs ?? 5000);
  // Every request of a round listens on it at once: more than Node's default 10 is normal.
  setMaxListeners(0, signal);
  const lab = await startLab({ scenario: "healthy", seed: 1, ...(opts.host ? { host: opts.host } : {}) });
  const agent = new http.Agent({ keepAlive: true });
  let traces = 0;
  const result: LabWarmUpResult = { requests: 0, ok: 0 };
  const get = (url: string, reuse: boolean): Promise<void> =>
    new Promise((resolve) => {
      result.requests++;
      const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${(++traces).toString(16).padStart(24, "0")}`;
      const req = http.get(
        url,
        { agent: reuse ? agent : false, signal, headers: { "x-amzn-trace-id": `Root=${root};Sampled=1` } },
        (res) => {
          res.resume();
          res.once("end", () => {
            if (res.statusCode === 200) result.ok++;
            resolve();
          });
          res.once("error", () => resolve());
        },
      );
      req.once("error", () => resolve());
    });
  try {
    for (let i = 0; i < (opts.rounds ?? 2) && !signal.aborted; i++)
      await Promise.all(
        Object.values(lab.routes).flatMap((base) =>
          ENDPOINTS.flatMap((p) => [get(base + p, false), get(base + p, true)]),
        ),
      );
  } finally {
    agent.destroy();
    await lab.close();
  }
  return result;
}
