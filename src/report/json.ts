/**
 * The JSON reporter: the Report as one document (docs/report-json.md), keys in
 * a fixed order whatever order the objects were built in, so two runs diff
 * cleanly. Known keys come in documentation order (phases in request order,
 * percentiles low to high); any other key (free-form evidence, options)
 * follows alphabetically. 2-space indent, trailing newline.
 */

import type { Report } from "../model.js";
import { PHASES } from "../model.js";

const SERIES = [
  "api",
  "route",
  "endpoint",
  "connection",
  "count",
  "ok",
  "failed",
  "stalls",
  "latencyMs",
  "correctedLatencyMs",
  "histograms",
  "distribution",
];
const STATS = ["count", "p50", "p90", "p99", "p999", "max", "mean"];

/** Key order per object, by its path with arrays as `[]` and phase keys as `<phase>` (docs/report-json.md order). */
const ORDERS: Readonly<Record<string, readonly string[]>> = {
  "": [
    "version",
    "generatedAt",
    "source",
    "options",
    "span",
    "totals",
    "healthy",
    "series",
    "stalls",
    "failures",
    "findings",
    "verdict",
    "evidence",
    "notes",
    "eventLoopLagMs",
    "coordinatedOmission",
    "keepWarm",
    "timeline",
    "writers",
    "gates",
  ],
  source: ["kind", "scenario", "dir", "since", "until"],
  span: ["startedAt", "endedAt", "durationMs"],
  totals: ["requests", "ok", "failed", "stalls"],
  "series[]": SERIES,
  "series[].latencyMs": PHASES,
  "series[].latencyMs.<phase>": STATS,
  "series[].correctedLatencyMs": PHASES,
  "series[].correctedLatencyMs.<phase>": STATS,
  "series[].histograms": PHASES,
  "series[].distribution": ["edgesMs", "counts"],
  "stalls[]": [
    "at",
    "seq",
    "api",
    "route",
    "endpoint",
    "connection",
    "tag",
    "writer",
    "reused",
    "totalMs",
    "thresholdMs",
    "phase",
    "phasesMs",
    "status",
    "error",
    "remoteAddress",
    "requestId",
    "traceId",
    "cause",
    "detail",
  ],
  "stalls[].phasesMs": PHASES,
  "writers[]": ["writer", "rounds", "requests", "failed", "stalls", "firstRoundAt", "lastRoundAt", "series"],
  "writers[].series[]": ["api", "route", "endpoint", "requests", "failed", "stalls"],
  "failures[]": [
    "at",
    "seq",
    "api",
    "route",
    "endpoint",
    "tag",
    "code",
    "phase",
    "message",
    "status",
    "remoteAddress",
    "requestId",
  ],
  "findings[]": ["id", "summary", "stalls", "failures", "confidence", "evidence", "nextStep"],
  verdict: [
    "cause",
    "title",
    "headline",
    "stalls",
    "ofStalls",
    "failures",
    "confidence",
    "phase",
    "hop",
    "where",
    "mechanism",
    "evidence",
    "nextStep",
    "alsoCauses",
    "ruledOut",
  ],
  "verdict.evidence[]": ["source", "text"],
  "verdict.alsoCauses[]": ["cause", "stalls", "failures"],
  "verdict.ruledOut[]": ["cause", "reason"],
  "evidence[]": ["id", "summary", "stalls", "confidence", "evidence", "nextStep"],
  eventLoopLagMs: ["p50", "p99", "max", "utilization", "affectedRequests", "thresholdMs", "samplePeriodMs"],
  coordinatedOmission: ["corrected", "expectedIntervalMs", "note"],
  "timeline[]": [
    "api",
    "route",
    "endpoint",
    "connection",
    "startMs",
    "endMs",
    "count",
    "p50Ms",
    "p99Ms",
    "maxMs",
    "stalls",
    "failures",
  ],
  "gates[]": ["gate", "passed", "series", "actual", "limit"],
};

const PHASE_MAPS = new Set(["latencyMs", "correctedLatencyMs", "histograms", "phasesMs"]);
const PHASE_SET: ReadonlySet<string> = new Set(PHASES);

/** Keep-warm series have the series' fields: `keepWarm[]…` reads as `series[]…`. */
function norm(path: string): string {
  return path.startsWith("keepWarm[]") ? `series[]${path.slice("keepWarm[]".length)}` : path;
}

/**
 * The documented path of a child key (docs/report-json.md): arrays as `[]`,
 * keys of per-phase maps as `<phase>`, keep-warm series as `series[]`.
 * Exported for the doc-drift test.
 */
export function childPath(parent: string, key: string): string {
  const p = norm(parent);
  const last = p.slice(p.lastIndexOf(".") + 1);
  if (PHASE_MAPS.has(last) && PHASE_SET.has(key)) return `${p}.<phase>`;
  return p === "" ? key : `${p}.${key}`;
}

function sortKeys(keys: string[], path: string): string[] {
  const order = ORDERS[norm(path)] ?? [];
  const rank = (k: string): number => {
    const i = order.indexOf(k);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** A deep copy with object keys in the documented order; unknown and free-form keys alphabetically. */
export function ordered(value: unknown, path = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => ordered(v, `${path}[]`));
  if (value instanceof Map) return ordered(Object.fromEntries(value), path);
  if (value !== null && typeof value === "object") {
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of sortKeys(Object.keys(src), path)) out[k] = ordered(src[k], childPath(path, k));
    return out;
  }
  return value;
}

/**
 * The report as a JSON document. Histograms appear only when the report was
 * built with `includeHistograms` (they are large).
 */
export function renderJson(report: Report): string {
  return [...renderJsonChunks(report)].join("");
}

/** JSON.stringify's text of `value` (2-space indent) as it reads `depth` levels down: later lines indented. */
function nested(value: unknown, depth: number): string | undefined {
  const text = JSON.stringify(value, null, 2);
  return text === undefined || depth === 0 ? text : text.replaceAll("\n", `\n${"  ".repeat(depth)}`);
}

/**
 * The text of {@link renderJson} in pieces, each ordered and stringified only when its turn comes: the
 * top-level keys one by one, and a top-level array (the timeline, the stall list) element by element. A
 * report over a week of history (161,280 timeline intervals) was one deep copy and one ~30 MB string,
 * redacted into a second, at the peak of `report --from … --json`; written in pieces it is never whole.
 * The pieces join to exactly JSON.stringify(ordered(report), null, 2) and a newline; a secret the redactor
 * knows sits inside one string value, so never across two pieces.
 */
export function* renderJsonChunks(report: Report): Generator<string> {
  const src = report as unknown as Record<string, unknown>;
  let first = true;
  for (const k of sortKeys(Object.keys(src), "")) {
    const path = childPath("", k);
    const v = src[k];
    if (Array.isArray(v) && v.length > 0) {
      yield `${first ? "{\n" : ",\n"}  ${JSON.stringify(k)}: [\n`;
      for (let i = 0; i < v.length; i++) {
        // An element that JSON cannot hold (undefined, a function) is null in an array, as JSON.stringify writes it.
        const text = nested(ordered(v[i], `${path}[]`), 2) ?? "null";
        yield `    ${text}${i < v.length - 1 ? ",\n" : "\n"}`;
      }
      yield "  ]";
    } else {
      const text = nested(ordered(v, path), 1);
      if (text === undefined) continue; // JSON.stringify leaves out a key whose value JSON cannot hold
      yield `${first ? "{\n" : ",\n"}  ${JSON.stringify(k)}: ${text}`;
    }
    first = false;
  }
  yield first ? "{}\n" : "\n}\n";
}
