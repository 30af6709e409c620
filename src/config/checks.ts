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
    } else if (typeof value === "string") {
      const problem = headerValueProblem(value, false);
      if (problem) problems.push({ path: pathOf(name), message: problem });
    }
  }
  return problems;
}

/**
 * Why undici would refuse (or mangle) a header value, or undefined when it is
 * fine. Allowed: tab and printable ASCII. undici throws on anything beyond
 * Latin-1 and on control characters (every request would fail), and sends
 * Latin-1 letters as single bytes, not UTF-8. An invalid UTF-8 byte in a file
 * or the environment arrives as U+FFFD. `secret`: the value came from the
 * environment, so the message names a position, never a character of it
 * (except U+FFFD, which is no secret).
 */
export function headerValueProblem(value: string, secret: boolean): string | undefined {
  const bad = /[^\t\x20-\x7e]/.exec(value);
  if (!bad) return undefined;
  const cp = value.codePointAt(bad.index) ?? 0;
  const ch = String.fromCodePoint(cp);
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  const where = `at character ${bad.index + 1}`;
  const what =
    cp === 0xfffd
      ? `U+FFFD ${where} (an invalid UTF-8 byte in the source)`
      : cp < 0x20 || cp === 0x7f
        ? `a control character ${where}`
        : secret
          ? `a non-ASCII character ${where}`
          : `a non-ASCII character ${where} (${hex} ${JSON.stringify(ch)})`;
  return `expected a header value of printable ASCII, found ${what}: HTTP clients refuse it and every request would fail`;
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
