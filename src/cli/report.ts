/**
 * `stallwatch report`: flags in, library calls out. Probes a config, flags or
 * an in-process lab (or reads recorded history) and prints the report.
 *
 * With AWS features on (X-Ray, target groups, API Gateway metrics in the
 * config, `--publish`, or the lab, whose AWS endpoints are local): target
 * health is polled around the run, each request carries an X-Ray trace
 * header, and the stalls' traces and CloudWatch metrics go into the
 * diagnosis (src/app/aws.ts). Without them no AWS SDK code is loaded.
 */
import type { AwsIntegration } from "../app/aws.js";
import { type Analysis, liveReport, probeRun, reportFromRun, stallRuleOf } from "../app/live.js";
import { applyProbeOverrides, configFromFlags, type ProbeFlags } from "../config/flags.js";
import { type LoadedConfig, loadConfig, parseConfig } from "../config/load.js";
import { applyRequestOverrides, parseRequestFlags, type RequestFlags } from "../config/request-flags.js";
import { detectStalls, type Stall } from "../diagnose/stalls.js";
import { UsageError } from "../errors.js";
import type { ScenarioProbePlan } from "../lab/index.js";
import type { RemoteLab } from "../lab/remote.js";
import type { RequestRecord } from "../model.js";
import type { RunResult } from "../probe/runner.js";
import { columnsOf, type RecordColumns } from "../record/columns.js";
import { evaluateGates, type GateSpec, gatedExitCode, needsHistograms, parseGates } from "../report/gates.js";
import { renderJson } from "../report/json.js";
import { createLiveStallCounter } from "../report/live-stalls.js";
import { createProgress } from "../report/progress.js";
import { renderTerminal, shouldUseColor } from "../report/terminal.js";
import type { Report } from "../report/types.js";
import { labDemoDefaults, scenarioProbePlan, startDemoLab } from "./lab-demo.js";
import { checkWritableOutput } from "./output-check.js";

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

