/**
 * tcp-syn-retransmit: connect-phase stalls on the prober's own hop at the
 * cumulative retransmission times of the prober host's own kernel after k
 * lost SYNs (src/diagnose/physics.ts), with a level mix random loss can make.
 */
import { levelMixConsistent, levelOf, synLevels } from "../physics.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import {
  countBy,
  countWhere,
  fmtDuration,
  isPrivateAddress,
  pct,
  signatureConfidence,
  stallIn,
  topCount,
} from "../util.js";

const ORDINAL = ["", "1 SYN", "2 SYNs", "3 SYNs", "4 SYNs", "5 SYNs", "6 SYNs", "7 SYNs", "8 SYNs"];
export const lostText = (k: number): string => `${ORDINAL[k] ?? `${k} SYNs`} lost`;

export const tcpSynRetransmit: Detector = {
  id: "tcp-syn-retransmit",
  detect(input: DetectorInput): DetectorResult {
    const connectStalls = input.stalls.filter((s) => stallIn(s, "connect"));
    if (connectStalls.length === 0) return {};
    const schedule = input.settings.synSchedule;
    const levels = synLevels(schedule);
    const matched = [];
    const byLost = new Map<number, number>();
    const detailBySeq = new Map<number, string>();
    for (const s of connectStalls) {
      const connectMs = s.record.phasesMs.connect ?? 0;
      const level = levelOf(connectMs, levels);
      if (level === undefined) continue;
      matched.push(s);
      byLost.set(level.lost, (byLost.get(level.lost) ?? 0) + 1);
      detailBySeq.set(
        s.record.seq,
        `connect ${fmtDuration(connectMs)} ≈ ${fmtDuration(level.ms)}: ${lostText(level.lost)}`,
      );
    }
    const levelsText = levels.map((l) => fmtDuration(l.ms)).join(", ");
    if (matched.length === 0) {
      return {
        notes: [
          `${connectStalls.length} connect stalls, none near this host's SYN retransmission times (${levelsText})`,
        ],
      };
    }
    const connects = countWhere(input.rows, (i) => input.columns.phase(i, "connect") !== undefined);
    const inconsistent = levelMixConsistent(byLost, connects);
    if (inconsistent)
      return {
        ruledOut: `connect stalls on retransmission levels, but ${inconsistent}: a fixed delay, not lost SYNs`,
      };
    const byAddress = countBy(matched, (s) => s.record.remoteAddress);
    const top = topCount(byAddress);
    const oneAddress =
      top !== undefined && top[1] >= 2 && top[1] / matched.length >= 0.8 ? top[0] : undefined;
    const lostCounts = [...byLost].sort((a, b) => a[0] - b[0]);
    const mix = lostCounts.map(([k, n]) => `${n}× ${lostText(k)}`).join(", ");
    const where = oneAddress ? ` (${pct(top![1], matched.length)} to ${oneAddress})` : "";
    const nextStep = oneAddress
      ? `Check target health in the AZ behind ${oneAddress}${isPrivateAddress(oneAddress) ? " (an NLB node)" : ""}: an AZ with no healthy target drops SYNs, and cross-zone load balancing is off by default on NLBs; also check its security group/NACL and the target's listen backlog.`
      : "SYNs are lost between the prober and its first hop: check NLB target health per AZ (cross-zone load balancing is off by default), security groups/NACLs, conntrack table exhaustion (nf_conntrack: table full) and the listener's backlog (SYN queue overflows).";
    const candidate: Candidate = {
      summary: `${matched.length} of ${connects} new connections stalled in TCP connect at this host's SYN retransmission times${where}: ${mix}`,
      stalls: matched.map((s) => s.record.seq),
      confidence: signatureConfidence(matched.length, matched.length / connectStalls.length),
      evidence: {
        connects,
        connectStalls: connectStalls.length,
        matched: matched.length,
        byLostSyns: Object.fromEntries(lostCounts),
        levelsMs: levels.map((l) => l.ms),
        schedule: schedule.source,
        byAddress,
        ...(oneAddress ? { address: oneAddress } : {}),
      },
      nextStep,
      detailBySeq,
      hop: "client",
      ...(oneAddress ? { where: oneAddress } : {}),
      mechanism: `lost SYNs on the prober's own hop (${mix}), retransmitted on this kernel's schedule`,
      corroboration: [
        {
          source: "host",
          text: `SYN retransmission times with tcp_syn_linear_timeouts=${schedule.linearTimeouts}, tcp_syn_retries=${schedule.retries} (${schedule.source}): ${levelsText}`,
        },
      ],
    };
    return { candidate };
  },
};
