/**
 * The configuration schema: the single source of truth for the config file's
 * TypeScript types, its runtime validation and the generated JSON Schema
 * (`schema/config.schema.json`, `schema/suite.schema.json`).
 *
 * Units are in every name: `timeoutMs`, `retentionDays`, `intervalS`.
 */
import cron from "node-cron";
import { z } from "zod";
import { CONNECTION_MODES, FAILURE_CLASS_NAMES } from "../model.js";

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a name of 1-64 letters, digits, '.', '_' or '-'");

const cronExpr = z.string().refine((s) => cron.validate(s), {
  message: "expected a cron expression with 5 fields, or 6 with seconds first (e.g. '*/5 * * * *')",
});

const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      return false;
    }
  },
  { message: "expected an absolute http:// or https:// URL" },
);

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
export const HeadersSchema = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name"),
  HeaderValueSchema,
);

const timeoutMs = z.number().int().min(1).max(600_000);

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
  bodyContains: z.string().optional(),
});

export const EndpointSchema = z.strictObject({
  name: name.optional().describe("Defaults to the path."),
  path: z.string().regex(/^\//, "expected a path starting with '/'"),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
  headers: HeadersSchema.optional(),
  body: z.string().max(1_000_000).optional(),
  expect: ExpectSchema.optional(),
  timeoutMs: timeoutMs.optional().describe("Hard deadline for this endpoint; overrides probe.timeoutMs."),
});

/** A probe suite file under `probes/`. */
export const SuiteSchema = z.strictObject({
  $schema: z.string().optional(),
  name,
  description: z.string().optional(),
  endpoints: z.array(EndpointSchema).min(1),
});

export const ROUTE_KINDS = ["custom-domain", "execute-api", "direct", "other"] as const;

export const RouteSchema = z.strictObject({
  name,
  baseUrl: httpUrl.describe("Base URL; a path (such as an execute-api stage, '/test') is kept as a prefix."),
  kind: z.enum(ROUTE_KINDS).default("other"),
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
    .optional(),
});

export const ApiSchema = z.strictObject({
  name,
  routes: z.array(RouteSchema).min(1),
  suites: z.array(z.string().min(1)).optional().describe("Probe suite files, relative to the config file."),
  endpoints: z
    .array(EndpointSchema)
    .optional()
    .describe("Endpoints inlined in the config (added to the suites')."),
  headers: HeadersSchema.optional().describe("Headers sent with every request to this API."),
  vars: z.record(z.string(), z.string()).optional().describe("Values for ${name} substitution in suites."),
  apiGateway: z
    .strictObject({
      apiName: z.string().min(1),
      stage: z.string().min(1),
      region: z.string().optional(),
    })
    .optional()
    .describe("For AWS/ApiGateway metrics around stalls."),
  targetGroups: z.array(TargetGroupSchema).optional().describe("NLB target groups to watch."),
});

export const ProbeOptionsSchema = z.strictObject({
  count: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe("Samples per route × endpoint × connection mode."),
  concurrency: z.number().int().min(1).max(1000).default(1),
  ratePerS: z
    .number()
    .positive()
    .max(10_000)
    .optional()
    .describe("Send at a fixed rate instead of back-to-back (enables coordinated-omission correction)."),
  connection: z.enum([...CONNECTION_MODES, "both"]).default("both"),
  timeoutMs: timeoutMs.default(15_000).describe("Hard deadline per request, all phases included."),
  stallMs: z.number().positive().optional().describe("Absolute stall threshold; default: the relative rule."),
  stallFactor: z
    .number()
    .min(1)
    .default(5)
    .describe("A request slower than stallFactor × its series median is a stall..."),
  stallFloorMs: z.number().min(0).default(250).describe("...and slower than this."),
  stallBudget: z.number().int().min(0).optional().describe("Exit 1 when a run sees more stalls than this."),
  resolve: z
    .array(z.string().regex(/^[^:]+:\d{1,5}:.+$/, "expected host:port:address as in curl --resolve"))
    .default([]),
  maxBodyBytes: z
    .number()
    .int()
    .min(0)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  insecureTls: z
    .boolean()
    .default(false)
    .describe("Accept certificates that do not verify (never the default)."),
  userAgent: z.string().default("stallwatch"),
});

export const ScheduleSchema = z.strictObject({
  cron: cronExpr.default("0 * * * * *"),
  jitterMs: z.number().int().min(0).max(3_600_000).default(0),
  samplesPerRound: z.number().int().min(1).max(10_000).default(3),
});

export const KeepWarmSchema = z.strictObject({
  enabled: z.boolean().default(false),
  cron: cronExpr.default("*/5 * * * *"),
  endpoints: z
    .array(z.string())
    .optional()
    .describe("Endpoint names or paths to ping; default: every endpoint."),
  routes: z.array(z.string()).optional().describe("Route names; default: every route."),
});

export const StoreSchema = z.strictObject({
  dir: z.string().min(1).default(".stallwatch/data"),
  retentionDays: z.number().int().min(1).max(3650).default(14),
});

export const XraySchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe("Send X-Amzn-Trace-Id and fetch traces of stalls (traces cost money)."),
  sampled: z.boolean().default(true),
  fetchTraces: z.boolean().default(true),
  pollTimeoutS: z.number().int().min(0).max(1800).default(180),
});

export const CloudWatchSchema = z.strictObject({
  enabled: z.boolean().default(false),
  mode: z.enum(["api", "emf"]).default("api"),
  namespace: z.string().min(1).max(255).default("Stallwatch"),
  storageResolutionS: z.union([z.literal(1), z.literal(60)]).default(60),
  dimensions: z
    .record(z.enum(["Prober", "Region", "AZ"]), z.string().min(1).max(1024))
    .optional()
    .describe("Extra dimensions identifying this prober."),
  spoolDir: z.string().optional().describe("Default: <store.dir>/spool."),
  spoolMaxBytes: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
});

export const AlarmsSchema = z.strictObject({
  p99Ms: z.number().positive().default(2000),
  stallsPerPeriod: z.number().int().min(1).default(3),
  successPctFloor: z.number().min(0).max(100).default(99),
  periodS: z.number().int().default(300),
  evaluationPeriods: z.number().int().min(1).default(3),
  snsTopicArn: z.string().optional(),
});

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    apis: z.array(ApiSchema).min(1),
    probe: ProbeOptionsSchema.default(ProbeOptionsSchema.parse({})),
    schedule: ScheduleSchema.default(ScheduleSchema.parse({})),
    keepWarm: KeepWarmSchema.default(KeepWarmSchema.parse({})),
    store: StoreSchema.default(StoreSchema.parse({})),
    xray: XraySchema.default(XraySchema.parse({})),
    cloudwatch: CloudWatchSchema.default(CloudWatchSchema.parse({})),
    alarms: AlarmsSchema.default(AlarmsSchema.parse({})),
    aws: z.strictObject({ region: z.string().optional() }).default({}),
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

/** Failure classes usable in config (e.g. to ignore some in alarms). */
export const FailureClassSchema = z.enum(FAILURE_CLASS_NAMES as [string, ...string[]]);
