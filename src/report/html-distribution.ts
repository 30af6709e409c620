/**
 * Percentile distribution per route: a sortable table of the `total`
 * percentiles per series (probe and, beside them, keep-warm), the per-phase
 * percentiles behind a disclosure, and per series a chart of its latency
 * distribution — the buckets of `series.distribution` (the terminal's
 * log-spaced buckets, see distribution.ts) as bars of log height on a log
 * latency axis, with p50 / p90 / p99 / p99.9 / max marked on it.
 */

import type { PhaseStats, SeriesReport } from "../model.js";
import { PHASES } from "../model.js";
import { DISTRIBUTION_EDGES_MS } from "./distribution.js";
import { axisMs, esc, logScale, ms, n1, numCell, seriesLabel, svgTitle, table } from "./html-util.js";
import { fmtCount, fmtMs, plural } from "./style.js";

const W = 460;
const H = 170;
const L = 36;
const R = 12;
const T = 44;
const B = 22;

const MARKS = [
  ["p50", "p50"],
  ["p90", "p90"],
  ["p99", "p99"],
  ["p999", "p99.9"],
  ["max", "max"],
] as const;

/** The percentile table of `total` per series; `corrected` adds the coordinated-omission corrected p99. */
export function percentileTable(caption: string, series: readonly SeriesReport[], withApi: boolean): string {
  const corrected = series.some((s) => s.correctedLatencyMs?.total);
  const head = [
    "series",
    "requests",
    "ok",
    "failed",
    "stalls",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "mean ms",
  ];
  if (corrected) head.push("p99 corrected ms");
  const rows = series.map((s) => {
    const t = s.latencyMs.total;
    const row = [
      esc(seriesLabel(s, withApi)),
      numCell(fmtCount(s.count), s.count),
      numCell(fmtCount(s.ok), s.ok),
      numCell(fmtCount(s.failed), s.failed),
      s.stalls > 0 ? `<span class="bad">${numCell(fmtCount(s.stalls), s.stalls)}</span>` : numCell("0", 0),
      ...(["p50", "p90", "p99", "p999", "max", "mean"] as const).map((k) => numCell(fmtMs(t?.[k]), t?.[k])),
    ];
    if (corrected) {
      const c = s.correctedLatencyMs?.total?.p99;
      row.push(numCell(fmtMs(c), c));
    }
    return row;
  });
  return table(caption, head, rows);
}

/** Per-phase percentiles of every series, one disclosure each. */
export function phaseTables(series: readonly SeriesReport[], withApi: boolean): string {
  return series
    .map((s) => {
      const label = seriesLabel(s, withApi);
      const rows = PHASES.filter((p) => s.latencyMs[p]).map((p) => {
        const st = s.latencyMs[p] as PhaseStats;
        return [
          esc(p),
          numCell(fmtCount(st.count), st.count),
          ...(["p50", "p90", "p99", "p999", "max", "mean"] as const).map((k) => numCell(fmtMs(st[k]), st[k])),
        ];
      });
      const head = ["phase", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "mean ms"];
      return `<details><summary>Phases of ${esc(label)}</summary>${table(`Latency per phase: ${label}`, head, rows)}</details>`;
    })
    .join("\n");
}

/** One distribution chart per series. */
export function distributionCharts(series: readonly SeriesReport[], withApi: boolean): string {
  const charts = series
    .filter((s) => s.latencyMs.total)
    .map((s, i) => distributionChart(s, withApi, `dist-${i}`));
  return charts.length > 0 ? `<div class="cards">${charts.join("\n")}</div>` : "";
}

