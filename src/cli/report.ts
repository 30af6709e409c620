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
import { applyRequestOverrides, parseRequestFlags } from "../config/request-flags.js";
import { detectStalls } from "../diagnose/stalls.js";
import type { ScenarioProbePlan } from "../lab/index.js";
import type { RemoteLab } from "../lab/remote.js";
import type { Report, RequestRecord } from "../model.js";
import type { RunResult } from "../probe/runner.js";
import { gatedExitCode, needsHistograms, parseGates } from "../report/gates.js";
import { renderJson } from "../report/json.js";
import { createLiveStallCounter } from "../report/live-stalls.js";
import { createProgress } from "../report/progress.js";
import { renderTerminal, shouldUseColor } from "../report/terminal.js";
import { labDemoDefaults, scenarioProbePlan, startDemoLab } from "./lab-demo.js";
import { checkWritableOutput } from "./output-check.js";
import { chooseProbeSource } from "./probe-source.js";
import { applyGates, type ReportFlags, writeMachineOutputs } from "./report-outputs.js";

export type { ReportFlags };

export async function reportCommand(flags: ReportFlags): Promise<void> {
  // Before any probing or reading: a long run must not end in "cannot write the report".
  if (flags.html !== undefined) await checkWritableOutput("--html", flags.html);
  if (flags.from !== undefined) {
    const { historyReportCommand } = await import("./report-history.js");
    return historyReportCommand(flags);
  }
  const probeSource = chooseProbeSource(flags, {
    command: "report",
    defaultScenario: "bad-target",
    exclusive: true,
    flags: "always",
  });
  // Bad flags fail before anything starts.
  const gates = parseGates(flags);
  const request = parseRequestFlags(flags);

  let lab: RemoteLab | undefined;
  let plan: ScenarioProbePlan | undefined;
  try {
    let loaded: LoadedConfig;
    let source: Report["source"];
    if (probeSource.kind === "lab") {
      const scenario = probeSource.scenario;
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
    } else if (probeSource.kind === "config") {
      loaded = applyProbeOverrides(await loadConfig(probeSource.file), flags);
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
    if (!aws) {
      ({ report, run, analysis } = await liveReport(loaded, {
        source,
        includeHistograms,
        onRecord,
        ...gapOpts,
      }));
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
        const stalls = detectStalls(run.records, stallRuleOf(loaded));
        const after = await aws.afterRound({ records: run.records, stalls });
        ({ report, analysis } = reportFromRun(loaded, run, {
          source,
          includeHistograms,
          evidence: after.evidence,
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
        timeline: timelineFromRecords(run.records, analysis.stalls),
      });
      process.stderr.write(`stallwatch: HTML report written to ${flags.html}\n`);
    }
    await writeMachineOutputs(flags, report, loaded, { records: run.records, stalls: analysis.stalls });
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
