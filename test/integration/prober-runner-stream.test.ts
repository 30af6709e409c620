/**
 * The runner with `retainRecords: false` (the constant-memory path): every
 * record reaches `onRecord` exactly once, in completion order, numbered and
 * gap-measured as a retained run would; the result keeps none of them; lag
 * attribution and the fixed-rate interval still work. Real loopback servers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { RecordCollector } from "../../src/app/records.js";
import { loopLagFloorMs, type RequestRecord } from "../../src/model.js";
import { createLagMonitor } from "../../src/probe/lag.js";
import { runProbes } from "../../src/probe/runner.js";
import { blockEventLoop } from "../helpers/block-loop.js";
import { testProbers } from "../helpers/runner-deps.js";
import { behaviors, type Handler, startServer, type TestServer, targetFor } from "../helpers/servers.js";

/** Trace ids carry the runner's send number, so the server can hold request `seq` 0 and answer the rest at once. */
const SLOW_MS = 500;
const traceFor = (n: number): string => `Root=1-00000001-${n.toString(16).padStart(24, "0")};Sampled=1`;
const seqOfTrace = (h: string | string[] | undefined): number => {
  const m = /Root=1-[0-9a-f]{8}-([0-9a-f]{24})/.exec(String(h ?? ""));
  return m?.[1] ? Number.parseInt(m[1], 16) : -1;
};
const holdFirst: Handler = (req, res, tools) => {
  const delay = seqOfTrace(req.headers["x-amzn-trace-id"]) === 0 ? SLOW_MS : 2;
  tools.later(delay, () => behaviors.json({ ok: true })(req, res, tools));
};

let srv: TestServer;
const probers = testProbers();

beforeAll(async () => {
  srv = await startServer({
    routes: {
      "/a": holdFirst,
      "/b": holdFirst,
      "/fast": behaviors.json({ ok: true }),
      "/held": (req, res, tools) => tools.later(80, () => behaviors.json({ ok: true })(req, res, tools)),
    },
  });
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => probers.close());

const deps = probers.deps;

describe("runProbes with retainRecords: false", () => {
  test("every record reaches onRecord once, in completion order, numbered as a retained run would", async () => {
    const seen: RequestRecord[] = [];
    const collector = new RecordCollector({ streamHistograms: true });
    let sent = 0;
    const a = targetFor(srv.url("/a"), { endpoint: "a" });
    const b = targetFor(srv.url("/b"), { endpoint: "b" });
    // Send order a,b,a,b,…; seq 0 (a) is held SLOW_MS on one worker while the
    // other worker sends and completes seq 1..7 one after the other.
    const res = await runProbes(
      [a, b],
      {
        count: 4,
        concurrency: 2,
        connection: "reuse",
        tag: "probe",
        retainRecords: false,
        traceHeaderFor: () => traceFor(sent++),
      },
      {
        ...deps(),
        onRecord: (r, t) => {
          seen.push(r);
          collector.add(r, t);
        },
      },
    );
    expect(res.records).toEqual([]);
    expect(seen.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 0]);
    // The collector's columnar store holds them in send order, each equal to its record, with the raw
    // monotonic timestamps its phases came from.
    const store = collector.finish();
    expect(Array.from({ length: store.length }, (_, i) => store.seq(i))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (let i = 0; i < store.length; i++) {
      const r = store.record(i);
      expect(r).toEqual(seen.find((x) => x.seq === i));
      const t = store.timestamps(i);
      expect(t?.sent).toBeGreaterThanOrEqual(t?.start ?? Number.NaN);
      // total = end − start (float32 offsets: within a µs or so).
      expect(Math.abs((t?.end ?? Number.NaN) - (t?.start ?? 0) - (r.phasesMs.total ?? 0))).toBeLessThan(0.01);
    }
    expect(
      collector
        .histograms()
        .get({ api: a.api, route: a.route, endpoint: "a", connection: "reuse", tag: "probe" }, "total")
        ?.totalCount,
    ).toBe(4);
    expect(seen.every((r) => r.ok && r.tag === "probe")).toBe(true);
    // The trace id each request carried is the send number the runner gave it.
    for (const r of seen) expect(seqOfTrace(`Root=${r.traceId}`)).toBe(r.seq);
    const bySeq = [...seen].sort((x, y) => x.seq - y.seq);
    expect(bySeq.map((r) => r.endpoint)).toEqual(["a", "b", "a", "b", "a", "b", "a", "b"]);
    expect(bySeq.map((r) => r.seriesSeq)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    // First of each series: no gap. a's later sends went out while seq 0 was
    // still in flight: gap 0. b's went out after its previous one ended: > 0.
    expect(bySeq[0]?.idleGapMs).toBeUndefined();
    expect(bySeq[1]?.idleGapMs).toBeUndefined();
    for (const s of [2, 4, 6]) expect(bySeq[s]?.idleGapMs).toBe(0);
    for (const s of [3, 5, 7]) {
      expect(bySeq[s]?.idleGapMs).toBeGreaterThan(0);
      expect(bySeq[s]?.idleGapMs).toBeLessThan(SLOW_MS);
    }
    // seq 0 really was the slow one, so the order above is completion order.
    expect(bySeq[0]?.phasesMs.total).toBeGreaterThanOrEqual(SLOW_MS - 20);
  });

  test("a longer run keeps nothing and numbers every request", async () => {
    const seen = new Set<number>();
    let calls = 0;
    const res = await runProbes(
      [targetFor(srv.url("/fast"))],
      { count: 300, concurrency: 4, connection: "reuse", tag: "probe", retainRecords: false },
      {
        ...deps(),
        onRecord: (r) => {
          calls++;
          seen.add(r.seq);
          expect(r.seriesSeq).toBe(r.seq); // one series: both count sends
        },
      },
    );
    expect(res.records).toHaveLength(0);
    expect(calls).toBe(300);
    expect(seen.size).toBe(300);
    expect(Math.max(...seen)).toBe(299);
  });

  test("lag attribution and the fixed-rate interval do not need the records", async () => {
    const lag = createLagMonitor({ intervalMs: 5 });
    const seen: RequestRecord[] = [];
    setTimeout(() => blockEventLoop(200), 20);
    const res = await runProbes(
      [targetFor(srv.url("/held"))],
      { count: 2, concurrency: 1, ratePerS: 20, connection: "reuse", tag: "probe", retainRecords: false },
      { ...deps(lag), onRecord: (r) => seen.push(r) },
    );
    expect(res.records).toHaveLength(0);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.loopLagMs).toBeGreaterThanOrEqual(150);
    expect(res.lag.affectedRequests).toBeGreaterThanOrEqual(1);
    // Counted against the lag floor (the sampler's 5 ms period), which the run reports.
    expect(res.lag.thresholdMs).toBe(loopLagFloorMs(res.lag));
    expect(res.lag.thresholdMs).toBe(5);
    expect(res.lag.affectedRequests).toBe(
      seen.filter((r) => (r.loopLagMs ?? 0) > res.lag.thresholdMs!).length,
    );
    expect(res.sendIntervalMs).toBe(50);
    expect(res.expectedIntervalMs).toBe(50);
  });
});
