/**
 * Per-writer (per-prober) counts for reports over a shared store: rounds,
 * requests, failures and stalls of each writer, overall and per series
 * (api × route × endpoint). A stall seen from one prober only (one AZ, one
 * region) shows here as stalls in one writer's row and none in the others'
 * for the same series. This is data, not a finding: a diagnosis detector can
 * read `report.writers` (or the `writer` of each record) to raise one.
 */
import Table from "cli-table3";
import type { IntervalSummary, WriterReport, WriterSeriesCounts } from "../model.js";
import { seriesId } from "../model.js";
import { fmtCount, painter, plural } from "./style.js";

/** Per-writer counts from the probe intervals (one per round × series, each with its writer). */
export function writerReports(intervals: readonly (IntervalSummary & { writer: string })[]): WriterReport[] {
  const byWriter = new Map<
    string,
    {
      w: WriterReport;
      rounds: Set<number>;
      first: number;
      last: number;
      series: Map<string, WriterSeriesCounts>;
    }
  >();
  for (const iv of intervals) {
    let g = byWriter.get(iv.writer);
    if (!g) {
      g = {
        w: {
          writer: iv.writer,
          rounds: 0,
          requests: 0,
          failed: 0,
          stalls: 0,
          firstRoundAt: "",
          lastRoundAt: "",
          series: [],
        },
        rounds: new Set(),
        first: iv.startMs,
        last: iv.startMs,
        series: new Map(),
      };
      byWriter.set(iv.writer, g);
    }
    g.rounds.add(iv.startMs);
    g.first = Math.min(g.first, iv.startMs);
    g.last = Math.max(g.last, iv.startMs);
    g.w.requests += iv.count;
    g.w.failed += iv.failures;
    g.w.stalls += iv.stalls;
    const id = seriesId(iv);
    let s = g.series.get(id);
    if (!s) {
      s = { api: iv.api, route: iv.route, endpoint: iv.endpoint, requests: 0, failed: 0, stalls: 0 };
      g.series.set(id, s);
    }
    s.requests += iv.count;
    s.failed += iv.failures;
    s.stalls += iv.stalls;
  }
  return [...byWriter.values()]
    .map((g) => ({
      ...g.w,
      rounds: g.rounds.size,
      firstRoundAt: new Date(g.first).toISOString(),
      lastRoundAt: new Date(g.last).toISOString(),
      series: [...g.series.values()],
    }))
    .sort((a, b) => a.writer.localeCompare(b.writer));
}

/**
 * The terminal table: one row per writer × series that stalled anywhere,
 * so a series that stalls from one prober only stands out. Empty string for
 * one writer (nothing to compare).
 */
export function renderWriters(writers: readonly WriterReport[], opts: { color: boolean }): string {
  if (writers.length < 2) return "";
  const paint = painter(opts.color);
  const stalled = new Set<string>();
  for (const w of writers) for (const s of w.series) if (s.stalls > 0) stalled.add(seriesId(s));
  const t = new Table({
    head: [
      "writer",
      "rounds",
      "requests",
      "failed",
      "stalls",
      ...(stalled.size > 0 ? ["stalls by series"] : []),
    ],
    style: { head: [], border: [] },
    colAligns: ["left", "right", "right", "right", "right", "left"],
  });
  for (const w of writers) {
    const bySeries = w.series
      .filter((s) => stalled.has(seriesId(s)))
      .map((s) => `${s.api} ${s.route} ${s.endpoint}: ${s.stalls}/${s.requests}`)
      .join("\n");
    t.push([
      w.writer,
      fmtCount(w.rounds),
      fmtCount(w.requests),
      fmtCount(w.failed),
      w.stalls > 0 ? paint("red", fmtCount(w.stalls)) : "0",
      ...(stalled.size > 0 ? [bySeries] : []),
    ]);
  }
  return `Per writer (${plural(writers.length, "prober")}; stalls/requests per series that stalled anywhere)\n${t.toString()}\n`;
}
