/**
 * keepalive-mismatch on synthetic records: proxy-generated 5xx in one band of the path's idle gap (the backend's
 * keep-alive shorter than the proxy's reuse) is raised with the NLB's target resets as corroboration; the NLB's
 * own idle timeout, failures unrelated to the gap, 504s, cold starts and healthy runs are not.
 */
import { describe, expect, it } from "vitest";
import {
  failureBand,
  isProxyFailure,
  nlbResets,
  pathGaps,
} from "../../src/diagnose/detectors/keepalive-mismatch.js";
import type { DiagnoseContext } from "../../src/diagnose/types.js";
import type { RequestRecord } from "../../src/model.js";
import { baseline, Rng } from "../fixtures/records/builders.js";
import { ids, run } from "../fixtures/records/run.js";
import * as S from "../fixtures/records/scenarios.js";
import { makeRecord } from "../helpers/records.js";

const SEEDS = [1, 2, 3, 4, 5];

/** API Gateway's answer when its integration connection was reset. */
function gatewayReset(r: RequestRecord, status = 500): void {
  r.ok = false;
  r.status = status;
  r.phasesMs = { ...r.phasesMs, ttfb: 2, transfer: 0.2 };
  r.phasesMs.total = Object.entries(r.phasesMs)
    .filter(([k]) => k !== "total")
    .reduce((a, [, v]) => a + (v ?? 0), 0);
  r.error = { code: "http-5xx", phase: "ttfb", message: `HTTP ${status}` };
  if (status !== 502) r.hopHeaders = { ...r.hopHeaders, "x-amzn-errortype": "InternalServerErrorException" };
}

function withFailures(
  records: RequestRecord[],
  pick: (r: RequestRecord, rng: Rng) => boolean,
  seed: number,
  status = 500,
): { records: RequestRecord[]; faulty: number[] } {
  const rng = new Rng(seed ^ 0xa11e);
  const faulty: number[] = [];
  for (const r of records) {
    if (!pick(r, rng)) continue;
    gatewayReset(r, status);
    faulty.push(r.seq);
  }
  return { records, faulty };
}

const nlbEvidence = (target: number, elb: number): DiagnoseContext => ({
  cloudwatchMetrics: {
    series: [
      { metricName: "TCP_Target_Reset_Count", value: target },
      { metricName: "TCP_ELB_Reset_Count", value: elb },
    ].map((m, i) => ({
      id: `m${i}`,
      namespace: "AWS/NetworkELB",
      metricName: m.metricName,
      stat: "Sum",
      dimensions: { LoadBalancer: "net/x/0123456789abcdef" },
      timestampsMs: [0, 60_000],
      values: [m.value, 0],
    })),
  },
});

/** gunicorn's 2 s keep-alive behind a pool that reuses idle connections for 60 s: every gap ≥ 2 s fails. */
function lazyPool(seed: number, keepAliveMs = 2000) {
  const records = baseline({ seed, n: 80, gapMs: (_i, rng) => rng.uniform(100, 2 * keepAliveMs) });
  return withFailures(records, (r) => (r.idleGapMs ?? 0) >= keepAliveMs, seed);
}

