/**
 * Starting configs for `stallwatch init`: pure builders, no I/O.
 *
 * - {@link starterConfig}: one API from a base URL (or a placeholder), with
 *   `$comment` notes on what to change.
 * - {@link configFromOpenApi}: from an API Gateway export (Swagger 2.0 or
 *   OpenAPI 3, with `x-amazon-apigateway-integration`): the execute-api route
 *   from host + basePath or `servers` (stage kept), an optional custom domain,
 *   one endpoint per GET (or ANY) path with sample values for `{proxy+}` and
 *   path parameters, the integration's host as `backendHost` for the `/header`
 *   check, and `x-api-key` from the environment when a method requires a key.
 *
 * Problems in the export are collected with their JSON paths and thrown as one
 * ConfigError (exit 2), like a bad config file.
 */
import { ConfigError, type ConfigProblem } from "../errors.js";
import { STALL_RULE_DEFAULTS, stallRuleText } from "../stall-rule-text.js";
import type { ConfigInput } from "./schema.js";

export interface InitOptions {
  /** API name; default from the export's title or the host. */
  name?: string;
  /** Also probe through this custom domain (https://api.example.com). */
  customDomain?: string;
  /** Environment variable for x-api-key; default `<NAME>_API_KEY`. */
  apiKeyEnv?: string;
}

const PLACEHOLDER_URL = "https://abc123.execute-api.us-west-2.amazonaws.com/test";
const EXECUTE_API = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/;

/** A config name (1-64 letters, digits, '.', '_', '-', starting with a letter or digit). */
export function configName(text: string, fallback = "api"): string {
  const n = text
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 64)
    .replace(/[-.]+$/, "");
  return n || fallback;
}

function envName(api: string): string {
  return `${api.replace(/[^A-Za-z0-9]+/g, "_").toUpperCase()}_API_KEY`.replace(/^(\d)/, "_$1");
}

function routeKind(url: string): "execute-api" | "other" {
  try {
    return EXECUTE_API.test(new URL(url).hostname) ? "execute-api" : "other";
  } catch {
    return "other";
  }
}

/** The parts every generated config shares: probe, schedule, store, with notes. */
function common(): Pick<ConfigInput, "probe" | "schedule" | "keepWarm" | "store"> {
  return {
    probe: {
      $comment: `A request is a stall when ${stallRuleText(STALL_RULE_DEFAULTS)}; set stallMs for an absolute limit.`,
      count: 20,
      connection: "both",
      timeoutMs: 15_000,
    },
    schedule: {
      $comment: "For `stallwatch run` (cron) and `stallwatch daemon`: 6 cron fields, seconds first.",
      cron: "0 * * * * *",
      samplesPerRound: 3,
    },
    keepWarm: {
      $comment: "Pings kept out of the probe statistics; turn on to test keep-warm.",
      enabled: false,
    },
    store: { dir: ".stallwatch/data", retentionDays: 14 },
  };
}

/** A commented starting config for one API at `baseUrl` (a placeholder when absent). */
export function starterConfig(baseUrl: string | undefined, opts: InitOptions = {}): ConfigInput {
  const url = baseUrl ?? PLACEHOLDER_URL;
  const host = (() => {
    try {
      return new URL(url).hostname;
    } catch {
      return "api";
    }
  })();
  const name = configName(opts.name ?? host.split(".")[0] ?? "api");
  const routes: NonNullable<ConfigInput["apis"]>[number]["routes"] = [
    {
      name: routeKind(url) === "execute-api" ? "execute-api" : configName(host),
      baseUrl: url,
      kind: routeKind(url),
    },
  ];
  if (opts.customDomain)
    routes.push({ name: "custom-domain", baseUrl: opts.customDomain, kind: "custom-domain" });
  return {
    $schema: "./node_modules/stallwatch/schema/config.schema.json",
    $comment: [
      "Written by `stallwatch init`. Check it with `stallwatch validate FILE`, probe with `stallwatch report -c FILE`.",
      baseUrl === undefined
        ? "Replace the placeholder baseUrl with your API's (an execute-api URL keeps its stage path, e.g. /test)."
        : "Every endpoint is probed through every route.",
      "Every option: docs/configuration.md.",
    ],
    apis: [
      {
        $comment: `Add "headers": {"x-api-key": {"env": "${envName(name)}"}} for an API behind a usage plan.`,
        name,
        routes,
        endpoints: [{ name: "root", path: "/", expect: { status: 200 } }],
      },
    ],
    ...common(),
  };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** `{proxy+}` → `bar`, `{id}` → `sample-id`: a path that the route template matches. */
export function samplePath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, p: string) => (p.endsWith("+") ? "bar" : `sample-${p}`));
}

