/**
 * Checks beyond what the schema's shape can say: `--resolve` addresses, AWS
 * names (regions, SNS ARNs, alarm periods), header maps. Each returns problems;
 * none throws.
 */
import { isIP } from "node:net";
import type { ConfigProblem } from "../errors.js";
import type { Config, HeaderValue, ProbeOptions } from "./schema.js";

/** A parsed `host:port:address[,address...]` entry, as curl's `--resolve`. */
export interface ResolveEntry {
  /** Host name as written (lower-cased), without curl's leading `+`. */
  host: string;
  port: number;
  /** IPv4 or IPv6 addresses (IPv6 without brackets), in the order given. */
  addresses: string[];
}

/** Parses a `--resolve` entry; returns a message saying what was expected when it is invalid. */
export function parseResolveEntry(entry: string): ResolveEntry | { error: string } {
  const m = /^\+?([^:]+):(\d{1,5}):(.+)$/.exec(entry);
  if (!m)
    return { error: `expected host:port:address as in curl --resolve, received ${JSON.stringify(entry)}` };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { error: `expected a port from 1 to 65535, received ${m[2]}` };
  const addresses = m[3]!.split(",").map((a) => a.trim().replace(/^\[(.*)\]$/, "$1"));
  const bad = addresses.filter((a) => isIP(a) === 0);
  if (bad.length) {
    return {
      error: `expected IPv4 or IPv6 address${addresses.length > 1 ? "es" : ""} after host:port:, received ${bad
        .map((b) => JSON.stringify(b))
        .join(", ")}`,
    };
  }
  return { host: m[1]!.toLowerCase(), port, addresses };
}

/** Problems of the probe options; `where(field, index?)` names the location (a JSON path or a flag). */
export function checkProbeOptions(
  probe: ProbeOptions,
  where: (field: keyof ProbeOptions, index?: number) => string,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  probe.resolve.forEach((entry, i) => {
    const r = parseResolveEntry(entry);
    if ("error" in r) problems.push({ path: where("resolve", i), message: r.error });
  });
  return problems;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const REGION_MSG = "expected an AWS region such as 'us-west-2'";

/** Problems in the AWS-facing sections that the schema cannot express. */
export function checkAwsSettings(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const region = (value: string | undefined, path: string) => {
    if (value !== undefined && !REGION.test(value)) {
      problems.push({ path, message: `${REGION_MSG}, received ${JSON.stringify(value)}` });
    }
  };
  region(config.aws.region, "aws.region");
  config.apis.forEach((api, i) => {
    region(api.apiGateway?.region, `apis[${i}].apiGateway.region`);
  });
  const period = config.alarms.periodS;
  if (!(period === 10 || period === 30 || (period >= 60 && period <= 86_400 && period % 60 === 0))) {
    problems.push({
      path: "alarms.periodS",
      message: `expected 10, 30 or a multiple of 60 up to 86400 (CloudWatch alarm periods), received ${period}`,
    });
  }
  const sns = config.alarms.snsTopicArn;
  if (
    sns !== undefined &&
    !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(sns)
  ) {
    problems.push({
      path: "alarms.snsTopicArn",
      message: `expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), received ${JSON.stringify(sns)}`,
    });
  }
  return problems;
}

/** Header maps: names are case-insensitive, so two spellings of one name are a mistake; no line breaks in values. */
export function checkHeaders(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  pathOf: (name: string) => string,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!headers) return problems;
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const first = seen.get(lower);
    if (first !== undefined) {
      problems.push({
        path: pathOf(name),
        message: `duplicate header '${name}' (same as '${first}': header names are case-insensitive)`,
      });
    }
    seen.set(lower, name);
    if (typeof value === "string" && /[\r\n\0]/.test(value)) {
      problems.push({ path: pathOf(name), message: "expected a header value without line breaks or NUL" });
    }
  }
  return problems;
}

/** keepWarm.routes / keepWarm.endpoints must name things that exist. */
export function checkKeepWarmRefs(config: Config, endpointKeys: ReadonlySet<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const routes = [...new Set(config.apis.flatMap((a) => a.routes.map((r) => r.name)))];
  config.keepWarm.routes?.forEach((r, i) => {
    if (!routes.includes(r)) {
      problems.push({
        path: `keepWarm.routes[${i}]`,
        message: `unknown route '${r}' (expected one of: ${routes.join(", ")})`,
      });
    }
  });
  config.keepWarm.endpoints?.forEach((e, i) => {
    if (!endpointKeys.has(e)) {
      problems.push({
        path: `keepWarm.endpoints[${i}]`,
        message: `unknown endpoint '${e}' (expected an endpoint name or path: ${[...endpointKeys].join(", ")})`,
      });
    }
  });
  return problems;
}
