/**
 * listen-backlog against hidden-hop-syn-retransmit: the same TTFB excess on a SYN retransmission level, told
 * apart by whether the stall rate grows with the requests in flight at send.
 */
import { describe, expect, it } from "vitest";
import { loadSplit } from "../../src/diagnose/detectors/listen-backlog.js";
import { diagnose } from "../../src/diagnose/diagnose.js";
import { LINEAR_LINUX } from "../../src/diagnose/physics.js";
import { findingSpec } from "../../src/diagnose/registry.js";
import { DEFAULT_STALL_RULE, detectStalls } from "../../src/diagnose/stalls.js";
import type { RequestRecord } from "../../src/model.js";
import { makeRecord } from "../helpers/records.js";

/** A deterministic generator (LCG), so every run sees the same records. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A concurrency sweep like the lab's: 30 requests each with ~1, ~7 and 8–31 others in flight. A request that
 * did not lose a SYN takes 110 ms plus its queue (20 ms per request in flight ahead of it, up to 4); `lost(i,
 * load)` says how many SYNs request i lost, which adds 1 s per SYN (this kernel's linear schedule).
 */
function sweep(
  lost: (i: number, load: number) => number,
  seed = 1,
  loads?: (i: number) => number,
): RequestRecord[] {
  const rand = rng(seed);
  const out: RequestRecord[] = [];
  for (let i = 0; i < 90; i++) {
    const load = loads ? loads(i) : i < 30 ? 1 : i < 60 ? 7 : 8 + Math.floor(rand() * 24);
    const k = lost(i, load);
    const ttfb = 110 + 20 * Math.min(4, load) * rand() + 1000 * k + 30 * k * rand() + 5 * rand();
    const connect = 1 + rand();
    const transfer = 0.5 + rand();
    out.push(
      makeRecord({
        seq: i,
        seriesSeq: i,
        atMs: 1_700_000_000_000 + i * 100,
        inFlightAtSend: load,
        phasesMs: { connect, ttfb, transfer, total: connect + ttfb + transfer },
        status: 200,
      }),
    );
  }
  return out;
}

/** `n` request indexes out of 90 at random: losses that fall on any request alike. */
function randomPicks(n: number, seed: number): Set<number> {
  const rand = rng(seed);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(rand() * 90));
  return picked;
}

function run(records: RequestRecord[]) {
  const stalls = detectStalls(records, DEFAULT_STALL_RULE);
  return { stalls, diagnosis: diagnose({ records, stalls, context: { synSchedule: LINEAR_LINUX } }) };
}

describe("listen-backlog", () => {
  it("is a cause at the target, more specific than hidden-hop SYN loss and less than a named target or idle", () => {
    const p = (id: string) => findingSpec(id)?.precedence ?? Number.NaN;
    expect(findingSpec("listen-backlog")).toMatchObject({ kind: "statistical", hop: "target" });
    expect(p("listen-backlog")).toBeLessThan(p("hidden-hop-syn-retransmit"));
    expect(p("listen-backlog")).toBeLessThan(p("hidden-hop-dns-timeout"));
    for (const specific of ["slow-target", "target-unhealthy", "cold-start-after-idle", "periodic-stall"])
      expect(p(specific)).toBeLessThan(p("listen-backlog"));
  });

  it("names a full accept queue when on-level stalls come only under load", () => {
    // Above 12 others in flight, 2 of 3 requests lose a SYN (some two): the queue overflows.
    const records = sweep((i, load) => (load >= 12 && i % 3 !== 0 ? (i % 7 === 0 ? 2 : 1) : 0));
    const { stalls, diagnosis } = run(records);
    const top = diagnosis.findings[0];
    expect(top?.id).toBe("listen-backlog");
    expect(top?.stalls).toEqual(stalls.map((s) => s.record.seq));
    expect(top?.evidence.pAdjusted as number).toBeLessThan(0.01);
    expect(top?.evidence.boundary).toBeGreaterThanOrEqual(8);
    expect(diagnosis.verdict?.hop).toBe("target");
    expect(top?.nextStep).toMatch(/somaxconn/);
    expect(top?.nextStep).toMatch(/ListenOverflows/);
    // The hidden-hop reading fits the same stalls but is the less specific cause.
    expect(diagnosis.findings.map((f) => f.id)).not.toContain("hidden-hop-syn-retransmit");
  });

  it("leaves random hidden-hop SYN loss to hidden-hop-syn-retransmit: the same rate at every load", () => {
    // 10 requests of 90 lose one SYN, whatever is in flight.
    const lost = randomPicks(10, 7);
    const records = sweep((i) => (lost.has(i) ? 1 : 0));
    const { stalls, diagnosis } = run(records);
    expect(stalls.length).toBe(10);
    expect(diagnosis.findings.map((f) => f.id)).not.toContain("listen-backlog");
    expect(diagnosis.findings[0]?.id).toBe("hidden-hop-syn-retransmit");
    expect(diagnosis.notes.some((n) => /^listen-backlog test: .*p=/.test(n))).toBe(true);
  });

  it("stays silent at a constant concurrency (no split by load): hidden-hop-syn-retransmit keeps the stalls", () => {
    const lost = randomPicks(12, 9);
    const records = sweep(
      (i) => (lost.has(i) ? 1 : 0),
      2,
      () => 3,
    );
    const { diagnosis } = run(records);
    expect(diagnosis.findings.map((f) => f.id)).not.toContain("listen-backlog");
    expect(diagnosis.findings[0]?.id).toBe("hidden-hop-syn-retransmit");
    expect(diagnosis.notes.some((n) => n.includes("the load did not vary"))).toBe(true);
  });

  it("does not take stalls that grow with load but sit on no SYN level (a slow app, no dropped SYNs)", () => {
    const records = sweep(() => 0, 3).map((r) => {
      if ((r.inFlightAtSend ?? 0) < 12 || r.seq % 3 === 0) return r;
      const ttfb = 600 + (r.seq % 5) * 40; // queueing in the app: 0.6–0.76 s, no retransmission timer
      return { ...r, phasesMs: { ...r.phasesMs, ttfb, total: ttfb + 3 } };
    });
    const { stalls, diagnosis } = run(records);
    expect(stalls.length).toBeGreaterThan(5);
    expect(diagnosis.findings.map((f) => f.id)).not.toContain("listen-backlog");
  });

  it("raises nothing on a healthy sweep", () => {
    const { stalls, diagnosis } = run(sweep(() => 0, 4));
    expect(stalls).toHaveLength(0);
    expect(diagnosis.findings).toHaveLength(0);
    expect(diagnosis.healthy).toBe(true);
  });

  it("the split test: Fisher's exact test, Bonferroni over the distinct splits, minimum effect", () => {
    const samples = (rate: (x: number) => boolean) =>
      Array.from({ length: 60 }, (_, i) => ({ seq: i, inFlight: i % 20, stall: rate(i) }));
    const grows = loadSplit(
      samples((i) => i % 20 >= 16 && i % 2 === 0),
      0.01,
    );
    expect("split" in grows && grows.split.boundary).toBe(16);
    const flat = loadSplit(
      samples((i) => i % 10 === 3),
      0.01,
    );
    expect("reason" in flat).toBe(true);
    expect(loadSplit(samples(() => false).slice(0, 10), 0.01)).toEqual({
      reason: expect.stringContaining("too few"),
    });
  });
});
