/**
 * The runner's concurrency sweep and the load each request met: `concurrencySteps` runs equal consecutive parts
 * of the run at their own concurrency, and every record says how many others were in flight when it was sent.
 * A real loopback server that holds each request 60 ms, so requests of a part overlap.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { systemClock } from "../../src/clock.js";
import { createLagMonitor } from "../../src/probe/lag.js";
import { createProber } from "../../src/probe/prober.js";
import { runProbes } from "../../src/probe/runner.js";
import type { Prober } from "../../src/probe/types.js";
import { behaviors, startServer, type TestServer, targetFor } from "../helpers/servers.js";

let srv: TestServer;
let prober: Prober | undefined;
let inFlight = 0;
let maxInFlight = 0;

beforeAll(async () => {
  srv = await startServer({
    routes: {
      "/held": (req, res, tools) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        tools.later(60, () => {
          inFlight--;
          behaviors.json({ ok: true })(req, res, tools);
        });
      },
    },
  });
});
afterAll(async () => {
  await srv.close();
});
afterEach(async () => {
  await prober?.close();
});

describe("runProbes concurrency sweep", () => {
  test("parts run one after another at their own concurrency; inFlightAtSend counts the others", async () => {
    prober = createProber({
      maxBodyBytes: 65536,
      insecureTls: false,
      userAgent: "t",
      lagMonitor: createLagMonitor(),
    });
    const res = await runProbes(
      [targetFor(srv.url("/held"))],
      { count: 18, concurrency: 99, concurrencySteps: [1, 3, 6], connection: "fresh", tag: "probe" },
      { prober, clock: systemClock, lag: createLagMonitor() },
    );
    expect(res.records.map((r) => r.seq)).toEqual([...Array(18).keys()]);
    const loads = res.records.map((r) => r.inFlightAtSend);
    // One at a time: nobody else in flight.
    expect(loads.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    // Three at a time: 0, 1, 2 others as the part starts, never more than 2.
    expect(Math.max(...(loads.slice(6, 12) as number[]))).toBe(2);
    expect(loads.slice(6, 9)).toEqual([0, 1, 2]);
    // Six at a time: the part starts with 0 … 5 others, after the previous part drained.
    expect(loads.slice(12, 18)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(maxInFlight).toBe(6);
    // Parts do not overlap: each part's first request starts after the previous part's last one ended.
    const end = (i: number) => res.records[i]!.atMs + (res.records[i]!.phasesMs.total ?? 0);
    expect(res.records[12]!.atMs).toBeGreaterThanOrEqual(Math.max(...[6, 7, 8, 9, 10, 11].map(end)) - 1);
  });
});
