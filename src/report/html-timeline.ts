/**
 * Latency over time, the SmokePing view, as inline SVG: one chart per probe
 * series on a shared time axis and a shared log latency axis. Per interval a
 * p50–p99 band (the "smoke"), the p50 line, a dot at the max; intervals with
 * stalls get a red tick along the top, with failures an orange tick along the
 * bottom; every stall of the report is a red marker at its own time and
 * latency. Every mark has a `<title>` (tooltip and accessible name).
 */

import { median } from "../diagnose/stalls.js";
import type { IntervalSummary, StallReport } from "../model.js";
import { axisMs, esc, logScale, ms, n1, seriesKey, seriesLabel, svgTitle, timeScale } from "./html-util.js";
import { fmtCount, fmtUtc, plural } from "./style.js";

const W = 960;
const H = 180;
const L = 58;
const R = 14;
const T = 14;
const B = 24;
/** Most intervals drawn per chart; more are merged, several per column. */
const MAX_COLUMNS = 480;
/** Most stall markers drawn per chart (the interval ticks still count every stall). */
const MAX_MARKERS = 2000;

export interface TimelineChartsInput {
  intervals: readonly IntervalSummary[];
  stalls: readonly StallReport[];
  /** Where the intervals came from, for the caption. */
  origin: "history" | "records" | "summary";
}

export function timelineCharts(input: TimelineChartsInput): string {
  const groups = new Map<string, IntervalSummary[]>();
  for (const iv of input.intervals) {
    const k = seriesKey(iv);
    const g = groups.get(k);
    if (g) g.push(iv);
    else groups.set(k, [iv]);
  }
  if (groups.size === 0) return `<p class="muted">No requests were timed, so there is nothing to plot.</p>`;
  const probeStalls = input.stalls.filter((s) => s.tag === undefined);
  let [t0, t1, lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0];
  for (const i of input.intervals) {
    t0 = Math.min(t0, i.startMs);
    t1 = Math.max(t1, i.endMs);
    if (i.count === 0) continue;
    lo = Math.min(lo, i.p50Ms);
    hi = Math.max(hi, i.maxMs);
  }
  for (const s of probeStalls) {
    const at = Date.parse(s.at);
    t0 = Math.min(t0, at);
    t1 = Math.max(t1, at);
    lo = Math.min(lo, s.totalMs);
    hi = Math.max(hi, s.totalMs);
  }
  if (!Number.isFinite(lo)) lo = 1;
  const x = timeScale(t0, t1, L, W - R);
  const y = logScale(lo, Math.max(hi, lo), H - B, T);
  const withApi = new Set(input.intervals.map((i) => i.api)).size > 1;
  const charts = [...groups.values()].map((list, n) => {
    const key = seriesKey(list[0]!);
    const mine = probeStalls.filter((s) => seriesKey(s) === key);
    return chart(list, mine, { x, y, withApi, id: `tl-${n}` });
  });
  const how = {
    history: "Each interval is one interval of recorded history.",
    records: "The run's requests binned into intervals of equal width (exact percentiles per interval).",
    summary:
      "No per-interval data: the band shows the run's overall p50–p99; stalls are marked at their own times.",
  }[input.origin];
  return `${legend()}<p class="muted">${esc(how)} Times in UTC; latency on a log scale.</p>\n${charts.join("\n")}`;
}

interface Axes {
  x: ReturnType<typeof timeScale>;
  y: ReturnType<typeof logScale>;
  withApi: boolean;
  id: string;
}

