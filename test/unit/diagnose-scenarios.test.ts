/**
 * Every finding from a synthetic record set that carries its fault: the right
 * id, the right stalls attributed, nothing else raised. Several seeds each.
 */

import { describe, expect, it } from "vitest";
import { diagnose, explainStall } from "../../src/diagnose/diagnose.js";
import { LINEAR_LINUX, RTO3 } from "../../src/diagnose/physics.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { Detector } from "../../src/diagnose/types.js";
import { addDelay, baseline, Rng } from "../fixtures/records/builders.js";
import { attributed, ids, run } from "../fixtures/records/run.js";
import * as S from "../fixtures/records/scenarios.js";

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

interface Case {
  name: string;
  build: (seed: number) => S.Scenario;
  id: string;
  /** Other ids allowed beside it (corroborating evidence). */
  allowed?: string[];
}

const CASES: Case[] = [
  { name: "DNS queries lost", build: (s) => S.dnsTimeoutScenario(s), id: "dns-resolver-timeout" },
  {
    name: "SYNs dropped in one AZ",
    build: (s) => S.synRetransmitScenario(s),
    id: "tcp-syn-retransmit",
    allowed: ["address-skew"],
  },
  { name: "TLS handshakes stall", build: (s) => S.tlsScenario(s), id: "tls-handshake-stall" },
  { name: "slow responses", build: (s) => S.slowBackendScenario(s), id: "slow-backend" },
  { name: "every 3rd request", build: (s) => S.periodicScenario(s), id: "periodic-stall" },
  { name: "one slow NLB node", build: (s) => S.addressSkewScenario(s), id: "address-skew" },
  { name: "custom domain only", build: (s) => S.routeSpecificScenario(s), id: "route-specific" },
  {
    name: "cold start after 2 min",
    build: (s) => S.coldStartScenario(s, 120_000),
    id: "cold-start-after-idle",
  },
  { name: "stalls on idle reused sockets", build: (s) => S.staleStallScenario(s), id: "stale-connection" },
  { name: "headers timeouts", build: (s) => S.timeoutScenario(s), id: "timeout" },
  { name: "prober loop blocked", build: (s) => S.clientLagScenario(s), id: "client-lag" },
];

describe.each(CASES)("$name → $id", ({ build, id, allowed = [] }) => {
  it.each(SEEDS)("seed %i: raised, every injected stall attributed to it, nothing else", (seed) => {
    const sc = build(seed);
    const d = run(sc.records);
    expect(sc.faulty.length).toBeGreaterThanOrEqual(3);
    expect(d.stallSeqs).toEqual(sc.faulty);
    expect(ids(d)).toContain(id);
    for (const other of ids(d)) expect([id, ...allowed]).toContain(other);
    expect(attributed(d, id)).toEqual(sc.faulty);
    expect(d.healthy).toBe(false);
    const f = d.findings.find((x) => x.id === id)!;
    expect(f.confidence).toBe("high");
    expect(f.summary.length).toBeGreaterThan(20);
    expect(f.nextStep.length).toBeGreaterThan(20);
    expect(d.findings[0]!.id).toBe(id);
  });
});

