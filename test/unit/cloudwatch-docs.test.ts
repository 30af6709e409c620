/**
 * docs/cloudwatch.md against the registry (drift), and the CLI-facing
 * helpers that turn records and reports into round metrics.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countsFromRecords, countsFromReport, histogramsFromReport } from "../../src/aws/metrics/index.js";
import { METRIC_KEYS, METRICS, type MetricDef } from "../../src/aws/metrics/registry.js";
import type { Report, RequestRecord } from "../../src/model.js";
import { encodeHistogram, newHistogram } from "../../src/record/histograms.js";
import { makeRecord } from "../helpers/records.js";

const doc = readFileSync(join(import.meta.dirname, "../../docs/cloudwatch.md"), "utf8");

describe("docs/cloudwatch.md", () => {
  it("has one table row per registry metric, with its unit and kind, and no row for an unknown metric", () => {
    const rows = [...doc.matchAll(/^\| `([A-Za-z]+)` \| ([A-Za-z]+) \| ([a-z]+) \| ([^|]*) \|/gm)];
    const documented = new Map(rows.map((m) => [m[1], { unit: m[2], kind: m[3], extra: m[4] ?? "" }]));
    expect([...documented.keys()].sort()).toEqual(METRIC_KEYS.map((k) => METRICS[k].name).sort());
    for (const k of METRIC_KEYS) {
      const def: MetricDef = METRICS[k];
      const row = documented.get(def.name)!;
      expect(row.unit, def.name).toBe(def.unit);
      expect(row.kind, def.name).toBe(def.kind);
      for (const d of def.dimensions.filter((x) => !["Api", "Route", "Endpoint"].includes(x))) {
        expect(row.extra, def.name).toContain(`\`${d}\``);
      }
    }
  });

  it("registry names are unique", () => {
    const names = METRIC_KEYS.map((k) => METRICS[k].name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("round inputs for the CLI", () => {
  const rec = (over: Partial<RequestRecord>): RequestRecord => makeRecord({ endpoint: "/e", ...over });

  it("counts probe records only, failures by class, stalls by seq", () => {
    const counts = countsFromRecords(
      [
        rec({ seq: 1 }),
        rec({ seq: 2, ok: false, error: { code: "reset", phase: "ttfb", message: "x" } }),
        rec({ seq: 3, tag: "keep-warm" }),
        rec({ seq: 4, connection: "reuse" }),
      ],
      new Set([4]),
    );
    expect(counts).toEqual([
      { api: "a", route: "r", endpoint: "/e", requests: 3, ok: 2, stalls: 1, failures: { reset: 1 } },
    ]);
  });

  it("takes counts and histograms from a report, summing connection modes", () => {
    const h = newHistogram();
    h.recordValue(12_000);
    const series = (connection: "fresh" | "reuse") => ({
      api: "a",
      route: "r",
      endpoint: "/e",
      connection,
      count: 2,
      ok: 1,
      failed: 1,
      stalls: 1,
      latencyMs: {},
      histograms: { total: encodeHistogram(h) },
    });
    const report = {
      series: [series("fresh"), series("reuse")],
      failures: [
        {
          at: "",
          seq: 1,
          api: "a",
          route: "r",
          endpoint: "/e",
          code: "http-5xx",
          phase: "ttfb",
          message: "",
        },
        {
          at: "",
          seq: 2,
          api: "a",
          route: "r",
          endpoint: "/e",
          code: "http-5xx",
          phase: "ttfb",
          message: "",
        },
      ],
    } as unknown as Report;
    expect(countsFromReport(report)).toEqual([
      { api: "a", route: "r", endpoint: "/e", requests: 4, ok: 2, stalls: 2, failures: { "http-5xx": 2 } },
    ]);
    const set = histogramsFromReport(report);
    expect(set.size).toBe(2);
    expect(
      set.get({ api: "a", route: "r", endpoint: "/e", connection: "reuse", tag: "probe" }, "total")
        ?.totalCount,
    ).toBe(1);
  });
});
