/**
 * Loading a config file: JSON → schema → suites → targets, collecting every
 * problem on the way and throwing one ConfigError (exit code 2) listing them.
 *
 * `loadConfig` reads the config file asynchronously; `parseConfig` is
 * synchronous and reads the (small) suite files with `readFileSync`, or with
 * the `readFile` you pass (e.g. suites already in memory).
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { ConfigError, type ConfigProblem } from "../errors.js";
import { Redactor } from "../redact.js";
import { checkKeepWarmRefs } from "./checks.js";
import { readJson } from "./json.js";
import { dedupeProblems, formatPath, joinLocation, zodProblems } from "./problems.js";
import {
  ApiSchema,
  type Config,
  ConfigSchema,
  EndpointSchema,
  HeadersSchema,
  HeaderValueSchema,
  KeepWarmSchema,
  ProbeOptionsSchema,
  RouteSchema,
  SuiteSchema,
} from "./schema.js";
import { type ApiEntry, apiEntry, buildTargets, type ProbeTarget, type SourcedEndpoint } from "./targets.js";

/** A validated config with its probe targets resolved. */
export interface LoadedConfig {
  config: Config;
  /** The config file, as given; absent for configs built from flags. */
  file?: string;
  /** Every api × route × endpoint, URLs joined, headers resolved, ${vars} substituted. */
  targets: ProbeTarget[];
  /** Hides secret header values; pass every output and log through it. */
  redactor: Redactor;
  /** Absolute paths of the suite files that were read. */
  suiteFiles: string[];
}

export interface ParseOptions {
  /** The config file (for messages and LoadedConfig.file). */
  file?: string;
  /** Directory suite paths are relative to; default: the config file's directory, else the cwd. */
  baseDir?: string;
  /** Environment for `{ "env": ... }` header values; default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Reads a suite file (absolute path); default: readFileSync as UTF-8. */
  readFile?: (absPath: string) => string;
}

interface Collected {
  loaded?: LoadedConfig;
  problems: ConfigProblem[];
}

function jsonProblem(location: string, error: string, line: number, column: number): ConfigProblem {
  return { path: location, message: `invalid JSON at line ${line}, column ${column}: ${error}` };
}

function readErrorMessage(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return "cannot read the file: not found";
  if (code === "EISDIR") return "cannot read the file: it is a directory";
  if (code === "EACCES") return "cannot read the file: permission denied";
  return `cannot read the file: ${code ?? (e as Error).message}`;
}

interface SuiteLoader {
  load(ref: string, location: string): SourcedEndpoint[];
  files: Set<string>;
}

function suiteLoader(baseDir: string, read: (p: string) => string, problems: ConfigProblem[]): SuiteLoader {
  const cache = new Map<string, SourcedEndpoint[]>();
  const files = new Set<string>();
  return {
    files,
    load(ref, location) {
      const abs = isAbsolute(ref) ? ref : resolve(baseDir, ref);
      const cached = cache.get(abs);
      if (cached) return cached;
      const endpoints: SourcedEndpoint[] = [];
      cache.set(abs, endpoints);
      let text: string;
      try {
        text = read(abs);
      } catch (e) {
        problems.push({
          path: location,
          message: `${readErrorMessage(e)} (suite paths are relative to the config file's directory)`,
        });
        return endpoints;
      }
      files.add(abs);
      const json = readJson(text);
      if (!json.ok) {
        problems.push(jsonProblem(location, json.error, json.position.line, json.position.column));
        return endpoints;
      }
      for (const d of json.duplicateKeys) problems.push(duplicateKeyProblem(location, d));
      const parsed = SuiteSchema.safeParse(json.value, { reportInput: true });
      if (!parsed.success) {
        problems.push(...zodProblems(parsed.error, SuiteSchema, location));
        return endpoints;
      }
      parsed.data.endpoints.forEach((endpoint, i) => {
        endpoints.push({ endpoint, location, segments: ["endpoints", i] });
      });
      return endpoints;
    },
  };
}

