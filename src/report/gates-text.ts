/** The terminal's "Gates" section: one line per gate, the failing series under it. */

import type { GateResult, Report } from "../model.js";
import { fmtMs, type Paint } from "./style.js";

const MAX_FAILING_SERIES = 8;

export function gateLines(report: Report, paint: Paint): string[] {
  const gates = report.gates;
  if (!gates?.length) return [];
  const byGate = new Map<string, GateResult[]>();
  for (const g of gates) byGate.set(g.gate, [...(byGate.get(g.gate) ?? []), g]);
  const failed = [...byGate.values()].filter((rs) => rs.some((r) => !r.passed)).length;
  const lines = [
    paint("bold", "Gates") +
      (failed
        ? paint("red", ` · ${failed} of ${byGate.size} failed (exit 1)`)
        : paint("green", " · all passed")),
  ];
  for (const [gate, results] of byGate) {
    const bad = results.filter((r) => !r.passed);
    const isThreshold = results[0]?.series !== undefined;
    const value = (r: GateResult) => (isThreshold ? `${fmtMs(r.actual)} ms` : String(r.actual));
    const mark = bad.length ? paint("red", "FAIL") : paint("green", "pass");
    if (!isThreshold) {
      lines.push(`  ${mark}  ${gate}  (measured ${value(results[0] as GateResult)})`);
      continue;
    }
    lines.push(`  ${mark}  ${gate}  (${results.length - bad.length} of ${results.length} series pass)`);
    for (const r of bad.slice(0, MAX_FAILING_SERIES)) lines.push(`          ${r.series}: ${value(r)}`);
    if (bad.length > MAX_FAILING_SERIES)
      lines.push(paint("dim", `          +${bad.length - MAX_FAILING_SERIES} more series (all in --json)`));
  }
  return [...lines, ""];
}
