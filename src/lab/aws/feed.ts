/**
 * The lab's AWS side, fed from the simulation: one local endpoint
 * (startAwsLab) serving CloudWatch, X-Ray and ELBv2 in their real wire
 * protocols, with what the simulated stack did:
 *
 *   lab request       → X-Ray: API Gateway segment + integration subsegment + backend segment
 *                     → CloudWatch AWS/ApiGateway Latency, IntegrationLatency, Count, 4XX/5XXError
 *   lab targets       → ELBv2: the NLB, its target group and targets (DescribeTargetHealth …)
 *   'target-health'   → ELBv2 target state, and AWS/NetworkELB Healthy/UnHealthyHostCount per AZ
 *   every few seconds → AWS/NetworkELB Healthy/UnHealthyHostCount per AZ
 *   NLB flow resets   → AWS/NetworkELB TCP_ELB_Reset_Count (the NLB's idle timeout: an RST each way) and
 *                       TCP_Target_Reset_Count (a target's RST passed to the client), zeros every few seconds
 *
 * Point real SDK clients at `url` (AWS_ENDPOINT_URL). AWS/* datums go
 * straight into the lab CloudWatch store (PutMetricData refuses AWS/
 * namespaces, as CloudWatch does); stallwatch's own metrics arrive through
 * PutMetricData like anyone's.
 */

import { arnSuffix } from "../../aws/elbv2/metric-queries.js";
import type { ConfigInput } from "../../config/schema.js";
import type { LabConnectionRecord, LabHealthTransition, LabRequestRecord } from "../events.js";
import type { Lab } from "../lab.js";
import { type CloudWatchLab, createCloudWatchLab } from "./cloudwatch.js";
import type { StoredDatum } from "./cloudwatch-metrics.js";
import {
  applyLabHealth,
  Elbv2State,
  elbv2Handler,
  type LabArns,
  nlbHealthDatums,
  seedLabTopology,
} from "./elbv2.js";
import { type AwsLab, startAwsLab } from "./server.js";
import { feedLabRequest, XrayStore, xrayHandler } from "./xray.js";

/** The ApiName the lab's API Gateway publishes under (matches labConfig's `apiGateway.apiName`). */
export const LAB_API_NAME = "lab";

export interface LabAwsOptions {
  /** Segments become visible this long after the request finished, ms (real X-Ray: seconds or more). Default 100. */
  traceDelayMs?: number;
  /** How often the NLB host-count datums are written, ms. Default 5000. */
  nlbMetricsIntervalMs?: number;
  /** Lab-fed AWS/* datums older than this are dropped, ms. Default 3 hours. */
  retentionMs?: number;
  /** Address of the endpoint. Default 127.0.0.1. */
  host?: string;
}

/** What a client needs to reach the lab's AWS side (also sent from the lab's worker thread). */
export interface LabAwsInfo {
  /** `http://127.0.0.1:<port>`: the AWS_ENDPOINT_URL for every service. */
  url: string;
  region: string;
  targetGroupArn: string;
  loadBalancerArn: string;
  apiName: string;
  stage: string;
}

/** The running lab AWS side. */
export interface LabAws extends LabAwsInfo {
  arns: LabArns;
  cloudwatch: CloudWatchLab;
  xray: XrayStore;
  elbv2: Elbv2State;
  server: AwsLab;
  /** Stops feeding and closes the endpoint. Idempotent. */
  close(): Promise<void>;
}

type LabLike = Pick<Lab, "events" | "targets" | "stage" | "region" | "nlb"> & Partial<Pick<Lab, "timings">>;

/** AWS/ApiGateway datums for one lab request that reached API Gateway. */
export function apiGatewayDatums(
  rec: {
    atMs: number;
    status?: number;
    hops: ReadonlyArray<{ hop: string; startMs: number; endMs?: number }>;
  },
  apiName: string,
  stage: string,
): StoredDatum[] {
  const gw = rec.hops.find((h) => h.hop === "apigw");
  if (!gw || gw.endMs === undefined) return [];
  const integ = rec.hops.find((h) => h.hop === "integration");
  const at = Math.round(rec.atMs + gw.startMs);
  const dimensions = [
    { Name: "ApiName", Value: apiName },
    { Name: "Stage", Value: stage },
  ];
  const datum = (metricName: string, value: number, unit: string): StoredDatum => ({
    namespace: "AWS/ApiGateway",
    metricName,
    dimensions,
    timestampMs: at,
    unit,
    values: [value],
    counts: [1],
    storageResolution: 60,
  });
  const status = rec.status ?? 0;
  const out = [
    datum("Latency", gw.endMs - gw.startMs, "Milliseconds"),
    datum("Count", 1, "Count"),
    datum("4XXError", status >= 400 && status < 500 ? 1 : 0, "Count"),
    datum("5XXError", status >= 500 ? 1 : 0, "Count"),
  ];
  if (integ?.endMs !== undefined)
    out.push(datum("IntegrationLatency", integ.endMs - integ.startMs, "Milliseconds"));
  return out;
}

/**
 * AWS/NetworkELB reset counters (dimension LoadBalancer) for one NLB flow event: RST packets the NLB generated
 * (its idle timeout resets both sides: 2) and RSTs a target sent through it (1); nothing for other events.
 * With `kind` undefined: a zero of each, so a quiet minute reads 0 rather than no data.
 */