function endpointName(template: string): string {
  if (template === "/") return "root";
  return configName(
    template
      .replace(/\{([^}+]+)\+?\}/g, "$1")
      .replace(/^\//, "")
      .replace(/\//g, "-"),
    "endpoint",
  );
}

/** The execute-api base URL (with stage) of an export, from Swagger's host/basePath or OpenAPI's servers. */
function baseUrlOf(doc: Obj, problems: ConfigProblem[]): string | undefined {
  if (typeof doc.swagger === "string") {
    if (typeof doc.host !== "string" || doc.host === "") {
      problems.push({
        path: "host",
        message: "expected the API's host (an export 'with API Gateway extensions')",
      });
      return undefined;
    }
    const schemes = Array.isArray(doc.schemes) ? doc.schemes : [];
    const scheme = schemes.includes("https") || schemes.length === 0 ? "https" : String(schemes[0]);
    const basePath = typeof doc.basePath === "string" ? doc.basePath : "";
    return `${scheme}://${doc.host}${basePath === "/" ? "" : basePath}`;
  }
  const server = Array.isArray(doc.servers) ? doc.servers[0] : undefined;
  if (!isObj(server) || typeof server.url !== "string") {
    problems.push({ path: "servers", message: "expected servers[0].url (the execute-api URL of the stage)" });
    return undefined;
  }
  const vars = isObj(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^}]+)\}/g, (_, v: string) => {
    const def = isObj(vars[v]) ? (vars[v] as Obj).default : undefined;
    return typeof def === "string" ? def : "";
  });
  return url.replace(/([^:/])\/\/+/g, "$1/").replace(/\/$/, "");
}

/** The Host API Gateway sends the backend: a Host header mapping, else the integration URI's host. */
function integrationHost(op: Obj): string | undefined {
  const integ = op["x-amazon-apigateway-integration"];
  if (!isObj(integ)) return undefined;
  const params = isObj(integ.requestParameters) ? integ.requestParameters : {};
  const mapped = params["integration.request.header.Host"];
  if (typeof mapped === "string" && /^'.*'$/.test(mapped)) return mapped.slice(1, -1);
  if (typeof integ.uri !== "string") return undefined;
  try {
    return new URL(integ.uri.replace(/\{[^}]+\}/g, "x")).host;
  } catch {
    return undefined;
  }
}

/** Names of security schemes that are an API key in the x-api-key header. */
function apiKeySchemes(doc: Obj): Set<string> {
  const defs = isObj(doc.securityDefinitions)
    ? doc.securityDefinitions
    : isObj(doc.components) && isObj((doc.components as Obj).securitySchemes)
      ? ((doc.components as Obj).securitySchemes as Obj)
      : {};
  const out = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    if (
      isObj(def) &&
      def.type === "apiKey" &&
      def.in === "header" &&
      String(def.name).toLowerCase() === "x-api-key"
    )
      out.add(name);
  }
  return out;
}

function requiresKey(op: Obj, doc: Obj, schemes: Set<string>): boolean {
  if (op["x-amazon-apigateway-api-key-required"] === true) return true;
  const sec = Array.isArray(op.security) ? op.security : Array.isArray(doc.security) ? doc.security : [];
  return sec.some((req) => isObj(req) && Object.keys(req).some((k) => schemes.has(k)));
}

