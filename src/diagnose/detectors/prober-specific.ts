/**
 * prober-specific: over a fleet's history (several writers in one store), one prober stalls while the others,
 * probing the same API over the same period, do not: the fault lies on that prober's path (its AZ, its region,
 * its host), not in the API. Records carry `writer` only when read back from a store.
 */

import { roundP } from "../stats.js";
import type { Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtGap, pct, statisticalConfidence } from "../util.js";
import { contrastGroups } from "./contrast.js";

export const proberSpecific: Detector = {
  id: "prober-specific",
  detect(input: DetectorInput): DetectorResult {
    const c = input.columns;
    if (!input.rows.some((i) => c.writer(i) !== undefined)) return {};
    const { hits, tests, notes } = contrastGroups(input, (i) => c.writer(i), "prober-specific");
    const top = hits[0];
    if (!top) return { notes };
    const detailBySeq = new Map<number, string>();
    for (const h of hits)
      for (const seq of h.explained) detailBySeq.set(seq, `seen from prober ${h.group} only`);
    return {
      notes,
      candidate: {
        summary: `Prober ${top.group} saw ${top.stalls} stalls in ${top.n} requests to ${top.api} (${pct(top.stalls, top.n)}) while ${top.others.join(", ")} saw ${top.othersStalls} in ${top.othersN} over the same ${fmtGap(top.windowMs)} (Fisher p=${roundP(top.pAdjusted)}): the stalls are on that prober's path`,
        stalls: [...new Set(hits.flatMap((h) => h.explained))].sort((a, b) => a - b),
        confidence: statisticalConfidence(top.pAdjusted, top.stalls),
        evidence: {
          test: "Fisher exact, one-sided (stall rate from the prober > from the other probers, same period), Bonferroni over probers",
          tests,
          hits: hits.map((h) => ({
            api: h.api,
            writer: h.group,
            others: h.others,
            n: h.n,
            stalls: h.stalls,
            othersN: h.othersN,
            othersStalls: h.othersStalls,
            pAdjusted: roundP(h.pAdjusted),
          })),
        },
        nextStep: `Look at what only ${top.group} goes through: its AZ or region's path to the API (NAT gateway, VPC endpoint, DNS resolver), its own host (CPU, event-loop lag, conntrack), and whether the other probers' AZs reach a different edge or NLB node.`,
        detailBySeq,
        hop: "client",
        where: `prober ${top.group}`,
        mechanism: "only one prober's path stalls",
      },
    };
  },
};