function chart(raw: readonly IntervalSummary[], stalls: readonly StallReport[], a: Axes): string {
  const list = merge([...raw].sort((p, q) => p.startMs - q.startMs));
  const first = list[0]!;
  const label = seriesLabel(first, a.withApi);
  const stallCount = list.reduce((n, i) => n + i.stalls, 0);
  const failCount = list.reduce((n, i) => n + i.failures, 0);
  const out: string[] = [];
  out.push(grid(a));
  const mids: string[] = [];
  for (const iv of list) {
    const x0 = a.x.at(iv.startMs);
    const x1 = Math.max(x0 + 1, a.x.at(iv.endMs) - 0.5);
    const mid = (x0 + x1) / 2;
    const tip =
      `${fmtUtc(iv.startMs)} – ${fmtUtc(iv.endMs)} UTC: ${plural(iv.count, "request")}` +
      (iv.count > 0 ? `, p50 ${ms(iv.p50Ms)}, p99 ${ms(iv.p99Ms)}, max ${ms(iv.maxMs)}` : "") +
      (iv.stalls > 0 ? `, ${plural(iv.stalls, "stall")}` : "") +
      (iv.failures > 0 ? `, ${fmtCount(iv.failures)} failed` : "");
    const marks: string[] = [];
    if (iv.count > 0) {
      const top = a.y.at(iv.p99Ms);
      const bottom = a.y.at(iv.p50Ms);
      marks.push(
        `<rect class="band" x="${n1(x0)}" y="${n1(top)}" width="${n1(x1 - x0)}" height="${n1(Math.max(1, bottom - top))}"/>`,
      );
      marks.push(
        `<circle class="${iv.stalls > 0 ? "max hot" : "max"}" cx="${n1(mid)}" cy="${n1(a.y.at(iv.maxMs))}" r="2.2"/>`,
      );
      mids.push(`${n1(mid)},${n1(bottom)}`);
    } else mids.push("");
    if (iv.stalls > 0)
      marks.push(
        `<rect class="stall-tick" x="${n1(x0)}" y="${T - 10}" width="${n1(Math.max(2, x1 - x0))}" height="6"/>`,
      );
    if (iv.failures > 0)
      marks.push(
        `<rect class="fail-tick" x="${n1(x0)}" y="${H - B + 2}" width="${n1(Math.max(2, x1 - x0))}" height="5"/>`,
      );
    out.push(`<g class="iv">${svgTitle(tip)}${marks.join("")}</g>`);
  }
  out.push(p50Path(mids));
  for (const s of stalls.slice(0, MAX_MARKERS)) {
    const cx = a.x.at(Date.parse(s.at));
    const cy = a.y.at(s.totalMs);
    const tip = `stall #${s.seq} at ${fmtUtc(Date.parse(s.at))} UTC: ${ms(s.totalMs)} (threshold ${ms(s.thresholdMs)}), mostly ${s.phase}; cause: ${s.cause}`;
    out.push(
      `<path class="stall" d="M${n1(cx)},${n1(cy - 6)}L${n1(cx + 5)},${n1(cy + 3)}L${n1(cx - 5)},${n1(cy + 3)}Z">${svgTitle(tip)}</path>`,
    );
  }
  const more = stalls.length > MAX_MARKERS ? `, ${fmtCount(MAX_MARKERS)} marked` : "";
  const caption = `${plural(raw.length, "interval")}, ${plural(stallCount, "stall")}${more}, ${fmtCount(failCount)} failed`;
  return (
    `<figure class="chart timeline"><figcaption><strong>${esc(label)}</strong> <span class="muted">${esc(caption)}</span></figcaption>` +
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${a.id}"><title id="${a.id}">${esc(`Latency over time: ${label}`)}</title>\n` +
    `${out.join("\n")}\n</svg></figure>`
  );
}

function grid(a: Axes): string {
  const parts: string[] = [];
  for (const t of a.y.ticks) {
    const yy = n1(a.y.at(t));
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}"/>`);
    parts.push(
      `<text class="axis" x="${L - 6}" y="${yy}" dy="0.35em" text-anchor="end">${esc(axisMs(t))}</text>`,
    );
  }
  for (const t of a.x.ticks) {
    const at = a.x.at(t.t);
    const xx = n1(at);
    const anchor = at > W - R - 30 ? "end" : "middle";
    parts.push(`<line class="grid" x1="${xx}" x2="${xx}" y1="${T}" y2="${H - B}"/>`);
    parts.push(`<text class="axis" x="${xx}" y="${H - 6}" text-anchor="${anchor}">${esc(t.label)}</text>`);
  }
  return `<g aria-hidden="true">${parts.join("")}</g>`;
}

/** The p50 line through interval midpoints, broken where an interval has no requests. */
function p50Path(mids: readonly string[]): string {
  let d = "";
  let pen = false;
  for (const m of mids) {
    if (m === "") pen = false;
    else {
      d += `${pen ? "L" : "M"}${m}`;
      pen = true;
    }
  }
  return d ? `<path class="p50" d="${d}" aria-hidden="true"/>` : "";
}

/** Merges neighbouring intervals so at most MAX_COLUMNS remain (median of p50s, worst p99 and max, sums). */
function merge(list: IntervalSummary[]): IntervalSummary[] {
  if (list.length <= MAX_COLUMNS) return list;
  const per = Math.ceil(list.length / MAX_COLUMNS);
  const out: IntervalSummary[] = [];
  for (let i = 0; i < list.length; i += per) {
    const chunk = list.slice(i, i + per);
    const timed = chunk.filter((c) => c.count > 0);
    const p50s = timed.map((c) => c.p50Ms).sort((p, q) => p - q);
    out.push({
      ...chunk[0]!,
      endMs: chunk[chunk.length - 1]!.endMs,
      count: chunk.reduce((n, c) => n + c.count, 0),
      p50Ms: p50s.length === 0 ? 0 : median(p50s),
      p99Ms: Math.max(0, ...timed.map((c) => c.p99Ms)),
      maxMs: Math.max(0, ...timed.map((c) => c.maxMs)),
      stalls: chunk.reduce((n, c) => n + c.stalls, 0),
      failures: chunk.reduce((n, c) => n + c.failures, 0),
    });
  }
  return out;
}

function legend(): string {
  const sw = (inner: string): string =>
    `<svg class="swatch" viewBox="0 0 16 12" aria-hidden="true">${inner}</svg>`;
  const items = [
    [sw(`<path class="p50" d="M0,6L16,6"/>`), "p50"],
    [sw(`<rect class="band" x="0" y="2" width="16" height="8"/>`), "p50–p99"],
    [sw(`<circle class="max" cx="8" cy="6" r="2.5"/>`), "max"],
    [sw(`<path class="stall" d="M8,1L13,10L3,10Z"/>`), "stall"],
    [sw(`<rect class="stall-tick" x="0" y="3" width="16" height="6"/>`), "interval with stalls"],
    [sw(`<rect class="fail-tick" x="0" y="3" width="16" height="6"/>`), "interval with failures"],
  ];
  return `<ul class="legend">${items.map(([s, t]) => `<li>${s}${esc(t)}</li>`).join("")}</ul>`;
}
