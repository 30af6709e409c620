/**
 * The HTML reporter: the Report as one self-contained page (inline CSS, inline
 * script, inline SVG charts; no network at all, enforced by its
 * Content-Security-Policy) to share with whoever runs the API. Findings
 * first, then latency over time with the stalls marked, the percentiles and
 * distribution per route with keep-warm beside the probes, each stall's phase
 * breakdown, the failures, and how much to trust the measurement (event-loop
 * lag, coordinated omission).
 *
 * {@link renderHtml} is pure and deterministic; every piece of user data is
 * escaped. {@link writeHtmlReport} redacts secrets and writes the file.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { StallwatchError } from "../errors.js";
import type { IntervalSummary, Report } from "../model.js";
import type { Redactor } from "../redact.js";
import { CSS, SCRIPT } from "./html-assets.js";
import { distributionCharts, percentileTable, phaseTables } from "./html-distribution.js";
import { findingsSection, qualitySection } from "./html-findings.js";
import { gatesSection } from "./html-gates.js";
import { failureSection, stallSection } from "./html-stalls.js";
import { timelineCharts } from "./html-timeline.js";
import { timelineFromSeries } from "./html-timeline-data.js";
import { esc } from "./html-util.js";
import { writersSection } from "./html-writers.js";
import { fmtCount, fmtDuration, fmtUtc, plural } from "./style.js";

export { type TimelineFromRecordsOptions, timelineFromRecords } from "./html-timeline-data.js";

export interface HtmlOptions {
  /**
   * Intervals for the latency-over-time chart when the report has no
   * `timeline` (a live run): e.g. `timelineFromRecords(run.records, stalls)`.
   * Without either, the chart shows each series' overall band with the stalls
   * marked at their times.
   */
  timeline?: readonly IntervalSummary[] | undefined;
}