function distributionChart(s: SeriesReport, withApi: boolean, id: string): string {
  const total = s.latencyMs.total as PhaseStats;
  const edges = s.distribution?.edgesMs ?? [...DISTRIBUTION_EDGES_MS];
  const counts = s.distribution?.counts ?? [];
  const used = counts.map((c, i) => (c > 0 ? i : -1)).filter((i) => i >= 0);
  const loEdge = edges[Math.max(0, (used[0] ?? 0) - 1)] ?? 0.1;
  const hiEdge = edges[Math.min(edges.length - 1, (used[used.length - 1] ?? 0) + 2)] ?? total.max;
  const x = logScale(Math.min(loEdge, total.p50), Math.max(hiEdge, total.max * 1.01), L, W - R);
  const yBase = H - B;
  const maxCount = Math.max(1, ...counts);
  const height = (c: number): number =>
    c <= 0 ? 0 : Math.max(2, (Math.log1p(c) / Math.log1p(maxCount)) * (yBase - T));
  const parts: string[] = [];
  for (const t of x.ticks) {
    const at = x.at(t);
    const xx = n1(at);
    const anchor = at > W - R - 20 ? "end" : "middle";
    parts.push(
      `<g aria-hidden="true"><line class="grid" x1="${xx}" x2="${xx}" y1="${T}" y2="${yBase}"/>` +
        `<text class="axis" x="${xx}" y="${H - 6}" text-anchor="${anchor}">${esc(axisMs(t))}</text></g>`,
    );
  }
  counts.forEach((c, i) => {
    if (c <= 0) return;
    const from = edges[i] ?? 0;
    const to = edges[i + 1];
    const x0 = x.at(i === 0 ? Math.min(from, x.loMs) : from);
    const x1 = x.at(to ?? from * 2.5);
    const h = height(c);
    const range =
      to === undefined
        ? `≥ ${fmtMs(from)} ms`
        : i === 0
          ? `< ${fmtMs(to)} ms`
          : `${fmtMs(from)}–${fmtMs(to)} ms`;
    parts.push(
      `<rect class="bar" x="${n1(x0 + 1)}" y="${n1(yBase - h)}" width="${n1(Math.max(1, x1 - x0 - 2))}" height="${n1(h)}">${svgTitle(`${range}: ${plural(c, "request")}`)}</rect>`,
    );
  });
  parts.push(...percentileMarks(total, x.at, yBase));
  const label = seriesLabel(s, withApi);
  const note = s.distribution
    ? ""
    : `<p class="muted">No bucket counts in this report: percentiles only.</p>`;
  return (
    `<figure class="chart dist"><figcaption><strong>${esc(label)}</strong> <span class="muted">` +
    `${esc(`p50 ${ms(total.p50)} · p99 ${ms(total.p99)} · max ${ms(total.max)}`)}</span></figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}"><title id="${id}">${esc(`Distribution of total latency: ${label}`)}</title>` +
    `<line class="axisline" x1="${L}" x2="${W - R}" y1="${yBase}" y2="${yBase}" aria-hidden="true"/>${parts.join("")}</svg>${note}</figure>`
  );
}

/**
 * Dashed lines at p50 / p90 / p99 / p99.9 / max. Percentiles at the same spot
 * share one label ("p99=p99.9=max"); labels go into up to three rows so
 * neighbours do not overprint.
 */
function percentileMarks(total: PhaseStats, at: (ms: number) => number, yBase: number): string[] {
  const groups: { x: number; names: string[]; tips: string[]; hot: boolean }[] = [];
  for (const [key, name] of MARKS) {
    const xx = at(total[key]);
    const tip = `${name}: ${ms(total[key])}`;
    const g = groups.find((q) => Math.abs(q.x - xx) < 2);
    if (g) {
      g.names.push(name);
      g.tips.push(tip);
      g.hot ||= key === "max";
    } else groups.push({ x: xx, names: [name], tips: [tip], hot: key === "max" });
  }
  const rowEnds: number[] = [];
  return groups.map((g) => {
    const label = g.names.join("=");
    const half = (label.length * 5.8) / 2;
    const cx = Math.min(W - R - half, Math.max(L + half, g.x));
    let row = rowEnds.findIndex((end) => end + 4 < cx - half);
    if (row < 0) row = rowEnds.length < 3 ? rowEnds.length : 2;
    rowEnds[row] = cx + half;
    const y = T - 6 - row * 12;
    return (
      `<g class="${g.hot ? "pmark hot" : "pmark"}">${svgTitle(g.tips.join(", "))}` +
      `<line x1="${n1(g.x)}" x2="${n1(g.x)}" y1="${n1(y + 2)}" y2="${yBase}"/>` +
      `<text class="plabel" x="${n1(cx)}" y="${n1(y)}" text-anchor="middle">${esc(label)}</text></g>`
    );
  });
}