describe("signature details", () => {
  it("SYN retransmits: levels, the one address, next step names it", () => {
    const d = run(S.synRetransmitScenario(3).records);
    const f = d.findings.find((x) => x.id === "tcp-syn-retransmit")!;
    expect(f.summary).toMatch(
      /^\d+ of \d+ new connections stalled in TCP connect at this host's SYN retransmission times \(100% to 10\.0\.3\.17\): \d+× 1 SYN lost, \d+× 2 SYNs lost/,
    );
    expect(f.evidence.byLostSyns).toMatchObject({ 1: expect.any(Number), 2: expect.any(Number) });
    expect(f.nextStep).toContain("10.0.3.17");
    // address-skew describes the same stalls: folded into the verdict, not a cause of its own.
    expect(ids(d)).not.toContain("address-skew");
    expect(d.verdict?.where).toBe("10.0.3.17");
    expect(d.verdict?.evidence.some((e) => e.text.startsWith("address-skew:"))).toBe(true);
    expect(explainStall(d, f.stalls[0]!).alsoMatched).toContain("address-skew");
  });

  it("SYN retransmits follow the prober host's own schedule: 3 s / 9 s with a 3 s initial RTO, not 1 s", () => {
    const records = baseline({ seed: 9, n: 100 });
    const hit = [10, 30, 50, 70];
    records.forEach((r) => {
      if (hit.includes(r.seq)) addDelay(r, "connect", r.seq < 40 ? 3000 : 9000);
    });
    const d = run(records, { synSchedule: RTO3 });
    expect(ids(d)).toEqual(["tcp-syn-retransmit"]);
    expect(d.findings[0]!.evidence.byLostSyns).toEqual({ 1: 2, 2: 2 });
    // On a host whose kernel starts at 1 s and goes linear (1, 2, 3, 4, 5, 7 s), 9 s is no level and 3 s is three
    // lost SYNs: two of those in 100 connects would come with ~20 single losses, and there are none.
    const linear = run(records, { synSchedule: LINEAR_LINUX });
    expect(ids(linear)).not.toContain("tcp-syn-retransmit");
    expect(linear.ruledOut.find((r) => r.cause === "tcp-syn-retransmit")?.reason).toMatch(/lost 3 SYNs/);
  });

  it("the level mix must be one random loss can make: a fixed 2 s connect delay is not 2 lost SYNs", () => {
    const records = baseline({ seed: 9, n: 150 });
    const hit = [5, 15, 25, 35, 45, 55, 65, 75, 85, 95, 105, 115];
    for (const seq of hit) addDelay(records[seq]!, "connect", 2000);
    const d = run(records, { synSchedule: LINEAR_LINUX });
    expect(ids(d)).not.toContain("tcp-syn-retransmit");
    expect(d.ruledOut.find((r) => r.cause === "tcp-syn-retransmit")?.reason).toMatch(/1-lost-SYN level/);
  });

  it("DNS stalls honour a configured resolver timeout and ignore 5 s when it is 2 s", () => {
    const records = baseline({ seed: 4, n: 100 });
    for (const seq of [5, 25, 45]) addDelay(records[seq]!, "dns", 2000);
    for (const seq of [60, 80]) addDelay(records[seq]!, "dns", 4000);
    const d = run(records, { resolverTimeoutMs: 2000 });
    expect(attributed(d, "dns-resolver-timeout")).toEqual([5, 25, 45, 60, 80]);
    const other = run(records); // with the 5 s default these are not resolver timeouts
    expect(ids(other)).not.toContain("dns-resolver-timeout");
    expect([...other.causeBySeq.values()].every((c) => c === "unexplained")).toBe(true);
  });

  it("DNS stalls far from the resolver timeout are not a resolver timeout", () => {
    const records = baseline({ seed: 5, n: 100 });
    for (const seq of [5, 25, 45]) addDelay(records[seq]!, "dns", 2500);
    const d = run(records);
    expect(ids(d)).toEqual([]);
    expect(d.notes.join("\n")).toMatch(/3 stalls unexplained/);
  });

  it("periodicity finds the right period (2, 5, 7)", () => {
    for (const period of [2, 5, 7]) {
      const d = run(S.periodicScenario(11, 300, period).records);
      const f = d.findings.find((x) => x.id === "periodic-stall")!;
      expect(f.evidence.period).toBe(period);
    }
  });

  it("cold start after 10 min: keep-warm every 5 min would avoid it; after 2 min: a shorter interval", () => {
    const late = run(S.coldStartScenario(2, 600_000).records).findings[0]!;
    expect(late.id).toBe("cold-start-after-idle");
    expect(late.nextStep).toMatch(/^Keep-warm pings every 5 min would avoid it/);
    expect(late.evidence.thresholdMs).toBeGreaterThanOrEqual(600_000);
    expect(late.evidence.lastQuietGapMs).toBeLessThan(600_000);
    const early = run(S.coldStartScenario(2, 120_000).records).findings[0]!;
    expect(early.nextStep).toMatch(/^Keep-warm pings every 1 min would avoid it/);
    expect(early.evidence.keepWarmIntervalMs).toBe(60_000);
  });

  it("resets on reused sockets after idle: stale-connection, with the resets as evidence", () => {
    const sc = S.staleResetScenario(1);
    const d = run(sc.records);
    expect(ids(d)).toEqual(["stale-connection"]);
    const f = d.findings[0]!;
    expect(f.stalls).toEqual([]);
    expect(f.evidence.resetSeqs).toEqual(sc.faulty);
    expect(f.evidence.resetSocketIdleMinMs as number).toBeGreaterThanOrEqual(350_000);
    expect(f.nextStep).toMatch(/keep-alive timeout below 5\.\d min/);
    expect(d.healthy).toBe(false);
  });

  it("client lag takes precedence over the TTFB it inflated", () => {
    const sc = S.clientLagScenario(2);
    const d = run(sc.records);
    const e = explainStall(d, sc.faulty[0]!);
    expect(e.cause).toBe("client-lag");
    expect(e.detail).toMatch(/^event loop blocked/);
    expect(e.alsoMatched).toEqual(["slow-backend"]);
    expect(ids(d)).toEqual(["client-lag"]); // slow-backend explains nothing left: dropped
  });

  it("mixed faults: each stall goes to its own cause, ranked by stalls explained", () => {
    const records = S.periodicScenario(5, 300).records;
    const dnsSeqs = [4, 40, 100];
    for (const seq of dnsSeqs) {
      records[seq]!.phasesMs.dns = 5000;
      addDelay(records[seq]!, "ttfb", 0);
    }
    const d = run(records);
    expect(ids(d)[0]).toBe("periodic-stall");
    expect(ids(d)).toContain("dns-resolver-timeout");
    expect(attributed(d, "dns-resolver-timeout")).toEqual(dnsSeqs);
  });
});