export function nlbResetDatums(
  kind: LabConnectionRecord["kind"] | undefined,
  loadBalancerArn: string,
  atMs: number,
): StoredDatum[] {
  const lb = arnSuffix(loadBalancerArn);
  if (lb === undefined) return [];
  const datum = (metricName: string, v: number): StoredDatum => ({
    namespace: "AWS/NetworkELB",
    metricName,
    dimensions: [{ Name: "LoadBalancer", Value: lb }],
    timestampMs: atMs,
    unit: "Count",
    values: [v],
    counts: [1],
    storageResolution: 60,
  });
  if (kind === undefined) return [datum("TCP_ELB_Reset_Count", 0), datum("TCP_Target_Reset_Count", 0)];
  if (kind === "reset") return [datum("TCP_ELB_Reset_Count", 2)];
  if (kind === "target-reset") return [datum("TCP_Target_Reset_Count", 1)];
  return [];
}

/** Starts the lab's AWS endpoint and feeds it from `lab` until closed. */
export async function startLabAws(lab: LabLike, opts: LabAwsOptions = {}): Promise<LabAws> {
  const cloudwatch = createCloudWatchLab({ region: lab.region });
  const xray = new XrayStore();
  const elbv2 = new Elbv2State();
  const arns = seedLabTopology(elbv2, lab.targets, { crossZone: lab.nlb.crossZone, region: lab.region });
  // The lab's NLB resets a draining target's flows when its deregistration delay ends (src/lab/nlb.ts).
  const tg = elbv2.targetGroup(arns.targetGroupArn);
  if (tg && lab.timings)
    elbv2.setTargetGroup({
      ...tg,
      attributes: {
        ...tg.attributes,
        "deregistration_delay.timeout_seconds": String(Math.round(lab.timings.deregistrationDelayMs / 1000)),
        "deregistration_delay.connection_termination.enabled": "true",
      },
    });
  const server = await startAwsLab({
    handlers: [cloudwatch, xrayHandler(xray), elbv2Handler(elbv2)],
    ...(opts.host ? { host: opts.host } : {}),
  });
  const retentionMs = opts.retentionMs ?? 3 * 3_600_000;
  const datums = cloudwatch.metrics.datums;

  const writeNlb = (): void => {
    datums.push(...nlbHealthDatums(elbv2, arns.targetGroupArn, Date.now()));
    datums.push(...nlbResetDatums(undefined, arns.loadBalancerArn, Date.now()));
  };
  const onConnection = (c: LabConnectionRecord): void => {
    datums.push(...nlbResetDatums(c.kind, arns.loadBalancerArn, c.atMs));
  };
  const prune = (): void => {
    const cutoff = Date.now() - retentionMs;
    for (let i = datums.length - 1; i >= 0; i--) {
      const d = datums[i];
      if (d?.namespace.startsWith("AWS/") && d.timestampMs < cutoff) datums.splice(i, 1);
    }
  };

  const onRequest = (r: LabRequestRecord): void => {
    feedLabRequest(xray, r, {
      apiName: LAB_API_NAME,
      stage: lab.stage,
      delayMs: opts.traceDelayMs ?? 100,
      targetOf: (id) => {
        const t = lab.targets.find((x) => x.id === id);
        return t ? { id: t.address, availabilityZone: t.availabilityZone } : undefined;
      },
    });
    datums.push(...apiGatewayDatums(r, LAB_API_NAME, lab.stage));
  };
  const onHealth = (h: LabHealthTransition): void => {
    const t = lab.targets.find((x) => x.id === h.targetId);
    if (!t) return;
    applyLabHealth(elbv2, arns.targetGroupArn, t.address, {
      state: h.to,
      ...(h.reason !== undefined ? { reason: h.reason } : {}),
      ...(h.description !== undefined ? { description: h.description } : {}),
    });
    writeNlb();
  };
  lab.events.on("request", onRequest);
  lab.events.on("target-health", onHealth);
  lab.events.on("connection", onConnection);
  writeNlb();
  const timer = setInterval(() => {
    writeNlb();
    prune();
  }, opts.nlbMetricsIntervalMs ?? 5000);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    region: lab.region,
    targetGroupArn: arns.targetGroupArn,
    loadBalancerArn: arns.loadBalancerArn,
    apiName: LAB_API_NAME,
    stage: lab.stage,
    arns,
    cloudwatch,
    xray,
    elbv2,
    server,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        lab.events.off("request", onRequest);
        lab.events.off("target-health", onHealth);
        lab.events.off("connection", onConnection);
        await server.close();
      })();
      return closing;
    },
  };
}

/** Settings for a lab run with its AWS side: the lab's own config plus every AWS feature pointed at it. */
export interface LabAwsConfigOptions {
  /** Where unsent metrics are spooled (a temporary directory the lab owns). */
  spoolDir: string;
  /** How long stallwatch polls for a trace, s. Default 5 (the lab's traces arrive within 100 ms). */
  pollTimeoutS?: number;
}

/**
 * `base` (labConfig's) with X-Ray tracing, the lab's target group and
 * CloudWatch (api mode, spooled under `spoolDir`) enabled, region the lab's.
 */
export function withLabAws(base: ConfigInput, info: LabAwsInfo, opts: LabAwsConfigOptions): ConfigInput {
  return {
    ...base,
    apis: base.apis.map((api, i) =>
      i === 0
        ? {
            ...api,
            targetGroups: [{ arn: info.targetGroupArn, loadBalancerArn: info.loadBalancerArn }],
          }
        : api,
    ),
    xray: { enabled: true, sampled: true, fetchTraces: true, pollTimeoutS: opts.pollTimeoutS ?? 5 },
    cloudwatch: { enabled: true, mode: "api", spoolDir: opts.spoolDir },
    aws: { region: info.region },
  };
}
