/**
 * Checks that need more than one field at a time: header maps (names are
 * case-insensitive) and keep-warm references. Each returns problems; none throws.
 */
import type { ConfigProblem } from "../errors.js";
import type { Config, HeaderValue } from "./schema.js";

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
export function checkKeepWarmRefs(
  keepWarm: Config["keepWarm"],
  routeNames: readonly string[],
  endpointKeys: ReadonlySet<string>,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const routes = [...new Set(routeNames)];
  keepWarm.routes?.forEach((r, i) => {
    if (!routes.includes(r)) {
      problems.push({
        path: `keepWarm.routes[${i}]`,
        message: `unknown route '${r}' (expected one of: ${routes.join(", ")})`,
      });
    }
  });
  keepWarm.endpoints?.forEach((e, i) => {
    if (!endpointKeys.has(e)) {
      problems.push({
        path: `keepWarm.endpoints[${i}]`,
        message: `unknown endpoint '${e}' (expected an endpoint name or path: ${[...endpointKeys].join(", ")})`,
      });
    }
  });
  return problems;
}
