/**
 * One count for failed requests too: when two causes explain the same failed request, it belongs to the more
 * specific one (lower precedence), the other keeps only what is left and says how many more it fits.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../src/diagnose/diagnose.js";
import type { Candidate, Detector } from "../../src/diagnose/types.js";
import { makeRecord } from "../helpers/records.js";

const claim = (id: string, failures: number[]): Detector => ({
  id,
  detect: (): { candidate: Candidate } => ({
    candidate: {
      summary: `${id} explains ${failures.length}`,
      stalls: [],
      failures,
      confidence: "high",
      evidence: {},
      nextStep: "-",
    },
  }),
});

const records = Array.from({ length: 10 }, (_, i) =>
  makeRecord({
    seq: i,
    seriesSeq: i,
    atMs: i * 100,
    phasesMs: { total: 5, ttfb: 5 },
    ...(i < 4 ? { ok: false, status: 502 } : {}),
  }),
);

describe("failed requests are attributed once", () => {
  it("a failure two causes claim goes to the more specific one", () => {
    // keepalive-mismatch (precedence 39) is more specific than stale-connection (40).
    const d = diagnose({ records, stalls: [] }, [
      claim("stale-connection", [0, 1, 2, 3]),
      claim("keepalive-mismatch", [1, 2, 3]),
    ]);
    const byId = new Map(d.findings.map((f) => [f.id, f]));
    expect(byId.get("keepalive-mismatch")?.failures).toEqual([1, 2, 3]);
    expect(byId.get("stale-connection")?.failures).toEqual([0]);
    expect(byId.get("stale-connection")?.evidence.alsoFitsFailures).toBe(3);
    const owners = d.findings.flatMap((f) => f.failures ?? []);
    expect(new Set(owners).size).toBe(owners.length);
    expect(d.verdict?.cause).toBe("keepalive-mismatch");
    expect(d.verdict?.failures).toBe(3);
  });

  it("a cause left with no failure of its own is ruled out, naming who took them", () => {
    const d = diagnose({ records, stalls: [] }, [
      claim("stale-connection", [1, 2]),
      claim("keepalive-mismatch", [1, 2, 3]),
    ]);
    expect(d.findings.map((f) => f.id)).toEqual(["keepalive-mismatch"]);
    expect(d.ruledOut.find((r) => r.cause === "stale-connection")?.reason).toMatch(/keepalive-mismatch/);
  });
});
