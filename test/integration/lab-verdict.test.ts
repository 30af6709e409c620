/**
 * `stallwatch report --lab NAME --json` as a user runs it, with the lab's AWS evidence on (the default): the
 * top verdict names each scenario's true cause, run after run, and the count invariant holds. bad-target three
 * times (its verdict must name the slow target, 127.0.0.13, every time).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
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

describe("lab verdicts with AWS evidence on", { timeout: 120_000 }, () => {
  it.each([1, 2, 3])("bad-target run %i: slow-target names 127.0.0.13 in us-west-2c", async () => {
    const r = await labReport("bad-target", ["--count", "4"]);
    console.log(line("bad-target", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("slow-target");
    expect(r.verdict?.where).toBe("127.0.0.13 in us-west-2c");
    expect(r.verdict?.headline).toContain("127.0.0.13");
    expect(r.verdict?.stalls).toBeGreaterThanOrEqual(0.9 * r.totals.stalls);
    expect(r.verdict?.evidence.map((e) => e.source)).toEqual(
      expect.arrayContaining(["x-ray", "target-health"]),
    );
    expect(r.findings.map((f) => f.id)).not.toContain("target-unhealthy");
  });

  it("az-down: target-unhealthy, the dark AZ", async () => {
    const r = await labReport("az-down", ["--count", "6"]);
    console.log(line("az-down", r));
    expectOneCount(r);
    expect(r.verdict?.cause).toBe("target-unhealthy");
    expect(r.verdict?.headline).toContain("us-west-2c");
  });

  it("README's example output is what `npm start` prints (numbers aside)", async () => {
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    const block = /`npm start` runs[^\n]*\n\n```\n([\s\S]*?)\n```/.exec(readme)?.[1];
    expect(block, "README example block").toBeTypeOf("string");
    const { stdout } = await run(
      process.execPath,
      [cli, "report", "--lab", "bad-target", "--count", "6", "--no-progress"],
      {
        maxBuffer: 64 << 20,
        env: { ...process.env, NO_COLOR: "1", COLUMNS: "100" },
      },
    ).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
    // Numbers, addresses and times vary run to run; "…" in the README stands for the rest of the line.
    const pattern = (line: string): RegExp =>
      new RegExp(
        `^${line
          .split("…")[0]!
          .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          .replace(/\d[\d.,]*/g, "[\\d.,]+")}`,
      );
    const want = block!.split("\n").map(pattern);
    const got = stdout.split("\n");
    // In order; a README line may stand for a line the terminal wraps (its continuation is skipped).
    let at = 0;
    want.forEach((re, i) => {
      const found = got.findIndex((l, j) => j >= at && re.test(l));
      expect(
        found,
        `README line ${i + 1} (${re}) not found in order in:\n${stdout.slice(0, 3000)}`,
      ).toBeGreaterThanOrEqual(0);
      if (i > 0)
        expect(
          found - at,
          `README line ${i + 1} is more than one wrapped line after the previous`,
        ).toBeLessThanOrEqual(1);
      at = found + 1;
    });
  });

  it("healthy: no verdict, no findings", async () => {
    const r = await labReport("healthy", ["--count", "10"]);
    console.log(line("healthy", r));
    expectOneCount(r);
    expect(r.verdict).toBeUndefined();
  });
});
