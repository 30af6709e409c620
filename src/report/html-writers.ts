/**
 * The HTML report's per-writer (per-prober) section, for reports over a
 * shared store with more than one writer: one table of rounds, requests,
 * failures and stalls per writer, and one of stalls per writer × series for
 * every series that stalled anywhere (a stall seen from one prober only
 * stands out as the only non-zero cell of its row). Data, not a finding.
 */

import type { WriterReport } from "../model.js";
import { seriesId } from "../model.js";
import { esc, numCell, table } from "./html-util.js";
import { fmtCount } from "./style.js";

export function writersSection(writers: readonly WriterReport[]): string {
  const overall = table(
    "Rounds, requests, failures and stalls per writer",
    ["writer", "rounds", "requests", "failed", "stalls"],
    writers.map((w) => [
      esc(w.writer),
      numCell(fmtCount(w.rounds), w.rounds),
      numCell(fmtCount(w.requests), w.requests),
      numCell(fmtCount(w.failed), w.failed),
      numCell(fmtCount(w.stalls), w.stalls),
    ]),
  );
  const stalled = new Map<string, { label: string }>();
  for (const w of writers) {
    for (const s of w.series) {
      if (s.stalls > 0)
        stalled.set(seriesId(s), {
          label: `${s.api} ${s.route} ${s.endpoint}`,
        });
    }
  }
  if (stalled.size === 0) return `${overall}\n<p class="muted">No series stalled from any writer.</p>`;
  const rows = [...stalled].map(([id, { label }]) => [
    esc(label),
    ...writers.map((w) => {
      const s = w.series.find((x) => seriesId(x) === id);
      return numCell(s ? `${fmtCount(s.stalls)} / ${fmtCount(s.requests)}` : "–", s?.stalls);
    }),
  ]);
  const bySeries = table(
    "Stalls / requests per series that stalled anywhere, per writer",
    ["series", ...writers.map((w) => w.writer)],
    rows,
  );
  return `${overall}\n${bySeries}`;
}
