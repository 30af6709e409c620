/**
 * Checks a response against an endpoint's `expect` block. Pure: status,
 * headers and body text in, one AssertionResult per check out.
 */
import { isDeepStrictEqual } from "node:util";
import type { Expect } from "../config/schema.js";
import type { AssertionResult } from "../model.js";

/** The parts of a response the assertions look at. */
export interface CheckedResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Body text; undefined when the body was not kept (not needed, or cut off). */
  body?: string;
  /** True when the body was cut at maxBodyBytes (JSON and text checks then fail clearly). */
  truncated?: boolean;
  /** Set when the body was larger than an assertion may hold (probe.maxAssertBodyBytes, this many bytes): not checked. */
  notKeptOver?: number;
  /**
   * Hides secrets in body text before it is cut to an excerpt (an excerpt
   * that ends inside a secret would keep its first part out of the
   * redactor's reach).
   */
  redact?: (text: string) => string;
}

/** Does the expectation need the body text? (The prober keeps bodies only then.) */
export function needsBody(expect: Expect | undefined): boolean {
  return expect?.json !== undefined || expect?.bodyContains !== undefined;
}

/** Default status rule: any 2xx. */
export function statusOk(expect: Expect | undefined, status: number): boolean {
  const want = expect?.status;
  if (want === undefined) return status >= 200 && status <= 299;
  return Array.isArray(want) ? want.includes(status) : want === status;
}

/** Read `a.b.c` from a parsed JSON value; `{found:false}` when a step is missing. */
export function getPath(value: unknown, path: string): { found: boolean; value?: unknown } {
  let cur: unknown = value;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return { found: false };
    const rec = cur as Record<string, unknown>;
    if (Array.isArray(cur) && /^\d+$/.test(key)) {
      if (Number(key) >= cur.length) return { found: false };
    } else if (!Object.hasOwn(rec, key)) {
      return { found: false };
    }
    cur = rec[key];
  }
  return { found: true, value: cur };
}

/**
 * Without an `expect` block the only check is "status is 2xx": its result
 * depends on the status alone, so one frozen list per status code serves
 * every record (a report keeps every record).
 */
const defaultChecks = new Map<number, AssertionResult[]>();
function defaultCheck(status: number): AssertionResult[] {
  let list = defaultChecks.get(status);
  if (!list) {
    const only = Object.freeze({
      name: "status",
      ok: statusOk(undefined, status),
      expected: "2xx",
      actual: status,
    });
    list = Object.freeze([only]) as unknown as AssertionResult[];
    if (Number.isInteger(status) && status >= 0 && status < 1000) defaultChecks.set(status, list);
  }
  return list;
}

export function checkResponse(expect: Expect | undefined, res: CheckedResponse): AssertionResult[] {
  if (!expect) return defaultCheck(res.status);
  const results: AssertionResult[] = [];
  results.push({
    name: "status",
    ok: statusOk(expect, res.status),
    expected: expect?.status ?? "2xx",
    actual: res.status,
  });

  for (const [name, want] of Object.entries(expect.headers ?? {})) {
    const actual = res.headers[name.toLowerCase()];
    results.push({ name: `header.${name.toLowerCase()}`, ok: actual === want, expected: want, actual });
  }

  if (expect.json !== undefined) {
    const parsed = parseJson(res);
    if (!parsed.ok) {
      results.push({ name: "json", ok: false, expected: "a JSON body", actual: parsed.reason });
    } else {
      for (const [path, want] of Object.entries(expect.json)) {
        const got = getPath(parsed.value, path);
        results.push({
          name: `json.${path}`,
          ok: got.found && isDeepStrictEqual(got.value, want),
          expected: want,
          actual: got.found ? got.value : "(missing)",
        });
      }
    }
  }

  if (expect.bodyContains !== undefined) {
    const ok = res.body?.includes(expect.bodyContains) === true;
    results.push({
      name: "bodyContains",
      ok,
      expected: expect.bodyContains,
      actual: ok ? expect.bodyContains : describeBody(res),
    });
  }
  return results;
}

function parseJson(res: CheckedResponse): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (res.truncated) return { ok: false, reason: "body is not JSON (cut off at the size cap)" };
  if (res.notKeptOver !== undefined) return { ok: false, reason: notKept(res.notKeptOver) };
  if (res.body === undefined) return { ok: false, reason: "body is not JSON (no body)" };
  try {
    return { ok: true, value: JSON.parse(res.body) };
  } catch {
    return { ok: false, reason: `body is not JSON: ${describeBody(res)}` };
  }
}

function notKept(cap: number): string {
  return `body not checked: larger than probe.maxAssertBodyBytes (${cap} bytes), the most an assertion may hold in memory`;
}

function describeBody(res: CheckedResponse): string {
  if (res.notKeptOver !== undefined) return notKept(res.notKeptOver);
  if (res.body === undefined) return "(no body)";
  const body = res.redact ? res.redact(res.body) : res.body;
  const head = body.length > 80 ? `${body.slice(0, 80)}…` : body;
  return JSON.stringify(head) + (res.truncated ? " (cut off)" : "");
}
