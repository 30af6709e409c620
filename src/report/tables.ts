/**
 * The table sections of the terminal report: percentiles per series × phase,
 * the latency-distribution picture, the stall list and the failures by class.
 * Each returns lines (no trailing newline); colour via the given painter only.
 */
import Table from "cli-table3";
import type { FailureReport, Report, SeriesReport, StallReport } from "../model.js";
import { FAILURE_CLASS_NAMES, PHASES, UNEXPLAINED } from "../model.js";
import { barGlyph, fmtCount, fmtMs, logLevel, type Paint, plural, truncate } from "./style.js";

type Align = "left" | "right";

/** A cli-table3 table that never colours on its own (we paint cells ourselves). */
function table(
  head: string[],
  aligns: Align[],
  paint: Paint,
  borderless: boolean,
  compact = borderless,
): Table.Table {
  const chars: Partial<Record<Table.CharName, string>> = borderless
    ? {
        top: "",
        "top-mid": "",
        "top-left": "",
        "top-right": "",
        bottom: "",
        "bottom-mid": "",
        "bottom-left": "",
        "bottom-right": "",
        left: "",
        "left-mid": "",
        mid: "",
        "mid-mid": "",
        right: "",
        "right-mid": "",
        middle: " ",
      }
    : {};
  return new Table({
    head: head.map((h) => paint("bold", h)),
    colAligns: aligns,
    chars,
    style: { head: [], border: [], compact, "padding-left": borderless ? 0 : 1, "padding-right": 1 },
  });
}

const render = (t: Table.Table): string[] =>
  t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);

/** The lowest stall threshold seen per series (so cells and buckets above it can be marked). */
export function thresholdsBySeries(stalls: readonly StallReport[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of stalls) {
    const id = seriesLabel(s, true);
    out.set(id, Math.min(out.get(id) ?? Number.POSITIVE_INFINITY, s.thresholdMs));
  }
  return out;
}

/** "route endpoint connection", with the api in front when the report covers several. */
export function seriesLabel(
  s: Pick<SeriesReport, "api" | "route" | "endpoint" | "connection">,
  withApi: boolean,
): string {
  return `${withApi ? `${s.api}/` : ""}${s.route} ${s.endpoint} ${s.connection}`;
}

export function multiApi(report: Report): boolean {
  return new Set(report.series.map((s) => s.api)).size > 1;
}

/** Percentiles per series: phases as rows, p50 … max and count as columns. */
export function percentileTable(
  series: readonly SeriesReport[],
  report: Report,
  paint: Paint,
  labelWidth: number,
): string[] {
  const withApi = multiApi(report);
  const thresholds = thresholdsBySeries(report.stalls);
  const t = table(
    ["series", "phase", "p50", "p90", "p99", "p99.9", "max", "n"],
    ["left", "left", "right", "right", "right", "right", "right", "right"],
    paint,
    false,
    true,
  );
  for (const s of series) {
    const threshold = thresholds.get(seriesLabel(s, true)) ?? Number.POSITIVE_INFINITY;
    const rows: string[][] = [];
    for (const phase of PHASES) {
      const st = s.latencyMs[phase];
      if (!st) continue;
      const hot = (v: number): string => (v > threshold ? paint("red", fmtMs(v)) : fmtMs(v));
      rows.push([
        phase,
        fmtMs(st.p50),
        fmtMs(st.p90),
        hot(st.p99),
        hot(st.p999),
        hot(st.max),
        fmtCount(st.count),
      ]);
    }
    const c = s.correctedLatencyMs?.total;
    if (c) {
      rows.push([
        paint("dim", "total*"),
        ...[c.p50, c.p90, c.p99, c.p999, c.max].map((v) => paint("dim", fmtMs(v))),
        paint("dim", fmtCount(c.count)),
      ]);
    }
    const label = [truncate(`${withApi ? `${s.api}/` : ""}${s.route} ${s.endpoint}`, labelWidth)];
    label.push(`${s.connection} · ${plural(s.count, "request")}`);
    const bad = [
      s.stalls > 0 ? paint("red", plural(s.stalls, "stall")) : "",
      s.failed > 0 ? paint("yellow", `${fmtCount(s.failed)} failed`) : "",
    ].filter(Boolean);
    if (bad.length > 0) label.push(bad.join(", "));
    if (rows.length === 0) rows.push(["-", "-", "-", "-", "-", "-", "0"]);
    // The label runs down the first column, one piece per phase row (no rowSpan: cli-table3 drops
    // lines of spanned cells in compact mode).
    rows.forEach((row, i) => {
      const piece = i === rows.length - 1 ? label.slice(i).join(", ") : (label[i] ?? "");
      t.push([piece, ...row]);
    });
  }
  return render(t);
}

