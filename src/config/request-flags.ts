/**
 * curl-style request flags: `-H "Name: value"` (repeatable), `-X METHOD`,
 * `-d DATA` / `-d @file`. Parsed once into overrides applied to every probe
 * target, whichever way the targets came (flags, config file, lab). As in
 * curl, `-d` without `-X` sends POST, and without a Content-Type header sends
 * `application/x-www-form-urlencoded`.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import { ALWAYS_SECRET_HEADERS } from "../redact.js";
import type { LoadedConfig } from "./load.js";
import { EndpointSchema } from "./schema.js";

export interface RequestFlags {
  /** `Name: value` lines. */
  header?: string[];
  method?: string;
  /** A body, or `@file` to read one. */
  data?: string;
}

export interface RequestOverrides {
  headers: Record<string, string>;
  method?: string;
  body?: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const METHODS = EndpointSchema.shape.method.unwrap().options;

/** The overrides the flags ask for, or undefined when none was given. Throws UsageError listing every bad flag. */
export function parseRequestFlags(
  flags: RequestFlags,
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): RequestOverrides | undefined {
  if (!flags.header?.length && flags.method === undefined && flags.data === undefined) return undefined;
  const errors: string[] = [];
  const headers: Record<string, string> = {};
  for (const line of flags.header ?? []) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!TOKEN.test(name)) {
      errors.push(`-H ${JSON.stringify(line)}: expected "Name: value" with an HTTP header name`);
      continue;
    }
    headers[name] = line.slice(colon + 1).trim();
  }
  const out: RequestOverrides = { headers };
  if (flags.data !== undefined) {
    if (flags.data.startsWith("@")) {
      const file = flags.data.slice(1);
      try {
        out.body = readFile(file);
      } catch (e) {
        errors.push(`-d ${flags.data}: cannot read the file (${(e as { code?: string }).code ?? String(e)})`);
      }
    } else {
      out.body = flags.data;
    }
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
  }
  const method = flags.method?.toUpperCase() ?? (flags.data !== undefined ? "POST" : undefined);
  if (method !== undefined) {
    if ((METHODS as readonly string[]).includes(method)) out.method = method;
    else errors.push(`-X ${flags.method}: expected one of ${METHODS.join(", ")}`);
  }
  if (errors.length) {
    throw new UsageError(
      `invalid option value${errors.length === 1 ? "" : "s"}:\n${errors.map((l) => `  ${l}`).join("\n")}`,
    );
  }
  return out;
}

/**
 * Every target with the overrides applied: the flags' headers win over the
 * config's (same name in any case), method and body replace the endpoint's.
 * Values of credential headers (x-api-key, Authorization…) are added to the
 * redactor, so they never show in output.
 */
export function applyRequestOverrides(loaded: LoadedConfig, o: RequestOverrides | undefined): LoadedConfig {
  if (!o) return loaded;
  const lower = new Set(Object.keys(o.headers).map((h) => h.toLowerCase()));
  const secret = Object.entries(o.headers).filter(([n]) =>
    (ALWAYS_SECRET_HEADERS as readonly string[]).includes(n.toLowerCase()),
  );
  const targets = loaded.targets.map((t) => {
    const headers: Record<string, string> = {};
    for (const [n, v] of Object.entries(t.headers)) if (!lower.has(n.toLowerCase())) headers[n] = v;
    Object.assign(headers, o.headers);
    const next = { ...t, headers, ...(o.method ? { method: o.method } : {}) };
    if (o.body !== undefined) next.body = o.body;
    if (secret.length)
      next.secretHeaders = [...new Set([...t.secretHeaders, ...secret.map(([n]) => n.toLowerCase())])];
    return next;
  });
  const redactor = secret.length
    ? loaded.redactor.with({ secretValues: secret.map(([, v]) => v) })
    : loaded.redactor;
  return { ...loaded, targets, redactor };
}

/** `127.0.0.1:8080/x` → `http://127.0.0.1:8080/x`, as curl does; URLs with a scheme stay as they are. */
export function withDefaultScheme(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
}
