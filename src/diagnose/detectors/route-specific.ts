/**
 * route-specific: one route of an API stalls while another route of the same
 * API, over the same period, does not. Fisher's exact test (one-sided) of the
 * route's stall rate against the other routes' within the common time window;
 * Bonferroni over the routes tested.
 */
import { roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtGap, pct, statisticalConfidence } from "../util.js";
import { contrastGroups } from "./contrast.js";

export {
  CONTRAST_MIN_RATE_RATIO as ROUTE_MIN_RATE_RATIO,
  CONTRAST_MIN_SAMPLES as ROUTE_MIN_SAMPLES,
  CONTRAST_MIN_STALLS as ROUTE_MIN_STALLS,
} from "./contrast.js";

export const routeSpecific: Detector = {
  id: "route-specific",
  detect(input: DetectorInput): DetectorResult {
    const {
      hits: found,
      tests,
      notes,
    } = contrastGroups(input, (i) => input.columns.route(i), "route-specific");
    const hits = found.map((h) => ({ ...h, route: h.group }));
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
        tests,
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
