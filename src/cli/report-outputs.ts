/**
 * What `report` and `report --from` share: the command's flags, the gates
 * folded into the report (the outputs themselves are the Reporters of
 * src/app/sinks/reporters.ts). Its own file so
 * report.ts and report-history.ts both import it and not each other.
 */

import type { ProbeFlags } from "../config/flags.js";
import type { RequestFlags } from "../config/request-flags.js";
import type { Report } from "../model.js";
import { evaluateGates, type GateSpec } from "../report/gates.js";

export interface ReportFlags extends ProbeFlags, RequestFlags {
  config?: string;
  route?: string[];
  path?: string[];
  url?: string;
  rate?: string;
  lab?: string | boolean;
  /** Store directories or s3:// prefixes (repeatable). */
  from?: string[] | string;
  /** With --from: only these writers (exact names, or prefixes ending in '*'). */
  writer?: string[];
  since?: string;
  until?: string;
  json?: boolean;
  histograms?: boolean;
  /** Also write a self-contained HTML report to this file. */
  html?: string;
  progress?: boolean;
  /** Publish the run's metrics to CloudWatch (config.cloudwatch settings). */
  publish?: boolean;
  /** Gates: exit 1 when crossed. */
  maxStalls?: string;
  maxFailures?: string;
  threshold?: string[];
  /** Also write JUnit XML / one CSV row per request to these files. */
  junit?: string;
  csv?: string;
}

/**
 * Evaluates the command-line gates into the report (so every output lists
 * them); histograms added only for the gates are taken out again.
 */
export function applyGates(report: Report, gates: GateSpec | undefined, keepHistograms: boolean): void {
  if (!gates) return;
  report.gates = evaluateGates(report, gates);
  if (keepHistograms) return;
  for (const s of [...report.series, ...(report.keepWarm ?? [])]) delete s.histograms;
}
