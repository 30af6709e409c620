/** dns-resolver-timeout: DNS-phase stalls near multiples of the resolver timeout (5 s by default). */
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import {
  countBy,
  countWhere,
  fmtDuration,
  levelToleranceMs,
  nearestLevel,
  signatureConfidence,
  stallIn,
} from "../util.js";

/** Multiples of the resolver timeout recognised (timeout × attempts, rotated nameservers). */
export const RESOLVER_MULTIPLES = [1, 2, 3, 4] as const;

export const dnsResolverTimeout: Detector = {
  id: "dns-resolver-timeout",
  detect(input: DetectorInput): DetectorResult {
    const timeoutMs = input.settings.resolverTimeoutMs;
    const levels = RESOLVER_MULTIPLES.map((k) => k * timeoutMs);
    const dnsStalls = input.stalls.filter((s) => stallIn(s, "dns"));
    if (dnsStalls.length === 0) return {};
    const matched: number[] = [];
    const byLevel: Record<string, number> = {};
    const detailBySeq = new Map<number, string>();
    for (const s of dnsStalls) {
      const dnsMs = s.record.phasesMs.dns ?? 0;
      const level = nearestLevel(dnsMs, levels);
      if (level === undefined) continue;
      matched.push(s.record.seq);
      byLevel[String(level)] = (byLevel[String(level)] ?? 0) + 1;
      detailBySeq.set(
        s.record.seq,
        `dns ${fmtDuration(dnsMs)} ≈ ${level / timeoutMs} × ${fmtDuration(timeoutMs)} resolver timeout`,
      );
    }
    if (matched.length === 0) {
      return {
        notes: [
          `${dnsStalls.length} DNS stalls, none near a multiple of the ${fmtDuration(timeoutMs)} resolver timeout`,
        ],
      };
    }
    const share = matched.length / dnsStalls.length;
    const matchedSet = new Set(matched);
    const lookups = countWhere(input.rows, (i) => input.columns.phase(i, "dns") !== undefined);
    const levelsText = Object.keys(byLevel)
      .map((l) => fmtDuration(Number(l)))
      .join(" / ");
    const candidate: Candidate = {
      summary: `${matched.length} of ${lookups} DNS lookups stalled ~${levelsText}: resolver timeout (${fmtDuration(timeoutMs)}) and retry, a lost UDP query`,
      stalls: matched,
      confidence: signatureConfidence(matched.length, share),
      evidence: {
        lookups,
        dnsStalls: dnsStalls.length,
        matched: matched.length,
        resolverTimeoutMs: timeoutMs,
        byLevelMs: byLevel,
        toleranceMs: Math.round(levelToleranceMs(timeoutMs)),
        byAddress: countBy(
          dnsStalls.filter((s) => matchedSet.has(s.record.seq)),
          (s) => s.record.remoteAddress,
        ),
      },
      nextStep:
        "Check the resolver in /etc/resolv.conf and whether its UDP queries are lost (the VPC resolver allows 1024 packets/s per ENI); `options single-request-reopen` avoids the parallel A/AAAA conntrack race, `options timeout:1 attempts:2` shortens each stall, a local caching resolver (or the connection reuse) avoids most lookups.",
      detailBySeq,
    };
    return { candidate };
  },
};
