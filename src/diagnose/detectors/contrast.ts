/**
 * One group of requests stalls while the others of the same API, over the same period, do not: the test behind
 * route-specific (groups: routes) and prober-specific (groups: the probers, i.e. the store's writers). Fisher's
 * exact test (one-sided) of the group's stall rate against the other groups', restricted to the time all were
 * probed; Bonferroni over the groups tested.
 */
import { bonferroni, fisherExact } from "../stats.js";
import type { DetectorInput } from "../types.js";
import { groupRows, indexGroups } from "../util.js";

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
  // Counted per group in passes over each API's rows: no filtered copy of the rows per group (at 300,000
  // requests those copies were ~20 MB of garbage at the report's peak).
  for (const [api, all] of groupRows(input.rows, (i) => c.api(i))) {
    const { names, groupOf: groupAt } = indexGroups(all, groupOf);
    if (names.length < 2) continue;
    const from = new Float64Array(names.length).fill(Number.POSITIVE_INFINITY);
    const to = new Float64Array(names.length).fill(Number.NEGATIVE_INFINITY);
    const stalled = new Uint32Array(names.length);
    for (let k = 0; k < all.length; k++) {
      const g = groupAt[k]!;
      if (g < 0) continue;
      const at = c.atMs(all[k]!);
      if (at < from[g]!) from[g] = at;
      if (at > to[g]!) to[g] = at;
      if (isStall(all[k]!)) stalled[g]!++;
    }
    if (stalled.every((n) => n === 0)) continue;
    for (let g = 0; g < names.length; g++) {
      if (stalled[g] === 0) continue;
      // The others' span: over every other group's rows.
      let oFrom = Number.POSITIVE_INFINITY;
      let oTo = Number.NEGATIVE_INFINITY;
      for (let h = 0; h < names.length; h++) {
        if (h === g) continue;
        oFrom = Math.min(oFrom, from[h]!);
        oTo = Math.max(oTo, to[h]!);
      }
      const winFrom = Math.max(from[g]!, oFrom);
      const winTo = Math.min(to[g]!, oTo);
      let n = 0;
      let ks = 0;
      let othersN = 0;
      let ko = 0;
      const othersSeen = new Set<number>();
      const othersInOrder: number[] = [];
      const explained: number[] = [];
      for (let k = 0; k < all.length; k++) {
        const h = groupAt[k]!;
        if (h < 0) continue;
        const i = all[k]!;
        const stall = isStall(i);
        if (h === g && stall) explained.push(c.seq(i));
        const at = c.atMs(i);
        if (at < winFrom || at > winTo) continue;
        if (h === g) {
          n++;
          if (stall) ks++;
        } else {
          othersN++;
          if (stall) ko++;
          if (!othersSeen.has(h)) {
            othersSeen.add(h);
            othersInOrder.push(h);
          }
        }
      }
      if (n < CONTRAST_MIN_SAMPLES || othersN < CONTRAST_MIN_SAMPLES) {
        notes.push(
          `too few samples for ${label} test (${api} ${names[g]}): n=${n} vs ${othersN} in the common period (need ≥ ${CONTRAST_MIN_SAMPLES} each)`,
        );
        continue;
      }
      tests.push({
        api,
        group: names[g]!,
        others: othersInOrder.map((h) => names[h]!),
        n,
        stalls: ks,
        othersN,
        othersStalls: ko,
        windowMs: winTo - winFrom,
        pValue: fisherExact({ a: ks, b: n - ks, c: ko, d: othersN - ko }).greater,
        explained,
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
