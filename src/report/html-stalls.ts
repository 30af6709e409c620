/**
 * The stalls, each with its phase breakdown as a stacked bar (dns, connect,
 * tls, ttfb, transfer on one linear scale shared by every stall, so a 3 s
 * connect reads three times as long as a 1 s one), its cause and the ids to
 * look it up by; and the failures by class. Both capped, with a count of what
 * was left out (the JSON report has them all).
 */

import type { FailureReport, StallReport } from "../model.js";
import { PART_PHASES, UNEXPLAINED } from "../model.js";
import { esc, ms, n1, numCell, seriesLabel, svgTitle, table } from "./html-util.js";
import { fmtCount, fmtMs, fmtUtc } from "./style.js";

/** Most stalls listed. */
export const MAX_STALL_ROWS = 300;
/** Most failures listed. */
export const MAX_FAILURE_ROWS = 200;

const BAR_W = 260;
const BAR_H = 16;

/** The phase colour legend shared by the breakdown bars. */
export function phaseLegend(): string {
  return `<ul class="legend">${PART_PHASES.map(
    (p) =>
      `<li><svg class="swatch" viewBox="0 0 16 12" aria-hidden="true"><rect class="ph-${p}" x="0" y="1" width="16" height="10"/></svg>${esc(p)}</li>`,
  ).join("")}</ul>`;
}

/** A stacked bar of one stall's phases; `scaleMs` is the duration that fills the bar. */
export function phaseBar(s: StallReport, scaleMs: number): string {
  const parts: string[] = [];
  let x = 0;
  for (const p of PART_PHASES) {
    const v = s.phasesMs[p];
    if (v === undefined || v <= 0) continue;
    const w = (v / scaleMs) * BAR_W;
    parts.push(
      `<rect class="ph-${p}" x="${n1(x)}" y="0" width="${n1(Math.max(0.5, w))}" height="${BAR_H}">${svgTitle(`${p}: ${ms(v)}`)}</rect>`,
    );
    x += w;
  }
  const label = PART_PHASES.filter((p) => s.phasesMs[p] !== undefined)
    .map((p) => `${p} ${fmtMs(s.phasesMs[p])}`)
    .join(", ");
  return `<svg class="phasebar" viewBox="0 0 ${BAR_W} ${BAR_H}" preserveAspectRatio="none" width="${BAR_W}" height="${BAR_H}" role="img" aria-label="${esc(`phases (ms): ${label || "none recorded"}`)}">${parts.join("")}</svg>`;
}

export function stallSection(stalls: readonly StallReport[], withApi: boolean): string {
  if (stalls.length === 0) return `<p class="good">No stalls.</p>`;
  const shown = stalls.slice(0, MAX_STALL_ROWS);
  const scaleMs = Math.max(1, ...shown.map((s) => s.totalMs));
  const rows = shown.map((s) => {
    const ids = [
      s.remoteAddress && `addr ${s.remoteAddress}`,
      s.requestId && `request ${s.requestId}`,
      s.traceId && `trace ${s.traceId}`,
      s.status !== undefined && `HTTP ${s.status}`,
      s.error && `error ${s.error}`,
      s.reused ? "reused connection" : "fresh connection",
      s.tag && `(${s.tag})`,
    ].filter((v): v is string => typeof v === "string");
    const cause =
      s.cause === UNEXPLAINED ? `<span class="warn">unexplained</span>` : `<code>${esc(s.cause)}</code>`;
    return [
      numCell(`#${s.seq}`, s.seq),
      `<time datetime="${esc(s.at)}">${esc(fmtUtc(Date.parse(s.at)))}</time>`,
      esc(seriesLabel(s, withApi)),
      numCell(fmtMs(s.totalMs), s.totalMs),
      phaseBar(s, scaleMs),
      esc(s.phase),
      `${cause}${s.detail ? `<div class="muted">${esc(s.detail)}</div>` : ""}`,
      `<span class="ids">${ids.map(esc).join("<br>")}</span>`,
    ];
  });
  const more =
    stalls.length > shown.length
      ? `<p class="muted">${fmtCount(stalls.length - shown.length)} more stalls not listed (see the JSON report).</p>`
      : "";
  return (
    `${phaseLegend()}<p class="muted">Bars share one scale: the longest stall listed (${esc(ms(scaleMs))}) fills a bar.</p>` +
    table(
      "Stalls with their phase breakdown",
      ["stall", "time (UTC)", "series", "total ms", "phases", "dominant phase", "cause", "ids"],
      rows,
      99,
      "fit",
    ) +
    more
  );
}

export function failureSection(failures: readonly FailureReport[], withApi: boolean): string {
  if (failures.length === 0) return `<p class="good">No failures.</p>`;
  const byClass = new Map<string, number>();
  for (const f of failures) byClass.set(f.code, (byClass.get(f.code) ?? 0) + 1);
  const summary = [...byClass.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `<li><code>${esc(code)}</code> × ${fmtCount(n)}</li>`)
    .join("");
  const shown = failures.slice(0, MAX_FAILURE_ROWS);
  const rows = shown.map((f) => [
    numCell(`#${f.seq}`, f.seq),
    `<time datetime="${esc(f.at)}">${esc(fmtUtc(Date.parse(f.at)))}</time>`,
    esc(`${withApi ? `${f.api}/` : ""}${f.route} ${f.endpoint}`),
    `<code>${esc(f.code)}</code>`,
    esc(f.phase),
    `${esc(f.message)}${f.status !== undefined ? ` <span class="muted">(HTTP ${f.status})</span>` : ""}`,
    esc([f.remoteAddress, f.requestId, f.tag && `(${f.tag})`].filter(Boolean).join(" · ")),
  ]);
  const more =
    failures.length > shown.length
      ? `<p class="muted">${fmtCount(failures.length - shown.length)} more failures not listed.</p>`
      : "";
  return (
    `<ul class="inline">${summary}</ul>` +
    table(
      "Failed requests",
      ["request", "time (UTC)", "series", "class", "phase", "message", "ids"],
      rows,
      99,
      "fit",
    ) +
    more
  );
}
