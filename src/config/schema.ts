/**
 * The configuration schema: the single source of truth for the config file's
 * TypeScript types, its runtime validation and the generated JSON Schema
 * (`schema/config.schema.json`, `schema/suite.schema.json`).
 *
 * Units are in every name: `timeoutMs`, `retentionDays`, `intervalS`.
 */
import cron from "node-cron";
import { z } from "zod";
import { CONNECTION_MODES } from "../model.js";
import { hasUserinfo } from "../redact.js";
import { STALL_RULE_DEFAULTS } from "../stall-rule-text.js";
import { RESOLVE_SHAPE, resolveEntryProblem } from "./resolve-entry.js";

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a name of 1-64 letters, digits, '.', '_' or '-'");

const cronExpr = z.string().refine((s) => cron.validate(s), {
  message: "expected a cron expression with 5 fields, or 6 with seconds first (e.g. '*/5 * * * *')",
});

/**
 * Why a URL with `user:password@` is refused. Not "expected …, received <url>":
 * the problem line would print the password.
 */
export const USERINFO_MESSAGE =
  'expected a URL without \'user:password@\' (received one with credentials, which are never sent and would be stored): send them in a header taken from the environment, e.g. "authorization": {"env": "API_AUTH"}';

const httpUrl = z
  .string()
  .refine(
    (s) => {
      try {
        const u = new URL(s);
        return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
      } catch {
        return false;
      }
    },
    { message: "expected an absolute http:// or https:// URL" },
  )
  .refine((s) => !hasUserinfo(s), { message: USERINFO_MESSAGE });

/** A header value: a literal, or taken from an environment variable (treated as secret, redacted everywhere). */
export const HeaderValueSchema = z.union([
  z.string().max(8192),
  z.strictObject({
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name"),
    optional: z
      .boolean()
      .default(false)
      .describe("Skip the header instead of failing when the variable is unset."),
  }),
]);
export const HeadersSchema = z
  .record(
    z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name"),
    HeaderValueSchema,
  )
  .describe(
    'Header name → a literal value (${var} allowed) or {"env": "NAME", "optional": false} read from the environment.',
  );

const timeoutMs = z.number().int().min(1).max(600_000);

/** Notes for people in a config file (JSON has no comments; `stallwatch init` writes these). Ignored. */
const comment = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .describe("A note for people (JSON has no comments); ignored.");

const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, "expected an AWS region such as 'us-west-2'");

/** What a response must look like. */
export const ExpectSchema = z.strictObject({
  status: z
    .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
    .optional()
    .describe("Expected status code(s). Default: any 2xx."),
  json: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "Fields the JSON body must contain (dot paths allowed: 'a.b'). Values may use ${var} substitution.",
    ),
  headers: z
    .record(z.string(), z.string())
    .optional()
    .describe("Headers the response must carry, with exact values."),
  bodyContains: z.string().optional().describe("A substring the body must contain."),
});

