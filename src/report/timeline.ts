/**
 * Latency over time per series — the SmokePing view in a terminal. Few
 * intervals: one row each (p50 / p99 / max, and a strip on a log axis where
 * ● is the median, ━ runs to p99 and × marks the max). Many intervals: a
 * compressed sparkline per series, several intervals per column. Stalls are
 * marked with `!` (red when colour is on) in both.
 */
import Table from "cli-table3";
import { median as medianOf } from "../diagnose/stalls.js";
import type { IntervalSummary } from "../model.js";
import { BARS, fmtCount, fmtMs, fmtUtc, type Paint, painter, plural } from "./style.js";

export interface TimelineOptions {
  color: boolean;
  /** Columns to fit into. Default 100. */
  width?: number;
  /** Most intervals per series shown as rows before switching to sparklines. Default 24. */
  maxRows?: number;
}

const AXIS_LO_MS = 0.1;
const AXIS_HI_MS = 60_000;

export function renderTimeline(intervals: readonly IntervalSummary[], options: TimelineOptions): string {
  const width = Math.max(40, options.width ?? 100);
  const paint = painter(options.color);
  const maxRows = options.maxRows ?? 24;
  const groups = new Map<string, IntervalSummary[]>();
  for (const iv of intervals) {
    const id = [iv.api, iv.route, iv.endpoint, iv.connection].join("\u0000");
    const g = groups.get(id);
    if (g) g.push(iv);
    else groups.set(id, [iv]);
  }
  if (groups.size === 0) return "no recorded intervals\n";
  const withApi = new Set(intervals.map((i) => i.api)).size > 1;
  const out: string[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const label = `${withApi ? `${first.api}/` : ""}${first.route} ${first.endpoint} ${first.connection}`;
    const stalls = list.reduce((n, i) => n + i.stalls, 0);
    const seconds = needsSeconds(list);
    const span = `${fmtUtc(first.startMs, seconds)} → ${fmtUtc(last.endMs, seconds)}`;
    const summary = `${plural(list.length, "interval")}, ${span}${stalls > 0 ? `, ${plural(stalls, "stall")}` : ""}`;
    out.push(`${paint("bold", label)}  ${paint("dim", `(${summary})`)}`);
    out.push(
      ...(list.length <= maxRows ? rows(list, paint, width, seconds) : sparklines(list, paint, width)),
      "",
    );
  }
  return `${out.join("\n").trimEnd()}\n`;
}

/**
 * Times at the rounds' resolution: with seconds when intervals start less
 * than a minute apart (5-second rounds would otherwise print the same minute
 * row after row), minutes otherwise.
 */
export function needsSeconds(list: readonly IntervalSummary[]): boolean {
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1] as IntervalSummary;
    const b = list[i] as IntervalSummary;
    if (b.startMs - a.startMs < 60_000 || fmtUtc(a.startMs, false) === fmtUtc(b.startMs, false)) return true;
  }
  return (
    list.length === 1 && (list[0] as IntervalSummary).endMs - (list[0] as IntervalSummary).startMs < 60_000
  );
}

/** Column (0..w-1) of a latency on the log axis 0.1 ms … 60 s. */
export function axisPos(ms: number, w: number): number {
  const lo = Math.log10(AXIS_LO_MS);
  const hi = Math.log10(AXIS_HI_MS);
  const x = (Math.log10(Math.max(ms, AXIS_LO_MS)) - lo) / (hi - lo);
  return Math.max(0, Math.min(w - 1, Math.round(x * (w - 1))));
}

function ruler(w: number): string {
  const chars = Array.from({ length: w }, () => " ");
  let free = 0;
  for (const [label, ms] of [
    ["0.1ms", 0.1],
    ["1ms", 1],
    ["10ms", 10],
    ["100ms", 100],
    ["1s", 1000],
    ["10s", 10_000],
  ] as const) {
    const p = axisPos(ms, w);
    if (p < free || p + label.length > w) continue;
    [...label].forEach((c, i) => {
      chars[p + i] = c;
    });
    free = p + label.length + 1;
  }
  return chars.join("").trimEnd();
}

function strip(iv: IntervalSummary, w: number, paint: Paint): string {
  const chars = Array.from({ length: w }, () => " ");
  if (iv.count === 0) return "";
  const p50 = axisPos(iv.p50Ms, w);
  const p99 = axisPos(iv.p99Ms, w);
  const max = axisPos(iv.maxMs, w);
  for (let i = p99 + 1; i < max; i++) chars[i] = "·";
  for (let i = p50 + 1; i <= p99; i++) chars[i] = "━";
  chars[p50] = "●";
  if (max > p99) chars[max] = "×";
  const s = chars.join("").trimEnd();
  if (iv.stalls === 0 || max <= p50) return s;
  // Paint the max marker red: split before it.
  const at = Math.max(max, p99);
  return s.slice(0, at) + paint("red", s.slice(at, at + 1)) + s.slice(at + 1);
}

