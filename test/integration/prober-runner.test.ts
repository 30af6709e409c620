/**
 * The runner: send order, series numbering, idle gaps, concurrency, fixed
 * rate, event-loop lag attribution, aborts. Real loopback servers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RequestRecord } from "../../src/model.js";
import { createLagMonitor } from "../../src/probe/lag.js";
import { runProbes } from "../../src/probe/runner.js";
import { blockEventLoop } from "../helpers/block-loop.js";
import { testProbers } from "../helpers/runner-deps.js";
import {
  behaviors,
  type InFlightCount,
  startServer,
  type TestServer,
  targetFor,
} from "../helpers/servers.js";

let srv: TestServer;
const probers = testProbers();
const held: InFlightCount = { now: 0, max: 0 };

beforeAll(async () => {
  srv = await startServer({
    routes: {
      "/a": behaviors.json({ status: "OK" }),
      "/b": behaviors.json({ status: "OK" }),
      "/held": behaviors.held(80, held),
    },
  });
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => probers.close());

const newProber = probers.deps;

describe("runProbes", () => {
  test("round-robin send order, global seq, per-series seq, idle gaps", async () => {
    const deps = newProber();
    const seen: number[] = [];
    const a = targetFor(srv.url("/a"), { endpoint: "a" });
    const b = targetFor(srv.url("/b"), { endpoint: "b" });
    const res = await runProbes(
      [a, b],
      { count: 3, concurrency: 1, connection: "both", tag: "probe" },
      { ...deps, onRecord: (r) => seen.push(r.seq) },
    );
    expect(res.records).toHaveLength(12);
    expect(seen).toEqual([...Array(12).keys()]);
    const order = res.records.map((r) => `${r.endpoint}/${r.connection}`);
    expect(order.slice(0, 4)).toEqual(["a/fresh", "a/reuse", "b/fresh", "b/reuse"]);
    expect(order.slice(4, 8)).toEqual(order.slice(0, 4));
    expect(res.records.map((r) => r.seq)).toEqual([...Array(12).keys()]);
    const aRecs = res.records.filter((r) => r.endpoint === "a");
    expect(aRecs.map((r) => r.seriesSeq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(aRecs[0]?.idleGapMs).toBeUndefined();
    for (const r of aRecs.slice(1)) expect(r.idleGapMs).toBeGreaterThanOrEqual(0);
    expect(res.records.every((r: RequestRecord) => r.ok && r.tag === "probe")).toBe(true);
    // reuse samples after the first went out on a reused socket
    const reuseA = aRecs.filter((r) => r.connection === "reuse");
    expect(reuseA.map((r) => r.reused)).toEqual([false, true, true]);
    expect(res.expectedIntervalMs).toBeUndefined();
    expect(res.durationMs).toBeGreaterThan(0);
    expect(res.startedAtMs).toBeGreaterThan(1.6e12);
  });

  test("at most `concurrency` requests in flight", async () => {
    const deps = newProber();
    held.max = 0;
    const res = await runProbes(
      [targetFor(srv.url("/held"))],
      { count: 9, concurrency: 3, connection: "reuse", tag: "probe" },
      deps,
    );
    expect(res.records).toHaveLength(9);
    expect(held.max).toBe(3);
    // a request sent while another of its series is in flight has no idle gap
    expect(res.records.filter((r) => r.idleGapMs === 0).length).toBeGreaterThan(0);
  });

  test("fixed rate: sends on a schedule and reports the expected interval", async () => {
    const deps = newProber();
    const a = targetFor(srv.url("/a"), { endpoint: "a" });
    const b = targetFor(srv.url("/b"), { endpoint: "b" });
    const res = await runProbes(
      [a, b],
      { count: 4, concurrency: 2, ratePerS: 40, connection: "reuse", tag: "probe" },
      deps,
    );
    expect(res.sendIntervalMs).toBe(25);
    expect(res.expectedIntervalMs).toBe(50); // two series share the rate
    expect(res.records).toHaveLength(8);
    // 8 sends at 25 ms spacing take at least 7 × 25 ms.
    expect(res.durationMs).toBeGreaterThanOrEqual(7 * 25 - 5);
  });

  test("event-loop lag while a request is in flight is attributed to it", async () => {
    const lag = createLagMonitor({ intervalMs: 5 });
    const deps = newProber(lag);
    // Block the loop for 200 ms while the held request is in flight.
    setTimeout(() => blockEventLoop(200), 20);
    const res = await runProbes(
      [targetFor(srv.url("/held"))],
      { count: 1, concurrency: 1, connection: "fresh", tag: "probe" },
      deps,
    );
    const r = res.records[0];
    expect(r?.loopLagMs).toBeGreaterThanOrEqual(150);
    expect(res.lag.max).toBeGreaterThanOrEqual(150);
    expect(res.lag.affectedRequests).toBe(1);
    expect(lag.running).toBe(false); // the run started it, so the run stopped it
  });

  test("an abort stops the run promptly", async () => {
    const deps = newProber();
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 150);
    const t0 = performance.now();
    const res = await runProbes(
      [targetFor(srv.url("/held"), { timeoutMs: 10_000 })],
      { count: 100, concurrency: 1, connection: "reuse", tag: "probe", signal: ctl.signal },
      deps,
    );
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(res.records.length).toBeLessThan(100);
    expect(res.records.at(-1)?.error?.cause).toBe("ABORTED");
  });

  test("trace headers per target end up in the records", async () => {
    const deps = newProber();
    const res = await runProbes(
      [targetFor(srv.url("/a"))],
      {
        count: 2,
        concurrency: 1,
        connection: "fresh",
        tag: "keep-warm",
        traceHeaderFor: () => "Root=1-00000001-000000000000000000000001;Sampled=1",
      },
      deps,
    );
    expect(res.records.map((r) => r.traceId)).toEqual([
      "1-00000001-000000000000000000000001",
      "1-00000001-000000000000000000000001",
    ]);
    expect(res.records.every((r) => r.tag === "keep-warm")).toBe(true);
  });
});
