/**
 * periodic-stall: stalls recur every Nth request in send order. For N = 2..10
 * and each residue class mod N, a one-sided binomial test of the stalls at that
 * class against their expected share; Bonferroni over every (N, residue) pair
 * and every sequence tested. Per series (× connection mode) and, when there are
 * several series, across them by global seq.
 */
import { binomialUpperTail, bonferroni, roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { rowsBySeriesConn, statisticalConfidence } from "../util.js";

export const PERIOD_MIN = 2;
export const PERIOD_MAX = 10;
export const PERIODIC_MIN_SAMPLES = 30;
export const PERIODIC_MIN_STALLS = 5;
export const PERIODIC_MIN_CLASS_STALLS = 4;
export const PERIODIC_MIN_RATE_RATIO = 3;
/** (N, residue) pairs tested per sequence: 2 + 3 + … + 10. */
export const PERIODIC_TESTS_PER_SEQUENCE = ((PERIOD_MAX + PERIOD_MIN) * (PERIOD_MAX - PERIOD_MIN + 1)) / 2;

export interface PeriodHit {
  sequence: string;
  period: number;
  residue: number;
  n: number;
  stalls: number;
  classN: number;
  classStalls: number;
  pValue: number;
  /** Seqs of the stalls in the residue class. */
  explained: number[];
}

/**
 * Best period of one sequence (positions 0..n−1 in send order), before correction. `recs` are the sequence's
 * requests (rows of the columnar store, or anything `seqOf` gives the seq of).
 */
export function bestPeriod<T>(
  sequence: string,
  recs: ArrayLike<T>,
  position: (r: T, i: number) => number,
  isStall: (r: T) => boolean,
  seqOf: (r: T) => number,
  seriesOf?: (r: T) => string | number,
): PeriodHit | undefined {
  const n = recs.length;
  let m = 0;
  for (let i = 0; i < n; i++) if (isStall(recs[i]!)) m++;
  const seriesShare = new Map<string | number, number>();
  if (seriesOf)
    for (let i = 0; i < n; i++) {
      const s = seriesOf(recs[i]!);
      seriesShare.set(s, (seriesShare.get(s) ?? 0) + 1 / n);
    }
  let best: PeriodHit | undefined;
  for (let N = PERIOD_MIN; N <= PERIOD_MAX; N++) {
    const classN = new Array<number>(N).fill(0);
    const classStalls = new Array<number>(N).fill(0);
    for (let i = 0; i < n; i++) {
      const r = recs[i]!;
      const res = ((position(r, i) % N) + N) % N;
      classN[res]! += 1;
      if (isStall(r)) classStalls[res]! += 1;
    }
    for (let res = 0; res < N; res++) {
      const nr = classN[res]!;
      const kr = classStalls[res]!;
      if (nr === 0 || nr === n || kr < PERIODIC_MIN_CLASS_STALLS) continue;
      const rateIn = kr / nr;
      const rateOut = (m - kr) / (n - nr);
      if (rateIn < PERIODIC_MIN_RATE_RATIO * rateOut) continue;
      if (seriesOf && confounded(recs, position, N, res, seriesOf, seriesShare)) continue;
      const p = binomialUpperTail(kr, m, nr / n);
      if (!best || p < best.pValue) {
        best = {
          sequence,
          period: N,
          residue: res,
          n,
          stalls: m,
          classN: nr,
          classStalls: kr,
          pValue: p,
          explained: [],
        };
      }
    }
  }
  if (best) {
    const b = best;
    for (let i = 0; i < n; i++) {
      const r = recs[i]!;
      if (isStall(r) && ((position(r, i) % b.period) + b.period) % b.period === b.residue)
        b.explained.push(seqOf(r));
    }
  }
  return best;
}

/**
 * In global send order, a residue class that is (almost) one series is the
 * series' own difference (e.g. two routes alternating), not a period: leave
 * that to route-specific and the per-series test.
 */
function confounded<T>(
  recs: ArrayLike<T>,
  position: (r: T, i: number) => number,
  N: number,
  res: number,
  seriesOf: (r: T) => string | number,
  seriesShare: ReadonlyMap<string | number, number>,
): boolean {
  const counts = new Map<string | number, number>();
  let total = 0;
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i]!;
    if (((position(r, i) % N) + N) % N !== res) continue;
    total += 1;
    const s = seriesOf(r);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  for (const [series, c] of counts) {
    const share = c / total;
    if (share >= 0.8 && share > (seriesShare.get(series) ?? 0) + 0.2) return true;
  }
  return false;
}

const ordinal = (n: number) => (n === 2 ? "2nd" : n === 3 ? "3rd" : `${n}th`);

