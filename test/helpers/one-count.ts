/**
 * The diagnosis's count invariant, checked on a finished report: each probe stall has exactly one cause;
 * `findings[].stalls` lists exactly the stalls whose cause is that finding; the verdict is the first finding
 * and says the same count; each failed request is claimed by at most one finding; evidence findings are never a cause; keep-warm stalls count nowhere.
 */
import { expect } from "vitest";
import type { Report } from "../../src/model.js";

export function expectOneCount(report: Report): void {
  const probeStalls = report.stalls.filter((s) => s.tag !== "keep-warm");
  const causeIds = new Set(report.findings.map((f) => f.id));
  for (const s of probeStalls) expect(s.cause === "unexplained" || causeIds.has(s.cause), s.cause).toBe(true);
  for (const f of report.findings) {
    const mine = probeStalls.filter((s) => s.cause === f.id).map((s) => s.seq);
    expect(
      [...f.stalls].sort((a, b) => a - b),
      `${f.id}: findings[].stalls vs stall causes`,
    ).toEqual(mine.sort((a, b) => a - b));
  }
  // Failed requests: each explained by at most one cause.
  const failureOwners = new Map<number, string>();
  for (const f of report.findings)
    for (const seq of f.failures ?? []) {
      expect(
        failureOwners.get(seq),
        `failed request ${seq} claimed by ${failureOwners.get(seq)} and ${f.id}`,
      ).toBeUndefined();
      failureOwners.set(seq, f.id);
    }
  const attributed = report.findings.reduce((n, f) => n + f.stalls.length, 0);
  const unexplained = probeStalls.filter((s) => s.cause === "unexplained").length;
  expect(attributed + unexplained).toBe(probeStalls.length);
  for (const e of report.evidence ?? [])
    expect(causeIds.has(e.id), `${e.id} is evidence, not a cause`).toBe(false);
  for (const s of report.stalls.filter((x) => x.tag === "keep-warm"))
    expect(report.findings.some((f) => f.stalls.includes(s.seq))).toBe(false);
  const v = report.verdict;
  if (report.findings.length === 0) {
    expect(v).toBeUndefined();
    return;
  }
  expect(v?.cause).toBe(report.findings[0]!.id);
  expect(v?.stalls).toBe(report.findings[0]!.stalls.length);
  expect(v?.ofStalls).toBe(probeStalls.length);
  expect(v?.alsoCauses.map((c) => [c.cause, c.stalls])).toEqual(
    report.findings.slice(1).map((f) => [f.id, f.stalls.length]),
  );
  for (const r of v?.ruledOut ?? [])
    expect(causeIds.has(r.cause), `${r.cause} both ruled out and a cause`).toBe(false);
}
