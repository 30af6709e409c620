/**
 * address-skew: stalls concentrated on one remote address beyond chance.
 * Per API × route (addresses of different routes are not comparable): for each
 * address with enough requests, Fisher's exact test (one-sided) of its stall
 * rate against the other addresses'; Bonferroni over all addresses tested.
 */
import { bonferroni, fisherExact, roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { groupRows, isPrivateAddress, pct, statisticalConfidence } from "../util.js";

export const ADDRESS_MIN_PER_ADDRESS = 5;
export const ADDRESS_MIN_SAMPLES = 20;
export const ADDRESS_MIN_STALLS = 3;
export const ADDRESS_MIN_RATE_RATIO = 3;

interface AddressTest {
  scope: string;
  address: string;
  n: number;
  stalls: number;
  othersN: number;
  othersStalls: number;
  pValue: number;
  explained: number[];
}

export const addressSkew: Detector = {
  id: "address-skew",
  detect(input: DetectorInput): DetectorResult {
    const notes: string[] = [];
    const c = input.columns;
    const isStall = (i: number) => input.stallSeqs.has(c.seq(i));
    const tests: AddressTest[] = [];
    // One scope string per series, not one per row.
    const scopeOf = new Map<string, string>();
    const scopeKey = (i: number): string | undefined => {
      if (!c.remoteAddress(i)) return undefined;
      const id = c.seriesId(i);
      let s = scopeOf.get(id);
      if (s === undefined) {
        s = `${c.api(i)} ${c.route(i)}`;
        scopeOf.set(id, s);
      }
      return s;
    };
    for (const [scope, recs] of groupRows(input.rows, scopeKey)) {
      if (!recs.some(isStall)) continue;
      const byAddr = groupRows(recs, (i) => c.remoteAddress(i));
      const big = [...byAddr].filter(([, list]) => list.length >= ADDRESS_MIN_PER_ADDRESS);
      if (recs.length < ADDRESS_MIN_SAMPLES || big.length < 2) {
        notes.push(
          `too few samples for address-skew test (${scope}): n=${recs.length}, ${big.length} address(es) with ≥ ${ADDRESS_MIN_PER_ADDRESS} requests (need n ≥ ${ADDRESS_MIN_SAMPLES} and ≥ 2)`,
        );
        continue;
      }
      let totalStalls = 0;
      for (const i of recs) if (isStall(i)) totalStalls++;
      for (const [address, list] of big) {
        const stalled: number[] = [];
        for (const i of list) if (isStall(i)) stalled.push(i);
        const othersN = recs.length - list.length;
        const othersStalls = totalStalls - stalled.length;
        const p = fisherExact({
          a: stalled.length,
          b: list.length - stalled.length,
          c: othersStalls,
          d: othersN - othersStalls,
        }).greater;
        tests.push({
          scope,
          address,
          n: list.length,
          stalls: stalled.length,
          othersN,
          othersStalls,
          pValue: p,
          explained: stalled.map((i) => c.seq(i)),
        });
      }
    }
    const hits = tests
      .map((t) => ({ ...t, pAdjusted: bonferroni(t.pValue, tests.length) }))
      .filter(
        (t) =>
          t.pAdjusted < input.settings.alpha &&
          t.stalls >= ADDRESS_MIN_STALLS &&
          t.stalls / t.n >= ADDRESS_MIN_RATE_RATIO * (t.othersStalls / Math.max(1, t.othersN)),
      )
      .sort((a, b) => a.pValue - b.pValue);
    if (hits.length === 0) return { notes };
    const top = hits[0]!;
    const addresses = [...new Set(hits.map((h) => h.address))];
    const detailBySeq = new Map<number, string>();
    for (const h of hits) for (const seq of h.explained) detailBySeq.set(seq, `on ${h.address}`);
    const node = isPrivateAddress(top.address) ? "an NLB node (one AZ)" : "one edge or endpoint address";
    const candidate: Candidate = {
      summary: `Stalls concentrate on ${addresses.join(", ")} (${top.scope}): ${top.stalls} of ${top.n} requests there stalled (${pct(top.stalls, top.n)}) against ${top.othersStalls} of ${top.othersN} on other addresses (Fisher p=${roundP(top.pAdjusted)})`,
      stalls: [...new Set(hits.flatMap((h) => h.explained))].sort((a, b) => a - b),
      confidence: statisticalConfidence(top.pAdjusted, top.stalls),
      evidence: {
        test: "Fisher exact, one-sided (stall rate on the address > on the others), Bonferroni over addresses",
        tests: tests.length,
        addresses,
        hits: hits.map((h) => ({
          scope: h.scope,
          address: h.address,
          n: h.n,
          stalls: h.stalls,
          othersN: h.othersN,
          othersStalls: h.othersStalls,
          pValue: roundP(h.pValue),
          pAdjusted: roundP(h.pAdjusted),
        })),
      },
      nextStep: isPrivateAddress(top.address)
        ? `Check target health in the AZ behind ${top.address} (${node}): cross-zone load balancing is off by default on NLBs, so that node only sends to its own AZ's targets; look at UnHealthyHostCount per AZ and TCP_Target_Reset_Count.`
        : `${top.address} is ${node}: pin it with --resolve and probe it against the others to confirm, then report the edge/POP (x-amz-cf-pop) to AWS or check its regional endpoint.`,
      detailBySeq,
    };
    return { candidate, notes };
  },
};