export const EndpointSchema = z.strictObject({
  $comment: comment,
  name: name.optional().describe("Defaults to the path."),
  path: z
    .string()
    .regex(/^\//, "expected a path starting with '/'")
    .describe("Request path after the route's base URL; may hold a query and ${var}s."),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  headers: HeadersSchema.optional().describe(
    "Headers for this endpoint; they win over the API's and route's.",
  ),
  body: z.string().max(1_000_000).optional().describe("Request body, sent as is."),
  expect: ExpectSchema.optional().describe("What the response must look like."),
  timeoutMs: timeoutMs.optional().describe("Hard deadline for this endpoint; overrides probe.timeoutMs."),
});

/** A probe suite file under `probes/`. */
export const SuiteSchema = z.strictObject({
  $schema: z.string().optional().describe("Path to suite.schema.json, for editor completion."),
  name,
  description: z.string().optional(),
  endpoints: z.array(EndpointSchema).min(1).describe("The endpoints to probe."),
});

export const ROUTE_KINDS = ["custom-domain", "execute-api", "direct", "other"] as const;

export const RouteSchema = z.strictObject({
  $comment: comment,
  name,
  baseUrl: httpUrl.describe("Base URL; a path (such as an execute-api stage, '/test') is kept as a prefix."),
  kind: z
    .enum(ROUTE_KINDS)
    .default("other")
    .describe(
      "What the route goes through: a custom domain, the execute-api endpoint, a target probed directly (NLB, host).",
    ),
  headers: HeadersSchema.optional().describe(
    "Headers sent on this route only (e.g. Host for an NLB probed directly).",
  ),
});

export const TargetGroupSchema = z.strictObject({
  arn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:elasticloadbalancing:[^:]+:\d{12}:targetgroup\/[^/]+\/[0-9a-f]+$/,
      "expected a target group ARN",
    ),
  loadBalancerArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:elasticloadbalancing:[^:]+:\d{12}:loadbalancer\/net\/[^/]+\/[0-9a-f]+$/,
      "expected a network load balancer ARN",
    )
    .optional()
    .describe("The NLB in front of the group (for its CloudWatch metrics)."),
});

export const ApiSchema = z.strictObject({
  $comment: comment,
  name,
  routes: z.array(RouteSchema).min(1).describe("Ways in to this API; every endpoint is probed through each."),
  suites: z.array(z.string().min(1)).optional().describe("Probe suite files, relative to the config file."),
  endpoints: z
    .array(EndpointSchema)
    .optional()
    .describe("Endpoints inlined in the config (added to the suites')."),
  headers: HeadersSchema.optional().describe("Headers sent with every request to this API."),
  vars: z.record(z.string(), z.string()).optional().describe("Values for ${name} substitution in suites."),
  apiGateway: z
    .strictObject({
      apiName: z.string().min(1).describe("The ApiName dimension of AWS/ApiGateway metrics."),
      stage: z.string().min(1),
      region: awsRegion.optional().describe("Default: aws.region."),
    })
    .optional()
    .describe("For AWS/ApiGateway metrics around stalls."),
  targetGroups: z.array(TargetGroupSchema).optional().describe("NLB target groups to watch."),
});

