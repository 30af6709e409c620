/**
 * Turns zod issues into config problems: a JSON path such as
 * `apis[0].routes[1].baseUrl` and a message that says what was expected.
 */
import type { z } from "zod";
import type { ConfigProblem } from "../errors.js";

type Segment = PropertyKey;
type Issue = z.core.$ZodIssue;

/** Formats path segments as `apis[0].headers["x-api-key"]` (identifiers dotted, other keys quoted). */
export function formatPath(segments: readonly Segment[], prefix = ""): string {
  let out = prefix;
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string" && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += out === "" ? s : `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

/** Joins a location label (e.g. `apis[0].suites[1] (probes/x.json)`) and a path inside that file. */
export function joinLocation(location: string, inner: string): string {
  if (location === "") return inner;
  return inner === "" ? location : `${location}: ${inner}`;
}

/** A short, safe rendering of an offending value for a message. */
export function showValue(v: unknown): string {
  if (typeof v === "string") {
    const s = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return JSON.stringify(s);
  }
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : typeof v;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

const TYPE_LABELS: Record<string, string> = {
  int: "integer",
  object: "object",
  array: "array",
  record: "object",
  nonoptional: "a value",
};

function received(v: unknown): string {
  const t = typeOf(v);
  if (t === "string" || t === "number" || t === "boolean") return `${t} ${showValue(v)}`;
  return t;
}

// ---- walking the schema to list the keys an object accepts ----

interface Def {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  keyType?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  entries?: Record<string, string | number>;
  getter?: () => z.core.$ZodType;
}

function def(s: z.core.$ZodType): Def {
  return s._zod.def as unknown as Def;
}

function unwrap(s: z.core.$ZodType): z.core.$ZodType[] {
  const d = def(s);
  if (d.innerType) return unwrap(d.innerType);
  if (d.type === "pipe" && d.in) return unwrap(d.in);
  if (d.type === "lazy" && d.getter) return unwrap(d.getter());
  if (d.type === "union" && d.options) return d.options.flatMap(unwrap);
  return [s];
}

function childSchemas(s: z.core.$ZodType, seg: Segment): z.core.$ZodType[] {
  return unwrap(s).flatMap((u) => {
    const d = def(u);
    if (d.type === "object" && d.shape && typeof seg === "string") {
      const child = d.shape[seg];
      return child ? [child] : [];
    }
    if (d.type === "array" && d.element && typeof seg === "number") return [d.element];
    if (d.type === "record" && d.valueType) return [d.valueType];
    return [];
  });
}

/** The keys accepted by the object at `path` in `root`, in declaration order. */
export function allowedKeys(root: z.core.$ZodType, path: readonly Segment[]): string[] {
  let current = [root];
  for (const seg of path) current = current.flatMap((s) => childSchemas(s, seg));
  const keys = new Set<string>();
  for (const s of current.flatMap(unwrap)) {
    const d = def(s);
    if (d.type === "object" && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
    if (d.type === "record" && d.keyType) {
      const kd = def(d.keyType);
      if (kd.type === "enum" && kd.entries) for (const v of Object.values(kd.entries)) keys.add(String(v));
    }
  }
  return [...keys];
}

// ---- messages ----

function boundMessage(issue: Extract<Issue, { code: "too_big" | "too_small" }>): string {
  const big = issue.code === "too_big";
  const limit = Number(big ? issue.maximum : issue.minimum);
  const input = issue.input;
  if (issue.origin === "string" || issue.origin === "array") {
    const unit = issue.origin === "string" ? "character" : "item";
    const n = typeof input === "string" || Array.isArray(input) ? input.length : undefined;
    if (!big && limit === 1) {
      return issue.origin === "string"
        ? "expected a non-empty string"
        : "expected at least 1 item, received none";
    }
    const got = n === undefined ? "" : `, received ${n}`;
    return `expected ${big ? "at most" : "at least"} ${limit} ${unit}${limit === 1 ? "" : "s"}${got}`;
  }
  const word = big
    ? issue.inclusive === false
      ? "less than"
      : "at most"
    : issue.inclusive === false
      ? "greater than"
      : "at least";
  return `expected a number ${word} ${limit}, received ${showValue(input)}`;
}

function isDefaultMessage(message: string): boolean {
  return /^(Invalid|Too (big|small)|Unrecognized)/.test(message);
}

/** The first-level type a union branch rejected the input with, if it failed on the type itself. */
function rootTypeFailure(branch: Issue[]): string | undefined {
  if (branch.length !== 1) return undefined;
  const only = branch[0]!;
  if (only.path.length !== 0) return undefined;
  if (only.code === "invalid_type") return TYPE_LABELS[only.expected] ?? only.expected;
  if (only.code === "invalid_value") return only.values.map((v) => JSON.stringify(v)).join(", ");
  return undefined;
}

/**
 * Converts one zod issue into problems. `root` is the schema that was parsed
 * (to list allowed keys), `location` a prefix for suite files.
 */
export function issueToProblems(
  issue: Issue,
  root: z.core.$ZodType,
  location = "",
  basePath: readonly Segment[] = [],
): ConfigProblem[] {
  const segs = [...basePath, ...issue.path];
  const path = joinLocation(location, formatPath(segs));
  const one = (message: string): ConfigProblem[] => [{ path, message }];
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_LABELS[issue.expected] ?? issue.expected;
      if (issue.input === undefined && (issue as { received?: string }).received === undefined) {
        return one(`required: expected ${expected}`);
      }
      const rec = (issue as { received?: string }).received;
      if (rec === "Infinity" || rec === "NaN") {
        return one(`expected a finite ${expected}, received a number too large to represent`);
      }
      return one(`expected ${expected}, received ${received(issue.input)}`);
    }
    case "too_big":
    case "too_small":
      return one(boundMessage(issue));
    case "invalid_format": {
      const what = isDefaultMessage(issue.message)
        ? `expected a string matching ${issue.pattern ?? issue.format}`
        : issue.message;
      return one(`${what}, received ${showValue(issue.input)}`);
    }
    case "not_multiple_of":
      return one(`expected a multiple of ${issue.divisor}, received ${showValue(issue.input)}`);
    case "invalid_value": {
      const values = issue.values.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
      const what = values.length === 1 ? `expected ${values[0]}` : `expected one of: ${values.join(", ")}`;
      return one(`${what}, received ${showValue(issue.input)}`);
    }
    case "unrecognized_keys": {
      // `$comment` (a note for people, allowed on every object) would only lengthen every list.
      const allowed = allowedKeys(root, segs).filter((k) => k !== "$comment");
      const hint = allowed.length ? ` (expected one of: ${allowed.join(", ")})` : "";
      return issue.keys.map((k) => ({ path, message: `unknown key '${k}'${hint}` }));
    }
    case "invalid_key":
      return issue.issues.flatMap((inner) => issueToProblems(inner, root, location, segs));
    case "invalid_element":
      return issue.issues.flatMap((inner) => issueToProblems(inner, root, location, segs));
    case "invalid_union": {
      const branches = issue.errors;
      // A branch that got past the type check is what the author meant: report its problems.
      const typed = branches.filter((b) => b.length > 0 && rootTypeFailure(b) === undefined);
      if (typed.length > 0) return typed[0]!.flatMap((inner) => issueToProblems(inner, root, location, segs));
      const labels = [...new Set(branches.map(rootTypeFailure).filter((x): x is string => x !== undefined))];
      const allValues = branches.every((b) => b[0]?.code === "invalid_value");
      if (allValues) return one(`expected one of: ${labels.join(", ")}, received ${showValue(issue.input)}`);
      return one(`expected ${labels.join(" or ")}, received ${received(issue.input)}`);
    }
    case "custom": {
      const input = issue.input;
      const show = typeof input === "string" || typeof input === "number";
      const msg = isDefaultMessage(issue.message) ? "invalid value" : issue.message;
      const append = show && msg.startsWith("expected") && !msg.includes("received");
      return one(append ? `${msg}, received ${showValue(input)}` : msg);
    }
    default: {
      const unknownIssue = issue as { message: string };
      return one(unknownIssue.message);
    }
  }
}

/** All problems of a failed safeParse, in zod's order. */
export function zodProblems(error: z.ZodError, root: z.core.$ZodType, location = ""): ConfigProblem[] {
  return error.issues.flatMap((i) => issueToProblems(i, root, location));
}

/** Removes repeated problems (same path and message), keeping the first. */
export function dedupeProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
