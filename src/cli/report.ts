/**
 * `stallwatch report`: flags in, library calls out. Probes a config, flags or
 * an in-process lab (or reads recorded history) and prints the report.
 */
import { liveReport } from "../app/live.js";
import { applyProbeOverrides, configFromFlags, type ProbeFlags } from "../config/flags.js";
import { type LoadedConfig, loadConfig, parseConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import type { RemoteLab } from "../lab/remote.js";
import { renderJson } from "../report/json.js";
import { createProgress } from "../report/progress.js";
import { renderTerminal, shouldUseColor } from "../report/terminal.js";
import type { Report } from "../report/types.js";
import { labDemoDefaults, startDemoLab } from "./lab-demo.js";

export interface ReportFlags extends ProbeFlags {
  config?: string;
  route?: string[];
  path?: string[];
  url?: string;
  rate?: string;
  lab?: string | boolean;
  from?: string;
  since?: string;
  until?: string;
  json?: boolean;
  histograms?: boolean;
  progress?: boolean;
}

export async function reportCommand(flags: ReportFlags): Promise<void> {
  if (flags.from !== undefined) {
    const { historyReportCommand } = await import("./report-history.js");
    return historyReportCommand(flags);
  }
  const sources = [flags.config, flags.lab, flags.url ?? flags.route?.length].filter(Boolean).length;
  if (sources > 1) throw new UsageError("give one of --config, --lab, --url / --route");

  let lab: RemoteLab | undefined;
  try {
    let loaded: LoadedConfig;
    let source: Report["source"];
    if (flags.lab !== undefined && flags.lab !== false) {
      const scenario = typeof flags.lab === "string" ? flags.lab : "bad-target";
      lab = await startDemoLab(scenario);
      loaded = applyProbeOverrides(parseConfig(lab.config), {
        ...labDemoDefaults(scenario),
        ...definedOnly(flags),
      });
      source = { kind: "lab", scenario };
    } else if (flags.config !== undefined) {
      loaded = applyProbeOverrides(await loadConfig(flags.config), flags);
      source = { kind: "live" };
    } else {
      loaded = configFromFlags({
        ...flags,
        ...(flags.route ? { routes: flags.route } : {}),
        ...(flags.path ? { paths: flags.path } : {}),
      });
      source = { kind: "live" };
    }

    const total = expectedRequests(loaded);
    const progress = flags.progress === false ? undefined : createProgress({ stream: process.stderr, total });
    let done = 0;
    const { report } = await liveReport(loaded, {
      source,
      includeHistograms: flags.histograms === true,
      onRecord: () => progress?.update(++done, 0),
    });
    progress?.finish();

    const out = flags.json
      ? renderJson(report)
      : renderTerminal(report, {
          color: shouldUseColor(process.stdout, process.env),
          width: process.stdout.columns ?? 100,
        });
    process.stdout.write(loaded.redactor.redact(out));
    process.exitCode = exitCodeOf(report, loaded.config.probe.stallBudget);
  } finally {
    await lab?.close();
  }
}

/** 1 when any probe failed (assertion, HTTP error, network fault) or stalls exceed the budget; else 0. */
export function exitCodeOf(report: Report, stallBudget: number | undefined): number {
  if (report.totals.failed > 0) return 1;
  if (stallBudget !== undefined && report.totals.stalls > stallBudget) return 1;
  return 0;
}

function expectedRequests(loaded: LoadedConfig): number {
  const p = loaded.config.probe;
  return loaded.targets.length * p.count * (p.connection === "both" ? 2 : 1);
}

const PROBE_FLAG_KEYS = [
  "count",
  "concurrency",
  "rate",
  "connection",
  "stallMs",
  "timeoutMs",
  "resolve",
] as const;

/** The probe flags the user actually gave (so they override the lab demo's defaults, and only those). */
function definedOnly(flags: ProbeFlags): ProbeFlags {
  const out: Record<string, unknown> = {};
  for (const k of PROBE_FLAG_KEYS) if (flags[k] !== undefined) out[k] = flags[k];
  return out as ProbeFlags;
}
