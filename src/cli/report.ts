/**
 * `stallwatch report`: flags in, library calls out. Probes a config, flags or
 * an in-process lab (or reads recorded history) and prints the report.
 *
 * With AWS features on (X-Ray, target groups, API Gateway metrics in the
 * config, `--publish`, or the lab, whose AWS endpoints are local): target
 * health is polled around the run, each request carries an X-Ray trace
 * header, and the stalls' traces and CloudWatch metrics go into the
 * diagnosis: the evidence sources of src/app/aws.ts, run by the pipeline
 * (src/app/pipeline.ts). Without them no AWS SDK code is loaded.
 */
import type { AwsParts } from "../app/aws.js";
import { stallRuleOf } from "../app/live.js";
import { type PipelineResult, runPipeline } from "../app/pipeline.js";
import { reportersFor, writeReports } from "../app/sinks/reporters.js";
import { applyProbeOverrides, configFromFlags, type ProbeFlags } from "../config/flags.js";
import { type LoadedConfig, loadConfig, parseConfig } from "../config/load.js";
import { applyRequestOverrides, parseRequestFlags } from "../config/request-flags.js";
import type { ScenarioProbePlan } from "../lab/index.js";
import type { RemoteLab } from "../lab/remote.js";
import type { Report } from "../model.js";
import { gatedExitCode, needsHistograms, parseGates } from "../report/gates.js";
import { createLiveStallCounter } from "../report/live-stalls.js";
import { createProgress } from "../report/progress.js";
import { labDemoDefaults, scenarioProbePlan, startDemoLab } from "./lab-demo.js";
import { checkWritableOutput } from "./output-check.js";
import { chooseProbeSource } from "./probe-source.js";
import { applyGates, type ReportFlags } from "./report-outputs.js";

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

    const total = expectedRequests(loaded);
    const progress = flags.progress === false ? undefined : createProgress({ stream: process.stderr, total });
    let done = 0;
    const liveStalls = createLiveStallCounter(stallRuleOf(loaded));
    // A threshold on a percentile the report does not carry (p(95)) is read from the histograms.
    const includeHistograms = flags.histograms === true || needsHistograms(gates);
    const aws = await awsFor(loaded, flags, lab);
    let result: PipelineResult;
    try {
      result = await runPipeline({
        loaded,
        ...(plan
          ? {
              probe: {
                ...(plan.idleGapsMs ? { idleGapsMs: plan.idleGapsMs } : {}),
                ...(plan.concurrencySteps ? { concurrencySteps: plan.concurrencySteps } : {}),
              },
            }
          : {}),
        onRecord: (r) => {
          liveStalls.add(r);
          progress?.update(++done, liveStalls.stalls);
        },
        onProbed: () => progress?.finish(),
        ...(aws
          ? {
              sources: aws.sources,
              // The lab's health checks run every second; a real NLB's every 10-30 s.
              pollMs: lab ? 1000 : 10_000,
              ...(aws.metrics ? { metrics: aws.metrics } : {}),
            }
          : {}),
        report: { source, includeHistograms },
      });
    } finally {
      await aws?.close();
    }
    const report = result.report as Report;
    if (flags.publish) {
      const { publishLine } = await import("../app/sinks/cloudwatch.js");
      process.stderr.write(`${publishLine(result.publish, loaded.config.cloudwatch.namespace)}\n`);
    }

    applyGates(report, gates, flags.histograms === true);
    await writeReports(reportersFor(flags), {
      report,
      redactor: loaded.redactor,
      // The columnar store, not result.records: reading that would make every request an object again.
      run: { records: result.columns, stalls: result.stalls },
    });
    process.exitCode = gatedExitCode(report, gates, loaded.config.probe.stallBudget);
  } finally {
    await lab?.close();
  }
}

/** The AWS sources and sink when the config (or the lab, or --publish) turns an AWS feature on; else undefined, loading nothing. */
async function awsFor(
  loaded: LoadedConfig,
  flags: ReportFlags,
  lab: RemoteLab | undefined,
): Promise<AwsParts | undefined> {
  const mod = await import("../app/aws.js");
  const publish = flags.publish === true;
  if (!mod.anyAwsFeature(mod.awsFeatures(loaded.config, { publish }))) return undefined;
  return mod.awsParts(loaded, {
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
