/**
 * The terminal reporter: a Report rendered for people. Findings first (what
 * is wrong and what to do), then the numbers behind them. Deterministic for a
 * given report, colour and width; colour only when asked (see shouldUseColor).
 */

import { type Finding, type LagStats, type Report, UNEXPLAINED, type Verdict } from "../model.js";
import { gateLines } from "./gates-text.js";
import { fmtCount, fmtDuration, fmtNum, fmtUtc, type Paint, painter, plural, truncate } from "./style.js";
import { distributionLines, failureLines, percentileTable, stallList } from "./tables.js";
import { renderTimeline } from "./timeline.js";

export { shouldUseColor } from "./style.js";

export interface TerminalOptions {
  color: boolean;
  /** Columns to fit prose and labels into. Default 100. */
  width?: number;
  /** Most stalls listed before "+N more". Default 30. */
  maxStalls?: number;
}

const MAX_NOTES = 3;

export function renderTerminal(report: Report, options: TerminalOptions): string {
  const width = Math.max(40, options.width ?? 100);
  const paint = painter(options.color);
  const labelWidth = Math.min(36, Math.max(16, Math.floor(width / 3)));
  const out: string[] = [header(report, paint), "", ...gateLines(report, paint)];

  if (report.verdict) out.push(...verdictLines(report.verdict, paint, width), "");
  out.push(
    paint("bold", report.verdict ? "Other causes" : "Findings"),
    ...findingLines(report, paint, width),
    "",
  );

  out.push(
    paint("bold", "Latency (ms) per series and phase"),
    ...percentileTable(report.series, report, paint, labelWidth),
  );
  if (report.series.some((s) => s.correctedLatencyMs)) {
    out.push(paint("dim", "total* = corrected for coordinated omission"));
  }
  out.push("");

  if (report.keepWarm && report.keepWarm.length > 0) {
    out.push(paint("bold", "Keep-warm pings (kept out of the probe statistics)"));
    out.push(...percentileTable(report.keepWarm, report, paint, labelWidth), "");
  }

  const dist = distributionLines(report.series, report, paint, labelWidth);
  if (dist.length > 0) {
    out.push(
      paint("bold", "Distribution of total latency (height: log of the request count per bucket)"),
      ...dist,
      "",
    );
  }

  if (report.stalls.length > 0) {
    const other = report.stalls.filter((s) => s.tag !== undefined).length;
    const of = other > 0 ? `, ${fmtCount(other)} of them keep-warm or idle-sweep` : "";
    out.push(
      paint("bold", `Stalls (${fmtCount(report.stalls.length)}${of})`),
      ...stallList(report, paint, options.maxStalls ?? 30),
      "",
    );
  }
  if (report.failures.length > 0) {
    out.push(
      paint("bold", `Failures (${fmtCount(report.failures.length)})`),
      ...failureLines(report.failures, paint, width),
      "",
    );
  }
  if (report.timeline && report.timeline.length > 0) {
    out.push(
      paint("bold", "Latency over time (UTC)"),
      renderTimeline(report.timeline, { color: options.color, width }).trimEnd(),
      "",
    );
  }

  out.push(lagLine(report.eventLoopLagMs, paint));
  out.push(...wrap(report.coordinatedOmission.note, width, "").map((l) => paint("dim", l)));
  return `${out.join("\n")}\n`;
}

function header(report: Report, paint: Paint): string {
  const src = report.source;
  const where =
    src.kind === "lab"
      ? `lab ${src.scenario ?? ""}`.trim()
      : src.kind === "history"
        ? ["history", src.dir, src.since && `since ${src.since}`, src.until && `until ${src.until}`]
            .filter(Boolean)
            .join(" ")
        : src.scenario
          ? `live ${src.scenario}`
          : "live";
  const t = report.totals;
  const counts = [`${fmtCount(t.ok)} ok`, `${fmtCount(t.failed)} failed`, plural(t.stalls, "stall")].join(
    ", ",
  );
  const parts = [
    paint("bold", "stallwatch report"),
    where,
    `${plural(t.requests, "request")} (${counts})`,
    report.span ? fmtDuration(report.span.durationMs) : undefined,
    `${fmtUtc(Date.parse(report.generatedAt))} UTC`,
  ];
  const status = report.healthy ? paint("green", "healthy") : paint("red", "NOT healthy");
  return `${parts.filter(Boolean).join(" · ")} · ${status}`;
}

function findingLines(report: Report, paint: Paint, width: number): string[] {
  const lines: string[] = [];
  if (report.findings.length === 0) {
    if (report.healthy) lines.push(paint("green", "No findings: healthy."));
    else {
      const t = report.totals;
      lines.push(
        paint(
          "yellow",
          `No findings: ${plural(t.stalls, "stall")} and ${plural(t.failed, "failure")} are unexplained (see below).`,
        ),
      );
    }
  }
  // With a verdict, the first cause is the verdict above: list the others.
  const skip = report.verdict ? 1 : 0;
  report.findings.slice(skip).forEach((f, i) => {
    lines.push(...findingBlock(f, i + 1 + skip, report.totals.stalls, paint, width));
  });
  if (skip === 1 && report.findings.length === 1) lines.push(paint("dim", "  none besides the verdict"));
  if (report.findings.length > 0) {
    const unexplained = report.stalls.filter((s) => s.cause === UNEXPLAINED).length;
    if (unexplained > 0) lines.push(paint("yellow", `${plural(unexplained, "stall")} unexplained.`));
  }
  // Notes say which tests were skipped for too few samples; a long run can have dozens, so show a few.
  const notes = report.notes ?? [];
  for (const note of notes.slice(0, MAX_NOTES))
    lines.push(...wrap(`note: ${note}`, width, "  ").map((l) => paint("dim", l)));
  if (notes.length > MAX_NOTES)
    lines.push(paint("dim", `  +${notes.length - MAX_NOTES} more notes (all of them are in --json)`));
  return lines;
}

