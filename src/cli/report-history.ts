/**
 * `stallwatch report --from DIR [--since 24h] [--until TIME]`: a report over
 * the rounds recorded in a store: merged histograms per series, the stall
 * list and diagnosis over the recorded requests, latency over time per
 * series (after the tables), keep-warm pings beside. Warnings about torn or
 * uncommitted rounds go to stderr; they never stop the report.
 *
 * `-c FILE` (optional) supplies the stall rule and request deadline the
 * rounds were probed with; `--stall-ms` overrides the rule.
 */
import { stat } from "node:fs/promises";
import { historyReport } from "../app/history.js";
import { machineContext, stallRuleOf } from "../app/live.js";
import { reportersFor, writeReports } from "../app/sinks/reporters.js";
import { createS3Client } from "../aws/clients.js";
import { loadConfig } from "../config/load.js";
import { DEFAULT_STALL_RULE, type StallRule } from "../diagnose/stalls.js";
import type { DiagnoseContext } from "../diagnose/types.js";
import { StallwatchError, UsageError } from "../errors.js";
import { isS3Url, parseS3Url } from "../record/s3/layout.js";
import { s3Source } from "../record/s3/source.js";
import { concatSources, dirSource, filterWriters, type HistorySource } from "../record/source.js";
import { Redactor } from "../redact.js";
import { gatedExitCode, needsHistograms, parseGates } from "../report/gates.js";
import { readResolverSettings } from "../system/resolv-conf.js";
import { applyGates, type ReportFlags } from "./report-outputs.js";
import { useDefaultHeapSizing } from "./v8-flags.js";

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A point in time from a flag: a duration before `nowMs` (`90s`, `30m`,
 * `24h`, `7d`, `2w`, `1.5h`), `now`, or an ISO 8601 date/time (a time
 * without a zone is UTC). Throws a UsageError naming the flag.
 */
export function parseTimeFlag(flag: string, value: string, nowMs: number): number {
  const v = value.trim();
  if (v === "now") return nowMs;
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(v);
  if (rel) return nowMs - Number(rel[1]) * (UNIT_MS[rel[2]!.toLowerCase()] ?? 0);
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(v) || !v.includes("T") ? v : `${v}Z`;
    const ms = Date.parse(zoned);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(
    `${flag}: expected a duration before now (e.g. 90s, 30m, 24h, 7d, 2w), 'now' or an ISO time ` +
      `(e.g. 2026-01-02T03:04:05Z), got '${value}'`,
  );
}

/** The history sources `--from` names: store directories and s3:// prefixes (checked before anything is read). */
async function sourcesOf(
  froms: readonly string[],
  region: string | undefined,
): Promise<{
  source: HistorySource;
  close: () => void;
}> {
  const sources: HistorySource[] = [];
  let client: import("@aws-sdk/client-s3").S3Client | undefined;
  for (const from of froms) {
    if (isS3Url(from)) {
      const loc = parseS3Url(from, "--from");
      client ??= await createS3Client(region !== undefined ? { region } : {});
      sources.push(s3Source(client, loc));
      continue;
    }
    const isDir = await stat(from).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      throw new UsageError(
        `--from: '${from}' is not a directory (expected a store's data directory or s3://bucket/prefix)`,
      );
    }
    sources.push(dirSource(from));
  }
  return { source: concatSources(sources), close: () => client?.destroy() };
}

export async function historyReportCommand(flags: ReportFlags): Promise<void> {
  useDefaultHeapSizing();
  const froms = (
    Array.isArray(flags.from) ? flags.from : flags.from === undefined ? [] : [flags.from]
  ).filter((f) => f !== "");
  if (froms.length === 0) throw new UsageError("--from: expected a store directory or s3://bucket/prefix");
  const probing = [flags.lab, flags.url, flags.route?.length, flags.path?.length].filter(Boolean);
  if (probing.length > 0)
    throw new UsageError("--from reads recorded history: it takes no --lab, --url, --route or --path");
  const writers = flags.writer ?? [];
  for (const w of writers) {
    if (!/^[A-Za-z0-9._-]+\*?$/.test(w)) {
      throw new UsageError(
        `--writer: expected a writer name (A-Z a-z 0-9 . _ -), optionally ending in '*', got '${w}'`,
      );
    }
  }
  const requestFlags = [flags.header?.length, flags.method, flags.data].filter(Boolean);
  if (requestFlags.length > 0)
    throw new UsageError("--from reads recorded history: it takes no -H, -X or -d");
  if (flags.csv !== undefined)
    throw new UsageError(
      "--csv: one row per request of a live run; with --from use --json (docs/report-json.md)",
    );
  const gates = parseGates(flags);
  const nowMs = Date.now();
  const sinceMs = parseTimeFlag("--since", flags.since ?? "24h", nowMs);
  const untilMs = flags.until === undefined ? nowMs : parseTimeFlag("--until", flags.until, nowMs);
  if (sinceMs >= untilMs) {
    throw new UsageError(
      `--since (${new Date(sinceMs).toISOString()}) must be before --until (${new Date(untilMs).toISOString()})`,
    );
  }

  const loaded = flags.config === undefined ? undefined : await loadConfig(flags.config);
  let stallRule: StallRule = loaded ? stallRuleOf(loaded) : DEFAULT_STALL_RULE;
  if (flags.stallMs !== undefined) {
    const stallMs = Number(flags.stallMs);
    if (!(stallMs > 0))
      throw new UsageError(`--stall-ms: expected a positive number of ms, got '${flags.stallMs}'`);
    stallRule = { ...stallRule, stallMs };
  }
  const context: DiagnoseContext = loaded
    ? machineContext(loaded)
    : { resolverTimeoutMs: readResolverSettings().timeoutMs };
  const since = new Date(sinceMs).toISOString();
  const until = new Date(untilMs).toISOString();

  const sources = await sourcesOf(froms, loaded?.config.aws.region);
  const from = filterWriters(sources.source, writers);
  const dir = from.label;
  let result: Awaited<ReturnType<typeof historyReport>>;
  try {
    result = await historyReport({
      from,
      sinceMs,
      untilMs,
      stallRule,
      context,
      options: {
        stallRule: stallRule.stallMs !== undefined ? { stallMs: stallRule.stallMs } : stallRule,
        since,
        until,
      },
      source: { kind: "history", dir, since, until },
      includeHistograms: flags.histograms === true || needsHistograms(gates),
    });
  } catch (err) {
    throw s3ReadError(err, froms);
  } finally {
    sources.close();
  }
  const { report, keepWarmIntervals, warnings } = result;
  for (const w of warnings) process.stderr.write(`stallwatch: warning: ${w}\n`);

  applyGates(report, gates, flags.histograms === true);
  await writeReports(reportersFor(flags), {
    report,
    redactor: loaded?.redactor ?? Redactor.none(),
    keepWarmIntervals,
  });
  process.exitCode = gatedExitCode(report, gates, loaded?.config.probe.stallBudget);
}

/** An S3 read failure as a clear error (exit 1): which prefix, what S3 said. Other errors pass through. */
function s3ReadError(err: unknown, froms: readonly string[]): unknown {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (err instanceof StallwatchError || e?.$metadata === undefined) return err;
  const s3 = froms.filter(isS3Url).join(", ");
  const status = e.$metadata.httpStatusCode;
  return new StallwatchError(
    "SW_S3_READ",
    `cannot read ${s3}: ${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? String(err)}`,
    1,
    { cause: err },
  );
}
