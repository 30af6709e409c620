/**
 * `stallwatch report --lab NAME --json` as a user runs it, with the lab's AWS evidence on (the default): the
 * top verdict names each scenario's true cause and the count invariant holds, for the scenarios whose faults show
 * only under their probing plan (idle gaps) or as failures (429s). Split from lab-verdict.test.ts so both run side by side.
 * The three runs are concurrent (separate CLI processes, each with its own lab): they wait on the scenarios' idle
 * gaps, not on the CPU (~11 s of CPU in ~63 s one after another).
 */
import { describe, expect, it } from "vitest";
import { labReport, verdictLine } from "../helpers/lab-report.js";
import { expectOneCount } from "../helpers/one-count.js";

describe.concurrent("lab verdicts with AWS evidence on: idle gaps and failures", { timeout: 120_000 }, () => {
  it("cold-start: probed with idle gaps as the scenario declares, cold-start-after-idle", async () => {
    const r = await labReport("cold-start", ["--count", "24"]);
    console.log(verdictLine("cold-start", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("cold-start-after-idle");
  });

  it("reset: an idle reused connection, stale-connection explaining the failures", async () => {
    const r = await labReport("reset", ["--count", "24"]);
    console.log(verdictLine("reset", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("stale-connection");
    expect(r.verdict?.failures).toBe(r.totals.failed);
  });

  it("throttle: throttling explains the 429s", async () => {
    const r = await labReport("throttle", ["--count", "6"]);
    console.log(verdictLine("throttle", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("throttling");
    expect(r.verdict?.hop).toBe("gateway");
    expect(r.verdict?.failures).toBeGreaterThan(0);
    expect(r.failures.filter((f) => f.status === 429)).toHaveLength(r.verdict?.failures ?? -1);
  });
});
