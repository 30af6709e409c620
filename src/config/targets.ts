/**
 * From a validated config and each API's merged endpoints to fully resolved
 * probe targets: URLs joined (stage paths kept), headers merged and read from
 * the environment, `${vars}` substituted. Problems are collected, not thrown.
 */
import type { ConfigProblem } from "../errors.js";
import { ALWAYS_SECRET_HEADERS } from "../redact.js";
import { checkHeaders, headerValueProblem } from "./checks.js";
import { formatPath, joinLocation } from "./problems.js";
import type { Api, Endpoint, Expect, HeaderValue, Route } from "./schema.js";
import { substitute, substituteDeep, unknownVarsMessage } from "./vars.js";

/** One request to make, with everything resolved (URL joined, headers read from env, ${vars} substituted). */
export interface ProbeTarget {
  api: string;
  route: string;
  /** Endpoint name (defaults to its path). */
  endpoint: string;
  /** Full URL: route base URL (with its stage path) + endpoint path. */
  url: string;
  method: string;
  /** Request headers, values resolved. */
  headers: Record<string, string>;
  /** Lower-case names of headers whose values must never appear in output. */
  secretHeaders: string[];
  body?: string;
  expect?: Expect;
  /** Hard deadline for the whole request, all phases included. */
  timeoutMs: number;
}

/** An endpoint with where it was written, for problem paths. */
export interface SourcedEndpoint {
  endpoint: Endpoint;
  /** `""` for the config file, `apis[0].suites[1] (probes/x.json)` for a suite. */
  location: string;
  /** Path of the endpoint inside that file, e.g. `["apis", 0, "endpoints", 2]` or `["endpoints", 2]`. */
  segments: (string | number)[];
}

export interface BuiltTargets {
  targets: ProbeTarget[];
  problems: ConfigProblem[];
  /** Values that must never appear in output (env-sourced and always-secret header values). */
  secretValues: string[];
  /** Lower-case names of headers whose values came from the environment. */
  envHeaderNames: string[];
}

/**
 * Joins a route base URL and an endpoint path, keeping the base's path as a
 * prefix (an execute-api stage): `https://h/test` + `/foo` → `https://h/test/foo`.
 * Query strings of both are kept; a fragment is dropped.
 */
export function joinUrl(baseUrl: string, path: string): string {
  const u = new URL(baseUrl);
  const q = path.indexOf("?");
  const endpointPath = q === -1 ? path : path.slice(0, q);
  const endpointQuery = q === -1 ? "" : path.slice(q + 1);
  u.pathname = u.pathname.replace(/\/+$/, "") + endpointPath;
  const queries = [u.search.replace(/^\?/, ""), endpointQuery].filter((s) => s !== "");
  u.search = queries.length ? `?${queries.join("&")}` : "";
  u.hash = "";
  return u.toString();
}