describe("too few samples", () => {
  it("every 3rd of 12 requests stalling raises no periodic finding and says why", () => {
    const sc = S.periodicScenario(1, 12);
    const d = run(sc.records);
    expect(d.stallSeqs.length).toBeGreaterThanOrEqual(3);
    expect(ids(d)).not.toContain("periodic-stall");
    expect(d.notes).toContain(
      "too few samples for periodicity test (flaskapp execute-api / (reuse)): n=12 < 30",
    );
    expect(ids(d)).toEqual(["slow-backend"]); // still named by phase
  });

  it("a skewed address with 15 requests is not tested", () => {
    const sc = S.addressSkewScenario(2, 15);
    const d = run(sc.records);
    expect(ids(d)).not.toContain("address-skew");
    expect(d.notes.some((n) => n.startsWith("too few samples for address-skew test"))).toBe(true);
  });

  it("cold start over 14 gaps is not tested", () => {
    const sc = S.coldStartScenario(1, 120_000, 2);
    const d = run(sc.records);
    expect(ids(d)).not.toContain("cold-start-after-idle");
    expect(d.notes.some((n) => /too few samples for cold-start test: n=13 < 20/.test(n))).toBe(true);
  });

  it("a route compared over 10 requests each is not tested", () => {
    const d = run(S.routeSpecificScenario(3, 20).records);
    expect(ids(d)).not.toContain("route-specific");
  });
});

describe("engine", () => {
  it("a detector that throws becomes a note, never a crash", () => {
    const records = S.tlsScenario(1).records;
    const broken: Detector = {
      id: "broken",
      detect() {
        throw new Error("boom");
      },
    };
    const d = diagnose({ records, stalls: detectStalls(records) }, [broken]);
    expect(d.notes).toContain("detector broken failed: boom");
    expect(d.findings).toEqual([]);
  });

  it("an extra detector plugs in; unknown ids rank after the registry's", () => {
    const records = S.tlsScenario(1).records;
    const stalls = detectStalls(records);
    const extra: Detector = {
      id: "target-unhealthy",
      detect: () => ({
        candidate: {
          summary: "x",
          stalls: stalls.map((s) => s.record.seq),
          confidence: "high",
          evidence: {},
          nextStep: "y",
        },
      }),
    };
    const d = diagnose({ records, stalls }, [extra]);
    expect(d.causeBySeq.get(stalls[0]!.record.seq)).toBe("target-unhealthy");
  });

  it("keep-warm pings are kept out of the statistics", () => {
    const sc = S.periodicScenario(3);
    for (const r of sc.records) r.tag = "keep-warm";
    const d = diagnose({ records: sc.records, stalls: [] });
    expect(d.healthy).toBe(true);
    expect(d.findings).toEqual([]);
  });

  it("explainStall of an unknown seq is unexplained", () => {
    const d = run(baseline({ seed: 1, n: 50 }));
    expect(explainStall(d, 999).cause).toBe("unexplained");
    expect(d.healthy).toBe(true);
    expect(d.notes).toEqual([]);
  });
});

describe("scale", () => {
  it("100k recorded records (5% stalls, two series) diagnoses without stack overflow", () => {
    const records = baseline({
      seed: 42,
      n: 100_000,
      connection: "reuse",
      series: [
        { route: "custom-domain", endpoint: "/" },
        { route: "execute-api", endpoint: "/" },
      ],
      gapMs: () => 60_000,
    });
    const rng = new Rng(42);
    for (const r of records) if (r.seriesSeq % 4 === 3 && rng.chance(0.2)) addDelay(r, "ttfb", 1500);
    const started = performance.now();
    const d = run(records);
    console.log(
      `100k records, ${d.stallSeqs.length} stalls: diagnosed in ${Math.round(performance.now() - started)} ms`,
    );
    expect(ids(d)).toContain("periodic-stall");
    expect(d.causeBySeq.size).toBe(d.stallSeqs.length);
  });
});