const hash = (text: string): string => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** Exactly the inline style and script, nothing else: no network, no other script. */
const CSP = [
  "default-src 'none'",
  `style-src ${hash(CSS)}`,
  `script-src ${hash(SCRIPT)}`,
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

export function renderHtml(report: Report, options: HtmlOptions = {}): string {
  const withApi = new Set(report.series.map((s) => s.api)).size > 1;
  const sections: [id: string, title: string, body: string][] = [
    ...(report.gates?.length ? [["gates", "Gates", gatesSection(report)] as [string, string, string]] : []),
    ["findings", "Findings", findingsSection(report)],
    ["timeline", "Latency over time", timelineSection(report, options)],
    ["percentiles", "Percentiles per route", percentileSection(report, withApi)],
    ["stalls", `Stalls (${fmtCount(report.stalls.length)})`, stallSection(report.stalls, withApi)],
    ["failures", `Failures (${fmtCount(report.failures.length)})`, failureSection(report.failures, withApi)],
    ["quality", "Measurement quality", qualitySection(report)],
  ];
  if (report.writers && report.writers.length > 1) {
    sections.splice(sections.length - 1, 0, [
      "writers",
      "Per writer (prober)",
      writersSection(report.writers),
    ]);
  }
  const nav = sections.map(([id, title]) => `<li><a href="#${id}">${esc(title)}</a></li>`).join("");
  const body = sections
    .map(
      ([id, title, html]) =>
        `<section id="${id}" aria-labelledby="h-${id}"><h2 id="h-${id}">${esc(title)}</h2>\n${html}\n</section>`,
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="stallwatch">
<title>${esc(`stallwatch report · ${where(report)} · ${report.healthy ? "healthy" : "NOT healthy"}`)}</title>
<style>${CSS}</style>
</head>
<body>
${header(report)}
<main>
<nav aria-label="Sections"><ul>${nav}</ul></nav>
${body}
</main>
${footer(report)}
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/**
 * Writes the report as HTML to `file`. Secrets are redacted twice: in the
 * report's strings before they are escaped (a secret containing `&` or `<`
 * would no longer match once escaped) and in the final page (outside the
 * constant style and script, whose CSP hashes must stay valid).
 */
export async function writeHtmlReport(
  file: string,
  report: Report,
  redactor: Redactor,
  options: HtmlOptions = {},
): Promise<void> {
  const clean = redactor.redactValue(report);
  const timeline = options.timeline ? redactor.redactValue([...options.timeline]) : undefined;
  const html = redactPage(renderHtml(clean, { timeline }), redactor);
  try {
    await writeFile(file, html, "utf8");
  } catch (err) {
    throw new StallwatchError(
      "SW_REPORT_WRITE",
      `cannot write the HTML report to ${file}: ${String(err)}`,
      1,
      {
        cause: err,
      },
    );
  }
}

/** Redacts the page except the constant stylesheet and script. */
export function redactPage(html: string, redactor: Redactor): string {
  return html
    .split(CSS)
    .map((part) =>
      part
        .split(SCRIPT)
        .map((p) => redactor.redact(p))
        .join(SCRIPT),
    )
    .join(CSS);
}

function where(report: Report): string {
  const src = report.source;
  if (src.kind === "lab") return `lab ${src.scenario ?? ""}`.trim();
  if (src.kind === "history") {
    return ["history", src.dir, src.since && `since ${src.since}`, src.until && `until ${src.until}`]
      .filter(Boolean)
      .join(" ");
  }
  return src.scenario ? `live ${src.scenario}` : "live";
}

function header(report: Report): string {
  const t = report.totals;
  const tiles: [string, string][] = [
    ["requests", fmtCount(t.requests)],
    ["ok", fmtCount(t.ok)],
    ["failed", fmtCount(t.failed)],
    ["stalls", fmtCount(t.stalls)],
    ["findings", fmtCount(report.findings.length)],
  ];
  if (report.span) tiles.push(["duration", fmtDuration(report.span.durationMs)]);
  const span = report.span
    ? ` · ${fmtUtc(Date.parse(report.span.startedAt))} → ${fmtUtc(Date.parse(report.span.endedAt))} UTC`
    : "";
  const status = report.healthy
    ? `<span class="status">healthy</span>`
    : `<span class="status unhealthy">NOT healthy</span>`;
  return (
    `<header class="top"><h1>stallwatch report ${status}</h1>` +
    `<p class="muted">${esc(`${where(report)}${span}`)}</p>` +
    `<ul class="totals">${tiles.map(([k, v]) => `<li><b>${esc(v)}</b>${esc(k)}</li>`).join("")}</ul></header>`
  );
}

function timelineSection(report: Report, options: HtmlOptions): string {
  if (report.timeline && report.timeline.length > 0) {
    return timelineCharts({ intervals: report.timeline, stalls: report.stalls, origin: "history" });
  }
  if (options.timeline && options.timeline.length > 0) {
    return timelineCharts({ intervals: options.timeline, stalls: report.stalls, origin: "records" });
  }
  return timelineCharts({ intervals: timelineFromSeries(report), stalls: report.stalls, origin: "summary" });
}

function percentileSection(report: Report, withApi: boolean): string {
  const out = [percentileTable("Total latency per series (probes)", report.series, withApi)];
  if (report.series.some((s) => s.correctedLatencyMs)) {
    out.push(
      `<p class="muted">p99 corrected: corrected for coordinated omission (see Measurement quality).</p>`,
    );
  }
  if (report.keepWarm && report.keepWarm.length > 0) {
    out.push(
      `<h3>Keep-warm pings, beside the probes</h3><p class="muted">Kept out of the probe statistics: ` +
        `${esc(
          plural(
            report.keepWarm.reduce((n, s) => n + s.count, 0),
            "ping",
          ),
        )}.</p>`,
      percentileTable("Total latency per series (keep-warm)", report.keepWarm, withApi),
    );
  }
  out.push(
    `<h3>Distribution of total latency</h3><p class="muted">Bars: requests per latency bucket (log height, ` +
      `so a few slow requests still show); dashed lines: percentiles.</p>`,
    distributionCharts(report.series, withApi),
    `<h3>Per phase</h3>`,
    phaseTables(report.series, withApi),
  );
  return out.join("\n");
}

function footer(report: Report): string {
  const options = JSON.stringify(report.options, null, 2);
  return (
    `<footer><p>Generated ${esc(fmtUtc(Date.parse(report.generatedAt)))} UTC by stallwatch (report version ${report.version}).</p>` +
    `<details><summary>Run options</summary><pre>${esc(options)}</pre></details></footer>`
  );
}