export const ProbeOptionsSchema = z.strictObject({
  $comment: comment,
  count: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe("Samples per route × endpoint × connection mode."),
  concurrency: z.number().int().min(1).max(1000).default(1).describe("Requests in flight at once."),
  ratePerS: z
    .number()
    .positive()
    .max(10_000)
    .optional()
    .describe("Send at a fixed rate instead of back-to-back (enables coordinated-omission correction)."),
  connection: z
    .enum([...CONNECTION_MODES, "both"])
    .default("both")
    .describe("fresh: new DNS lookup, TCP and TLS per request; reuse: keep-alive; both: each in turn."),
  timeoutMs: timeoutMs.default(15_000).describe("Hard deadline per request, all phases included."),
  stallMs: z
    .number()
    .positive()
    .max(600_000)
    .optional()
    .describe("Absolute stall threshold; default: the relative rule."),
  stallFactor: z
    .number()
    .min(1)
    .max(1000)
    .default(STALL_RULE_DEFAULTS.stallFactor)
    .describe(
      "A request slower than stallFactor × its series' lower quartile (the typical fast request) is a stall...",
    ),
  stallFloorMs: z
    .number()
    .min(0)
    .max(600_000)
    .default(STALL_RULE_DEFAULTS.stallFloorMs)
    .describe("...and slower than this."),
  stallBudget: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .optional()
    .describe("Exit 1 when a run sees more stalls than this."),
  resolve: z
    .array(
      z
        .string()
        .regex(RESOLVE_SHAPE, "expected host:port:address as in curl --resolve")
        .superRefine((entry, ctx) => {
          const problem = resolveEntryProblem(entry);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
    )
    .default([])
    .describe("Pin host:port to addresses, as curl --resolve (host:port:address[,address...])."),
  maxBodyBytes: z
    .number()
    .int()
    .min(0)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("Response body bytes read at most (a larger body is a failure)."),
  maxAssertBodyBytes: z
    .number()
    .int()
    .min(0)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024)
    .describe(
      "Body bytes held in memory for expect.json / expect.bodyContains, per request in flight, whatever maxBodyBytes allows. A larger body is still read (up to maxBodyBytes) but not checked: the assertion fails and says so.",
    ),
  insecureTls: z
    .boolean()
    .default(false)
    .describe("Accept certificates that do not verify (never the default)."),
  userAgent: z.string().default("stallwatch").describe("User-Agent request header."),
});

export const ScheduleSchema = z.strictObject({
  $comment: comment,
  cron: cronExpr.default("0 * * * * *").describe("When probe rounds run (6 fields: seconds first)."),
  jitterMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(0)
    .describe("Random delay before each round, up to this."),
  samplesPerRound: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(3)
    .describe("Requests per route × endpoint in each round."),
});

export const KeepWarmSchema = z.strictObject({
  $comment: comment,
  enabled: z
    .boolean()
    .default(false)
    .describe("Ping endpoints to keep them warm (pings are kept out of probe statistics)."),
  cron: cronExpr.default("*/5 * * * *").describe("When to ping."),
  endpoints: z
    .array(z.string())
    .optional()
    .describe("Endpoint names or paths to ping; default: every endpoint."),
  routes: z.array(z.string()).optional().describe("Route names; default: every route."),
});

export const StoreSchema = z.strictObject({
  $comment: comment,
  dir: z.string().min(1).default(".stallwatch/data").describe("Where runs, histograms and records are kept."),
  retentionDays: z.number().int().min(1).max(3650).default(14).describe("Data older than this is deleted."),
  url: z
    .string()
    .regex(
      /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9!_.*'()/-]*)?$/,
      "expected s3://BUCKET or s3://BUCKET/PREFIX (bucket: 3-63 lower-case letters, digits, '.', '-'; prefix: letters, digits, !_.*'()/-)",
    )
    .optional()
    .describe(
      "Shared S3 store (s3://bucket/prefix): each round becomes its own compressed objects under this prefix, so a fleet of probers shares one prefix. Retention is the bucket's lifecycle rules; store.dir keeps the upload spool.",
    ),
  writer: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, "expected 1-128 characters from A-Z a-z 0-9 . _ -")
    .optional()
    .describe(
      "This prober's name in a shared store (e.g. prober-us-west-2a). Default: $STALLWATCH_WRITER, else the ECS task id, else <host>-<pid>-<random>.",
    ),
  spoolMaxBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024 * 1024)
    .default(256 * 1024 * 1024)
    .describe("Cap on rounds kept on disk while the S3 store cannot be reached (store.url)."),
});

export const XraySchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe("Send X-Amzn-Trace-Id and fetch traces of stalls (traces cost money)."),
  sampled: z.boolean().default(true).describe("Send Sampled=1 in the trace header."),
  fetchTraces: z.boolean().default(true).describe("Fetch the X-Ray traces of stalled requests."),
  pollTimeoutS: z
    .number()
    .int()
    .min(0)
    .max(1800)
    .default(180)
    .describe("How long to wait for a trace to appear."),
});

export const CloudWatchSchema = z.strictObject({
  enabled: z.boolean().default(false).describe("Publish metrics to CloudWatch."),
  mode: z
    .enum(["api", "emf"])
    .default("api")
    .describe("api: PutMetricData; emf: Embedded Metric Format lines on stdout."),
  namespace: z.string().min(1).max(255).default("Stallwatch").describe("Metric namespace."),
  storageResolutionS: z
    .union([z.literal(1), z.literal(60)])
    .default(60)
    .describe("1 (high resolution) or 60 seconds."),
  dimensions: z
    .partialRecord(z.enum(["Prober", "Region", "AZ"]), z.string().min(1).max(1024))
    .optional()
    .describe("Extra dimensions identifying this prober."),
  spoolDir: z.string().optional().describe("Default: <store.dir>/spool."),
  spoolMaxBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe("Cap on unsent metrics kept on disk."),
});