function duplicateKeyProblem(
  location: string,
  d: { path: (string | number)[]; line: number; column: number },
): ConfigProblem {
  return {
    path: joinLocation(location, formatPath(d.path)),
    message: `duplicate key at line ${d.line}, column ${d.column} (JSON keeps only the last one)`,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Name checks that must run even when other parts of the file are invalid
 * (the schema's own cross-field checks only run on an otherwise valid file).
 */
function structuralProblems(raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!isRecord(raw) || !Array.isArray(raw.apis)) return problems;
  const apiNames = new Set<string>();
  raw.apis.forEach((api: unknown, i) => {
    if (!isRecord(api)) return;
    if (typeof api.name === "string") {
      if (apiNames.has(api.name)) {
        problems.push({ path: `apis[${i}].name`, message: `duplicate API name '${api.name}'` });
      }
      apiNames.add(api.name);
    }
    const routeNames = new Set<string>();
    if (Array.isArray(api.routes)) {
      api.routes.forEach((r: unknown, j) => {
        if (!isRecord(r) || typeof r.name !== "string") return;
        if (routeNames.has(r.name)) {
          problems.push({
            path: `apis[${i}].routes[${j}].name`,
            message: `duplicate route name '${r.name}'`,
          });
        }
        routeNames.add(r.name);
      });
    }
    const hasSuites = Array.isArray(api.suites) && api.suites.length > 0;
    const hasEndpoints = Array.isArray(api.endpoints) && api.endpoints.length > 0;
    if (!hasSuites && !hasEndpoints) {
      problems.push({
        path: `apis[${i}]`,
        message: "expected 'suites' or 'endpoints' (an API needs at least one endpoint)",
      });
    }
  });
  return problems;
}

function entriesOf<T>(v: unknown, schema: z.ZodType<T>): { value: T; index: number }[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((item: unknown, index) => {
    const p = schema.safeParse(item);
    return p.success ? [{ value: p.data, index }] : [];
  });
}

function validEntries<T>(v: unknown, schema: z.ZodType<T>): { values: Record<string, T>; complete: boolean } {
  const values: Record<string, T> = {};
  if (!isRecord(v)) return { values, complete: v === undefined };
  let complete = true;
  for (const [k, item] of Object.entries(v)) {
    const p = schema.safeParse(item);
    if (p.success) values[k] = p.data;
    else complete = false;
  }
  return { values, complete };
}

/**
 * The parts of an invalid API that are valid, keeping their indexes, so that
 * env, ${var} and duplicate-name problems show together with the schema's.
 */
function salvageApi(
  raw: Record<string, unknown>,
  index: number,
  suiteEndpoints: SourcedEndpoint[],
): ApiEntry {
  const headerNames = HeadersSchema.keyType;
  const headers = validEntries(raw.headers, HeaderValueSchema).values;
  for (const k of Object.keys(headers)) if (!headerNames.safeParse(k).success) delete headers[k];
  const vars = validEntries(raw.vars, z.string());
  return {
    name: typeof raw.name === "string" ? raw.name : `#${index}`,
    index,
    headers: raw.headers === undefined ? undefined : headers,
    vars: vars.values,
    checkVars: vars.complete,
    routes: entriesOf(raw.routes, RouteSchema).map(({ value, index: i }) => ({ route: value, index: i })),
    endpoints: [
      ...suiteEndpoints,
      ...entriesOf(raw.endpoints, EndpointSchema).map(({ value, index: i }) => ({
        endpoint: value,
        location: "",
        segments: ["apis", index, "endpoints", i],
      })),
    ],
  };
}

/** Every API with its suites loaded; invalid APIs are salvaged (see salvageApi). */
function collectApis(raw: unknown, loader: SuiteLoader): ApiEntry[] {
  const entries: ApiEntry[] = [];
  if (!isRecord(raw) || !Array.isArray(raw.apis)) return entries;
  raw.apis.forEach((rawApi: unknown, index) => {
    if (!isRecord(rawApi)) return;
    const suiteEndpoints: SourcedEndpoint[] = [];
    if (Array.isArray(rawApi.suites)) {
      rawApi.suites.forEach((ref: unknown, j) => {
        if (typeof ref !== "string" || ref === "") return;
        suiteEndpoints.push(...loader.load(ref, `apis[${index}].suites[${j}] (${ref})`));
      });
    }
    const parsed = ApiSchema.safeParse(rawApi);
    entries.push(
      parsed.success
        ? apiEntry(parsed.data, index, suiteEndpoints)
        : salvageApi(rawApi, index, suiteEndpoints),
    );
  });
  return entries;
}

/**
 * Endpoint name → path over every API of a raw config, suites loaded; for
 * translating a config's keep-warm names to paths when its APIs are replaced
 * (`daemon --lab`). Unreadable suites and invalid entries are skipped.
 */
export function endpointPaths(raw: unknown, opts: ParseOptions = {}): Map<string, string> {
  const baseDir = opts.baseDir ?? (opts.file ? dirname(resolve(opts.file)) : process.cwd());
  const loader = suiteLoader(baseDir, opts.readFile ?? ((p) => readFileSync(p, "utf8")), []);
  const out = new Map<string, string>();
  for (const e of collectApis(raw, loader)) {
    for (const s of e.endpoints) out.set(s.endpoint.name ?? s.endpoint.path, s.endpoint.path);
  }
  return out;
}

function endpointKeys(entries: readonly ApiEntry[]): Set<string> {
  const keys = new Set<string>();
  for (const e of entries) {
    for (const s of e.endpoints) {
      keys.add(s.endpoint.name ?? s.endpoint.path);
      keys.add(s.endpoint.path);
    }
  }
  return keys;
}

function collect(raw: unknown, opts: ParseOptions): Collected {
  const problems: ConfigProblem[] = [];
  const parsed = ConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) problems.push(...zodProblems(parsed.error, ConfigSchema));
  problems.push(...structuralProblems(raw));
  const baseDir = opts.baseDir ?? (opts.file ? dirname(resolve(opts.file)) : process.cwd());
  const loader = suiteLoader(baseDir, opts.readFile ?? ((p) => readFileSync(p, "utf8")), problems);
  const entries = collectApis(raw, loader);
  const rawProbe = isRecord(raw) ? raw.probe : undefined;
  const probe = ProbeOptionsSchema.safeParse(rawProbe ?? {});
  const built = buildTargets(entries, opts.env ?? process.env, probe.success ? probe.data.timeoutMs : 15_000);
  problems.push(...built.problems);
  // Keep-warm names can only be checked against a complete, valid list of routes and endpoints.
  const keepWarm = KeepWarmSchema.safeParse(isRecord(raw) ? (raw.keepWarm ?? {}) : {});
  if (keepWarm.success && !problems.some((p) => p.path.startsWith("apis"))) {
    const routeNames = entries.flatMap((e) => e.routes.map((r) => r.route.name));
    problems.push(...checkKeepWarmRefs(keepWarm.data, routeNames, endpointKeys(entries)));
  }
  if (!parsed.success || problems.length) return { problems };
  const redactor = new Redactor({
    secretValues: built.secretValues,
    secretHeaderNames: built.envHeaderNames,
  });
  const loaded: LoadedConfig = {
    config: parsed.data,
    targets: built.targets,
    redactor,
    suiteFiles: [...loader.files],
  };
  if (opts.file !== undefined) loaded.file = opts.file;
  return { loaded, problems };
}

/**
 * Validates an already-parsed config value and resolves its targets (reading
 * suite files synchronously). Throws one ConfigError listing every problem.
 */
export function parseConfig(raw: unknown, opts: ParseOptions = {}): LoadedConfig {
  const { loaded, problems } = collect(raw, opts);
  if (!loaded || problems.length) throw new ConfigError(dedupeProblems(problems), opts.file);
  return loaded;
}

/**
 * Reads, validates and resolves a config file. Throws one ConfigError (exit
 * code 2) listing every problem in the file and in the suites it refers to.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError([{ path: "", message: readErrorMessage(e) }], file);
  }
  const json = readJson(text);
  if (!json.ok) {
    const { line, column } = json.position;
    throw new ConfigError([jsonProblem("", json.error, line, column)], file);
  }
  const dupes = json.duplicateKeys.map((d) => duplicateKeyProblem("", d));
  const { loaded, problems } = collect(json.value, { file, env });
  const all = [...dupes, ...problems];
  if (!loaded || all.length) throw new ConfigError(dedupeProblems(all), file);
  return loaded;
}
