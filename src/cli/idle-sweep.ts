/** `stallwatch idle-sweep`: stall rate per idle gap, and whether keep-warm pings would help. */
import { type IdleSweepResult, idleSweep, parseGaps } from "../app/idle-sweep.js";
import { applyProbeOverrides, configFromFlags } from "../config/flags.js";
import { type LoadedConfig, loadConfig, parseConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import type { RemoteLab } from "../lab/remote.js";
import { startDemoLab } from "./lab-demo.js";

export interface IdleSweepFlags {
  config?: string;
  url?: string;
  gaps: string;
  repeats: string;
  lab?: string | boolean;
  json?: boolean;
}

/** For the lab, whose cold-start threshold is seconds, not minutes. */
const LAB_GAPS = "0s,1s,2s,4s,6s";

export async function idleSweepCommand(flags: IdleSweepFlags): Promise<void> {
  const repeats = Number(flags.repeats);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 1000) {
    throw new UsageError(
      `--repeats: expected a whole number from 1 to 1000, received ${JSON.stringify(flags.repeats)}`,
    );
  }
  const useLab = flags.lab !== undefined && flags.lab !== false;
  let gapsMs: number[];
  try {
    gapsMs = parseGaps(useLab && flags.gaps === "0s,30s,1m,2m,5m,10m,15m" ? LAB_GAPS : flags.gaps);
  } catch (err) {
    throw new UsageError(`--gaps: ${(err as Error).message}`);
  }
  let lab: RemoteLab | undefined;
  try {
    let loaded: LoadedConfig;
    if (useLab) {
      lab = await startDemoLab(typeof flags.lab === "string" ? flags.lab : "cold-start");
      // One route and the fresh+reuse pair is enough for the experiment; it keeps the lab sweep under a minute.
      loaded = applyProbeOverrides(parseConfig(lab.config), { connection: "both" });
      loaded = { ...loaded, targets: loaded.targets.filter((t) => t.endpoint === "/") };
    } else if (flags.config !== undefined) {
      loaded = await loadConfig(flags.config);
    } else if (flags.url !== undefined) {
      loaded = configFromFlags({ url: flags.url });
    } else {
      throw new UsageError("give --config FILE, --url URL or --lab [scenario]");
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
  const lines = ["Idle-gap sweep", "  gap        requests  stalls  stall rate  p50 ms   max ms"];
  for (const g of r.gaps) {
    lines.push(
      `  ${fmt(g.gapMs).padEnd(9)}  ${String(g.n).padStart(8)}  ${String(g.stalls).padStart(6)}  ${`${Math.round(g.stallRate * 100)}%`.padStart(10)}  ${g.p50Ms.toFixed(1).padStart(7)}  ${g.maxMs.toFixed(1).padStart(7)}`,
    );
  }
  lines.push(`  stall threshold: ${r.thresholdMs.toFixed(0)} ms`, "", `Verdict: ${r.verdict}`);
  for (const f of r.diagnosis.findings) lines.push(`  finding ${f.id}: ${f.summary}`);
  return lines.join("\n");
}

function fmt(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${ms / 1000} s`;
  return `${ms / 60_000} min`;
}
