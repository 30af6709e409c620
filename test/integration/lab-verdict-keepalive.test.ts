/**
 * `stallwatch report --lab keepalive-mismatch --json`, as a user runs it, three times (each lab with its own random
 * seed), side by side: the targets' real keep-alive timer closes pooled integration connections that API Gateway's
 * shared pool still reuses, the target's RST comes back as API Gateway's 500, and the verdict names
 * keepalive-mismatch every time, with the NLB's TCP_Target_Reset_Count (counted from the lab's own flows) as
 * corroboration and the count invariant holding.
 */
import { describe, expect, it } from "vitest";
import { labReport, verdictLine } from "../helpers/lab-report.js";
import { expectOneCount } from "../helpers/one-count.js";

describe("lab keepalive-mismatch with AWS evidence on", { timeout: 120_000 }, () => {
  it("three runs: keepalive-mismatch on top, the proxy 5xx explained (≥ 80 %), target resets counted", async () => {
    const reports = await Promise.all([1, 2, 3].map(() => labReport("keepalive-mismatch")));
    for (const r of reports) {
      console.log(verdictLine("keepalive-mismatch", r));
      expectOneCount(r);
      expect(r.totals.failed).toBeGreaterThanOrEqual(3);
      expect(r.failures.every((f) => f.status === 500)).toBe(true);
      expect(r.verdict?.cause).toBe("keepalive-mismatch");
      expect(r.verdict?.hop).toBe("target");
      // A request that raced the target's timer right at the keep-alive may fail below the band: rare, not attributed.
      expect(r.verdict?.failures).toBeGreaterThanOrEqual(Math.ceil(0.8 * r.totals.failed));
      const f = r.findings[0]!;
      const band = f.evidence.band as { fromMs: number };
      // The demo's targets close connections idle 0.5 s; the plan's gaps nearest it are 0.4 s and 0.55 s.
      expect(band.fromMs).toBeGreaterThanOrEqual(400);
      expect(band.fromMs).toBeLessThanOrEqual(700);
      const resets = f.evidence.nlbResets as { TCP_Target_Reset_Count: number; TCP_ELB_Reset_Count: number };
      // Each 500 came from a target's RST; the lab counts every RST a target sent through its NLB.
      expect(resets.TCP_Target_Reset_Count).toBeGreaterThanOrEqual(r.totals.failed);
      expect(resets.TCP_ELB_Reset_Count).toBe(0);
      expect(r.verdict?.evidence.some((e) => e.source === "cloudwatch")).toBe(true);
      expect(r.verdict?.nextStep).toMatch(/gunicorn --keep-alive/);
    }
  });
});