/** The verdict: the cause, its chain, every agreeing source, the next step, what else and what was ruled out. */
function verdictLines(v: Verdict, paint: Paint, width: number): string[] {
  const tone = v.confidence === "high" ? "red" : v.confidence === "medium" ? "yellow" : "dim";
  const explains =
    v.stalls > 0
      ? ` · explains ${fmtCount(v.stalls)} of ${plural(v.ofStalls, "stall")}`
      : v.failures > 0
        ? ` · explains ${plural(v.failures, "failure")}`
        : "";
  const indent = "  ";
  const chain = [`phase ${v.phase}`, `hop ${v.hop}`, v.where && `where ${v.where}`, v.mechanism]
    .filter(Boolean)
    .join(" → ");
  const lines = [
    `${paint("bold", "Verdict")} · ${paint("bold", v.cause)} · ${paint(tone, `${v.confidence} confidence`)}${explains}`,
    ...wrap(v.headline, width, indent),
    ...wrap(`chain: ${chain}`, width, indent),
    `${indent}evidence:`,
    ...v.evidence.flatMap((e) =>
      wrap(`[${e.source}] ${e.text}`, width, `${indent}  `).map((l) => paint("dim", l)),
    ),
    ...wrap(`next step: ${v.nextStep}`, width, indent).map((l) => paint("cyan", l)),
  ];
  if (v.alsoCauses.length > 0) {
    const also = v.alsoCauses.map(
      (c) =>
        `${c.cause} (${[c.stalls > 0 && plural(c.stalls, "stall"), c.failures > 0 && plural(c.failures, "failure")].filter(Boolean).join(", ")})`,
    );
    lines.push(...wrap(`other causes: ${also.join(", ")}`, width, indent));
  }
  for (const r of v.ruledOut)
    lines.push(...wrap(`ruled out: ${r.cause}: ${r.reason}`, width, indent).map((l) => paint("dim", l)));
  return lines;
}

function findingBlock(f: Finding, rank: number, totalStalls: number, paint: Paint, width: number): string[] {
  const tone = f.confidence === "high" ? "red" : f.confidence === "medium" ? "yellow" : "dim";
  const explains =
    f.stalls.length > 0 ? ` · explains ${fmtCount(f.stalls.length)} of ${plural(totalStalls, "stall")}` : "";
  const indent = "    ";
  return [
    `${String(rank).padStart(2)}. ${paint("bold", f.id)} · ${paint(tone, `${f.confidence} confidence`)}${explains}`,
    ...wrap(f.summary, width, indent),
    ...wrap(`evidence: ${evidenceText(f.evidence)}`, width, indent).map((l) => paint("dim", l)),
    ...wrap(`next step: ${f.nextStep}`, width, indent).map((l) => paint("cyan", l)),
  ];
}

/** Key evidence as `key=value` pairs, at most 8, each value compact. */
export function evidenceText(evidence: Record<string, unknown>): string {
  // People read scalars and short lists; nested objects stay in --json.
  const all = Object.entries(evidence).filter(([, v]) => v !== undefined);
  const entries = all.filter(
    ([, v]) => typeof v !== "object" || (Array.isArray(v) && v.every((x) => typeof x !== "object")),
  );
  const shown = entries.slice(0, 8).map(([k, v]) => `${k}=${truncate(valueText(v), 60)}`);
  if (all.length > shown.length) shown.push(`+${all.length - shown.length} more in --json`);
  return shown.length > 0 ? shown.join(", ") : "-";
}

function valueText(v: unknown): string {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    if (Math.abs(v) < 0.001 && v !== 0) return v.toExponential(1);
    return String(Math.round(v * 1000) / 1000);
  }
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map(valueText).join(",")}]`;
  return JSON.stringify(v) ?? String(v);
}

function lagLine(lag: LagStats, paint: Paint): string {
  const over = lag.thresholdMs !== undefined ? `lag > ${fmtNum(lag.thresholdMs)} ms` : "lag";
  const text =
    `event loop: p50 ${fmtNum(lag.p50)} ms, p99 ${fmtNum(lag.p99)} ms, max ${fmtNum(lag.max)} ms, ` +
    `utilisation ${Math.round(lag.utilization * 100)}%: ${plural(lag.affectedRequests, "request")} in flight during ${over}`;
  return lag.affectedRequests > 0
    ? paint("yellow", `${text} (their latencies include stallwatch's own pause)`)
    : text;
}

/** Word-wraps plain text to `width` columns, every line prefixed by `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const room = Math.max(20, width - indent.length);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length > 0 && line.length + 1 + word.length > room) {
      lines.push(indent + line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) lines.push(indent + line);
  return lines;
}