export async function reportCommand(flags: ReportFlags): Promise<void> {
  // Before any probing or reading: a long run must not end in "cannot write the report".
  if (flags.html !== undefined) await checkWritableOutput("--html", flags.html);
  if (flags.from !== undefined) {
    const { historyReportCommand } = await import("./report-history.js");
    return historyReportCommand(flags);
  }
  const sources = [flags.config, flags.lab, flags.url ?? flags.route?.length].filter(Boolean).length;
  if (sources > 1) throw new UsageError("give one of --config, --lab, --url / --route");
  // Bad flags fail before anything starts.
  const gates = parseGates(flags);
  const request = parseRequestFlags(flags);

  let lab: RemoteLab | undefined;
  let plan: ScenarioProbePlan | undefined;
  try {
    let loaded: LoadedConfig;
    let source: Report["source"];
    if (flags.lab !== undefined && flags.lab !== false) {
      const scenario = typeof flags.lab === "string" ? flags.lab : "bad-target";
      plan = scenarioProbePlan(scenario);
      lab = await startDemoLab(scenario, plan?.timings);
      loaded = applyProbeOverrides(parseConfig(lab.config), {
        ...labDemoDefaults(scenario),
        ...definedOnly(flags),
      });
      // A scenario whose fault shows only after idle is probed its own way: one series, the declared gaps.
      if (plan) {
        loaded = { ...loaded, targets: loaded.targets.slice(0, 1) };
        process.stderr.write(`stallwatch: lab ${scenario}: ${plan.why}\n`);
      }
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
    loaded = applyRequestOverrides(loaded, request);

    const gapOpts = plan ? { idleGapsMs: plan.idleGapsMs } : {};
    const total = expectedRequests(loaded);
    const progress = flags.progress === false ? undefined : createProgress({ stream: process.stderr, total });
    let done = 0;
    const liveStalls = createLiveStallCounter(stallRuleOf(loaded));
    const onRecord = (r: RequestRecord) => {
      liveStalls.add(r);
      progress?.update(++done, liveStalls.stalls);
    };
    // A threshold on a percentile the report does not carry (p(95)) is read from the histograms.
    const includeHistograms = flags.histograms === true || needsHistograms(gates);
    const aws = await awsFor(loaded, flags, lab);
    let report: Report;
    let run: RunResult;
    let analysis: Analysis;
    // The run's records: its columnar store (constant memory per request), or, with AWS evidence, the
    // retained records the AWS integration still reads as objects.
    let records: readonly RequestRecord[] | RecordColumns;
    if (!aws) {
      let store: RecordColumns;
      ({ report, run, analysis, store } = await liveReport(loaded, {
        source,
        includeHistograms,
        onRecord,
        ...gapOpts,
      }));
      records = store;
      progress?.finish();
    } else {
      try {
        const before = await aws.beforeRound();
        // The lab's health checks run every second; a real NLB's every 10-30 s.
        const stopWatch = aws.watch(lab ? 1000 : 10_000);
        run = await probeRun(loaded, {
          onRecord,
          ...gapOpts,
          ...(aws.traceHeaderFor ? { traceHeaderFor: aws.traceHeaderFor } : {}),
        }).finally(stopWatch);
        progress?.finish();
        records = run.records;
        const stalls = detectStalls(run.records, stallRuleOf(loaded));
        const after = await aws.afterRound({ records: run.records, stalls });
        ({ report, analysis } = reportFromRun(loaded, run, {
          source,
          includeHistograms,
          extra: after.extra,
          notes: [...before, ...after.notes],
        }));
        if (flags.publish) {
          const { publishLine } = await import("../app/aws.js");
          process.stderr.write(`${publishLine(after.publish, loaded.config.cloudwatch.namespace)}\n`);
        }
      } finally {
        await aws.close();
      }
    }

    applyGates(report, gates, flags.histograms === true);
    const out = flags.json
      ? renderJson(report)
      : renderTerminal(report, {
          color: shouldUseColor(process.stdout, process.env),
          width: process.stdout.columns ?? 100,
        });
    process.stdout.write(loaded.redactor.redact(out));
    if (flags.html !== undefined) {
      const { writeHtmlReport, timelineFromRecords } = await import("../report/html.js");
      await writeHtmlReport(flags.html, report, loaded.redactor, {
        timeline: timelineFromRecords(records, analysis.stalls),
      });
      process.stderr.write(`stallwatch: HTML report written to ${flags.html}\n`);
    }
    await writeMachineOutputs(flags, report, loaded, { records, stalls: analysis.stalls });
    process.exitCode = gatedExitCode(report, gates, loaded.config.probe.stallBudget);
  } finally {
    await lab?.close();
  }
}

/** The AWS integration when the config (or the lab, or --publish) turns an AWS feature on; else undefined, loading nothing. */
async function awsFor(
  loaded: LoadedConfig,
  flags: ReportFlags,
  lab: RemoteLab | undefined,
): Promise<AwsIntegration | undefined> {
  const mod = await import("../app/aws.js");
  const publish = flags.publish === true;
  if (!mod.anyAwsFeature(mod.awsFeatures(loaded.config, { publish }))) return undefined;
  return mod.createAwsIntegration(loaded, {
    publish,
    log: (level, msg, fields) => {
      if (level !== "info")
        process.stderr.write(`stallwatch: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ""}\n`);
    },
    ...(lab?.awsEndpoint ? { endpointUrl: lab.awsEndpoint, traceInitialDelayMs: 250 } : {}),
  });
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
  run: { records: readonly RequestRecord[] | RecordColumns; stalls: readonly Stall[] } | undefined,
): Promise<void> {
  const { writeFile } = await import("node:fs/promises");
  const redact = (s: string) => loaded?.redactor.redact(s) ?? s;
  if (flags.junit !== undefined) {
    const { renderJunit } = await import("../report/junit.js");
    const connectionOf = run ? connectionBySeq(columnsOf(run.records)) : () => undefined;
    await writeOutput(writeFile, flags.junit, redact(renderJunit(report, connectionOf)), "--junit");
    process.stderr.write(`stallwatch: JUnit report written to ${flags.junit}\n`);
  }
  if (flags.csv !== undefined && run) {
    const { renderCsv } = await import("../report/csv.js");
    const stallIdx = new Set(run.stalls.map((x) => x.index));
    const cols = columnsOf(run.records);
    await writeOutput(writeFile, flags.csv, redact(renderCsv(cols, (i) => stallIdx.has(i))), "--csv");
    process.stderr.write(`stallwatch: CSV (${cols.length} requests) written to ${flags.csv}\n`);
  }
}

/** The connection mode of the request with this seq (binary search over the rows in seq order; no map per request). */
function connectionBySeq(cols: RecordColumns): (seq: number) => RequestRecord["connection"] | undefined {
  const order = cols.bySeq();
  return (seq) => {
    let lo = 0;
    let hi = order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = cols.seq(order[mid]!);
      if (s === seq) return cols.connection(order[mid]!);
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
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
