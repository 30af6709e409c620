/**
 * One group of requests stalls while the others of the same API, over the same period, do not: the test behind
 * route-specific (groups: routes) and prober-specific (groups: the probers, i.e. the store's writers). Fisher's
 * exact test (one-sided) of the group's stall rate against the other groups', restricted to the time all were
 * probed; Bonferroni over the groups tested.
 */
import type { RecordColumns } from "../../record/columns.js";
import { bonferroni, fisherExact } from "../stats.js";
import type { DetectorInput } from "../types.js";
import { groupBy, maxOf, minOf } from "../util.js";

export const CONTRAST_MIN_SAMPLES = 20;
export const CONTRAST_MIN_STALLS = 3;
export const CONTRAST_MIN_RATE_RATIO = 3;

export interface ContrastHit {
  api: string;
  group: string;
  others: string[];
  n: number;
  stalls: number;
  othersN: number;
  othersStalls: number;
  windowMs: number;
  pValue: number;
  pAdjusted: number;
  /** Every stall of the group (the window is for the test only). */
  explained: number[];
}

const span = (c: RecordColumns, rows: readonly number[]): [number, number] => [
  minOf(rows.map((i) => c.atMs(i))),
  maxOf(rows.map((i) => c.atMs(i))),
];

/**
 * Groups (by `groupOf` of a row of `input.columns`; rows without one are left out) whose stall rate stands
 * out, most significant first.
 */
export function contrastGroups(
  input: DetectorInput,
  groupOf: (row: number) => string | undefined,
  label: string,
): { hits: ContrastHit[]; tests: number; notes: string[] } {
  const notes: string[] = [];
  const c = input.columns;
  const isStall = (i: number) => input.stallSeqs.has(c.seq(i));
  const tests: Omit<ContrastHit, "pAdjusted">[] = [];
  for (const [api, all] of groupBy(input.rows, (i) => c.api(i))) {
    const recs = all.filter((r) => groupOf(r) !== undefined);
    const groups = groupBy(recs, groupOf);
    if (groups.size < 2 || !recs.some(isStall)) continue;
    for (const [group, mine] of groups) {
      if (!mine.some(isStall)) continue;
      const others = recs.filter((r) => groupOf(r) !== group);
      const [a0, a1] = span(c, mine);
      const [b0, b1] = span(c, others);
      const from = Math.max(a0, b0);
      const to = Math.min(a1, b1);
      const inWin = (i: number) => c.atMs(i) >= from && c.atMs(i) <= to;
      const m = mine.filter(inWin);
      const o = others.filter(inWin);
      if (m.length < CONTRAST_MIN_SAMPLES || o.length < CONTRAST_MIN_SAMPLES) {
        notes.push(
          `too few samples for ${label} test (${api} ${group}): n=${m.length} vs ${o.length} in the common period (need ≥ ${CONTRAST_MIN_SAMPLES} each)`,
        );
        continue;
      }
      const ks = m.filter(isStall).length;
      const ko = o.filter(isStall).length;
      tests.push({
        api,
        group,
        others: [...new Set(o.map(groupOf).filter((g): g is string => g !== undefined))],
        n: m.length,
        stalls: ks,
        othersN: o.length,
        othersStalls: ko,
        windowMs: to - from,
        pValue: fisherExact({ a: ks, b: m.length - ks, c: ko, d: o.length - ko }).greater,
        explained: mine.filter(isStall).map((i) => c.seq(i)),
      });
    }
  }
  const hits = tests
    .map((t) => ({ ...t, pAdjusted: bonferroni(t.pValue, tests.length) }))
    .filter(
      (t) =>
        t.pAdjusted < input.settings.alpha &&
        t.stalls >= CONTRAST_MIN_STALLS &&
        t.stalls / t.n >= CONTRAST_MIN_RATE_RATIO * (t.othersStalls / t.othersN),
    )
    .sort((a, b) => a.pValue - b.pValue);
  return { hits, tests: tests.length, notes };
}
