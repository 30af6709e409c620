/** `stallwatch report --lab NAME` run through the built CLI, as a user runs it; its JSON report, or its text. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Report } from "../../src/model.js";

const run = promisify(execFile);
export const CLI = join(import.meta.dirname, "../../dist/cli/main.js");

/** The CLI's stdout; exit 1 (stalls or failures over a budget) still printed a report. */
export async function labOutput(
  scenario: string,
  extra: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [CLI, "report", "--lab", scenario, "--no-progress", ...extra],
    {
      maxBuffer: 64 << 20,
      env: { ...process.env, NO_COLOR: "1", ...env },
    },
  ).catch((e: { stdout?: string; code?: number }) => {
    if (e.code === 1 && e.stdout) return { stdout: e.stdout };
    throw e;
  });
  return stdout;
}

export async function labReport(scenario: string, extra: string[] = []): Promise<Report> {
  return JSON.parse(await labOutput(scenario, ["--json", ...extra])) as Report;
}

/** One line per run for the record: counts and the verdict. */
export function verdictLine(scenario: string, r: Report): string {
  const v = r.verdict;
  return `${scenario}: ${r.totals.requests} requests, ${r.totals.stalls} stalls, ${r.totals.failed} failed → ${v?.cause ?? "no verdict"} (${v?.stalls ?? 0} stalls, ${v?.failures ?? 0} failures${v?.where ? `, ${v.where}` : ""})`;
}
