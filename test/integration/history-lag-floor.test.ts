/**
 * Reports over recorded history count "requests in flight during lag" against client-lag's own floor: the
 * same number the detector uses (the default sampler period: the rounds' period is not stored). A store written
 * for real, read through historyReport.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { historyReport } from "../../src/app/history.js";
import { DEFAULT_STALL_RULE } from "../../src/diagnose/stalls.js";
import { DEFAULT_LAG_SAMPLE_PERIOD_MS, loopLagFloorMs, type RequestRecord } from "../../src/model.js";
import { openStore } from "../../src/record/store.js";
import { expectOneCount } from "../helpers/one-count.js";
import { fakeRecord } from "../helpers/store-records.js";

const N = 40;
/** Stalls of 300 ms, 200 ms of it the prober's loop (client-lag by the 50 % rule). */
const LAGGED_STALLS = new Set([7, 19, 31]);
/** Fast requests with 15 ms of loop lag: above the floor (10 ms), not stalls. */
const LAG_15 = new Set([3, 11, 23, 35]);
/** Fast requests with 9 ms: within one sampler period of the run's median lag, not counted. */
const LAG_9 = new Set([5, 27]);

let dir: string;
let atMs: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sw-history-lag-"));
  atMs = Date.now() - 10 * 60_000;
  const records: RequestRecord[] = Array.from({ length: N }, (_, seq) => {
    const r = fakeRecord({ atMs: atMs + seq * 100, seq, totalMs: 20 + (seq % 4) });
    r.loopLagMs = (seq % 5) * 0.25;
    if (LAGGED_STALLS.has(seq)) {
      r.phasesMs = { dns: 1.5, connect: 2.25, tls: 5, ttfb: 290, transfer: 1.25, total: 300 };
      r.loopLagMs = 200;
    }
    if (LAG_15.has(seq)) r.loopLagMs = 15;
    if (LAG_9.has(seq)) r.loopLagMs = 9;
    return r;
  });
  const store = await openStore({ dir, fsync: false });
  await store.writeRound(
    {
      id: 1,
      kind: "probe",
      scheduledAtMs: atMs,
      startedAtMs: atMs,
      endedAtMs: atMs + 5000,
      latenessMs: 0,
      skipped: 0,
    },
    records,
  );
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the history report's lag count and client-lag use one floor", async () => {
  const { report } = await historyReport({
    dir,
    sinceMs: atMs - 60_000,
    untilMs: Date.now(),
    stallRule: DEFAULT_STALL_RULE,
    context: {},
    options: {},
    source: { kind: "history" },
  });
  expectOneCount(report);
  const lag = report.eventLoopLagMs;
  const floor = loopLagFloorMs(lag);
  expect(lag.samplePeriodMs).toBeUndefined(); // not stored: the default is assumed
  expect(floor).toBe(DEFAULT_LAG_SAMPLE_PERIOD_MS);
  expect(lag.thresholdMs).toBe(floor);
  expect(lag.affectedRequests).toBe(LAGGED_STALLS.size + LAG_15.size);
  const f = report.findings.find((x) => x.id === "client-lag");
  expect(f?.stalls).toEqual([...LAGGED_STALLS]);
  expect(f?.evidence.loopLagFloorMs).toBe(Math.round(floor * 10) / 10);
  expect(f?.evidence.samplePeriodMs).toBe(DEFAULT_LAG_SAMPLE_PERIOD_MS);
});
