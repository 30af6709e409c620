/**
 * `stallwatch report --lab NAME --json` as a user runs it, with the lab's AWS evidence on (the default): the
 * top verdict names each scenario's true cause and the count invariant holds, for the scenarios whose faults show
 * only under their probing plan (idle gaps) or as failures (429s). Split from lab-verdict.test.ts so both run side by side.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/report/types.js";
import { expectOneCount } from "../helpers/one-count.js";

const run = promisify(execFile);
const cli = join(import.meta.dirname, "../../dist/cli/main.js");

async function labReport(scenario: string, extra: string[] = []): Promise<Report> {
  const { stdout } = await run(
    process.execPath,
    [cli, "report", "--lab", scenario, "--json", "--no-progress", ...extra],
    {
      maxBuffer: 64 << 20,
      env: { ...process.env, NO_COLOR: "1" },
    },
  ).catch((e: { stdout?: string; code?: number }) => {
    // Exit 1: stalls or failures over budget, still a report.
    if (e.code === 1 && e.stdout) return { stdout: e.stdout };
    throw e;
  });
  return JSON.parse(stdout) as Report;
}

function line(scenario: string, r: Report): string {
  const v = r.verdict;
  return `${scenario}: ${r.totals.requests} requests, ${r.totals.stalls} stalls, ${r.totals.failed} failed → ${v?.cause ?? "no verdict"} (${v?.stalls ?? 0} stalls, ${v?.failures ?? 0} failures${v?.where ? `, ${v.where}` : ""})`;
}

describe("lab verdicts with AWS evidence on: idle gaps and failures", { timeout: 120_000 }, () => {
  it("cold-start: probed with idle gaps as the scenario declares, cold-start-after-idle", async () => {
    const r = await labReport("cold-start", ["--count", "24"]);
    console.log(line("cold-start", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("cold-start-after-idle");
  });

  it("reset: an idle reused connection, stale-connection explaining the failures", async () => {
    const r = await labReport("reset", ["--count", "24"]);
    console.log(line("reset", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("stale-connection");
    expect(r.verdict?.failures).toBe(r.totals.failed);
  });

  it("throttle: throttling explains the 429s", async () => {
    const r = await labReport("throttle", ["--count", "6"]);
    console.log(line("throttle", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("throttling");
    expect(r.verdict?.hop).toBe("gateway");
    expect(r.verdict?.failures).toBeGreaterThan(0);
    expect(r.failures.filter((f) => f.status === 429)).toHaveLength(r.verdict?.failures ?? -1);
  });
});
