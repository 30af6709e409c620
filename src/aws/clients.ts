/**
 * Lazy AWS SDK clients. The SDK modules are loaded with dynamic `import()`
 * the first time a client is asked for, so `stallwatch --help` and AWS-free
 * reports never pay for them (only `import type` appears at the top level,
 * which TypeScript erases).
 *
 * Region: `config.aws.region`, else the SDK's chain (AWS_REGION, profile).
 * Endpoint: the SDK's standard overrides — `AWS_ENDPOINT_URL_CLOUDWATCH`,
 * `AWS_ENDPOINT_URL_XRAY`, `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`, or
 * `AWS_ENDPOINT_URL` for all (read by @smithy/core's getEndpointUrlConfig in
 * the installed SDK; serviceId words upper-cased and joined by `_`) — or an
 * explicit `endpoint` here (tests). Credentials: the SDK's default chain.
 *
 * Retries: the SDK's standard strategy already retries throttling (base
 * 1 s, full jitter) and transient errors (500/502/503/504, ECONNRESET,
 * ECONNREFUSED…) with exponential backoff capped at 20 s. We keep its default
 * of 3 attempts: enough to ride out a blip, short enough that a round is not
 * held up for long. Longer outages are the spool's job (a later round).
 */
import type { CloudWatchClient, CloudWatchClientConfig } from "@aws-sdk/client-cloudwatch";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { S3Client } from "@aws-sdk/client-s3";
import type { XRayClient } from "@aws-sdk/client-xray";
import { noteNodeSupport } from "./node-support.js";

/** Options shared by every client. */
export interface AwsClientOptions {
  /** Region; default: the SDK's chain (AWS_REGION, AWS_DEFAULT_REGION via profile…). */
  region?: string;
  /** Explicit endpoint URL (tests); default: the SDK's AWS_ENDPOINT_URL* handling, then AWS. */
  endpoint?: string;
  /** Total attempts per call including the first (SDK standard retry). Default 3. */
  maxAttempts?: number;
  /** Socket connect deadline, ms. Default 3000. */
  connectionTimeoutMs?: number;
  /** Per-attempt deadline for the response, ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Static credentials (tests against the lab); default: the SDK's credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

function commonConfig(o: AwsClientOptions): Record<string, unknown> {
  return {
    ...(o.region ? { region: o.region } : {}),
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
    maxAttempts: o.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: o.connectionTimeoutMs ?? 3000,
      requestTimeout: o.requestTimeoutMs ?? 10_000,
    },
  };
}

/**
 * Client options for a local endpoint that checks no signatures (the lab):
 * every service at `endpoint`; the region of the config, else AWS_REGION,
 * else us-west-2; dummy credentials only where the environment has none
 * (no AWS_ACCESS_KEY_ID and no AWS_PROFILE). Reads the environment, never
 * changes it.
 */
export function localEndpointOptions(
  endpoint: string,
  region: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AwsClientOptions {
  const noCredentials = env.AWS_ACCESS_KEY_ID === undefined && env.AWS_PROFILE === undefined;
  return {
    endpoint,
    region: region ?? env.AWS_REGION ?? "us-west-2",
    ...(noCredentials
      ? { credentials: { accessKeyId: "AKIDSTALLWATCHLAB", secretAccessKey: "stallwatch-lab-secret" } }
      : {}),
  };
}

/** Creates a CloudWatch client, loading the SDK module on first use. */
export async function createCloudWatchClient(o: AwsClientOptions = {}): Promise<CloudWatchClient> {
  noteNodeSupport();
  const mod = await import("@aws-sdk/client-cloudwatch");
  return new mod.CloudWatchClient(commonConfig(o) as CloudWatchClientConfig);
}

/** Creates an X-Ray client, loading the SDK module on first use. */
export async function createXRayClient(o: AwsClientOptions = {}): Promise<XRayClient> {
  noteNodeSupport();
  const mod = await import("@aws-sdk/client-xray");
  return new mod.XRayClient(commonConfig(o));
}

/** Creates an ELBv2 client, loading the SDK module on first use. */
export async function createElbv2Client(o: AwsClientOptions = {}): Promise<ElasticLoadBalancingV2Client> {
  noteNodeSupport();
  const mod = await import("@aws-sdk/client-elastic-load-balancing-v2");
  return new mod.ElasticLoadBalancingV2Client(commonConfig(o));
}

/**
 * Creates an S3 client, loading the SDK module on first use. With an
 * endpoint override (`endpoint`, `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`:
 * a local S3 such as s3rver, or a VPC endpoint URL) requests use path-style
 * addressing (`host/bucket/key`), since `bucket.host` would not resolve.
 */
export async function createS3Client(
  o: AwsClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<S3Client> {
  const mod = await import("@aws-sdk/client-s3");
  const overridden = Boolean(o.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  return new mod.S3Client({ ...commonConfig(o), ...(overridden ? { forcePathStyle: true } : {}) });
}

/**
 * One lazily created client of each kind, shared by the commands of a
 * process (the CLI passes this object in; no module-level singleton).
 */
export class AwsClients {
  private cw: Promise<CloudWatchClient> | undefined;
  private xr: Promise<XRayClient> | undefined;
  private elb: Promise<ElasticLoadBalancingV2Client> | undefined;
  constructor(private readonly options: AwsClientOptions = {}) {}

  cloudWatch(): Promise<CloudWatchClient> {
    this.cw ??= createCloudWatchClient(this.options);
    return this.cw;
  }
  xray(): Promise<XRayClient> {
    this.xr ??= createXRayClient(this.options);
    return this.xr;
  }
  elbv2(): Promise<ElasticLoadBalancingV2Client> {
    this.elb ??= createElbv2Client(this.options);
    return this.elb;
  }
  /** Destroys the clients that were created (closes their sockets). */
  async destroy(): Promise<void> {
    for (const p of [this.cw, this.xr, this.elb]) {
      if (p) (await p).destroy();
    }
  }
}
