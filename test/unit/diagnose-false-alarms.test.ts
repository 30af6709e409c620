/**
 * No false alarms. Healthy targets with ordinary jitter (many seeds, many
 * shapes) must yield zero findings; random stalls with no structure must not
 * raise a statistical finding (periodic, address, route, idle) beyond the
 * rate the significance level allows. The measured rates are printed.
 */
import { describe, expect, it } from "vitest";
import { baseline, Rng } from "../fixtures/records/builders.js";
import { ids, run } from "../fixtures/records/run.js";
import { randomStallScenario } from "../fixtures/records/scenarios.js";

const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);
const STATISTICAL = [
  "periodic-stall",
  "address-skew",
  "route-specific",
  "cold-start-after-idle",
  "stale-connection",
];

describe("false alarms", () => {
  it("200 healthy sets × 300 records: zero findings, healthy", () => {
    let findings = 0;
    let stalls = 0;
    for (const seed of SEEDS) {
      const rng = new Rng(seed * 31);
      const records = baseline({
        seed,
        n: 300,
        connection: rng.chance(0.5) ? "fresh" : "reuse",
        series: [
          { route: "custom-domain", endpoint: "/", addresses: ["13.32.0.1", "13.32.0.2", "13.32.0.3"] },
          { route: "execute-api", endpoint: "/", addresses: ["10.0.1.10", "10.0.2.10", "10.0.3.17"] },
        ].slice(0, rng.int(1, 2)),
        gapMs: (_i, r) => (r.chance(0.2) ? r.uniform(1000, 900_000) : r.uniform(50, 200)),
      });
      const d = run(records);
      findings += d.findings.length;
      stalls += d.stallSeqs.length;
      expect(d.healthy, `seed ${seed}: ${ids(d).join(",")}`).toBe(true);
    }
    console.log(`healthy: ${SEEDS.length} sets × 300 records: ${stalls} stalls, ${findings} findings`);
    expect(findings).toBe(0);
  });

  it("200 sets × 300 records with 2–4% random stalls: statistical findings stay silent", () => {
    let alarms = 0;
    let stalls = 0;
    const byId: Record<string, number> = {};
    for (const seed of SEEDS) {
      const d = run(randomStallScenario(seed).records);
      stalls += d.stallSeqs.length;
      const raised = ids(d).filter((id) => STATISTICAL.includes(id));
      for (const id of raised) byId[id] = (byId[id] ?? 0) + 1;
      if (raised.length > 0) alarms += 1;
      // A random TTFB stall can only be named slow-backend, a random transfer stall transfer-stall: never a
      // timer signature (hidden-hop SYN or DNS levels need a cluster on the levels) and never a pattern.
      for (const id of ids(d)) expect(["slow-backend", "transfer-stall", ...STATISTICAL]).toContain(id);
    }
    console.log(
      `random stalls: ${SEEDS.length} sets, ${stalls} stalls, ${alarms} sets with a statistical finding (${(100 * alarms) / SEEDS.length}%) ${JSON.stringify(byId)}`,
    );
    expect(alarms).toBeLessThanOrEqual(2); // ≤ 1%: p < 0.01 after Bonferroni, plus effect-size minimums
  });

  it("200 sets with a high random stall rate (10%): still no statistical finding beyond 1%", () => {
    let alarms = 0;
    const byId: Record<string, number> = {};
    for (const seed of SEEDS) {
      const rng = new Rng(seed ^ 0xabc);
      const records = baseline({
        seed: seed + 1000,
        n: 300,
        connection: "fresh",
        series: [
          { route: "custom-domain", endpoint: "/", addresses: ["13.32.0.1", "13.32.0.2"] },
          { route: "execute-api", endpoint: "/", addresses: ["10.0.1.10", "10.0.2.10", "10.0.3.17"] },
        ],
        gapMs: (_i, r) => (r.chance(0.3) ? r.uniform(1000, 900_000) : r.uniform(50, 200)),
      });
      for (const r of records)
        if (rng.chance(0.1)) r.phasesMs.ttfb = (r.phasesMs.ttfb ?? 0) + rng.uniform(300, 3000);
      for (const r of records) {
        const p = r.phasesMs;
        p.total = (p.dns ?? 0) + (p.connect ?? 0) + (p.tls ?? 0) + (p.ttfb ?? 0) + (p.transfer ?? 0);
      }
      const raised = ids(run(records)).filter((id) => STATISTICAL.includes(id));
      for (const id of raised) byId[id] = (byId[id] ?? 0) + 1;
      if (raised.length > 0) alarms += 1;
    }
    console.log(
      `random stalls 10%: ${SEEDS.length} sets, ${alarms} with a statistical finding ${JSON.stringify(byId)}`,
    );
    expect(alarms).toBeLessThanOrEqual(2);
  });
});
