/**
 * The AWS side of a probe run, as one object the commands call around it:
 *
 *   const aws = await createAwsIntegration(loaded, { log });
 *   await aws.beforeRound();                     // NLB target health
 *   const stop = aws.watch(2000);                // target health during a long run (optional)
 *   const run = await probeRun(loaded, { traceHeaderFor: aws.traceHeaderFor });
 *   await stop();
 *   const r = await aws.afterRound({ records: run.records, stalls });
 *   analyse(run.records, rule, run.lag, machineContext(loaded, r.evidence));
 *   await aws.close();
 *
 * afterRound: target health once more, X-Ray traces of the stalls
 * (breakdowns), GetMetricData on AWS/ApiGateway and AWS/NetworkELB around the
 * stalls, and (when publishing) the round's metrics to CloudWatch through the
 * spool. It never throws on AWS errors: they come back as `notes` and log
 * lines, and the diagnosis runs on whatever evidence arrived.
 *
 * Endpoints: the SDK's standard overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>).
 * `endpointUrl` sets AWS_ENDPOINT_URL for the life of the integration (the
 * lab), with dummy credentials and region only where none are set.
 *
 * Lazy: this module imports no SDK code; a client (and its SDK module) is
 * created the first time an enabled feature needs it.
 */

import { AwsClients } from "../aws/clients.js";
import {
  buildEvidenceQueries,
  buildGetMetricDataInputs,
  type EvidenceMetricTargets,
  type EvidenceSeries,
  evidenceWindows,
  getEvidenceMetrics,
} from "../aws/elbv2/metric-queries.js";
import { TargetHealthMonitor, targetGroupsOf } from "../aws/elbv2/monitor.js";
import type { AwsFailure } from "../aws/errors.js";
import type { MetricsPublisher, PublishResult } from "../aws/metrics/index.js";
import type { LogFn } from "../aws/metrics/spool.js";
import { traceStalls } from "../aws/xray/investigate.js";
import { traceHeaderFor } from "../aws/xray/trace-id.js";
import { type Clock, systemClock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { Stall } from "../diagnose/stalls.js";
import type { AwsEvidence, RequestRecord } from "../model.js";
import type { ProbeTarget } from "../probe/types.js";
import { HistogramSet } from "../record/histograms.js";
import { summariseEvidenceSeries, summariseTargetHealth } from "./aws-evidence.js";

/** Which AWS features a run uses. */
export interface AwsFeatures {
  /** Send X-Amzn-Trace-Id (config.xray.enabled). */
  xrayHeader: boolean;
  /** Fetch the traces of stalls (config.xray.enabled && fetchTraces). */
  xrayFetch: boolean;
  /** DescribeTargetHealth each round (apis[].targetGroups). */
  targetHealth: boolean;
  /** GetMetricData around stalls (apis[].apiGateway, or target groups with their NLB). */
  metricsEvidence: boolean;
  /** Publish the round's metrics (config.cloudwatch.enabled, or `publish` given). */
  publish: boolean;
}

/** The AWS features `config` enables; `publish` overrides config.cloudwatch.enabled (report --publish). */
export function awsFeatures(config: Config, opts: { publish?: boolean } = {}): AwsFeatures {
  const tgs = targetGroupsOf(config);
  return {
    xrayHeader: config.xray.enabled,
    xrayFetch: config.xray.enabled && config.xray.fetchTraces,
    targetHealth: tgs.length > 0,
    metricsEvidence:
      config.apis.some((a) => a.apiGateway !== undefined) || tgs.some((t) => t.loadBalancerArn !== undefined),
    publish: opts.publish ?? config.cloudwatch.enabled,
  };
}

/** True when any feature is on (else a run needs no AWS at all). */
export function anyAwsFeature(f: AwsFeatures): boolean {
  return f.xrayHeader || f.xrayFetch || f.targetHealth || f.metricsEvidence || f.publish;
}

export interface AwsIntegrationOptions {
  /** Where progress and AWS errors are logged. */
  log: LogFn;
  /** Shared lazy clients; default: new ones for config.aws.region (destroyed by close()). */
  clients?: AwsClients;
  /** Sets AWS_ENDPOINT_URL (every service) until close(), e.g. the lab's endpoint. */
  endpointUrl?: string;
  /** Override config.cloudwatch.enabled: publish the round's metrics or not. */
  publish?: boolean;
  /** Longest wait for the stalls' traces per round, ms. Default config.xray.pollTimeoutS × 1000. */
  traceWaitMs?: number;
  /** Wait before the second BatchGetTraces attempt, ms. Default 2000 (the fetcher's). */
  traceInitialDelayMs?: number;
  /** EMF mode: where lines go (default stdout). */
  write?: (line: string) => void;
  clock?: Clock;
}

/** One round's records and stalls, as the integration needs them. */
export interface AwsRoundInput {
  records: readonly RequestRecord[];
  /** Stalls from detectStalls over the probe records. */
  stalls: readonly Stall[];
  /** µs histograms of the round; default: built from `records`. */
  histograms?: HistogramSet;
  /** The datum timestamp, epoch ms. Default: now. */
  timestampMs?: number;
  /** Stops the trace polling early (shutdown). */
  signal?: AbortSignal;
}

/** What afterRound found. */
export interface AwsRoundResult {
  /** For the DiagnoseContext: `xray`, `targetHealth`, `cloudwatchMetrics` where available. */
  evidence: AwsEvidence;
  /** One line each: what was looked at and what failed (for report notes and logs). */
  notes: string[];
  /** Failed AWS calls of this round. */
  failures: AwsFailure[];
  xray?: { stalls: number; traced: number; brokenDown: number; missing: number };
  /** The GetMetricData series around the stalls. */
  metrics?: EvidenceSeries[];
  /** What publishing did (when publishing). */
  publish?: PublishResult;
}

export interface AwsIntegration {
  readonly features: AwsFeatures;
  /** For probeRun / the runner: the X-Amzn-Trace-Id of each request; absent when X-Ray is off. */
  readonly traceHeaderFor?: (t: ProbeTarget) => string | undefined;
  /** One DescribeTargetHealth round (topology first time). Returns notes; never throws. */
  beforeRound(): Promise<string[]>;
  /** Polls target health every `intervalMs` until the returned stop() (which waits for a call in flight). */
  watch(intervalMs: number): () => Promise<void>;
  /** Target health, traces, metric evidence and publishing for a finished round. Never throws on AWS errors. */
  afterRound(input: AwsRoundInput): Promise<AwsRoundResult>;
  /** Sends what the spool holds (publishing only). */
  flush(): Promise<PublishResult | undefined>;
  /** Destroys the clients it created and restores the environment it changed. */
  close(): Promise<void>;
}

const failureText = (f: AwsFailure): string =>
  `${f.operation} failed: ${f.code}${f.status ? ` (HTTP ${f.status})` : ""}: ${f.message}`;

/** Sets env vars while the integration lives; returns the undo. */
function pointAt(endpointUrl: string, region: string | undefined): () => void {
  const saved = new Map<string, string | undefined>();
  const set = (k: string, v: string, onlyIfUnset: boolean) => {
    if (onlyIfUnset && process.env[k] !== undefined) return;
    saved.set(k, process.env[k]);
    process.env[k] = v;
  };
  set("AWS_ENDPOINT_URL", endpointUrl, false);
  // Dummy credentials only when there are none in the environment: the lab does not check signatures.
  if (process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined) {
    set("AWS_ACCESS_KEY_ID", "AKIDSTALLWATCHLAB", true);
    set("AWS_SECRET_ACCESS_KEY", "stallwatch-lab-secret", true);
  }
  set("AWS_REGION", region ?? "us-west-2", true);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Creates the integration for `loaded`'s config. Creates no client until a feature needs one. */
export async function createAwsIntegration(
  loaded: LoadedConfig,
  opts: AwsIntegrationOptions,
): Promise<AwsIntegration> {
  const config = loaded.config;
  const features = awsFeatures(config, opts.publish !== undefined ? { publish: opts.publish } : {});
  const clock = opts.clock ?? systemClock;
  const log = opts.log;
  const restoreEnv = opts.endpointUrl ? pointAt(opts.endpointUrl, config.aws.region) : undefined;
  const ownClients = opts.clients === undefined;
  const clients =
    opts.clients ?? new AwsClients(config.aws.region !== undefined ? { region: config.aws.region } : {});
  const groups = targetGroupsOf(config);
  let monitor: TargetHealthMonitor | undefined;
  let publisher: Promise<MetricsPublisher> | undefined;
  let flushed = false;
  let healthCall: Promise<unknown> = Promise.resolve();

  const monitorOf = async (): Promise<TargetHealthMonitor> => {
    monitor ??= new TargetHealthMonitor(await clients.elbv2(), groups, { clock });
    return monitor;
  };

  /** One target-health round; failures as notes. Serialised with the watcher's calls. */
  const healthRound = (): Promise<{ notes: string[]; failures: AwsFailure[] }> => {
    if (!features.targetHealth) return Promise.resolve({ notes: [], failures: [] });
    const run = healthCall.then(async () => {
      try {
        const r = await (await monitorOf()).round();
        for (const f of r.failures) log("warn", "target health: AWS call failed", { ...f });
        for (const t of r.transitions)
          log("info", "target health changed", {
            targetGroupArn: t.targetGroupArn,
            targetId: t.targetId,
            from: t.from,
            to: t.to,
            reason: t.reason,
          });
        return { notes: r.failures.map((f) => `target health: ${failureText(f)}`), failures: r.failures };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log("error", "target health round failed", { error: msg });
        return { notes: [`target health: ${msg}`], failures: [] };
      }
    });
    healthCall = run.catch(() => undefined);
    return run;
  };

  const publisherOf = (): Promise<MetricsPublisher> => {
    publisher ??= import("../aws/metrics/index.js").then((m) =>
      m.createMetricsPublisher(config, {
        clients,
        log,
        redactor: loaded.redactor,
        ...(opts.write ? { write: opts.write } : {}),
      }),
    );
    return publisher;
  };

  const integration: AwsIntegration = {
    features,
    ...(features.xrayHeader
      ? {
          traceHeaderFor: () =>
            traceHeaderFor({ enabled: true, sampled: config.xray.sampled }, clock.wallMs())?.value,
        }
      : {}),

    async beforeRound() {
      return (await healthRound()).notes;
    },

    watch(intervalMs) {
      if (!features.targetHealth) return async () => {};
      let stopped = false;
      const timer = setInterval(
        () => {
          if (!stopped) void healthRound();
        },
        Math.max(250, intervalMs),
      );
      return async () => {
        stopped = true;
        clearInterval(timer);
        await healthCall;
      };
    },

    async afterRound(input) {
      const out: AwsRoundResult = { evidence: {}, notes: [], failures: [] };
      const health = await healthRound();
      out.notes.push(...health.notes);
      out.failures.push(...health.failures);
      if (monitor) {
        const ev = monitor.evidence();
        out.evidence.targetHealth = ev;
        let from = Number.POSITIVE_INFINITY;
        let to = Number.NEGATIVE_INFINITY;
        for (const r of input.records) {
          from = Math.min(from, r.atMs);
          to = Math.max(to, r.atMs + (r.phasesMs.total ?? 0));
        }
        if (input.records.length > 0) out.notes.push(...summariseTargetHealth(ev, from, to));
      }

      if (features.xrayFetch && input.stalls.length > 0) await xrayStep(input, out);
      if (features.metricsEvidence && input.stalls.length > 0) await metricsStep(input, out);
      if (features.publish) await publishStep(input, out);
      return out;
    },

    async flush() {
      if (!features.publish) return undefined;
      try {
        return await (await publisherOf()).flush();
      } catch (e) {
        log("error", "metric flush failed", { error: e instanceof Error ? e.message : String(e) });
        return undefined;
      }
    },

    async close() {
      await healthCall;
      if (ownClients) await clients.destroy().catch(() => undefined);
      restoreEnv?.();
    },
  };

  async function xrayStep(input: AwsRoundInput, out: AwsRoundResult): Promise<void> {
    const traced = input.stalls.filter((s) => s.record.traceId !== undefined).length;
    if (traced === 0) {
      out.notes.push(`X-Ray: none of the ${input.stalls.length} stalls carries a trace id`);
      return;
    }
    try {
      const res = await traceStalls(await clients.xray(), input.stalls, {
        pollTimeoutMs: opts.traceWaitMs ?? config.xray.pollTimeoutS * 1000,
        ...(opts.traceInitialDelayMs !== undefined ? { initialDelayMs: opts.traceInitialDelayMs } : {}),
        ...(input.signal ? { signal: input.signal } : {}),
        clock,
      });
      out.evidence.xray = res.evidence;
      const missing = res.evidence.missingTraces?.length ?? 0;
      out.xray = {
        stalls: input.stalls.length,
        traced,
        brokenDown: res.evidence.breakdowns.length,
        missing,
      };
      out.notes.push(
        `X-Ray: ${res.evidence.breakdowns.length} of ${traced} traced stalls broken down` +
          (missing
            ? `, ${missing} traces not found within ${Math.round(res.fetch.elapsedMs / 1000)} s`
            : "") +
          (res.failed.length ? `, ${res.failed.length} traces without an API Gateway segment` : ""),
      );
      const fails = res.fetch.fatal ? [res.fetch.fatal] : res.fetch.failures.slice(0, 3);
      for (const f of fails) {
        out.notes.push(`X-Ray: ${failureText(f)}`);
        log("warn", "X-Ray: AWS call failed", { ...f });
      }
      out.failures.push(...res.fetch.failures);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      out.notes.push(`X-Ray: ${msg}`);
      log("error", "X-Ray trace fetch failed", { error: msg });
    }
  }

  async function metricsStep(input: AwsRoundInput, out: AwsRoundResult): Promise<void> {
    const targets: EvidenceMetricTargets = {
      apiGateway: config.apis.flatMap((a) => (a.apiGateway ? [a.apiGateway] : [])),
      targetGroups: groups.flatMap((g) =>
        g.loadBalancerArn === undefined
          ? []
          : [
              {
                targetGroupArn: g.arn,
                loadBalancerArn: g.loadBalancerArn,
                zones: monitor?.topology(g.arn)?.zones.map((z) => z.zoneName) ?? [],
              },
            ],
      ),
    };
    const queries = buildEvidenceQueries(targets);
    if (queries.length === 0) return;
    try {
      const cw = await clients.cloudWatch();
      const series: EvidenceSeries[] = [];
      for (const w of evidenceWindows(input.stalls.map((s) => s.record.atMs))) {
        const res = await getEvidenceMetrics(cw, queries, buildGetMetricDataInputs(queries, w));
        series.push(...res.series);
        out.failures.push(...res.failures);
        for (const f of res.failures.slice(0, 2)) {
          out.notes.push(`CloudWatch: ${failureText(f)}`);
          log("warn", "CloudWatch evidence: AWS call failed", { ...f });
        }
      }
      out.metrics = series;
      out.evidence.cloudwatchMetrics = { series };
      out.notes.push(...summariseEvidenceSeries(series));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      out.notes.push(`CloudWatch: ${msg}`);
      log("error", "CloudWatch evidence failed", { error: msg });
    }
  }

  async function publishStep(input: AwsRoundInput, out: AwsRoundResult): Promise<void> {
    try {
      const m = await import("../aws/metrics/index.js");
      const pub = await publisherOf();
      if (!flushed) {
        flushed = true;
        await pub.flush();
      }
      let histograms = input.histograms;
      if (!histograms) {
        histograms = new HistogramSet();
        for (const r of input.records) histograms.recordRecord(r);
      }
      const stallSeqs = new Set(input.stalls.map((s) => s.record.seq));
      out.publish = await pub.publishRound({
        histograms,
        counts: m.countsFromRecords(input.records, stallSeqs),
        timestampMs: input.timestampMs ?? clock.wallMs(),
      });
      if (out.publish.error) out.notes.push(`CloudWatch publish: ${out.publish.error.message}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      out.notes.push(`CloudWatch publish: ${msg}`);
      log("error", "metric publish failed", { error: msg });
    }
  }

  return integration;
}

/** One line on what a publish did, e.g. for `report --publish` on stderr. */
export function publishLine(p: PublishResult | undefined, namespace: string): string {
  if (!p) return "stallwatch: metrics not published (see the notes)";
  if (p.emfLines > 0) return `stallwatch: ${p.emfLines} EMF lines written (namespace ${namespace})`;
  const parts = [
    `stallwatch: published ${p.sentDatums} datums in ${p.sentBatches} PutMetricData calls to ${namespace}`,
  ];
  if (p.pendingBatches) parts.push(`${p.pendingBatches} batches spooled for later`);
  if (p.rejectedBatches) parts.push(`${p.rejectedBatches} rejected`);
  if (p.droppedDatums) parts.push(`${p.droppedDatums} datums LOST`);
  if (p.error) parts.push(`last error: ${p.error.name}: ${p.error.message}`);
  return parts.join("; ");
}
