/**
 * Durations in words, written once: every finding, verdict line, note, header and progress line says a
 * duration through {@link fmtDuration}, so the same number reads the same way in every output. Base layer:
 * imports nothing, so diagnose/, report/, app/ and everything above can use it.
 *
 * Two other forms remain, each for its own kind of number: the bare millisecond cells of tables and gate
 * values (`fmtMs` in src/report/style.ts: "1,032", "8.50", precise enough to compare with a limit) and idle
 * gaps ({@link fmtGap} below: "30 s", "2.5 min"), which the diagnosis and the idle sweep both name.
 */

/**
 * A duration for prose, one rule everywhere:
 *
 *   below 1 s        whole milliseconds       "0 ms", "5 ms", "250 ms"
 *   1 s to 10 s      seconds, one decimal     "1.0 s", "2.5 s"
 *   10 s to 1 min    whole seconds            "12 s", "59 s"
 *   1 min to 1 h     minutes and seconds      "4 min 5 s", "5 min 0 s"
 *   1 h to 48 h      hours and minutes        "2 h 3 min"
 *   from 48 h        days and hours           "3 d 4 h"
 *
 * The value is rounded at the unit shown and the form is chosen from the rounded value, so nothing reads
 * "1000 ms", "10.0 s" or "1 min 60 s": 999.6 ms is "1.0 s", 9.96 s is "10 s", 59.6 s is "1 min 0 s".
 * Negative values keep their sign ("-5 ms"); NaN and infinities are "-".
 */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 0) return `-${fmtDuration(-ms)}`;
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.round(ms / 100) < 100) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.round(ms / 60_000);
  if (min < 48 * 60) return `${Math.floor(min / 60)} h ${min % 60} min`;
  const h = Math.round(ms / 3_600_000);
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * An idle gap, two significant digits in the largest unit that fits: "0.5 s", "3.5 s", "30 s", "2.5 min",
 * "1.5 h". Gaps are chosen from round boundaries (keep-warm intervals, sweep steps) and measured idle times
 * are compared with them, so two digits say all there is; the cold-start finding and the idle sweep's verdict
 * name the same gap the same way.
 */
export function fmtGap(ms: number): string {
  if (ms < 60_000) return `${Number((ms / 1000).toPrecision(2))} s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toPrecision(2))} min`;
  return `${Number((ms / 3_600_000).toPrecision(2))} h`;
}
