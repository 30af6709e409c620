/**
 * `stallwatch report --lab deploy --json` as a user runs it, with the lab's AWS evidence on (the default): a
 * rolling deploy, one target at a time; the top verdict is deploy-drain in every run (three runs side by side,
 * each with its own random seed), naming the draining targets, and the count invariant holds.
 */
import { describe, expect, it } from "vitest";
import { labReport, verdictLine } from "../helpers/lab-report.js";
import { expectOneCount } from "../helpers/one-count.js";

describe("lab verdict: deploy", { timeout: 90_000 }, () => {
  it.concurrent.each([1, 2, 3])("deploy run %i: deploy-drain names the draining targets", async () => {
    const r = await labReport("deploy");
    console.log(
      `${verdictLine("deploy", r)}; findings ${r.findings.map((f) => `${f.id} ${f.stalls.length}/${f.failures?.length ?? 0}`).join(", ")}`,
    );
    expectOneCount(r);
    const why = [
      ...(r.verdict?.ruledOut ?? []).map((x) => `${x.cause}: ${x.reason}`),
      ...(r.notes ?? []).filter((n) => /deploy-drain|NLB target|target health|X-Ray/.test(n)),
    ].join("\n");
    expect(r.verdict?.cause, why).toBe("deploy-drain");
    expect(r.verdict?.hop).toBe("target");
    expect(r.verdict?.where).toMatch(/127\.0\.0\.1[123]/);
    expect(r.verdict?.mechanism).toContain("draining");
    expect(r.verdict?.stalls).toBeGreaterThanOrEqual(3);
    expect(r.verdict?.evidence.map((e) => e.source)).toEqual(expect.arrayContaining(["target-health"]));
    expect(r.verdict?.nextStep).toContain("deregistration_delay.timeout_seconds = 2 s");
    // The deploy's stalls are not called an unhealthy target, nor a slow one: deploy-drain has most of them
    // (a stall the shared machine adds elsewhere, e.g. its own event-loop lag, goes to another cause).
    expect(r.verdict?.stalls).toBeGreaterThanOrEqual(0.6 * r.totals.stalls);
    expect(r.findings.map((f) => f.id)).not.toContain("slow-target");
  });
});