/** A config from a parsed API Gateway export. Throws ConfigError (paths into the export) when it lacks what is needed. */
export function configFromOpenApi(doc: unknown, opts: InitOptions = {}, file?: string): ConfigInput {
  const problems: ConfigProblem[] = [];
  if (!isObj(doc) || (typeof doc.swagger !== "string" && typeof doc.openapi !== "string")) {
    throw new ConfigError([{ path: "", message: "expected a Swagger 2.0 or OpenAPI 3 document" }], file);
  }
  const baseUrl = baseUrlOf(doc, problems);
  const title = isObj(doc.info) && typeof doc.info.title === "string" ? doc.info.title : undefined;
  const name = configName(opts.name ?? title ?? "api");
  const schemes = apiKeySchemes(doc);
  const endpoints: NonNullable<NonNullable<ConfigInput["apis"]>[number]["endpoints"]> = [];
  let backendHost: string | undefined;
  let keyRequired = false;
  const paths = isObj(doc.paths) ? doc.paths : {};
  if (!isObj(doc.paths)) problems.push({ path: "paths", message: "expected the API's paths" });
  for (const [template, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    const op = isObj(item.get)
      ? item.get
      : isObj(item["x-amazon-apigateway-any-method"])
        ? item["x-amazon-apigateway-any-method"]
        : undefined;
    if (!isObj(op)) continue;
    const host = integrationHost(op as Obj);
    backendHost ??= host;
    if (requiresKey(op as Obj, doc, schemes)) keyRequired = true;
    const path = samplePath(template);
    endpoints.push({
      name: endpointName(template),
      path,
      expect:
        template === "/header" && host !== undefined
          ? { status: 200, json: { header: "${backendHost}" } }
          : { status: 200 },
    });
  }
  if (isObj(doc.paths) && endpoints.length === 0)
    problems.push({ path: "paths", message: "expected at least one GET (or ANY) method to probe" });
  if (problems.length || baseUrl === undefined) throw new ConfigError(problems, file);

  const routes: NonNullable<ConfigInput["apis"]>[number]["routes"] = [
    {
      name: routeKind(baseUrl) === "execute-api" ? "execute-api" : configName(new URL(baseUrl).hostname),
      baseUrl,
      kind: routeKind(baseUrl),
    },
  ];
  if (opts.customDomain)
    routes.push({ name: "custom-domain", baseUrl: opts.customDomain, kind: "custom-domain" });
  const keyEnv = opts.apiKeyEnv ?? envName(name);
  const region = EXECUTE_API.exec(new URL(baseUrl).hostname)?.[1];
  const stage = new URL(baseUrl).pathname.split("/").filter(Boolean)[0];
  return {
    $schema: "./node_modules/stallwatch/schema/config.schema.json",
    $comment: [
      `Written by \`stallwatch init --from-openapi\` from ${file ?? "an API Gateway export"}.`,
      "Check it with `stallwatch validate FILE`, probe with `stallwatch report -c FILE`.",
      "Path parameters got sample values ({proxy+} → bar): change them to ones your backend answers.",
      ...(region && stage
        ? [
            `For CloudWatch metrics around stalls add "apiGateway": {"apiName": "${title ?? name}", "stage": "${stage}", "region": "${region}"} to the API.`,
          ]
        : []),
    ],
    apis: [
      {
        ...(keyRequired
          ? {
              $comment: `The API requires an API key: set ${keyEnv} in the environment (sent as x-api-key, never printed).`,
            }
          : {}),
        name,
        routes,
        endpoints,
        ...(backendHost ? { vars: { backendHost } } : {}),
        ...(keyRequired ? { headers: { "x-api-key": { env: keyEnv, optional: true } } } : {}),
      },
    ],
    ...common(),
  };
}
