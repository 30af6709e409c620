/**
 * ipv6-fallback on records shaped like the prober's: a name with AAAA and A records whose IPv6 SYNs go
 * unanswered (connectAttempts [::1, 127.0.0.1], connected over IPv4 after the fallback timer), against the
 * causes it must leave alone: lost SYNs on an IPv4-only path, a lost SYN after the fallback, a fallback
 * between two IPv4 addresses, a fast fallback (refused), a delay shorter than the timer, and a healthy run.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../src/diagnose/diagnose.js";
import { LINEAR_LINUX } from "../../src/diagnose/physics.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { DiagnoseContext } from "../../src/diagnose/types.js";
import type { RequestRecord } from "../../src/model.js";
import type { FamilyFallback } from "../../src/system/happy-eyeballs.js";
import { makeRecord } from "../helpers/records.js";

const NODE_250: FamilyFallback = { autoSelectFamily: true, attemptTimeoutMs: 250, source: "test" };
const URL_DUAL = "http://cdn.example.test/";
const DUAL = ["::1", "127.0.0.1"];

/** Deterministic jitter in [0, 1). */
const jit = (i: number) => ((i * 7919) % 1000) / 1000;

interface NewConn {
  connectMs: number;
  attempts?: string[];
  resolved?: string[];
  family?: string;
  address?: string;
}

/** `n` pairs: a fresh request shaped by `fresh(i)`, then a fast reused request (so the stall floor is 250 ms). */
function run(
  n: number,
  fresh: (i: number) => NewConn,
  url = URL_DUAL,
  freshTtfb?: (i: number) => number,
  reuseTtfbMs?: number,
): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const f = fresh(i);
    const base = 2 + 3 * jit(i);
    const ft = freshTtfb?.(i) ?? base;
    const rt = reuseTtfbMs ?? base;
    out.push(
      makeRecord({
        seq: 2 * i,
        seriesSeq: 2 * i,
        url,
        connection: "fresh",
        phasesMs: { dns: 0.3, connect: f.connectMs, ttfb: ft, transfer: 0.2, total: 0.5 + f.connectMs + ft },
        remoteAddress: f.address ?? "127.0.0.1",
        remoteFamily: f.family ?? "IPv4",
        ...(f.resolved ? { resolvedAddresses: f.resolved } : {}),
        ...(f.attempts ? { connectAttempts: f.attempts } : {}),
      }),
      makeRecord({
        seq: 2 * i + 1,
        seriesSeq: 2 * i + 1,
        url,
        connection: "reuse",
        reused: true,
        phasesMs: { ttfb: rt, transfer: 0.2, total: rt + 0.2 },
        remoteAddress: "127.0.0.1",
        remoteFamily: "IPv4",
      }),
    );
  }
  return out;
}

function diag(records: RequestRecord[], context: DiagnoseContext = { familyFallback: NODE_250 }) {
  const stalls = detectStalls(records);
  const d = diagnose({ records, stalls, context: { synSchedule: LINEAR_LINUX, ...context } });
  return { d, stalls };
}

const fallback = (connectMs: number): NewConn => ({ connectMs, attempts: DUAL, resolved: DUAL });

