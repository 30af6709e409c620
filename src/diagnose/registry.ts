/**
 * The finding registry: every finding id stallwatch can raise, declared once.
 * docs/findings.md, the config/dashboards and the attribution order derive from
 * this list. To add a finding, append an entry here and a detector in
 * src/diagnose/detectors/ (or, for AWS evidence, next to its source in
 * src/aws/ and listed in detectors/index.ts).
 *
 * The AWS findings (X-Ray breakdowns, NLB target health) are declared beside
 * their detectors and spread in here; they only fire when the diagnosis
 * context carries their evidence (`context.extra`).
 */
import { TARGET_UNHEALTHY_SPEC } from "../aws/elbv2/detector.js";
import { XRAY_FINDING_SPECS } from "../aws/xray/detector.js";

/** How a finding is recognised. */
export type FindingKind = "signature" | "statistical" | "fallback";

export interface FindingSpec {
  /** Stable id: appears in JSON output, logs, metrics and alarms. Never rename one. */
  id: string;
  /** Short title for tables and headings. */
  title: string;
  /** What the finding means and how it is recognised. */
  description: string;
  kind: FindingKind;
  /**
   * Attribution order: a stall explained by several findings is attributed to
   * the one with the LOWEST precedence number (the most specific cause).
   */
  precedence: number;
  /** The minimum evidence before the finding is raised (documented in docs/findings.md). */
  minimums: string;
}

/** The cause recorded for a stall no finding explains. */
export const UNEXPLAINED = "unexplained";

