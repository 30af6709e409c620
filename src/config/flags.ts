/**
 * Configs from the command line: `--route name=URL --path /p` or `--url URL`
 * without a file, and CLI probe flags overriding a file's values. Every value
 * goes through the same schema; bad values raise a UsageError naming the flag.
 */
import { ConfigError, type ConfigProblem, UsageError } from "../errors.js";
import { hasUserinfo, withoutUserinfo } from "../redact.js";
import { type LoadedConfig, parseConfig } from "./load.js";
import { zodProblems } from "./problems.js";
import { withDefaultScheme } from "./request-flags.js";
import { type ConfigInput, type ProbeOptions, ProbeOptionsSchema, USERINFO_MESSAGE } from "./schema.js";

/** Probe flags shared by every command that probes. Numbers may arrive as strings from the parser. */
export interface ProbeFlags {
  count?: number | string;
  concurrency?: number | string;
  /** Requests per second (`--rate`). */
  rate?: number | string;
  connection?: string;
  stallMs?: number | string;
  timeoutMs?: number | string;
  /** `host:port:address` entries; replaces the file's list. */
  resolve?: string[];
}

export interface TargetFlags extends ProbeFlags {
  /** `name=baseUrl` (or a bare URL, named after its host). */
  routes?: string[];
  /** Endpoint paths; default `/`. */
  paths?: string[];
  /** One URL: a route named after its host, one endpoint = its path. */
  url?: string;
  /** API name for the generated config; default `cli`. */
  api?: string;
  env?: NodeJS.ProcessEnv;
}

const FLAG_NAMES: Record<keyof ProbeFlags, string> = {
  count: "--count",
  concurrency: "--concurrency",
  rate: "--rate",
  connection: "--connection",
  stallMs: "--stall-ms",
  timeoutMs: "--timeout-ms",
  resolve: "--resolve",
};

const FIELD_OF: Record<keyof ProbeFlags, keyof ProbeOptions> = {
  count: "count",
  concurrency: "concurrency",
  rate: "ratePerS",
  connection: "connection",
  stallMs: "stallMs",
  timeoutMs: "timeoutMs",
  resolve: "resolve",
};

const FLAG_OF = Object.fromEntries(
  (Object.keys(FIELD_OF) as (keyof ProbeFlags)[]).map((k) => [FIELD_OF[k], FLAG_NAMES[k]]),
) as Partial<Record<keyof ProbeOptions, string>>;

function usage(lines: string[]): UsageError {
  return new UsageError(
    `invalid option value${lines.length === 1 ? "" : "s"}:\n${lines.map((l) => `  ${l}`).join("\n")}`,
  );
}

/** Converts flags into probe-option overrides; numeric strings become numbers. */
function overridesOf(flags: ProbeFlags, errors: string[]): Partial<Record<keyof ProbeOptions, unknown>> {
  const out: Partial<Record<keyof ProbeOptions, unknown>> = {};
  for (const key of Object.keys(FIELD_OF) as (keyof ProbeFlags)[]) {
    const v = flags[key];
    if (v === undefined) continue;
    if (typeof v === "string" && key !== "connection") {
      const n = v.trim() === "" ? Number.NaN : Number(v);
      if (!Number.isFinite(n)) {
        errors.push(`${FLAG_NAMES[key]}: expected a number, received ${JSON.stringify(v)}`);
        continue;
      }
      out[FIELD_OF[key]] = n;
    } else {
      out[FIELD_OF[key]] = v;
    }
  }
  return out;
}

