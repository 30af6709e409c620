/**
 * Faults on a hop the prober cannot see (API Gateway → VPC link → NLB →
 * target, a proxy to its upstream) land in its time to first byte. The
 * excess over the series' typical TTFB still carries the fault's timer:
 *
 *   hidden-hop-syn-retransmit  a SYN retransmission level of any schedule the remote kernel may use
 *   hidden-hop-dns-timeout     k × 5 s: the glibc resolver's default timeout, retried
 *
 * Only stalls whose own set-up (DNS, connect, TLS) was quick count, and a
 * stall whose X-Ray trace puts the time in the backend's own segment is no
 * connection set-up on the way to it.
 */
import { excessMs, levelMixConsistent, remoteSynLevels, setupMs, timerWindowMs } from "../physics.js";
import type { Stall } from "../stalls.js";
import { binomialUpperTail } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import {
  countBy,
  countWhere,
  fmtDuration,
  seriesConnKey,
  seriesConnKeyOf,
  signatureConfidence,
  stallIn,
} from "../util.js";
import { lostText } from "./tcp-syn-retransmit.js";

/** The resolver timeout a remote host most likely uses: glibc's default `options timeout:5`. */
export const REMOTE_RESOLVER_TIMEOUT_MS = 5000;
const DNS_LEVELS = [1, 2, 3, 4].map((k) => ({ ms: k * REMOTE_RESOLVER_TIMEOUT_MS, k, fired: k }));

interface TimerLevel {
  ms: number;
  /** Timers that fired to reach this level (lost SYNs, resolver timeouts). */
  fired: number;
}

/** The level whose timer this stall's TTFB excess sits on (a timer fires on time or a little late), or undefined. */
function timerLevel<T extends TimerLevel>(
  s: Stall,
  input: DetectorInput,
  levels: readonly T[],
): T | undefined {
  const ex = excessMs(s, "ttfb", input.typical);
  let best: T | undefined;
  for (const l of levels) {
    const w = timerWindowMs(s, "ttfb", input.typical, l);
    const inside = ex >= l.ms - w.below && ex <= l.ms + w.above;
    if (inside && (!best || Math.abs(ex - l.ms) < Math.abs(ex - best.ms))) best = l;
  }
  return best;
}

/**
 * A timer's fingerprint is a cluster: the stalls on the levels must be far more than a smooth spread of slow
 * responses puts inside the levels' narrow windows by chance. Binomial test of the matched count against the
 * share of the excess axis (0 … the largest excess) the windows cover; at least 3 matched and half the stalls.
 */
const MIN_SHARE = 0.5;
const MIN_MATCHED = 3;
const CLUSTER_ALPHA = 0.001;

function clusterReason(
  id: string,
  cands: readonly Stall[],
  matched: readonly Stall[],
  input: DetectorInput,
  levels: readonly TimerLevel[],
): string | undefined {
  if (matched.length < MIN_MATCHED || matched.length < MIN_SHARE * cands.length)
    return `${id}: ${matched.length} of ${cands.length} TTFB stalls on its levels: too few for a timer's cluster`;
  const span = Math.max(1000, ...cands.map((s) => excessMs(s, "ttfb", input.typical)));
  const ref = cands[0]!;
  const covered = levels
    .filter((l) => l.ms <= span)
    .reduce((sum, l) => {
      const w = timerWindowMs(ref, "ttfb", input.typical, l);
      return sum + w.below + w.above;
    }, 0);
  const p = binomialUpperTail(matched.length, cands.length, Math.min(1, covered / span));
  return p < CLUSTER_ALPHA
    ? undefined
    : `${id}: ${matched.length} of ${cands.length} TTFB stalls on its levels, as many as chance puts there (p=${p.toExponential(1)})`;
}

/** TTFB stalls with a quick set-up whose time X-Ray does not place in the backend. */
export function hiddenCandidates(input: DetectorInput): Stall[] {
  const xray = input.context.xray;
  const inBackend = new Set(
    (xray?.breakdowns ?? []).filter((b) => b.dominant === "backend").map((b) => b.seq),
  );
  return input.stalls.filter(
    (s) => stallIn(s, "ttfb") && setupMs(s.record) < s.thresholdMs && !inBackend.has(s.record.seq),
  );
}

