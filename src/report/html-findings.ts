/**
 * The findings (what is wrong, the numbers behind it, what to do next) and
 * the measurement-quality notes: stallwatch's own event-loop lag and the
 * coordinated-omission note.
 */

import { type Finding, type LagStats, type Report, UNEXPLAINED, type Verdict } from "../model.js";
import { esc } from "./html-util.js";
import { fmtCount, fmtNum, plural } from "./style.js";

/** The verdict card: the cause as a checkable chain, every agreeing source, the next step, what was ruled out. */
function verdictCard(v: Verdict): string {
  const explains =
    v.stalls > 0
      ? `explains ${fmtCount(v.stalls)} of ${plural(v.ofStalls, "stall")}`
      : v.failures > 0
        ? `explains ${plural(v.failures, "failure")}`
        : "";
  const chain = [
    ["phase", v.phase],
    ["hop", v.hop],
    ["where", v.where],
    ["mechanism", v.mechanism],
  ]
    .filter(([, x]) => x)
    .map(([k, x]) => `<tr><th scope="row">${esc(k ?? "")}</th><td>${esc(x ?? "")}</td></tr>`)
    .join("");
  const evidence = v.evidence
    .map((e) => `<li><span class="badge">${esc(e.source)}</span> ${esc(e.text)}</li>`)
    .join("");
  const also = v.alsoCauses.length
    ? `<p class="muted">Other causes: ${esc(v.alsoCauses.map((c) => `${c.cause} (${c.stalls} stalls, ${c.failures} failures)`).join(", "))}</p>`
    : "";
  const ruled = v.ruledOut.length
    ? `<details><summary>Ruled out (${v.ruledOut.length})</summary><ul>${v.ruledOut.map((r) => `<li><code>${esc(r.cause)}</code>: ${esc(r.reason)}</li>`).join("")}</ul></details>`
    : "";
  return (
    `<article class="finding verdict conf-${esc(v.confidence)}" id="verdict">` +
    `<h3>Verdict: <code>${esc(v.cause)}</code> <span class="badge">${esc(`${v.confidence} confidence`)}</span> <span class="muted">${esc(explains)}</span></h3>` +
    `<p>${esc(v.headline)}</p>` +
    `<table class="evidence"><caption>Chain</caption><tbody>${chain}</tbody></table>` +
    `<ul class="notes">${evidence}</ul>` +
    `<p class="next"><strong>Next step:</strong> ${esc(v.nextStep)}</p>${also}${ruled}</article>`
  );
}

export function findingsSection(report: Report): string {
  const out: string[] = [];
  if (report.verdict) out.push(verdictCard(report.verdict));
  if (report.findings.length === 0) {
    const t = report.totals;
    out.push(
      report.healthy
        ? `<p class="good">No findings: healthy.</p>`
        : `<p class="warn">No findings: ${esc(plural(t.stalls, "stall"))} and ${esc(plural(t.failed, "failure"))} are unexplained (see below).</p>`,
    );
  }
  report.findings.forEach((f, i) => {
    out.push(findingCard(f, i + 1, report.totals.stalls));
  });
  const unexplained = report.stalls.filter((s) => s.cause === UNEXPLAINED).length;
  if (report.findings.length > 0 && unexplained > 0) {
    out.push(`<p class="warn">${esc(plural(unexplained, "stall"))} unexplained.</p>`);
  }
  if (report.notes && report.notes.length > 0) {
    out.push(
      `<h3>Diagnosis notes</h3><ul class="notes">${report.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`,
    );
  }
  return out.join("\n");
}

function findingCard(f: Finding, rank: number, totalStalls: number): string {
  const explains =
    f.stalls.length > 0 ? `explains ${fmtCount(f.stalls.length)} of ${plural(totalStalls, "stall")}` : "";
  const evidence = Object.entries(f.evidence).filter(([, v]) => v !== undefined);
  const rows = evidence
    .map(([k, v]) => `<tr><th scope="row"><code>${esc(k)}</code></th><td>${esc(valueText(v))}</td></tr>`)
    .join("");
  const stalls =
    f.stalls.length > 0
      ? `<p class="muted">Stalls: ${esc(
          f.stalls
            .slice(0, 40)
            .map((s) => `#${s}`)
            .join(", ") + (f.stalls.length > 40 ? ` … +${f.stalls.length - 40}` : ""),
        )}</p>`
      : "";
  return (
    `<article class="finding conf-${esc(f.confidence)}" id="finding-${esc(f.id)}">` +
    `<h3><span class="rank">${rank}.</span> <code>${esc(f.id)}</code> ` +
    `<span class="badge">${esc(`${f.confidence} confidence`)}</span> <span class="muted">${esc(explains)}</span></h3>` +
    `<p>${esc(f.summary)}</p>` +
    (rows
      ? `<table class="evidence"><caption>Evidence</caption><tbody>${rows}</tbody></table>`
      : `<p class="muted">No evidence recorded.</p>`) +
    `<p class="next"><strong>Next step:</strong> ${esc(f.nextStep)}</p>${stalls}</article>`
  );
}

/** An evidence value as compact text: numbers to 3 decimals (tiny ones in exponent form), arrays joined. */
export function valueText(v: unknown): string {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
    if (Math.abs(v) < 0.001 && v !== 0) return v.toExponential(1);
    return String(Math.round(v * 1000) / 1000);
  }
  if (typeof v === "string") return v;
  if (Array.isArray(v))
    return v.map(valueText).join(v.some((x) => typeof x === "object" && x !== null) ? "; " : ", ");
  // For people: "custom-domain: 43, execute-api: 3", not JSON; the full data stays in --json.
  if (v !== null && typeof v === "object")
    return Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(
        ([k, x]) =>
          `${k}: ${typeof x === "object" && x !== null && !Array.isArray(x) ? "{…}" : valueText(x)}`,
      )
      .join(", ");
  return String(v);
}

export function qualitySection(report: Report): string {
  const lag: LagStats = report.eventLoopLagMs;
  const over = lag.thresholdMs !== undefined ? ` > ${fmtNum(lag.thresholdMs)} ms` : "";
  const items: [string, string][] = [
    ["p50", `${fmtNum(lag.p50)} ms`],
    ["p99", `${fmtNum(lag.p99)} ms`],
    ["max", `${fmtNum(lag.max)} ms`],
    ["utilisation", `${Math.round(lag.utilization * 100)}%`],
    [`requests in flight during lag${over}`, fmtCount(lag.affectedRequests)],
  ];
  const dl = `<dl class="kv">${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>`;
  const lagNote =
    lag.affectedRequests > 0
      ? `<p class="warn">${esc(plural(lag.affectedRequests, "request"))} include stallwatch's own pause in their latency.</p>`
      : `<p class="good">stallwatch's own event loop did not delay any request.</p>`;
  const co = report.coordinatedOmission;
  const coHead = co.corrected
    ? `Corrected for coordinated omission (requests due every ${fmtNum(co.expectedIntervalMs ?? 0)} ms per series).`
    : "Not corrected for coordinated omission.";
  return (
    `<h3>Event-loop lag of stallwatch itself</h3>${dl}${lagNote}` +
    `<h3>Coordinated omission</h3><p><strong>${esc(coHead)}</strong> ${esc(co.note)}</p>`
  );
}
