/**
 * Lab scenarios without AWS evidence (aws: false), probed through the real pipeline (prober → stall rule →
 * diagnosis), must be diagnosed with the right finding, and the healthy one
 * with none. The lab runs in a worker thread (as the CLI runs it), so its
 * work stays off the prober's event loop. Timings are shortened to keep the
 * file fast; the per-scenario figures are printed for the record.
 *
 * The three stalling scenarios run concurrently, each with a lab of its own: they wait on injected delays, not on
 * the CPU (~11 s of CPU in ~55 s one after another), and a stall that the shared event loop's lag causes is
 * client-lag, which their assertions leave out. The healthy run, which must have no stall at all, runs first, alone.
 */

import { describe, expect, it, type TestContext } from "vitest";
import { runPipeline } from "../../src/app/pipeline.js";
import { applyProbeOverrides, type ProbeFlags } from "../../src/config/flags.js";
import { type LoadedConfig, parseConfig } from "../../src/config/load.js";
import type { ScenarioName, ScenarioTimings } from "../../src/lab/index.js";
import { type RemoteLab, startLabInWorker } from "../../src/lab/remote.js";
import type { Report } from "../../src/model.js";
import type { ProbeTarget } from "../../src/probe/types.js";
import { expectOneCount } from "../helpers/one-count.js";

async function labLoaded(
  { onTestFinished }: TestContext,
  scenario: ScenarioName,
  timings: Partial<ScenarioTimings>,
  flags: ProbeFlags,
  keep: (t: ProbeTarget) => boolean = () => true,
): Promise<LoadedConfig> {
  // A lab per test (some run concurrently), closed when the test ends.
  const lab: RemoteLab = await startLabInWorker({ scenario, timings, aws: false });
  onTestFinished(() => lab.close());
  const loaded = applyProbeOverrides(parseConfig(lab.config), flags);
  return { ...loaded, targets: loaded.targets.filter(keep) };
}

function tally(report: Report): { ids: string[]; causes: Record<string, number> } {
  expectOneCount(report);
  const causes: Record<string, number> = {};
  for (const s of report.stalls) causes[s.cause] = (causes[s.cause] ?? 0) + 1;
  const ids = report.findings.map((f) => f.id);
  console.log(
    `${report.source.scenario}: ${report.totals.requests} requests, ${report.stalls.length} stalls, findings [${ids.join(", ")}], causes ${JSON.stringify(causes)}`,
  );
  return { ids, causes };
}

/** The share of stalls attributed to `id` (client-lag stalls, stallwatch's own pauses, are left out). */
function share(causes: Record<string, number>, id: string): number {
  const network = Object.entries(causes).filter(([k]) => k !== "client-lag");
  const total = network.reduce((n, [, v]) => n + v, 0);
  return total === 0 ? 0 : (causes[id] ?? 0) / total;
}

/** Probes a lab scenario through the real pipeline; its report, with the findings and causes tallied. */
async function diagnoseLab(
  ctx: TestContext,
  scenario: ScenarioName,
  timings: Partial<ScenarioTimings>,
  flags: ProbeFlags,
  keep?: (t: ProbeTarget) => boolean,
): Promise<{ report: Report; ids: string[]; causes: Record<string, number> }> {
  const loaded = await labLoaded(ctx, scenario, timings, flags, keep);
  const { report } = await runPipeline({ loaded, report: { source: { kind: "lab", scenario } } });
  return { report: report!, ...tally(report!) };
}

const rootAndHeader = (t: ProbeTarget) => t.endpoint === "/" || t.endpoint === "/header";

describe("lab scenarios, diagnosed", () => {
  it("healthy: no stall, no finding", async (ctx) => {
    const { report } = await diagnoseLab(ctx, "healthy", {}, { count: 20, connection: "both" });
    expect(report.findings).toEqual([]);
    expect(report.stalls).toEqual([]);
    expect(report.healthy).toBe(true);
  }, 60_000);

  describe.concurrent("the stalling scenarios, side by side", () => {
    it("bad-target: every 3rd new connection slow → periodic-stall", async (ctx) => {
      const { report, ids, causes } = await diagnoseLab(
        ctx,
        "bad-target",
        { slowMs: 600 },
        { count: 15, connection: "fresh" },
        rootAndHeader,
      );
      expect(report.stalls.length).toBeGreaterThanOrEqual(15);
      expect(ids).toContain("periodic-stall");
      expect(share(causes, "periodic-stall")).toBeGreaterThanOrEqual(0.8);
    }, 60_000);

    it("slow-backend: random stalls before the first byte → slow-backend", async (ctx) => {
      const { report, ids, causes } = await diagnoseLab(
        ctx,
        "slow-backend",
        { stallProbability: 0.15, stallMs: 600 },
        { count: 20, connection: "both", concurrency: 2 },
      );
      expect(report.stalls.length).toBeGreaterThanOrEqual(10);
      expect(ids).toContain("slow-backend");
      expect(share(causes, "slow-backend")).toBeGreaterThanOrEqual(0.8);
    }, 90_000);

    it("edge-only: stalls on the custom-domain route only → route-specific", async (ctx) => {
      const { report, ids, causes } = await diagnoseLab(
        ctx,
        "edge-only",
        { stallProbability: 0.25, stallMs: 600 },
        { count: 15, connection: "both" },
      );
      expect(ids).toContain("route-specific");
      expect(report.stalls.every((s) => s.route === "custom-domain" || s.cause === "client-lag")).toBe(true);
      expect(share(causes, "route-specific")).toBeGreaterThanOrEqual(0.8);
    }, 60_000);
  });
});