function rows(list: readonly IntervalSummary[], paint: Paint, width: number, seconds: boolean): string[] {
  const w = Math.max(12, Math.min(40, width - 66 - (seconds ? 3 : 0)));
  const t = new Table({
    head: ["start", "n", "p50", "p99", "max", ruler(w), ""].map((h) => paint("dim", h)),
    colAligns: ["left", "right", "right", "right", "right", "left", "left"],
    chars: Object.fromEntries(
      [
        "top",
        "top-mid",
        "top-left",
        "top-right",
        "bottom",
        "bottom-mid",
        "bottom-left",
        "bottom-right",
        "left",
        "left-mid",
        "mid",
        "mid-mid",
        "right",
        "right-mid",
      ]
        .map((k) => [k, ""])
        .concat([["middle", " "]]),
    ),
    style: { head: [], border: [], "padding-left": 0, "padding-right": 2 },
  });
  for (const iv of list) {
    const marks = [
      iv.stalls > 0 ? paint("red", `! ${plural(iv.stalls, "stall")}`) : "",
      iv.failures > 0 ? paint("yellow", `${fmtCount(iv.failures)} failed`) : "",
    ]
      .filter(Boolean)
      .join(" ");
    const empty = iv.count === 0;
    t.push([
      fmtUtc(iv.startMs, seconds),
      fmtCount(iv.count),
      empty ? "-" : fmtMs(iv.p50Ms),
      empty ? "-" : fmtMs(iv.p99Ms),
      empty ? "-" : iv.stalls > 0 ? paint("red", fmtMs(iv.maxMs)) : fmtMs(iv.maxMs),
      strip(iv, w, paint),
      marks,
    ]);
  }
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .map((l) => `  ${l}`);
}

interface Bin {
  p50: number[];
  p99: number;
  max: number;
  count: number;
  stalls: number;
  failures: number;
}

function sparklines(list: readonly IntervalSummary[], paint: Paint, width: number): string[] {
  const cols = Math.max(10, Math.min(list.length, width - 24));
  const per = Math.ceil(list.length / cols);
  const bins: Bin[] = [];
  for (let i = 0; i < list.length; i += per) {
    const chunk = list.slice(i, i + per);
    const timed = chunk.filter((c) => c.count > 0);
    bins.push({
      p50: timed.map((c) => c.p50Ms).sort((a, b) => a - b),
      p99: Math.max(0, ...timed.map((c) => c.p99Ms)),
      max: Math.max(0, ...timed.map((c) => c.maxMs)),
      count: chunk.reduce((n, c) => n + c.count, 0),
      stalls: chunk.reduce((n, c) => n + c.stalls, 0),
      failures: chunk.reduce((n, c) => n + c.failures, 0),
    });
  }
  const median = (b: Bin): number => (b.p50.length === 0 ? 0 : medianOf(b.p50));
  const live = bins.filter((b) => b.count > 0);
  const lo = Math.max(0.001, Math.min(...live.map(median)));
  const hi = Math.max(lo, ...live.map((b) => b.max));
  const level = (v: number): string => {
    if (!(v > 0)) return " ";
    if (hi <= lo) return BARS[0];
    const x = (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
    return BARS[Math.max(0, Math.min(7, Math.floor(x * 8)))]!;
  };
  const line = (name: string, pick: (b: Bin) => number, stallRed: boolean): string =>
    `  ${name.padEnd(6)}${bins
      .map((b) => {
        const g = b.count > 0 ? level(pick(b)) : " ";
        return stallRed && b.stalls > 0 ? paint("red", g) : g;
      })
      .join("")}`;
  const marks = bins.map((b) =>
    b.stalls > 0 ? paint("red", "!") : b.failures > 0 ? paint("yellow", "x") : " ",
  );
  const withMarks = marks.some((m) => m !== " ");
  return [
    paint("dim", `  ${plural(per, "interval")} per column; log scale ${fmtMs(lo)} … ${fmtMs(hi)} ms`),
    line("p50", median, false),
    line("p99", (b) => b.p99, false),
    line("max", (b) => b.max, true),
    ...(withMarks ? [`  ${"".padEnd(6)}${marks.join("")}` + paint("dim", "  (! stall, x failure)")] : []),
  ];
}
