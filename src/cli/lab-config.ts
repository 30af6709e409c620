/**
 * The config a scheduled command (`run`, `daemon`) uses with `--lab`: the
 * lab's APIs in place of the file's, everything else (schedule, keepWarm,
 * store, probe) from the file when one is given, else the defaults. Keep-warm
 * endpoint names from the file are translated to their paths, which the lab
 * serves under the same names as the flaskapp suite (/, /header, /foo/bar…).
 */
import { readFile } from "node:fs/promises";
import { readJson } from "../config/json.js";
import { endpointPaths, type LoadedConfig, parseConfig } from "../config/load.js";
import { ConfigError } from "../errors.js";
import type { RemoteLab } from "../lab/remote.js";

export async function labConfigFor(file: string | undefined, lab: RemoteLab): Promise<LoadedConfig> {
  // The lab's name pins (broken-ipv6) go with its APIs: without them its names would not resolve.
  const resolve = lab.config.probe?.resolve ?? [];
  if (file === undefined)
    return parseConfig({ apis: lab.config.apis, ...(resolve.length ? { probe: { resolve } } : {}) });
  const raw = await readConfigObject(file);
  const paths = endpointPaths(raw, { file });
  const keepWarm = raw.keepWarm;
  const translated =
    keepWarm &&
    typeof keepWarm === "object" &&
    !Array.isArray(keepWarm) &&
    Array.isArray((keepWarm as Record<string, unknown>).endpoints)
      ? {
          ...(keepWarm as Record<string, unknown>),
          endpoints: (keepWarm as { endpoints: unknown[] }).endpoints.map((e) =>
            typeof e === "string" ? (paths.get(e) ?? e) : e,
          ),
        }
      : keepWarm;
  const probe = resolve.length > 0 ? { probe: { ...(isObject(raw.probe) ? raw.probe : {}), resolve } } : {};
  return parseConfig(
    {
      ...raw,
      apis: lab.config.apis,
      ...probe,
      ...(translated !== undefined ? { keepWarm: translated } : {}),
    },
    { file },
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The config file as a JSON object (its `apis` are replaced, so they are not validated here). */
async function readConfigObject(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError(
      [{ path: "", message: `cannot read the file: ${(e as { code?: string }).code ?? e}` }],
      file,
    );
  }
  const json = readJson(text);
  if (!json.ok) {
    const { line, column } = json.position;
    throw new ConfigError(
      [{ path: "", message: `invalid JSON at line ${line}, column ${column}: ${json.error}` }],
      file,
    );
  }
  const v = json.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError([{ path: "", message: "expected a JSON object" }], file);
  }
  return v as Record<string, unknown>;
}
