/**
 * tcp-syn-retransmit: connect-phase stalls near the cumulative retransmission
 * timeouts of a lost SYN. Initial RTO 1 s (Linux): 1, 3, 7, 15, 31 s;
 * initial RTO 3 s (older stacks, some middleboxes): 3, 9, 21 s.
 */
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import {
  countBy,
  fmtMs,
  isPrivateAddress,
  nearestLevel,
  pct,
  signatureConfidence,
  stallIn,
  topCount,
} from "../util.js";

export const SYN_LEVELS_RTO1_MS = [1000, 3000, 7000, 15_000, 31_000] as const;
export const SYN_LEVELS_RTO3_MS = [3000, 9000, 21_000] as const;
const ALL_LEVELS = [...new Set<number>([...SYN_LEVELS_RTO1_MS, ...SYN_LEVELS_RTO3_MS])].sort((a, b) => a - b);

const ORDINAL = ["1st", "2nd", "3rd", "4th", "5th"];

function describeLevel(levelMs: number): string {
  const i1 = (SYN_LEVELS_RTO1_MS as readonly number[]).indexOf(levelMs);
  if (i1 >= 0) return `${ORDINAL[i1]} SYN retransmission`;
  const i3 = (SYN_LEVELS_RTO3_MS as readonly number[]).indexOf(levelMs);
  return `${ORDINAL[i3]} SYN retransmission (RTO 3 s)`;
}

export const tcpSynRetransmit: Detector = {
  id: "tcp-syn-retransmit",
  detect(input: DetectorInput): DetectorResult {
    const connectStalls = input.stalls.filter((s) => stallIn(s, "connect"));
    if (connectStalls.length === 0) return {};
    const matched = [];
    const byLevel: Record<string, number> = {};
    const detailBySeq = new Map<number, string>();
    for (const s of connectStalls) {
      const connectMs = s.record.phasesMs.connect ?? 0;
      const level = nearestLevel(connectMs, ALL_LEVELS);
      if (level === undefined) continue;
      matched.push(s);
      byLevel[String(level)] = (byLevel[String(level)] ?? 0) + 1;
      detailBySeq.set(s.record.seq, `connect ${fmtMs(connectMs)} ≈ ${fmtMs(level)}: ${describeLevel(level)}`);
    }
    if (matched.length === 0) {
      return { notes: [`${connectStalls.length} connect stalls, none near a SYN retransmission level`] };
    }
    const levels = Object.keys(byLevel).map(Number);
    // 9 s or 21 s seen and none of 1/7/15/31 s: the sender's initial RTO is 3 s.
    const rto3 =
      levels.some((l) => l === 9000 || l === 21_000) &&
      !levels.some((l) => l !== 3000 && l !== 9000 && l !== 21_000);
    const initialRtoMs = rto3 ? 3000 : 1000;
    const connects = input.records.filter((r) => r.phasesMs.connect !== undefined).length;
    const byAddress = countBy(matched, (s) => s.record.remoteAddress);
    const top = topCount(byAddress);
    const oneAddress =
      top !== undefined && top[1] >= 2 && top[1] / matched.length >= 0.8 ? top[0] : undefined;
    const levelsText = levels.map((l) => fmtMs(l)).join(" / ");
    const where = oneAddress ? ` (${pct(top![1], matched.length)} to ${oneAddress})` : "";
    const nextStep = oneAddress
      ? `Check target health in the AZ behind ${oneAddress}${isPrivateAddress(oneAddress) ? " (an NLB node)" : ""}: an AZ with no healthy target drops SYNs, and cross-zone load balancing is off by default on NLBs; also check its security group/NACL and the target's listen backlog.`
      : "SYNs are lost on the path: check NLB target health per AZ (cross-zone load balancing is off by default), security groups/NACLs, conntrack table exhaustion (nf_conntrack: table full) and the target's listen backlog (SYN queue overflows).";
    const candidate: Candidate = {
      summary: `${matched.length} of ${connects} fresh connections stalled ~${levelsText} in TCP connect${where}: SYN retransmissions (initial RTO ${fmtMs(initialRtoMs)})`,
      stalls: matched.map((s) => s.record.seq),
      confidence: signatureConfidence(matched.length, matched.length / connectStalls.length),
      evidence: {
        connects,
        connectStalls: connectStalls.length,
        matched: matched.length,
        byLevelMs: byLevel,
        initialRtoMs,
        byAddress,
        ...(oneAddress ? { address: oneAddress } : {}),
      },
      nextStep,
      detailBySeq,
    };
    return { candidate };
  },
};