/** Validates `base` probe options with the flags applied; the errors name each bad flag. */
function mergeProbe(
  base: Partial<ProbeOptions>,
  flags: ProbeFlags,
): { probe: ProbeOptions | undefined; errors: string[] } {
  const errors: string[] = [];
  if (flags.rate !== undefined && flags.concurrency !== undefined) {
    errors.push("--concurrency, --rate: expected one of them, not both");
  }
  const overrides = overridesOf(flags, errors);
  const parsed = ProbeOptionsSchema.safeParse({ ...base, ...overrides }, { reportInput: true });
  if (!parsed.success) {
    for (const p of zodProblems(parsed.error, ProbeOptionsSchema)) {
      const field = p.path.replace(/[.[].*$/, "") as keyof ProbeOptions;
      errors.push(`${FLAG_OF[field] ?? p.path}: ${p.message}`);
    }
  }
  return { probe: parsed.success && errors.length === 0 ? parsed.data : undefined, errors };
}

/**
 * A copy of `loaded` with CLI probe flags applied over the file's values.
 * `--timeout-ms` also overrides per-endpoint timeouts (the command line wins).
 */
export function applyProbeOverrides(loaded: LoadedConfig, flags: ProbeFlags): LoadedConfig {
  const { probe, errors } = mergeProbe(loaded.config.probe, flags);
  if (!probe) throw usage(errors);
  const targets =
    flags.timeoutMs === undefined
      ? loaded.targets
      : loaded.targets.map((t) => ({ ...t, timeoutMs: probe.timeoutMs }));
  return { ...loaded, config: { ...loaded.config, probe }, targets };
}

/** A route name from a host: `api.example.com` stays, `::1` becomes `ipv6-1`. */
export function routeNameFromHost(hostname: string): string {
  const bare = hostname.replace(/^\[|\]$/g, "");
  let name = bare.replace(/[^A-Za-z0-9._-]/g, "-");
  if (!/^[A-Za-z0-9]/.test(name)) name = `ipv6${name.replace(/^-+/, "-")}`;
  return name.slice(0, 64) || "url";
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * A config from `--route`/`--path` or `--url` flags, validated like a file.
 * Probe flags are applied too. Throws UsageError on bad flags.
 */
export function configFromFlags(flags: TargetFlags): LoadedConfig {
  const errors: string[] = [];
  const routes: { name: string; baseUrl: string; flag: string }[] = [];
  let paths = flags.paths ?? [];
  let pathFlag = (p: string) => `--path ${p}`;
  if (flags.url !== undefined) {
    if (flags.routes?.length || paths.length)
      errors.push("--url: expected either --url or --route/--path, not both");
    const url = withDefaultScheme(flags.url);
    const host = hostOf(url);
    if (host === undefined)
      errors.push(
        `--url: expected a URL such as http://host:port/path, received ${JSON.stringify(flags.url)}`,
      );
    else if (hasUserinfo(flags.url)) errors.push(`--url: ${USERINFO_MESSAGE}`);
    else {
      const u = new URL(url);
      routes.push({ name: routeNameFromHost(host), baseUrl: u.origin, flag: "--url" });
      paths = [u.pathname + u.search];
      pathFlag = () => "--url";
    }
  } else {
    for (const spec of flags.routes ?? []) {
      const eq = spec.indexOf("=");
      const looksNamed = eq > 0 && !/^[a-z][a-z0-9+.-]*:\/\//i.test(spec.slice(0, eq + 1));
      const baseUrl = withDefaultScheme(looksNamed ? spec.slice(eq + 1) : spec);
      const name = looksNamed ? spec.slice(0, eq) : routeNameFromHost(hostOf(baseUrl) ?? "route");
      // The label is printed with problems: never with the URL's password.
      const label = looksNamed ? `${name}=${withoutUserinfo(baseUrl)}` : withoutUserinfo(spec);
      routes.push({ name, baseUrl, flag: `--route ${label}` });
    }
    if (routes.length === 0)
      errors.push("--route: expected at least one --route NAME=BASEURL (or --url URL, or --config FILE)");
  }
  if (paths.length === 0) paths = ["/"];
  const merged = mergeProbe({}, flags);
  errors.push(...merged.errors);
  if (routes.length === 0) throw usage(errors);
  const raw: ConfigInput = {
    apis: [
      {
        name: flags.api ?? "cli",
        routes: routes.map((r) => ({ name: r.name, baseUrl: r.baseUrl, kind: "other" as const })),
        endpoints: paths.map((path) => ({ path })),
      },
    ],
    probe: merged.probe ?? {},
  };
  let problems: ConfigProblem[] = [];
  try {
    const loaded = parseConfig(raw, { env: flags.env ?? process.env });
    if (errors.length === 0) return loaded;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems = e.problems;
  }
  const flagOf = (path: string): string => {
    const route = /^apis\[0\]\.routes\[(\d+)\]/.exec(path);
    if (route) return routes[Number(route[1])]?.flag ?? "--route";
    const ep = /^apis\[0\]\.endpoints\[(\d+)\]/.exec(path);
    if (ep) return pathFlag(paths[Number(ep[1])] ?? "");
    return path;
  };
  throw usage([...errors, ...problems.map((p) => `${flagOf(p.path)}: ${p.message}`)]);
}
