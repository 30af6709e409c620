/** tls-handshake-stall: stalls spent in the TLS handshake while DNS and connect were quick. */
import { median } from "../stalls.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, countWhere, fmtDuration, nearestLevel, signatureConfidence, stallIn } from "../util.js";

export const tlsHandshakeStall: Detector = {
  id: "tls-handshake-stall",
  detect(input: DetectorInput): DetectorResult {
    const tlsStalls = input.stalls.filter((s) => stallIn(s, "tls"));
    if (tlsStalls.length === 0) return {};
    const handshakes = countWhere(input.rows, (i) => input.columns.phase(i, "tls") !== undefined);
    const tlsMs = tlsStalls.map((s) => s.record.phasesMs.tls ?? 0).sort((a, b) => a - b);
    // A lost handshake packet is retransmitted after the RTO: ~1 s, 3 s.
    const nearRto = tlsStalls.filter(
      (s) => nearestLevel(s.record.phasesMs.tls ?? 0, [1000, 3000, 7000]) !== undefined,
    );
    const detailBySeq = new Map<number, string>();
    for (const s of tlsStalls)
      detailBySeq.set(s.record.seq, `tls ${fmtDuration(s.record.phasesMs.tls ?? 0)}`);
    const medianMs = median(tlsMs);
    const retransmit = nearRto.length >= 0.7 * tlsStalls.length;
    const candidate: Candidate = {
      summary: `${tlsStalls.length} of ${handshakes} TLS handshakes stalled (median ${fmtDuration(medianMs)}, max ${fmtDuration(tlsMs[tlsMs.length - 1] ?? 0)}) while DNS and connect were quick${retransmit ? ": near 1/3 s, a lost handshake packet retransmitted" : ""}`,
      stalls: tlsStalls.map((s) => s.record.seq),
      confidence: signatureConfidence(tlsStalls.length, 1),
      evidence: {
        handshakes,
        tlsStalls: tlsStalls.length,
        medianTlsMs: Math.round(medianMs),
        maxTlsMs: Math.round(tlsMs[tlsMs.length - 1] ?? 0),
        nearRetransmitLevels: nearRto.length,
        byAddress: countBy(tlsStalls, (s) => s.record.remoteAddress),
        sessionReused: tlsStalls.filter((s) => s.record.tls?.sessionReused).length,
      },
      nextStep: retransmit
        ? "Packets inside the handshake are lost (certificate flights are large): check path MTU / MSS clamping and firewalls between the client and the TLS terminator (CloudFront, API Gateway, or the NLB's TLS listener)."
        : "The TLS terminator answers slowly: check its CPU and connection rate (CloudFront, API Gateway custom domain, NLB TLS listener or nginx), OCSP stapling, and the certificate chain size.",
      detailBySeq,
    };
    return { candidate };
  },
};