describe("keepalive-mismatch", () => {
  it.each(SEEDS)(
    "seed %i: gaps past the backend's keep-alive fail, the NLB counts target resets → raised, high",
    (seed) => {
      const sc = lazyPool(seed);
      expect(sc.faulty.length).toBeGreaterThanOrEqual(10);
      const d = run(sc.records, nlbEvidence(sc.faulty.length, 0));
      expect(ids(d)[0]).toBe("keepalive-mismatch");
      const f = d.findings[0]!;
      expect(f.failures).toEqual(sc.faulty);
      expect(f.stalls).toEqual([]);
      expect(f.confidence).toBe("high");
      const band = f.evidence.band as { fromMs: number };
      expect(band.fromMs).toBeGreaterThanOrEqual(2000);
      expect(band.fromMs).toBeLessThan(2400);
      expect(d.verdict?.cause).toBe("keepalive-mismatch");
      expect(d.verdict?.hop).toBe("target");
      expect(
        d.verdict?.evidence.some((e) => e.source === "cloudwatch" && /TCP_Target_Reset_Count/.test(e.text)),
      ).toBe(true);
      expect(d.verdict?.nextStep).toMatch(/keep-alive/);
    },
  );

  it("nginx that watches its idle connections fails only at the keep-alive itself (the race): a closed band", () => {
    // Gaps cycle 0.5–6 s; only requests that left the path idle within 30 ms after 2 s hit the closing connection.
    const plan = [500, 1000, 1500, 2005, 2010, 2020, 3000, 4000, 6000];
    const records = baseline({ seed: 7, n: 90, gapMs: (i) => plan[i % plan.length]! });
    const sc = withFailures(records, (r) => (r.idleGapMs ?? 0) >= 2000 && (r.idleGapMs ?? 0) <= 2030, 7, 502);
    const d = run(sc.records);
    const f = d.findings.find((x) => x.id === "keepalive-mismatch");
    expect(f?.failures).toEqual(sc.faulty);
    const band = f?.evidence.band as { fromMs: number; toMs: number };
    expect(band).toEqual(expect.objectContaining({ fromMs: 2005, toMs: 2020 }));
    expect(f?.summary).toMatch(/after 2 s–2 s idle|after 2\.0 s/);
  });

  it("the NLB's own idle timeout (ELB resets, no target resets) is ruled out, stale-connection explains it", () => {
    const records = baseline({
      seed: 3,
      n: 80,
      connection: "reuse",
      gapMs: (_i, rng) => rng.uniform(100, 3000),
    });
    const sc = withFailures(records, (r) => r.reused && (r.socketIdleMs ?? 0) >= 1500, 3);
    const d = run(sc.records, nlbEvidence(0, 2 * sc.faulty.length));
    expect(ids(d)).not.toContain("keepalive-mismatch");
    expect(d.ruledOut.find((x) => x.cause === "keepalive-mismatch")?.reason).toMatch(/TCP_ELB_Reset_Count/);
    expect(ids(d)).toContain("stale-connection");
  });

  it("without the NLB's counters, failures only on reused prober connections idle as long are left to stale-connection", () => {
    const records = baseline({
      seed: 4,
      n: 80,
      connection: "reuse",
      gapMs: (_i, rng) => rng.uniform(100, 3000),
    });
    const sc = withFailures(records, (r) => r.reused && (r.socketIdleMs ?? 0) >= 1500, 4);
    const d = run(sc.records);
    expect(ids(d)).not.toContain("keepalive-mismatch");
    expect(d.ruledOut.some((x) => x.cause === "keepalive-mismatch")).toBe(true);
  });

  it("failures unrelated to the gap raise nothing", () => {
    for (const seed of SEEDS) {
      const records = baseline({ seed, n: 120, gapMs: (_i, rng) => rng.uniform(100, 4000) });
      withFailures(records, (_r, rng) => rng.chance(0.08), seed);
      expect(ids(run(records))).not.toContain("keepalive-mismatch");
    }
  });

  it("504s after long gaps are timeouts, not resets", () => {
    const records = baseline({ seed: 5, n: 80, gapMs: (_i, rng) => rng.uniform(100, 4000) });
    withFailures(records, (r) => (r.idleGapMs ?? 0) >= 2000, 5, 504);
    expect(records.some((r) => isProxyFailure(r))).toBe(false);
    expect(ids(run(records))).not.toContain("keepalive-mismatch");
  });

  it.each(SEEDS)("seed %i: healthy runs and cold starts raise nothing", (seed) => {
    expect(ids(run(baseline({ seed, n: 200, gapMs: (_i, rng) => rng.uniform(100, 5000) })))).toEqual([]);
    expect(ids(run(S.coldStartScenario(seed, 120_000).records))).not.toContain("keepalive-mismatch");
  });

  it("a band that starts within the NLB's 60–6000 s idle-timeout range, without target resets, is low confidence", () => {
    const records = baseline({ seed: 9, n: 80, gapMs: (_i, rng) => rng.uniform(1000, 700_000) });
    const sc = withFailures(records, (r) => (r.idleGapMs ?? 0) >= 350_000, 9);
    const d = run(sc.records);
    const f = d.findings.find((x) => x.id === "keepalive-mismatch");
    expect(f?.confidence).toBe("low");
    expect(f?.evidence.caveat).toMatch(/idle-timeout range/);
  });

  it("pathGaps: per route, the series' own gap when the route has one endpoint, else time since the last request ended", () => {
    const recs = [
      makeRecord({ seq: 0, atMs: 1000, endpoint: "/a", phasesMs: { total: 100 } }),
      makeRecord({ seq: 1, atMs: 1500, endpoint: "/b", phasesMs: { total: 100 } }),
      makeRecord({ seq: 2, atMs: 1550, endpoint: "/a", phasesMs: { total: 10 } }),
      makeRecord({ seq: 3, atMs: 9000, route: "other", idleGapMs: 777, phasesMs: { total: 10 } }),
    ];
    const g = pathGaps(recs);
    expect(g.get("a · r")?.map((s) => s.gapMs)).toEqual([400, 0]);
    expect(g.get("a · other")?.map((s) => s.gapMs)).toEqual([777]);
  });

  it("failureBand and nlbResets refuse thin evidence with a reason", () => {
    const few = Array.from({ length: 10 }, (_, i) => ({ seq: i, gapMs: i * 100, failed: i > 6 }));
    expect(failureBand(few, 0.01)).toEqual({ ok: false, reason: expect.stringMatching(/too few samples/) });
    expect(nlbResets(undefined)).toBeUndefined();
    expect(nlbResets({ series: [] })).toBeUndefined();
  });
});
