/**
 * What `report` and `report --from` share: the command's flags, the gates
 * folded into the report, and the `--junit`/`--csv` files. Its own file so
 * report.ts and report-history.ts both import it and not each other.
 */

import type { ProbeFlags } from "../config/flags.js";
import type { LoadedConfig } from "../config/load.js";
import type { RequestFlags } from "../config/request-flags.js";
import { UsageError } from "../errors.js";
import type { Report, RequestRecord, Stall } from "../model.js";
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

/** `--junit FILE` and `--csv FILE`; `run` is absent for history reports (no CSV there). */
export async function writeMachineOutputs(
  flags: Pick<ReportFlags, "junit" | "csv">,
  report: Report,
  loaded: Pick<LoadedConfig, "redactor"> | undefined,
  run: { records: readonly RequestRecord[]; stalls: readonly Stall[] } | undefined,
): Promise<void> {
  const { writeFile } = await import("node:fs/promises");
  const redact = (s: string) => loaded?.redactor.redact(s) ?? s;
  if (flags.junit !== undefined) {
    const { renderJunit } = await import("../report/junit.js");
    const bySeq = new Map(run?.records.map((r) => [r.seq, r.connection]));
    await writeOutput(
      writeFile,
      flags.junit,
      redact(renderJunit(report, (seq) => bySeq.get(seq))),
      "--junit",
    );
    process.stderr.write(`stallwatch: JUnit report written to ${flags.junit}\n`);
  }
  if (flags.csv !== undefined && run) {
    const { renderCsv } = await import("../report/csv.js");
    const stallIdx = new Set(run.stalls.map((x) => x.index));
    await writeOutput(writeFile, flags.csv, redact(renderCsv(run.records, (i) => stallIdx.has(i))), "--csv");
    process.stderr.write(`stallwatch: CSV (${run.records.length} requests) written to ${flags.csv}\n`);
  }
}

async function writeOutput(
  write: (file: string, text: string) => Promise<void>,
  file: string,
  text: string,
  flag: string,
): Promise<void> {
  try {
    await write(file, text);
  } catch (e) {
    throw new UsageError(
      `${flag} ${file}: cannot write the file (${(e as { code?: string }).code ?? String(e)})`,
    );
  }
}
