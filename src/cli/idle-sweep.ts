/** `stallwatch idle-sweep`: stall rate per idle gap, and whether keep-warm pings would help. */
import { type IdleSweepResult, idleSweep, parseGaps, type SeriesResult } from "../app/idle-sweep.js";
import { fmtRate } from "../app/idle-sweep-verdict.js";
import { applyProbeOverrides, configFromFlags } from "../config/flags.js";
import { type LoadedConfig, loadConfig, parseConfig } from "../config/load.js";
import { fmtGap } from "../duration.js";
import { UsageError } from "../errors.js";
import type { RemoteLab } from "../lab/remote.js";
import { startDemoLab } from "./lab-demo.js";
import { chooseProbeSource, labScenarioOf } from "./probe-source.js";

export interface IdleSweepFlags {
  config?: string;
  url?: string;
  gaps?: string;
  repeats?: string;
  lab?: string | boolean;
  json?: boolean;
}

export const DEFAULT_GAPS = "0s,30s,1m,2m,5m,10m,15m";
export const DEFAULT_REPEATS = 3;
/**
 * For the lab, whose cold-start threshold is seconds, not minutes (3 s; a cold request waits 1.5 s): gaps on both
 * sides of it, half a second away so timer slack cannot move a request across, and enough repeats for the gap test
 * to pass its Bonferroni correction with room to spare (5 of 5 against 0 of 20: p ≈ 2e-5, ×16 tests), in about a
 * minute.
 */
export const LAB_GAPS = "0s,1s,2s,2.5s,3.5s";
export const LAB_REPEATS = 5;

/**
 * The gaps and repeats a sweep runs with: the flags', else the lab's (with --lab) or the production defaults.
 * Bad values are a UsageError.
 */
export function sweepSettings(flags: IdleSweepFlags): { gapsMs: number[]; repeats: number } {
  const useLab = labScenarioOf(flags.lab, "cold-start") !== undefined;
  const repeats =
    flags.repeats === undefined ? (useLab ? LAB_REPEATS : DEFAULT_REPEATS) : Number(flags.repeats);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 1000) {
    throw new UsageError(
      `--repeats: expected a whole number from 1 to 1000, received ${JSON.stringify(flags.repeats)}`,
    );
  }
  let gapsMs: number[];
  try {
    gapsMs = parseGaps(flags.gaps ?? (useLab ? LAB_GAPS : DEFAULT_GAPS));
  } catch (err) {
    throw new UsageError(`--gaps: ${(err as Error).message}`);
  }
  return { gapsMs, repeats };
}

export async function idleSweepCommand(flags: IdleSweepFlags): Promise<void> {
  const { gapsMs, repeats } = sweepSettings(flags);
  let lab: RemoteLab | undefined;
  try {
    let loaded: LoadedConfig;
    const source = chooseProbeSource(flags, {
      command: "idle-sweep",
      defaultScenario: "cold-start",
      flags: "url",
    });
    if (source.kind === "lab") {
      lab = await startDemoLab(source.scenario);
      // The root endpoint on both routes, fresh and reuse: four series, a few ms per step on top of the gaps.
      loaded = applyProbeOverrides(parseConfig(lab.config), { connection: "both" });
      loaded = { ...loaded, targets: loaded.targets.filter((t) => t.endpoint === "/") };
    } else if (source.kind === "config") {
      loaded = await loadConfig(source.file);
    } else {
      loaded = configFromFlags({ ...(flags.url !== undefined ? { url: flags.url } : {}) });
    }
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const result = await idleSweep(loaded, { gapsMs, repeats, signal: ac.signal });
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    const out = flags.json ? JSON.stringify(toJson(result), null, 2) : renderSweep(result);
    process.stdout.write(`${loaded.redactor.redact(out)}\n`);
  } finally {
    await lab?.close();
  }
}

function toJson(r: IdleSweepResult): Record<string, unknown> {
  const { records, diagnosis, ...rest } = r;
  return { ...rest, requests: records.length, findings: diagnosis.findings };
}

export function renderSweep(r: IdleSweepResult): string {
  const repeats = Math.max(0, ...r.series.flatMap((s) => s.gaps.map((g) => g.n)));
  const lines = [
    `Idle-gap sweep: ${r.series.length} series × ${r.gaps.length} gaps × up to ${repeats} requests; a request counts when it stalled (> ${r.thresholdMs.toFixed(0)} ms) or failed`,
  ];
  for (const s of r.series) lines.push("", ...renderSeries(s, r));
  lines.push(
    "",
    `Verdict: ${r.verdict}`,
    ...r.notes.map((n) => `  ${n}`),
    `  Test: ${r.test} (${r.tests} tests, α = ${r.alpha}); rates with exact 95 % (Clopper–Pearson) intervals.`,
  );
  for (const f of r.diagnosis.findings) lines.push(`  finding ${f.id}: ${f.summary}`);
  return lines.join("\n");
}

function renderSeries(s: SeriesResult, r: IdleSweepResult): string[] {
  const lines = [
    `${s.api} ${s.route} ${s.endpoint} · ${s.connection}${s.order === 0 ? " (probed first after each gap)" : ` (probed ${ordinal(s.order + 1)} in each step)`}`,
    "  gap       requests  stalled  failed   rate  95 % CI        p50 ms   max ms   p (Bonferroni)",
  ];
  for (const g of s.gaps) {
    const ci = `${fmtRate(g.ci.low).replace(" %", "")}–${fmtRate(g.ci.high)}`;
    const p = g.pAdjusted === undefined ? "" : fmtP(g.pAdjusted);
    const mark = g.gapMs === s.stallsBeginMs ? "  ← stalls begin" : "";
    lines.push(
      `  ${fmtGap(g.gapMs).padEnd(8)}  ${String(g.n).padStart(8)}  ${String(g.stalls).padStart(7)}  ${String(g.failures).padStart(6)}  ${fmtRate(g.rate).padStart(5)}  ${ci.padEnd(13)}  ${g.p50Ms.toFixed(1).padStart(7)}  ${g.maxMs.toFixed(1).padStart(7)}   ${p}${mark}`,
    );
  }
  if (s.stallsBeginMs === undefined && r.conclusion.kind !== "onset") {
    lines.push(
      s.stallsRegardless
        ? `  ${fmtRate(s.baselineRate)} stalled or failed even after the shorter gaps: idleness is not what makes them stall`
        : s.detectableRate === undefined
          ? `  no stall rate after ${fmtGap(s.gaps.at(-1)?.gapMs ?? 0)} would have been significant with this many requests`
          : `  would have seen a rise from ${fmtRate(s.baselineRate)} to ${fmtRate(s.detectableRate)} after ${fmtGap(s.gaps.at(-1)?.gapMs ?? 0)} (80 % power)`,
    );
  }
  return lines;
}

function fmtP(p: number): string {
  if (p >= 0.001) return p >= 0.995 ? "1" : p.toFixed(3);
  return p.toExponential(1);
}

function ordinal(n: number): string {
  return n === 2 ? "2nd" : n === 3 ? "3rd" : `${n}th`;
}
