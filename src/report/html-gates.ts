/** The HTML report's Gates section: every command-line gate, failed ones first. */

import type { Report } from "../model.js";
import { esc, numCell, table } from "./html-util.js";
import { fmtMs } from "./style.js";

export function gatesSection(report: Report): string {
  const gates = [...(report.gates ?? [])].sort((a, b) => Number(a.passed) - Number(b.passed));
  const failed = gates.filter((g) => !g.passed).length;
  const rows = gates.map((g) => [
    g.passed ? `<span class="good">pass</span>` : `<span class="bad">FAIL</span>`,
    `<code>${esc(g.gate)}</code>`,
    esc(g.series ?? "run total"),
    numCell(g.series ? `${fmtMs(g.actual)} ms` : String(g.actual), g.actual),
    numCell(g.series ? `${fmtMs(g.limit)} ms` : String(g.limit), g.limit),
  ]);
  return (
    `<p class="${failed ? "bad" : "good"}">${failed ? `${failed} of ${gates.length} failed: exit 1` : "All gates passed."}</p>` +
    table("Gates from the command line", ["result", "gate", "series", "measured", "limit"], rows, 3, "fit")
  );
}