interface ResolvedHeader {
  name: string;
  value: string;
  fromEnv: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

interface Ctx {
  env: Env;
  vars: Readonly<Record<string, string>>;
  checkVars: boolean;
  problems: ConfigProblem[];
  secretValues: Set<string>;
  envHeaderNames: Set<string>;
}

function resolveHeaders(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  location: string,
  segments: (string | number)[],
  ctx: Ctx,
): Map<string, ResolvedHeader> {
  const out = new Map<string, ResolvedHeader>();
  if (!headers) return out;
  const pathOf = (name: string) => joinLocation(location, formatPath([...segments, name]));
  ctx.problems.push(...checkHeaders(headers, pathOf));
  for (const [name, spec] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (typeof spec === "string") {
      const r = substitute(spec, ctx.vars);
      if (r.unknown.length && ctx.checkVars) {
        ctx.problems.push({ path: pathOf(name), message: unknownVarsMessage(r.unknown, ctx.vars) });
      }
      // The literal itself was checked by checkHeaders; a ${var} may bring what it refused.
      const problem =
        r.text !== spec && !headerValueProblem(spec, false) ? headerValueProblem(r.text, false) : undefined;
      if (problem)
        ctx.problems.push({ path: pathOf(name), message: `after \${var} substitution: ${problem}` });
      out.set(lower, { name: lower, value: r.text, fromEnv: false });
      continue;
    }
    const value = ctx.env[spec.env];
    if (value === undefined || value === "") {
      if (!spec.optional) {
        ctx.problems.push({
          path: pathOf(name),
          message: `environment variable ${spec.env} is not set (set it, or mark the header "optional": true)`,
        });
      }
      continue;
    }
    if (/[\r\n\0]/.test(value)) {
      ctx.problems.push({
        path: pathOf(name),
        message: `environment variable ${spec.env} contains a line break or NUL (not allowed in a header value)`,
      });
      continue;
    }
    const problem = headerValueProblem(value, true);
    if (problem) {
      ctx.problems.push({ path: pathOf(name), message: `environment variable ${spec.env}: ${problem}` });
      continue;
    }
    ctx.envHeaderNames.add(lower);
    ctx.secretValues.add(value);
    out.set(lower, { name: lower, value, fromEnv: true });
  }
  return out;
}

function resolveExpect(expect: Expect | undefined, where: (string | number)[], loc: string, ctx: Ctx) {
  if (!expect) return undefined;
  const report = (path: (string | number)[], names: string[]) =>
    ctx.checkVars &&
    ctx.problems.push({
      path: joinLocation(loc, formatPath([...where, ...path])),
      message: unknownVarsMessage(names, ctx.vars),
    });
  const out: Expect = { ...expect };
  if (expect.json)
    out.json = substituteDeep(expect.json, ctx.vars, report, ["json"]) as Record<string, unknown>;
  if (expect.headers) {
    out.headers = substituteDeep(expect.headers, ctx.vars, report, ["headers"]) as Record<string, string>;
  }
  if (expect.bodyContains !== undefined) {
    out.bodyContains = substituteDeep(expect.bodyContains, ctx.vars, report, ["bodyContains"]) as string;
  }
  return out;
}

function duplicateNames(apiName: string, endpoints: SourcedEndpoint[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const first = new Map<string, string>();
  for (const s of endpoints) {
    const name = s.endpoint.name ?? s.endpoint.path;
    const field = s.endpoint.name === undefined ? "path" : "name";
    const here = joinLocation(s.location, formatPath([...s.segments, field]));
    const prev = first.get(name);
    if (prev === undefined) {
      first.set(name, here);
      continue;
    }
    problems.push({
      path: here,
      message: `duplicate endpoint name '${name}' in API '${apiName}' (also at ${prev}; endpoint names default to the path, so give one a "name")`,
    });
  }
  return problems;
}

/**
 * One API as the target builder needs it: the validated parts, with their
 * indexes in the file for problem paths. For an API that failed validation,
 * the parts that passed (so env and ${var} problems still show).
 */
export interface ApiEntry {
  name: string;
  /** Index in `apis`. */
  index: number;
  headers: Readonly<Record<string, HeaderValue>> | undefined;
  vars: Readonly<Record<string, string>>;
  /** False when some vars were invalid: unknown ${var}s are then not reported (they would be noise). */
  checkVars: boolean;
  routes: { route: Route; index: number }[];
  /** Merged endpoints: suites first, then inline. */
  endpoints: SourcedEndpoint[];
}

/** The entry of a valid API. */
export function apiEntry(api: Api, index: number, suiteEndpoints: SourcedEndpoint[]): ApiEntry {
  return {
    name: api.name,
    index,
    headers: api.headers,
    vars: api.vars ?? {},
    checkVars: true,
    routes: api.routes.map((route, i) => ({ route, index: i })),
    endpoints: [
      ...suiteEndpoints,
      ...(api.endpoints ?? []).map((endpoint, i) => ({
        endpoint,
        location: "",
        segments: ["apis", index, "endpoints", i],
      })),
    ],
  };
}

/**
 * Builds every api × route × endpoint target, in that order. `defaultTimeoutMs`
 * (config.probe.timeoutMs) applies to endpoints without their own timeoutMs.
 */
export function buildTargets(apis: readonly ApiEntry[], env: Env, defaultTimeoutMs: number): BuiltTargets {
  const ctx: Ctx = {
    env,
    vars: {},
    checkVars: true,
    problems: [],
    secretValues: new Set(),
    envHeaderNames: new Set(),
  };
  const targets: ProbeTarget[] = [];
  for (const api of apis) {
    const { index: ai, endpoints } = api;
    ctx.vars = api.vars;
    ctx.checkVars = api.checkVars;
    ctx.problems.push(...duplicateNames(api.name, endpoints));
    const apiHeaders = resolveHeaders(api.headers, "", ["apis", ai, "headers"], ctx);
    const resolved = endpoints.map((s) => {
      const ep = s.endpoint;
      const pathSub = substitute(ep.path, ctx.vars);
      if (pathSub.unknown.length && ctx.checkVars) {
        ctx.problems.push({
          path: joinLocation(s.location, formatPath([...s.segments, "path"])),
          message: unknownVarsMessage(pathSub.unknown, ctx.vars),
        });
      }
      const headers = resolveHeaders(ep.headers, s.location, [...s.segments, "headers"], ctx);
      const expect = resolveExpect(ep.expect, [...s.segments, "expect"], s.location, ctx);
      return { ep, path: pathSub.text, headers, expect };
    });
    api.routes.forEach(({ route, index: ri }) => {
      const routeHeaders = resolveHeaders(route.headers, "", ["apis", ai, "routes", ri, "headers"], ctx);
      for (const r of resolved) {
        const merged = new Map([...apiHeaders, ...routeHeaders, ...r.headers]);
        const headers: Record<string, string> = {};
        const secret = new Set<string>(ALWAYS_SECRET_HEADERS);
        for (const h of merged.values()) {
          headers[h.name] = h.value;
          if (h.fromEnv) secret.add(h.name);
          if ((ALWAYS_SECRET_HEADERS as readonly string[]).includes(h.name)) ctx.secretValues.add(h.value);
        }
        const target: ProbeTarget = {
          api: api.name,
          route: route.name,
          endpoint: r.ep.name ?? r.ep.path,
          url: joinUrl(route.baseUrl, r.path),
          method: r.ep.method,
          headers,
          secretHeaders: [...secret].sort(),
          timeoutMs: r.ep.timeoutMs ?? defaultTimeoutMs,
        };
        if (r.ep.body !== undefined) target.body = r.ep.body;
        if (r.expect !== undefined) target.expect = r.expect;
        targets.push(target);
      }
    });
  }
  return {
    targets,
    problems: ctx.problems,
    secretValues: [...ctx.secretValues],
    envHeaderNames: [...ctx.envHeaderNames].sort(),
  };
}