export const FINDINGS = [
  {
    id: "client-lag",
    title: "Prober event-loop lag",
    description:
      "stallwatch's own event loop was blocked while the request was in flight (record.loopLagMs), long enough to account for the stall: the time was lost in the prober, not in the network.",
    kind: "signature",
    precedence: 10,
    minimums:
      "1 stall whose loop lag is ≥ 100 ms and ≥ 50 % of its total, or without which it would be under the stall threshold.",
  },
  {
    id: "timeout",
    title: "Requests hit their deadline",
    description:
      "Requests that never completed within their deadline (failure classes dns-timeout, connect-timeout, tls-timeout, headers-timeout, body-timeout), grouped by class and phase.",
    kind: "signature",
    precedence: 20,
    minimums: "1 timed-out request.",
  },
  {
    id: "dns-resolver-timeout",
    title: "DNS resolver timeout and retry",
    description:
      "DNS-phase stalls clustered near multiples of the resolver timeout (5 s by default: glibc `options timeout:5`): a lost UDP query retried after the timeout, or a conntrack race between parallel A/AAAA queries.",
    kind: "signature",
    precedence: 30,
    minimums:
      "1 DNS-dominated stall within max(300 ms, 15 %) of k × the resolver timeout (k = 1..4); high confidence from 3 such stalls making up ≥ 70 % of the DNS stalls.",
  },
  {
    id: "tcp-syn-retransmit",
    title: "Lost SYNs (TCP retransmission)",
    description:
      "Connect-phase stalls near the cumulative retransmission timeouts of a lost SYN: 1, 3, 7, 15 s (initial RTO 1 s, doubling; Linux) or 3, 9, 21 s (initial RTO 3 s). Often one address: an AZ with no healthy target while cross-zone load balancing is off.",
    kind: "signature",
    precedence: 31,
    minimums:
      "1 connect-dominated stall within max(300 ms, 15 %) of a retransmission level; high confidence from 3 such stalls making up ≥ 70 % of the connect stalls.",
  },
  {
    id: "tls-handshake-stall",
    title: "TLS handshake stall",
    description:
      "Stalls spent in the TLS handshake while DNS and TCP connect were quick: a lost handshake packet (retransmitted after ~1 s), a slow or overloaded TLS terminator, OCSP or certificate chain problems.",
    kind: "signature",
    precedence: 32,
    minimums: "1 TLS-dominated stall; high confidence from 3.",
  },
  TARGET_UNHEALTHY_SPEC,
  ...XRAY_FINDING_SPECS.filter((f) => f.id !== "outside-gateway"),
  {
    id: "address-skew",
    title: "Stalls concentrated on one address",
    description:
      "Stalls concentrated on one remote address (one NLB node, one AZ, one edge) beyond what chance explains. Tested per API and route: Fisher's exact test (one-sided) of the address's stall rate against the other addresses', Bonferroni-corrected over the addresses tested.",
    kind: "statistical",
    precedence: 40,
    minimums:
      "≥ 2 addresses with ≥ 5 requests each, ≥ 20 requests in all, ≥ 3 stalls on the address; p < 0.01 family-wise after correction; stall rate ≥ 3 × the other addresses'.",
  },
  {
    id: "periodic-stall",
    title: "Every Nth request stalls",
    description:
      "Stalls recur every Nth request in send order (one bad target or AZ in a rotation). For N = 2..10 the stalls at the most loaded residue class mod N are tested against their expected share with a one-sided binomial test, Bonferroni-corrected over all (N, residue) pairs; per series and across series by global send order.",
    kind: "statistical",
    precedence: 41,
    minimums:
      "≥ 30 requests and ≥ 5 stalls in the sequence, ≥ 4 stalls in the class; p < 0.01 family-wise after correction; the class's stall rate ≥ 3 × the rest's.",
  },
  {
    id: "stale-connection",
    title: "Stale keep-alive connection",
    description:
      "Resets, or stalls, on reused connections after the socket sat idle: a keep-alive race where the server or NLB (350 s idle timeout) closed or forgot a connection the client still reused.",
    kind: "statistical",
    precedence: 50,
    minimums:
      "Resets: ≥ 1 reset on a reused socket (high confidence from 3, with Fisher's test against the other requests when ≥ 20). Stalls: the idle split test (as cold-start) over reused sockets' idle time.",
  },
  {
    id: "cold-start-after-idle",
    title: "Cold start after idle",
    description:
      "Stall probability rises with the idle gap since the previous request to the same series: the gap threshold is found by splitting at fixed gap boundaries (1 s … 4 h) and testing the stall rate above against below with Fisher's exact test, Bonferroni-corrected over the splits tried.",
    kind: "statistical",
    precedence: 51,
    minimums:
      "≥ 20 requests with a known gap, ≥ 5 on each side of the split, ≥ 3 stalls above it; p < 0.01 family-wise after correction; stall rate above ≥ 3 × below and ≥ 20 %.",
  },
  {
    id: "route-specific",
    title: "One route stalls, another does not",
    description:
      "One route of an API stalls while another route of the same API, over the same period, does not (e.g. the custom domain through CloudFront against execute-api). Fisher's exact test (one-sided) of the route's stall rate against the other routes', restricted to the time both were probed.",
    kind: "statistical",
    precedence: 60,
    minimums:
      "≥ 2 routes with ≥ 20 requests each in the common period, ≥ 3 stalls on the route; p < 0.01 family-wise after correction; stall rate ≥ 3 × the others'.",
  },
  ...XRAY_FINDING_SPECS.filter((f) => f.id === "outside-gateway"),
  {
    id: "slow-backend",
    title: "Slow response after the request was sent",
    description:
      "Stalls in time-to-first-byte while DNS, connect and TLS were quick: the time went to API Gateway, the VPC link and NLB, or the backend. TTFB near 10/20/30 s points to CloudFront origin attempts, near 29 s with a 504 to the API Gateway integration timeout.",
    kind: "fallback",
    precedence: 70,
    minimums: "1 TTFB-dominated stall; high confidence from 3.",
  },
] as const satisfies readonly FindingSpec[];

export type FindingId = (typeof FINDINGS)[number]["id"];

export const FINDING_IDS: readonly FindingId[] = FINDINGS.map((f) => f.id);

const BY_ID = new Map<string, FindingSpec>(FINDINGS.map((f) => [f.id, f]));

/** The registry entry of a finding id, or undefined for an unknown id. */
export function findingSpec(id: string): FindingSpec | undefined {
  return BY_ID.get(id);
}