export const AlarmsSchema = z.strictObject({
  p99Ms: z.number().positive().max(600_000).default(2000).describe("Alarm when p99 latency exceeds this."),
  stallsPerPeriod: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(3)
    .describe("Alarm when one period sees this many stalls."),
  successPctFloor: z
    .number()
    .min(0)
    .max(100)
    .default(99)
    .describe("Alarm when the success rate falls below this percentage."),
  periodS: z
    .number()
    .int()
    .min(10)
    .max(86_400)
    .refine((p) => p === 10 || p === 30 || p % 60 === 0, {
      message: "expected 10, 30 or a multiple of 60 (CloudWatch alarm periods)",
    })
    .default(300)
    .describe("Alarm period: 10, 30 or a multiple of 60."),
  evaluationPeriods: z
    .number()
    .int()
    .min(1)
    .max(1440)
    .default(3)
    .describe("Periods that must breach before the alarm fires."),
  snsTopicArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
      "expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
    )
    .optional()
    .describe("SNS topic the alarms notify."),
});

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe("Path to config.schema.json, for editor completion."),
    $comment: comment,
    apis: z.array(ApiSchema).min(1).describe("The APIs to probe."),
    probe: ProbeOptionsSchema.default(ProbeOptionsSchema.parse({})).describe("How requests are made."),
    schedule: ScheduleSchema.default(ScheduleSchema.parse({})).describe(
      "Probe rounds of the long-running prober.",
    ),
    keepWarm: KeepWarmSchema.default(KeepWarmSchema.parse({})).describe("Keep-warm pings."),
    store: StoreSchema.default(StoreSchema.parse({})).describe(
      "Where runs are kept: a local directory, or a shared S3 prefix.",
    ),
    xray: XraySchema.default(XraySchema.parse({})).describe("AWS X-Ray tracing of probes."),
    cloudwatch: CloudWatchSchema.default(CloudWatchSchema.parse({})).describe("CloudWatch metrics."),
    alarms: AlarmsSchema.default(AlarmsSchema.parse({})).describe("CloudWatch alarms."),
    aws: z
      .strictObject({ region: awsRegion.optional().describe("Default region for AWS calls.") })
      .default({})
      .describe("AWS settings."),
  })
  .superRefine((cfg, ctx) => {
    const apiNames = new Set<string>();
    cfg.apis.forEach((api, i) => {
      if (apiNames.has(api.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["apis", i, "name"],
          message: `duplicate API name '${api.name}'`,
        });
      }
      apiNames.add(api.name);
      const routeNames = new Set<string>();
      api.routes.forEach((r, j) => {
        if (routeNames.has(r.name)) {
          ctx.addIssue({
            code: "custom",
            path: ["apis", i, "routes", j, "name"],
            message: `duplicate route name '${r.name}'`,
          });
        }
        routeNames.add(r.name);
      });
      if (!api.suites?.length && !api.endpoints?.length) {
        ctx.addIssue({
          code: "custom",
          path: ["apis", i],
          message: "expected 'suites' or 'endpoints' (an API needs at least one endpoint)",
        });
      }
    });
  });

export type HeaderValue = z.output<typeof HeaderValueSchema>;
export type Expect = z.output<typeof ExpectSchema>;
export type Endpoint = z.output<typeof EndpointSchema>;
export type Suite = z.output<typeof SuiteSchema>;
export type Route = z.output<typeof RouteSchema>;
export type Api = z.output<typeof ApiSchema>;
export type ProbeOptions = z.output<typeof ProbeOptionsSchema>;
export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
