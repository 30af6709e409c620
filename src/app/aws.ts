/**
 * The AWS parts of a run, chosen from the config: the evidence sources
 * (NLB target health, X-Ray, CloudWatch metrics; src/app/evidence) and the
 * CloudWatch metrics sink (src/app/sinks/cloudwatch.ts), sharing one set of
 * lazily created clients. The pipeline (src/app/pipeline.ts) runs them.
 *
 * Endpoints: the SDK's standard overrides (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>),
 * or `endpointUrl` for the clients created here (the lab), with dummy
 * credentials and region only where none are set; the environment is read,
 * never changed.
 *
 * Lazy: this module imports no SDK code; a client (and its SDK module) is
 * created the first time an enabled feature needs it.
 */

import { AwsClients, localEndpointOptions } from "../aws/clients.js";
import { targetGroupsOf } from "../aws/elbv2/monitor.js";
import type { LogFn } from "../aws/metrics/spool.js";
import type { Clock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { cloudWatchEvidenceSource } from "./evidence/cloudwatch.js";
import type { EvidenceSource } from "./evidence/source.js";
import { targetHealthSource } from "./evidence/target-health.js";
import { xraySource } from "./evidence/xray.js";
import { type MetricsSink, metricsSink } from "./sinks/cloudwatch.js";

export { publishLine } from "./sinks/cloudwatch.js";

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

export interface AwsPartsOptions {
  /** Where progress and AWS errors are logged. */
  log: LogFn;
  /** Shared lazy clients; default: new ones for config.aws.region (destroyed by close()). */
  clients?: AwsClients;
  /** Every service at this endpoint (the lab's), for the clients created here. */
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

export interface AwsParts {
  readonly features: AwsFeatures;
  /** Target health, X-Ray, CloudWatch metrics: those the config enables, in the order they run. */
  readonly sources: EvidenceSource[];
  /** Present when publishing. */
  readonly metrics?: MetricsSink;
  /** Closes the sources, destroys the clients created here. */
  close(): Promise<void>;
}

/** The AWS sources and sink `loaded`'s config enables. Creates no client until a feature needs one. */
export function awsParts(loaded: LoadedConfig, opts: AwsPartsOptions): AwsParts {
  const config = loaded.config;
  const features = awsFeatures(config, opts.publish !== undefined ? { publish: opts.publish } : {});
  const log = opts.log;
  const ownClients = opts.clients === undefined;
  const clients =
    opts.clients ??
    new AwsClients(
      opts.endpointUrl
        ? localEndpointOptions(opts.endpointUrl, config.aws.region)
        : config.aws.region !== undefined
          ? { region: config.aws.region }
          : {},
    );
  const groups = targetGroupsOf(config);
  const clock = opts.clock ? { clock: opts.clock } : {};
  const sources: EvidenceSource[] = [];
  const health = features.targetHealth
    ? targetHealthSource(() => clients.elbv2(), groups, { log, ...clock })
    : undefined;
  if (health) sources.push(health);
  if (features.xrayHeader)
    sources.push(
      xraySource(() => clients.xray(), config, {
        log,
        ...clock,
        ...(opts.traceWaitMs !== undefined ? { traceWaitMs: opts.traceWaitMs } : {}),
        ...(opts.traceInitialDelayMs !== undefined ? { traceInitialDelayMs: opts.traceInitialDelayMs } : {}),
      }),
    );
  if (features.metricsEvidence)
    sources.push(
      cloudWatchEvidenceSource(() => clients.cloudWatch(), config, groups, {
        log,
        zonesOf: (arn) => health?.topology(arn)?.zones.map((z) => z.zoneName),
      }),
    );
  const metrics = features.publish
    ? metricsSink(loaded, { clients, log, ...clock, ...(opts.write ? { write: opts.write } : {}) })
    : undefined;
  return {
    features,
    sources,
    ...(metrics ? { metrics } : {}),
    async close() {
      for (const s of sources) await s.close?.().catch(() => undefined);
      if (ownClients) await clients.destroy().catch(() => undefined);
    },
  };
}
