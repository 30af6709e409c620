/**
 * The idle sweep's conclusion in words: where stalls begin and how often
 * keep-warm pings must come, "no idle effect" with the size of effect the
 * sweep could have seen, or "inconclusive" with the repeats that would
 * decide. Pure: statistics in, text out.
 */

import { fmtGap } from "../duration.js";
import { REFERENCE_RISE, SWEEP_POWER, type SweepStats } from "./idle-sweep-stats.js";

const FIVE_MIN_MS = 300_000;
/** Keep-warm intervals a person would configure, ascending. */
const NICE_INTERVALS_MS = [
  1000, 2000, 5000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 600_000,
  900_000, 1_200_000, 1_800_000, 3_600_000,
];

export interface SweepVerdict {
  text: string;
  notes: string[];
  keepWarmIntervalMs?: number;
  fiveMinuteKeepWarmHelps?: boolean;
}

export function fmtRate(rate: number): string {
  const pct = rate * 100;
  return `${pct > 0 && pct < 1 ? pct.toPrecision(1) : Math.round(pct)} %`;
}

/** The longest usual interval that keeps every gap at or below `quietMs` (the longest gap the sweep saw quiet). */
export function keepWarmInterval(quietMs: number): number | undefined {
  if (quietMs <= 0) return undefined;
  let best: number | undefined;
  for (const v of NICE_INTERVALS_MS) if (v <= quietMs) best = v;
  return best ?? quietMs;
}

export function sweepVerdict(stats: SweepStats, seriesCount: number): SweepVerdict {
  const c = stats.conclusion;
  const notes: string[] = [];
  const longestMs = Math.max(0, ...stats.series.flatMap((s) => s.gaps.map((g) => g.gapMs)));
  if (c.kind === "onset") {
    if (c.series.length < seriesCount) {
      notes.push(
        `Stalls began after idle in ${c.series.join(", ")} only. The series are probed one after another in each step: the later ones follow the first within milliseconds, so where they share its backend they find it already awake.`,
      );
    }
    const interval = keepWarmInterval(c.lastQuietGapMs);
    const helps = c.lastQuietGapMs >= FIVE_MIN_MS ? true : c.stallsBeginMs <= FIVE_MIN_MS ? false : undefined;
    const fiveMin =
      helps === true
        ? "the 5-minute default is short enough"
        : helps === false
          ? "the 5-minute default is too far apart"
          : `whether the 5-minute default is short enough this sweep cannot tell (no gap between ${fmtGap(c.lastQuietGapMs)} and ${fmtGap(c.stallsBeginMs)}; add a 5m gap)`;
    const begin = `stalls begin after ~${fmtGap(c.stallsBeginMs)} idle (quiet up to ${fmtGap(c.lastQuietGapMs)})`;
    const text =
      interval === undefined
        ? `${begin}: keep-warm pings would have to come more often than every ${fmtGap(c.stallsBeginMs)} (sweep shorter gaps to find how often); ${fiveMin}`
        : `${begin}: keep-warm pings every ${fmtGap(interval)} would avoid them; ${fiveMin}`;
    return {
      text,
      notes,
      ...(interval !== undefined ? { keepWarmIntervalMs: interval } : {}),
      ...(helps !== undefined ? { fiveMinuteKeepWarmHelps: helps } : {}),
    };
  }
  const anyStall = stats.series.some((s) => s.gaps.some((g) => g.hits > 0));
  if (c.kind === "no-idle-effect") {
    if (c.detectableRate === undefined) {
      const text = `no idle effect: ${fmtRate(c.baselineRate)} or more of the requests stalled or failed even after the shorter gaps, so keep-warm pings, which only make gaps short, would not avoid them`;
      return { text, notes };
    }
    const seen = `this sweep would have seen a rise from ${fmtRate(c.baselineRate)} to ${fmtRate(c.detectableRate)} after ${fmtGap(c.longestGapMs)} with ${Math.round(SWEEP_POWER * 100)} % power`;
    const text = anyStall
      ? `no idle effect: stalls did not become more frequent after longer idle gaps up to ${fmtGap(longestMs)}, so keep-warm pings would not avoid them (${seen})`
      : `no idle effect: no stalls after any idle gap up to ${fmtGap(longestMs)}, keep-warm pings are not needed for this (${seen})`;
    return { text, notes };
  }
  const decide =
    c.repeatsNeeded !== undefined
      ? `${c.repeatsNeeded} per gap would decide`
      : "more than 1000 per gap would be needed";
  const text = `inconclusive — run more repeats (${decide}): no gap's stall rate is significantly above the shorter gaps', but this sample could not have seen a rise of ${Math.round(REFERENCE_RISE * 100)} points after ${fmtGap(longestMs)} either`;
  return { text, notes };
}
