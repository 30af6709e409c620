import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Report, RequestRecord } from "../../src/model.js";
import { buildReport } from "../../src/report/build.js";
import { evaluateGates, type GateSpec, parseGates } from "../../src/report/gates.js";
import { childPath, ordered, renderJson, renderJsonChunks } from "../../src/report/json.js";
import { writerReports } from "../../src/report/writers.js";
import { fixtureInput, fixtureIntervals, rec } from "./report-fixture.js";

const DOC = readFileSync(join(import.meta.dirname, "../../docs/report-json.md"), "utf8");
/** Documented paths, in document order: the first column of every field table. */
const DOCUMENTED = [...DOC.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
const FREE_FORM = new Set(["options", "findings[].evidence", "evidence[].evidence"]);

/** Every object key of a JSON value as a documented path (`series[].latencyMs.<phase>.p50`), in output order. */
function paths(value: unknown, path = "", out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) paths(v, `${path}[]`, out);
  } else if (value !== null && typeof value === "object" && !FREE_FORM.has(path)) {
    for (const [k, v] of Object.entries(value)) {
      const p = childPath(path, k);
      out.push(p);
      paths(v, p, out);
    }
  }
  return out;
}

/** The reports with every optional field present between them. */
function maximalReports(): Report[] {
  const failedPing = rec({
    seq: 500,
    tag: "keep-warm",
    ok: false,
    status: 503,
    remoteAddress: "10.0.1.17",
    requestId: "req-0500",
    phasesMs: { dns: 1, connect: 2, tls: 7, ttfb: 20, transfer: 0.2, total: 30.2 },
    error: { code: "http-5xx", phase: "assert", message: "HTTP 503 Service Unavailable" },
  });
  const input = fixtureInput({
    includeHistograms: true,
    expectedIntervalMs: 250,
    timeline: fixtureIntervals(),
  });
  const lab = buildReport({ ...input, records: [...input.records, failedPing] });
  lab.gates = evaluateGates(lab, parseGates({ maxStalls: 0, threshold: ["p(99)<1"] }) as GateSpec);
  const historyInput = fixtureInput({
    source: { kind: "history", dir: "/var/lib/stallwatch", since: "24h", until: "2024-05-02T00:00:00Z" },
  });
  // Read back from a store, every record carries the writer of its round; the report counts per writer.
  for (const r of historyInput.records as RequestRecord[]) r.writer = "us-west-2a";
  const history = buildReport(historyInput);
  history.writers = writerReports(fixtureIntervals().map((iv) => ({ ...iv, writer: "us-west-2a" })));
  return [lab, history];
}

describe("renderJson", () => {
  it("prints 2-space indented JSON with a trailing newline that parses back to the report", () => {
    const report = buildReport(fixtureInput());
    const text = renderJson(report);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.split("\n")[1]).toBe('  "version": 1,');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it("orders keys the same whatever order the objects were built in", () => {
    const report = buildReport(fixtureInput({ timeline: fixtureIntervals() }));
    const reversed = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reversed);
      if (v !== null && typeof v === "object") {
        return Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reversed(x)]),
        );
      }
      return v;
    };
    const text = renderJson(report);
    expect(renderJson(reversed(report) as Report)).toBe(text);
    expect(renderJson(buildReport(fixtureInput({ timeline: fixtureIntervals() })))).toBe(text);
    const top = Object.keys(JSON.parse(text));
    expect(top.slice(0, 4)).toEqual(["version", "generatedAt", "source", "options"]);
    const series = JSON.parse(text).series[0];
    expect(Object.keys(series).slice(0, 5)).toEqual(["api", "route", "endpoint", "connection", "count"]);
    expect(Object.keys(series.latencyMs)).toEqual(["dns", "connect", "tls", "ttfb", "transfer", "total"]);
    // Free-form evidence keys alphabetically.
    expect(Object.keys(JSON.parse(text).findings[0].evidence)).toEqual([
      "addresses",
      "n",
      "nearOneS",
      "nearThreeS",
      "pValue",
    ]);
  });

  it("in pieces joins to exactly the whole document: every report shape, empty arrays, keys JSON leaves out", () => {
    const reports: Report[] = [
      ...maximalReports(),
      buildReport(fixtureInput()),
      buildReport(fixtureInput({ timeline: [] })),
      // An empty array, and a key whose value JSON cannot hold (left out of the document).
      {
        ...buildReport(fixtureInput({ timeline: fixtureIntervals() })),
        notes: [],
        gates: undefined,
      } as unknown as Report,
    ];
    for (const report of reports) {
      const whole = `${JSON.stringify(ordered(report), null, 2)}\n`;
      const pieces = [...renderJsonChunks(report)];
      expect(pieces.join("")).toBe(whole);
      expect(renderJson(report)).toBe(whole);
    }
    // A timeline is written interval by interval, not as one piece.
    const long = buildReport(fixtureInput({ timeline: fixtureIntervals() }));
    expect([...renderJsonChunks(long)].length).toBeGreaterThan((long.timeline?.length ?? 0) + 1);
  });

  it("carries histograms only when the report was built with them", () => {
    expect(renderJson(buildReport(fixtureInput()))).not.toContain('"histograms"');
    const withH = renderJson(buildReport(fixtureInput({ includeHistograms: true })));
    expect(withH).toContain('"histograms"');
    expect(withH).toContain('"total": "HISTFAAAA');
  });
});

describe("docs/report-json.md", () => {
  it("documents every key a real report contains", () => {
    const seen = new Set(maximalReports().flatMap((r) => paths(JSON.parse(renderJson(r)))));
    const undocumented = [...seen].filter((p) => !DOCUMENTED.includes(p));
    expect(undocumented).toEqual([]);
    expect(seen.size).toBeGreaterThan(100);
  });

  it("documents nothing a report does not contain", () => {
    const seen = new Set(maximalReports().flatMap((r) => paths(JSON.parse(renderJson(r)))));
    expect(DOCUMENTED.filter((p) => !seen.has(p))).toEqual([]);
  });

  it("lists the fields in the order the JSON prints them", () => {
    const check = (value: unknown, path: string): void => {
      if (Array.isArray(value)) {
        for (const v of value) check(v, `${path}[]`);
        return;
      }
      if (value === null || typeof value !== "object" || FREE_FORM.has(path)) return;
      const children = Object.keys(value).map((k) => childPath(path, k));
      const positions = children.map((p) => DOCUMENTED.indexOf(p));
      expect({ path, positions }).toEqual({ path, positions: [...positions].sort((a, b) => a - b) });
      for (const [k, v] of Object.entries(value)) check(v, childPath(path, k));
    };
    for (const report of maximalReports()) check(JSON.parse(renderJson(report)), "");
  });

  it("states a unit or type for every documented field", () => {
    const rows = [...DOC.matchAll(/^\| `([^`]+)` \| ((?:[^|\\]|\\\|)+) \| (.+) \|$/gm)];
    expect(rows.length).toBe(DOCUMENTED.length);
    for (const [, path, type, meaning] of rows) {
      expect(type!.trim(), path).not.toBe("");
      // Every plain number states its unit: milliseconds, or a 0..1 ratio.
      if (type!.trim() === "number" || type!.trim() === "number[]") {
        expect(meaning, path).toMatch(/\bms\b|0\.\.1/);
      }
    }
  });
});
