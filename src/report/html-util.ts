/**
 * Building blocks of the HTML reporter: escaping (every piece of user data —
 * route names, endpoints, messages, evidence — goes through {@link esc}),
 * the scales of the inline SVG charts (log latency axis, time axis) and a few
 * labels shared by the sections.
 */
import type { ConnectionMode } from "../model.js";
import { fmtMs, fmtUtc } from "./style.js";

const ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A number for SVG coordinates: 1 decimal, no `-0`. */
export function n1(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

/** Latency for prose and titles: "12.3 ms", "1,003 ms". */
export function ms(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "-" : `${fmtMs(v)} ms`;
}

/** Latency for an axis label: "100µs", "1ms", "10s". */
export function axisMs(v: number): string {
  if (v < 1) return `${Math.round(v * 1000)}µs`;
  if (v < 1000) return `${Number(v.toPrecision(3))}ms`;
  return `${Number((v / 1000).toPrecision(3))}s`;
}

/** What identifies a series on the page (api only when the report has several). */
export interface SeriesLike {
  api: string;
  route: string;
  endpoint: string;
  connection: ConnectionMode;
}

export function seriesKey(s: SeriesLike): string {
  return [s.api, s.route, s.endpoint, s.connection].join("\u0000");
}

export function seriesLabel(s: SeriesLike, withApi: boolean): string {
  return `${withApi ? `${s.api}/` : ""}${s.route} ${s.endpoint} (${s.connection})`;
}

/** A log10 scale from a latency domain (ms) onto pixels, and its decade ticks. */
export interface LogScale {
  loMs: number;
  hiMs: number;
  at(ms: number): number;
  ticks: number[];
}

/**
 * Log scale over [minMs, maxMs] widened to whole decades (at least one), mapped
 * onto [px0, px1] (px1 may be less than px0 for a y axis growing upwards).
 */
export function logScale(minMs: number, maxMs: number, px0: number, px1: number): LogScale {
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(minMs, maxMs))));
  let hi = 10 ** Math.ceil(Math.log10(Math.max(0.01, maxMs, minMs)));
  if (hi <= lo) hi = lo * 10;
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const at = (v: number): number => {
    const x = (Math.log10(Math.min(hi, Math.max(lo, v))) - l0) / (l1 - l0);
    return px0 + x * (px1 - px0);
  };
  const ticks: number[] = [];
  const decades = Math.round(l1 - l0);
  for (let d = 0; d <= decades; d++) {
    const base = 10 ** (l0 + d);
    ticks.push(base);
    if (decades <= 2 && d < decades) ticks.push(base * 2, base * 5);
  }
  return { loMs: lo, hiMs: hi, at, ticks };
}

const STEPS_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
  3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
];

/** A linear time scale (epoch ms onto pixels) with ticks on round UTC times. */
export interface TimeScale {
  startMs: number;
  endMs: number;
  at(t: number): number;
  ticks: { t: number; label: string }[];
}

export function timeScale(startMs: number, endMs: number, px0: number, px1: number, maxTicks = 7): TimeScale {
  const end = endMs > startMs ? endMs : startMs + 1000;
  const span = end - startMs;
  const at = (t: number): number => px0 + ((t - startMs) / span) * (px1 - px0);
  const step = STEPS_MS.find((s) => span / s <= maxTicks) ?? STEPS_MS[STEPS_MS.length - 1]!;
  const ticks: { t: number; label: string }[] = [];
  for (let t = Math.ceil(startMs / step) * step; t <= end; t += step) {
    const stamp = fmtUtc(t, step < 60_000);
    ticks.push({ t, label: step >= 86_400_000 ? stamp.slice(5, 10) : stamp.slice(11) });
  }
  return { startMs, endMs: end, at, ticks };
}

/** A `<title>` child: the tooltip and accessible name of an SVG mark. */
export function svgTitle(text: string): string {
  return `<title>${esc(text)}</title>`;
}

/** Wraps rows in a sortable table with a caption (the inline script sorts on header clicks). */
/** An HTML table; `cls` adds classes (e.g. `fit`: full width, long cells wrap). */
export function table(
  caption: string,
  head: string[],
  rows: string[][],
  numericFrom = 1,
  cls?: string,
): string {
  const th = head
    .map((h, i) => `<th scope="col"${i >= numericFrom ? ' class="num"' : ""}>${esc(h)}</th>`)
    .join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td>${c}</td>`)).join("")}</tr>`,
    )
    .join("\n");
  return `<div class="scroll"><table class="sortable${cls ? ` ${cls}` : ""}"><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A numeric table cell: text, with the raw value for sorting. */
export function numCell(text: string, value: number | undefined): string {
  return `<span class="num" data-v="${value === undefined || !Number.isFinite(value) ? "" : String(value)}">${esc(text)}</span>`;
}
