/**
 * The runner's concurrency sweep and the load each request met: `concurrencySteps` runs equal consecutive parts
 * of the run at their own concurrency, and every record says how many others were in flight when it was sent.
 * A real loopback server that holds each request 60 ms, so requests of a part overlap. And the idle plan of
 * `idle-sweep`: one uncounted priming request per series (`primeEachSeries`), then gaps per request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { runProbes } from "../../src/probe/runner.js";
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
      "/quick": behaviors.json({ ok: true }),
      "/held": behaviors.held(60, held),
    },
  });
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => probers.close());

describe("runProbes concurrency sweep", () => {
  test("parts run one after another at their own concurrency; inFlightAtSend counts the others", async () => {
    const res = await runProbes(
      [targetFor(srv.url("/held"))],
      { count: 18, concurrency: 99, concurrencySteps: [1, 3, 6], connection: "fresh", tag: "probe" },
      probers.deps(),
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
    expect(held.max).toBe(6);
    // Parts do not overlap: each part's first request starts after the previous part's last one ended.
    const end = (i: number) => res.records[i]!.atMs + (res.records[i]!.phasesMs.total ?? 0);
    expect(res.records[12]!.atMs).toBeGreaterThanOrEqual(Math.max(...[6, 7, 8, 9, 10, 11].map(end)) - 1);
  });
});

describe("runProbes idle plan", () => {
  const plan = async (primeEachSeries: boolean, signal?: AbortSignal) => {
    const before = srv.requests;
    const res = await runProbes(
      [targetFor(srv.url("/quick"))],
      {
        count: 2,
        concurrency: 4,
        connection: "both",
        tag: "idle-sweep",
        // One step per repeat: 80 ms idle, then the series one after the other.
        idleGapsMs: [80, 0],
        primeEachSeries,
        ...(signal ? { signal } : {}),
      },
      probers.deps(),
    );
    return { res, sent: srv.requests - before };
  };

  test("primes each series once, uncounted: the first counted request has its gap and reuses the primed socket", async () => {
    const { res, sent } = await plan(true);
    // 2 priming requests (fresh, reuse) + 2 repeats × 2 series; only the counted ones are records.
    expect(sent).toBe(6);
    expect(res.records.map((r) => `${r.seq}:${r.connection}`)).toEqual([
      "0:fresh",
      "1:reuse",
      "2:fresh",
      "3:reuse",
    ]);
    expect(res.records.every((r) => r.tag === "idle-sweep")).toBe(true);
    // The first request waited its gap after the priming ended (less the event loop's timer granularity, a ms or two).
    expect(res.records[0]!.idleGapMs).toBeGreaterThanOrEqual(75);
    expect(res.records[2]!.idleGapMs).toBeGreaterThanOrEqual(75);
    // The reuse series' socket was opened by its priming request.
    expect(res.records.filter((r) => r.connection === "reuse").map((r) => r.reused)).toEqual([true, true]);
  });

  test("without priming the first request has no gap and opens the reuse socket itself", async () => {
    const { res, sent } = await plan(false);
    expect(sent).toBe(4);
    expect(res.records[0]!.idleGapMs).toBeUndefined();
    expect(res.records[1]!.reused).toBe(false);
  });

  test("an aborted run sends no priming request", async () => {
    const ac = new AbortController();
    ac.abort();
    const { res, sent } = await plan(true, ac.signal);
    expect(sent).toBe(0);
    expect(res.records).toEqual([]);
  });
});
