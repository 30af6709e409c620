/**
 * route-specific: one route of an API stalls while another route of the same
 * API, over the same period, does not. Fisher's exact test (one-sided) of the
 * route's stall rate against the other routes' within the common time window;
 * Bonferroni over the routes tested.
 */
import type { RequestRecord } from "../../model.js";
import { bonferroni, fisherExact, roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtGap, groupBy, maxOf, minOf, pct, statisticalConfidence } from "../util.js";

export const ROUTE_MIN_SAMPLES = 20;
export const ROUTE_MIN_STALLS = 3;
export const ROUTE_MIN_RATE_RATIO = 3;

interface RouteTest {
  api: string;
  route: string;
  others: string[];
  n: number;
  stalls: number;
  othersN: number;
  othersStalls: number;
  windowMs: number;
  pValue: number;
  explained: number[];
}

const span = (recs: readonly RequestRecord[]): [number, number] => [
  minOf(recs.map((r) => r.atMs)),
  maxOf(recs.map((r) => r.atMs)),
];

export const routeSpecific: Detector = {
  id: "route-specific",
  detect(input: DetectorInput): DetectorResult {
    const notes: string[] = [];
    const isStall = (r: RequestRecord) => input.stallSeqs.has(r.seq);
    const tests: RouteTest[] = [];
    for (const [api, recs] of groupBy(input.records, (r) => r.api)) {
      const routes = groupBy(recs, (r) => r.route);
      if (routes.size < 2 || !recs.some(isStall)) continue;
      for (const [route, mine] of routes) {
        if (!mine.some(isStall)) continue;
        const others = recs.filter((r) => r.route !== route);
        const [a0, a1] = span(mine);
        const [b0, b1] = span(others);
        const from = Math.max(a0, b0);
        const to = Math.min(a1, b1);
        const inWin = (r: RequestRecord) => r.atMs >= from && r.atMs <= to;
        const m = mine.filter(inWin);
        const o = others.filter(inWin);
        if (m.length < ROUTE_MIN_SAMPLES || o.length < ROUTE_MIN_SAMPLES) {
          notes.push(
            `too few samples for route-specific test (${api} ${route}): n=${m.length} vs ${o.length} in the common period (need ≥ ${ROUTE_MIN_SAMPLES} each)`,
          );
          continue;
        }
        const ks = m.filter(isStall);
        const ko = o.filter(isStall).length;
        tests.push({
          api,
          route,
          others: [...new Set(o.map((r) => r.route))],
          n: m.length,
          stalls: ks.length,
          othersN: o.length,
          othersStalls: ko,
          windowMs: to - from,
          pValue: fisherExact({ a: ks.length, b: m.length - ks.length, c: ko, d: o.length - ko }).greater,
          // The window is for the test; every stall of the route is explained by it.
          explained: mine.filter(isStall).map((r) => r.seq),
        });
      }
    }
    const hits = tests
      .map((t) => ({ ...t, pAdjusted: bonferroni(t.pValue, tests.length) }))
      .filter(
        (t) =>
          t.pAdjusted < input.settings.alpha &&
          t.stalls >= ROUTE_MIN_STALLS &&
          t.stalls / t.n >= ROUTE_MIN_RATE_RATIO * (t.othersStalls / t.othersN),
      )
      .sort((a, b) => a.pValue - b.pValue);
    if (hits.length === 0) return { notes };
    const top = hits[0]!;
    const detailBySeq = new Map<number, string>();
    for (const h of hits) for (const seq of h.explained) detailBySeq.set(seq, `route ${h.route} only`);
    const candidate: Candidate = {
      summary: `Route ${top.route} of ${top.api} stalled ${top.stalls} of ${top.n} times (${pct(top.stalls, top.n)}) while ${top.others.join(", ")} stalled ${top.othersStalls} of ${top.othersN} over the same ${fmtGap(top.windowMs)} (Fisher p=${roundP(top.pAdjusted)})`,
      stalls: [...new Set(hits.flatMap((h) => h.explained))].sort((a, b) => a - b),
      confidence: statisticalConfidence(top.pAdjusted, top.stalls),
      evidence: {
        test: "Fisher exact, one-sided (stall rate on the route > on the other routes, same period), Bonferroni over routes",
        tests: tests.length,
        hits: hits.map((h) => ({
          api: h.api,
          route: h.route,
          others: h.others,
          n: h.n,
          stalls: h.stalls,
          othersN: h.othersN,
          othersStalls: h.othersStalls,
          windowMs: Math.round(h.windowMs),
          pValue: roundP(h.pValue),
          pAdjusted: roundP(h.pAdjusted),
        })),
      },
      nextStep: `The difference lies in what only route ${top.route} goes through: for a custom domain, the CloudFront distribution (edge-optimized) or the custom-domain mapping; for execute-api, the stage. Compare the stalled requests' x-amz-cf-pop/Via headers and remote addresses.`,
      detailBySeq,
    };
    return { candidate, notes };
  },
};