describe("ipv6-fallback", () => {
  it("IPv6 tried first, unanswered, IPv4 after the 250 ms attempt timeout: every such stall, verdict on top", () => {
    // Timers fire late, never early: 250–275 ms connects (the IPv4 connect itself adds < 1 ms on loopback).
    const records = run(20, (i) => fallback(250.5 + 25 * jit(i)));
    const { d, stalls } = diag(records);
    expect(stalls).toHaveLength(20);
    expect(d.findings[0]?.id).toBe("ipv6-fallback");
    expect(d.findings[0]?.stalls).toEqual(stalls.map((s) => s.record.seq));
    expect(d.findings[0]?.confidence).toBe("high");
    expect(d.verdict?.cause).toBe("ipv6-fallback");
    expect(d.verdict?.where).toBe("cdn.example.test → ::1 (IPv6)");
    expect(d.findings[0]?.evidence).toMatchObject({
      brokenFamily: "IPv6",
      dnsAnswer: DUAL,
      fallbackTimerMs: 250,
      autoSelectFamily: true,
    });
    expect(d.findings[0]?.summary).toMatch(
      /^20 stalls in connect: .*; 20 of 20 new connections fell back this way$/,
    );
    expect(d.findings[0]?.nextStep).toMatch(/AAAA/);
    expect(d.verdict?.evidence.map((e) => e.text).join("\n")).toMatch(/250 ms \(autoSelectFamily on/);
  });

  it("IPv6 that works for some connections: still the fallback's stalls, and the next step says the loss is partial", () => {
    const records = run(20, (i) =>
      i % 2
        ? fallback(251 + 20 * jit(i))
        : { connectMs: 0.3, resolved: DUAL, family: "IPv6", address: "::1" },
    );
    const { d } = diag(records);
    expect(d.findings[0]?.id).toBe("ipv6-fallback");
    expect(d.findings[0]?.stalls).toHaveLength(10);
    expect(d.findings[0]?.nextStep).toMatch(/^IPv6 worked for 10 of 20 new connections/);
  });

  it("a slow first byte on top: the fallback's only while the rest alone would not be a stall", () => {
    // Typical total ~100 ms (threshold 500 ms): a fallback under a 280 ms first byte (its dominant phase) is a
    // stall only because of the fallback; one under a 520 ms first byte would be a stall without it.
    const records = run(
      20,
      (i) => fallback(251 + 10 * jit(i)),
      URL_DUAL,
      (i) => (i % 5 === 4 ? 520 : 280),
      100,
    );
    const { d, stalls } = diag(records);
    const mine = new Set(d.findings.find((f) => f.id === "ipv6-fallback")?.stalls);
    for (const s of stalls) {
      const ttfb = s.record.phasesMs.ttfb ?? 0;
      expect(s.thresholdMs).toBeCloseTo(501, 0);
      if (s.record.connection !== "fresh") continue;
      expect(mine.has(s.record.seq), `ttfb ${ttfb}`).toBe(ttfb < 500);
    }
    expect(d.findings[0]?.id).toBe("ipv6-fallback");
  });

  it("every new connection falls back, only some stall: the baseline is a direct connect, not the series' typical", () => {
    // Threshold ~300 ms: fallbacks under a 20 ms first byte (~272 ms) are not stalls, so the fresh series'
    // typical connect is the fallback itself; those under an 80 ms first byte (~332 ms) are.
    const records = run(
      20,
      (i) => fallback(251 + 5 * jit(i)),
      URL_DUAL,
      (i) => (i % 2 ? 80 : 20),
      60,
    );
    const { d, stalls } = diag(records);
    expect(stalls).toHaveLength(10);
    expect(d.findings[0]?.id).toBe("ipv6-fallback");
    expect(d.findings[0]?.stalls).toEqual(stalls.map((s) => s.record.seq));
    expect(d.findings[0]?.summary).toMatch(/20 of 20 new connections fell back this way$/);
  });

  it("the level is the host's attempt timeout, not a constant: 500 ms fits a 500 ms host, not a 250 ms one", () => {
    const records = run(12, (i) => fallback(501 + 20 * jit(i)));
    const at500 = diag(records, { familyFallback: { ...NODE_250, attemptTimeoutMs: 500 } });
    expect(at500.d.findings[0]?.id).toBe("ipv6-fallback");
    expect(at500.d.findings[0]?.stalls).toHaveLength(12);
    const at250 = diag(records);
    expect(at250.d.findings.map((f) => f.id)).not.toContain("ipv6-fallback");
    expect(at250.d.notes.join("\n")).toMatch(/none by its 250 ms Happy Eyeballs attempt timeout/);
  });

  it("three abandoned attempts ([v6, v4, v6, v4]: the first IPv4 address dead too) sit on 3 × the timer", () => {
    const attempts = ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"];
    const records = run(10, (i) => ({ connectMs: 3 * 250 + 2 + 30 * jit(i), attempts, resolved: attempts }));
    // Three attempts abandoned: 750 ms.
    const { d } = diag(records);
    expect(d.findings[0]?.id).toBe("ipv6-fallback");
    expect(d.findings[0]?.stalls).toHaveLength(10);
  });

  it("without autoSelectFamily the level is the kernel's whole SYN budget for the first address", () => {
    const off: FamilyFallback = { autoSelectFamily: false, attemptTimeoutMs: 250, source: "test" };
    const quick = run(10, (i) => fallback(251 + 20 * jit(i)));
    expect(diag(quick, { familyFallback: off }).d.findings.map((f) => f.id)).not.toContain("ipv6-fallback");
  });

  it("IPv4-only SYN loss (1 s, 2 s, 3 s on a linear-timeouts kernel) stays tcp-syn-retransmit", () => {
    const levels = [1000, 1000, 1000, 2000, 1000, 2000, 3000, 1000];
    const records = run(30, (i) =>
      i < levels.length ? { connectMs: (levels[i] as number) + 15 + 10 * jit(i) } : { connectMs: 0.2 },
    );
    const { d, stalls } = diag(records, { familyFallback: NODE_250 });
    expect(stalls).toHaveLength(levels.length);
    expect(d.findings.map((f) => f.id)).toEqual(["tcp-syn-retransmit"]);
  });

  it("a lost SYN on the IPv4 attempt after the fallback is the SYN loss's, not the fallback's", () => {
    const records = run(24, (i) =>
      i % 6 === 0 ? fallback(250 + 1000 + 20 * jit(i)) : fallback(251 + 20 * jit(i)),
    );
    const { d } = diag(records);
    const f = d.findings.find((x) => x.id === "ipv6-fallback");
    const seqs = records.filter((r) => (r.phasesMs.connect ?? 0) > 1000).map((r) => r.seq);
    expect(seqs).toHaveLength(4);
    for (const s of seqs) {
      expect(f?.stalls).not.toContain(s);
      expect(d.causeBySeq.get(s)).toBe("tcp-syn-retransmit");
    }
  });

  it("a fallback between two IPv4 addresses (one dead NLB node) is not an IPv6 fault", () => {
    const v4 = ["192.0.2.1", "192.0.2.2"];
    const records = run(12, (i) => ({ connectMs: 251 + 20 * jit(i), attempts: v4, resolved: v4 }));
    const { d, stalls } = diag(records);
    expect(stalls).toHaveLength(12);
    expect(d.findings.map((f) => f.id)).not.toContain("ipv6-fallback");
  });

  it("a connect delay below the timer (150 ms) is not the timer: timers fire late, never early", () => {
    const records = run(12, (i) => ({ ...fallback(150 + 10 * jit(i)) }));
    // 150 ms stays under the 250 ms floor: make them stalls with a tighter absolute rule.
    const stalls = detectStalls(records, { stallMs: 100, stallFactor: 5, stallFloorMs: 250 });
    expect(stalls).toHaveLength(12);
    const d = diagnose({ records, stalls, context: { familyFallback: NODE_250, synSchedule: LINEAR_LINUX } });
    expect(d.findings.map((f) => f.id)).not.toContain("ipv6-fallback");
  });

  it("healthy: IPv6 refused at once (a fast fallback) and direct IPv4 connects raise nothing", () => {
    const records = run(20, (i) => (i % 2 ? fallback(0.4) : { connectMs: 0.2, resolved: DUAL }));
    const { d, stalls } = diag(records);
    expect(stalls).toHaveLength(0);
    expect(d.findings).toHaveLength(0);
    expect(d.healthy).toBe(true);
  });
});