export const periodicStall: Detector = {
  id: "periodic-stall",
  detect(input: DetectorInput): DetectorResult {
    const notes: string[] = [];
    const c = input.columns;
    const seqOf = (i: number) => c.seq(i);
    const isStall = (i: number) => input.stallSeqs.has(c.seq(i));
    // Rows, not records: a sequence is a list of row indexes into the columnar store. Series are told apart
    // by their index (one per row in a typed array), not by a key string built per row.
    const sequences: Array<{ name: string; recs: Uint32Array; global: boolean }> = [];
    const series = rowsBySeriesConn(c, input.rows);
    const seriesIndex = new Int32Array(c.length);
    let k = 0;
    for (const [name, recs] of series) {
      for (const i of recs) seriesIndex[i] = k;
      k++;
      const before = (a: number, b: number) => c.seriesSeq(a) - c.seriesSeq(b) || c.seq(a) - c.seq(b);
      // Rows come in send order, so a series is usually in order already: a comparator sort of a typed array
      // copies it to the JS heap (MBs at 300,000 rows) for nothing.
      let ordered = true;
      for (let j = 1; j < recs.length && ordered; j++)
        if (before(recs[j - 1]!, recs[j]!) > 0) ordered = false;
      if (!ordered) recs.sort(before);
      sequences.push({ name, recs, global: false });
    }
    const seriesOf = (i: number) => seriesIndex[i]!;
    if (series.size > 1) {
      // input.rows are in seq order already.
      sequences.push({ name: "all series by send order", recs: input.rows, global: true });
    }
    const eligible = sequences.filter((s) => {
      let m = 0;
      for (const i of s.recs) if (isStall(i)) m++;
      if (m === 0) return false;
      if (s.recs.length < PERIODIC_MIN_SAMPLES) {
        notes.push(
          `too few samples for periodicity test (${s.name}): n=${s.recs.length} < ${PERIODIC_MIN_SAMPLES}`,
        );
        return false;
      }
      if (m < PERIODIC_MIN_STALLS) {
        notes.push(`too few stalls for periodicity test (${s.name}): ${m} < ${PERIODIC_MIN_STALLS}`);
        return false;
      }
      return true;
    });
    const tests = PERIODIC_TESTS_PER_SEQUENCE * eligible.length;
    const hits: Array<PeriodHit & { pAdjusted: number }> = [];
    for (const s of eligible) {
      const hit = bestPeriod(
        s.name,
        s.recs,
        (r, i) => (s.global ? c.seq(r) : i),
        isStall,
        seqOf,
        s.global ? seriesOf : undefined,
      );
      if (!hit) continue;
      const pAdjusted = bonferroni(hit.pValue, tests);
      if (pAdjusted < input.settings.alpha) hits.push({ ...hit, pAdjusted });
    }
    if (hits.length === 0) return { notes };
    hits.sort((a, b) => a.pValue - b.pValue);
    const top = hits[0]!;
    const stalls = [...new Set(hits.flatMap((h) => h.explained))].sort((a, b) => a - b);
    const detailBySeq = new Map<number, string>();
    for (const h of [...hits].reverse()) {
      for (const seq of h.explained)
        detailBySeq.set(seq, `every ${ordinal(h.period)} request (${h.sequence})`);
    }
    const more =
      hits.length > 1 ? ` (and ${hits.length - 1} more sequence${hits.length > 2 ? "s" : ""})` : "";
    const candidate: Candidate = {
      summary: `Every ${ordinal(top.period)} request stalls in ${top.sequence}${more}: ${top.classStalls} of ${top.stalls} stalls fall on position ≡ ${top.residue} mod ${top.period}, where ${Math.round((100 * top.classN) / top.n)}% were expected (binomial p=${roundP(top.pAdjusted)})`,
      stalls,
      confidence: statisticalConfidence(top.pAdjusted, top.classStalls),
      evidence: {
        test: "binomial, one-sided (stalls at one residue class mod N vs. its share of requests), Bonferroni over N=2..10 × residues × sequences",
        tests,
        period: top.period,
        hits: hits.map((h) => ({
          sequence: h.sequence,
          period: h.period,
          residue: h.residue,
          n: h.n,
          stalls: h.stalls,
          classRequests: h.classN,
          classStalls: h.classStalls,
          pValue: roundP(h.pValue),
          pAdjusted: roundP(h.pAdjusted),
        })),
      },
      nextStep: `One target or AZ in a rotation of ${top.period} is bad: check NLB target health (DescribeTargetHealth) and the remote addresses of the stalled requests, and look up their x-amzn-RequestId in the backend logs to find the target; deregister or fix it.`,
      detailBySeq,
    };
    return { candidate, notes };
  },
};