export const hiddenHopDnsTimeout: Detector = {
  id: "hidden-hop-dns-timeout",
  detect(input: DetectorInput): DetectorResult {
    const cands = hiddenCandidates(input);
    const matched: Stall[] = [];
    const detailBySeq = new Map<number, string>();
    for (const s of cands) {
      const ex = excessMs(s, "ttfb", input.typical);
      const level = timerLevel(s, input, DNS_LEVELS);
      if (!level) continue;
      matched.push(s);
      detailBySeq.set(
        s.record.seq,
        `ttfb +${fmtDuration(ex)} ≈ ${level.k} × 5 s resolver timeout behind the first hop`,
      );
    }
    if (matched.length === 0) return {};
    const noCluster = clusterReason("hidden-hop-dns-timeout", cands, matched, input, DNS_LEVELS);
    if (noCluster) return { notes: [noCluster] };
    return {
      candidate: {
        summary: `${matched.length} requests waited ~${fmtDuration(REMOTE_RESOLVER_TIMEOUT_MS)} (or a multiple) for the first byte while their own DNS, connect and TLS were quick: a DNS lookup behind the first hop timed out and was retried`,
        stalls: matched.map((s) => s.record.seq),
        confidence: signatureConfidence(matched.length, matched.length / cands.length),
        evidence: {
          ttfbStalls: cands.length,
          matched: matched.length,
          resolverTimeoutMs: REMOTE_RESOLVER_TIMEOUT_MS,
          byRoute: countBy(matched, (s) => s.record.route),
        },
        nextStep:
          "A proxy or the application behind the gateway resolves a name per request and loses queries: check nginx `resolver`/`resolver_timeout` for its upstream, the app's lookups (database, downstream APIs), the VPC resolver's 1024 packets/s per ENI limit; cache lookups or use `options timeout:1 attempts:2` there.",
        detailBySeq,
        hop: "app",
        mechanism: "a lost DNS query behind the first hop, retried after the resolver's 5 s timeout",
      },
    };
  },
};

export const hiddenHopSynRetransmit: Detector = {
  id: "hidden-hop-syn-retransmit",
  detect(input: DetectorInput): DetectorResult {
    const cands = hiddenCandidates(input);
    const levels = remoteSynLevels(input.settings.synSchedule).map((l) => ({ ...l, fired: l.lost }));
    const matched: Stall[] = [];
    const byLost = new Map<number, number>();
    const detailBySeq = new Map<number, string>();
    for (const s of cands) {
      const ex = excessMs(s, "ttfb", input.typical);
      const level = timerLevel(s, input, levels);
      if (!level) continue;
      matched.push(s);
      byLost.set(level.lost, (byLost.get(level.lost) ?? 0) + 1);
      detailBySeq.set(
        s.record.seq,
        `ttfb +${fmtDuration(ex)} ≈ ${fmtDuration(level.ms)}: ${lostText(level.lost)} behind the first hop`,
      );
    }
    if (matched.length === 0) return {};
    const noCluster = clusterReason("hidden-hop-syn-retransmit", cands, matched, input, levels);
    if (noCluster) return { notes: [noCluster] };
    // Every request of the stalled series could have opened a connection behind the first hop.
    const series = new Set(matched.map((s) => seriesConnKey(s.record)));
    const opportunities = countWhere(input.rows, (i) => series.has(seriesConnKeyOf(input.columns, i)));
    const inconsistent = levelMixConsistent(byLost, opportunities);
    if (inconsistent)
      return {
        ruledOut: `${matched.length} TTFB stalls sit on SYN retransmission levels, but ${inconsistent}: a fixed delay behind the first hop, not lost SYNs`,
      };
    const mix = [...byLost]
      .sort((a, b) => a[0] - b[0])
      .map(([k, n]) => `${n}× ${lostText(k)}`)
      .join(", ");
    const candidate: Candidate = {
      summary: `${matched.length} requests waited for the first byte exactly a SYN retransmission time longer than usual (${mix}) while their own set-up was quick: lost SYNs on a hop behind the first one (gateway → NLB → target, or a proxy → its upstream)`,
      stalls: matched.map((s) => s.record.seq),
      confidence: signatureConfidence(matched.length, matched.length / cands.length),
      evidence: {
        ttfbStalls: cands.length,
        matched: matched.length,
        byLostSyns: Object.fromEntries(byLost),
        levelsMs: levels.map((l) => l.ms),
        byRoute: countBy(matched, (s) => s.record.route),
      },
      nextStep:
        "SYNs are lost between the gateway (or proxy) and the target: check NLB target health and HealthyHostCount per AZ, whether an AZ has no healthy target with cross-zone load balancing off, the targets' security groups/NACLs, their listen backlog (ListenOverflows in `nstat`) and conntrack on the target hosts; X-Ray's integration subsegment holds this time.",
      detailBySeq,
      hop: "nlb",
      mechanism: `lost SYNs behind the first hop (${mix})`,
    };
    return { candidate };
  },
};