const RULER_LABELS = ["0.1ms", "1ms", "10ms", "100ms", "1s", "10s"];

/**
 * One line per series: requests per `total` bucket (0.1 ms … 50 s, 1-2-5
 * steps, two columns per bucket), heights on a log scale so a handful of
 * stalls shows up as a separate bump. Buckets above the stall threshold are red.
 */
export function distributionLines(
  series: readonly SeriesReport[],
  report: Report,
  paint: Paint,
  labelWidth: number,
): string[] {
  const withApi = multiApi(report);
  const thresholds = thresholdsBySeries(report.stalls);
  const shown = series.filter((s) => s.distribution?.counts.some((c) => c > 0));
  if (shown.length === 0) return [];
  const labels = shown.map((s) => truncate(seriesLabel(s, withApi), labelWidth));
  const pad = Math.max(...labels.map((l) => [...l].length)) + 2;
  const ruler = RULER_LABELS.map((l) => l.padEnd(6))
    .join("")
    .trimEnd();
  const lines = [paint("dim", `${" ".repeat(pad)}${ruler}`)];
  shown.forEach((s, i) => {
    const d = s.distribution!;
    const threshold = thresholds.get(seriesLabel(s, true)) ?? Number.POSITIVE_INFINITY;
    const max = Math.max(...d.counts);
    const bars = d.counts
      .map((c, b) => {
        const glyph = barGlyph(logLevel(c, max)).repeat(2);
        const upper = d.edgesMs[b + 1] ?? Number.POSITIVE_INFINITY;
        return c > 0 && upper > threshold ? paint("red", glyph) : glyph;
      })
      .join("");
    lines.push(`${labels[i]!.padEnd(pad)}${bars}`.trimEnd());
  });
  return lines;
}

/** The stall list, at most `cap` rows, then "+N more". */
export function stallList(report: Report, paint: Paint, cap: number): string[] {
  const stalls = report.stalls;
  const multiDay = new Set(stalls.map((s) => s.at.slice(0, 10))).size > 1;
  const t = table(
    ["time (UTC)", "route", "endpoint", "total ms", "phase", "remote", "request id", "cause"],
    ["left", "left", "left", "right", "left", "left", "left", "left"],
    paint,
    true,
  );
  for (const s of stalls.slice(0, cap)) {
    const time = multiDay ? `${s.at.slice(5, 10)} ${s.at.slice(11, 23)}` : s.at.slice(11, 23);
    const phaseMs = s.phasesMs[s.phase];
    const cause = s.cause === UNEXPLAINED ? paint("yellow", s.cause) : paint("cyan", s.cause);
    t.push([
      time,
      s.route + (s.tag ? ` (${s.tag})` : ""),
      s.endpoint,
      paint("red", fmtMs(s.totalMs)),
      `${s.phase}${phaseMs !== undefined && s.phase !== "total" ? ` ${fmtMs(phaseMs)}` : ""}`,
      s.remoteAddress ?? "-",
      s.requestId ?? "-",
      s.detail ? `${cause}: ${s.detail}` : cause,
    ]);
  }
  const lines = render(t);
  if (stalls.length > cap)
    lines.push(paint("dim", `+${fmtCount(stalls.length - cap)} more (all of them are in --json)`));
  return lines;
}

/** Failures grouped by class: count, phases, one example. */
export function failureLines(failures: readonly FailureReport[], paint: Paint, width: number): string[] {
  const groups = new Map<string, FailureReport[]>();
  for (const f of failures) {
    const g = groups.get(f.code);
    if (g) g.push(f);
    else groups.set(f.code, [f]);
  }
  const order = (code: string): number =>
    FAILURE_CLASS_NAMES.indexOf(code as (typeof FAILURE_CLASS_NAMES)[number]);
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || order(a[0]) - order(b[0]));
  const t = table(["class", "count", "phase", "example"], ["left", "right", "left", "left"], paint, true);
  for (const [code, list] of sorted) {
    const first = list[0]!;
    const phases = [...new Set(list.map((f) => f.phase))].join(",");
    const example = `${first.route} ${first.endpoint}${first.status ? ` ${first.status}` : ""}: ${first.message}`;
    t.push([
      paint("yellow", code),
      fmtCount(list.length),
      phases,
      truncate(example, Math.max(20, width - 40)),
    ]);
  }
  return render(t);
}
