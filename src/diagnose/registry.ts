/**
 * The finding registry: every finding id stallwatch can raise, declared once.
 * docs/findings.md, the config/dashboards and the attribution order derive from
 * this list. To add a finding, append an entry here and a detector in
 * src/diagnose/detectors/, listed in detectors/index.ts.
 *
 * The AWS findings (X-Ray breakdowns, NLB target health) are declared here
 * like every other; their detectors only fire when the diagnosis context
 * carries their evidence (`context.xray`, `context.targetHealth`).
 */
import { UNEXPLAINED } from "../model.js";

/** How a finding is recognised. */
export type FindingKind = "signature" | "statistical" | "fallback";

/**
 * What a finding is to the verdict. A `cause` competes for stalls: each stall is attributed to exactly one
 * cause. `evidence` (X-Ray breakdowns) measures where a stall's time went without naming why; it never takes a
 * stall, it raises or lowers the confidence of the cause it agrees with and is shown beside it.
 */
export type FindingRole = "cause" | "evidence";

/** The hops of the path, client first: where a verdict places the lost time. */
export const HOPS = ["client", "dns", "edge", "gateway", "nlb", "target", "app", "path"] as const;
export type Hop = (typeof HOPS)[number];

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
  /** Default `cause`. */
  role?: FindingRole;
  /** The hop the finding places the time at, when the finding alone says (a detector may say more precisely). */
  hop?: Hop;
}

export { UNEXPLAINED };

export const FINDINGS = [
  {
    id: "client-lag",
    title: "Prober event-loop lag",
    description:
      "stallwatch's own event loop was blocked while the request was in flight (record.loopLagMs), long enough to account for the stall: the time was lost in the prober, not in the network. The lag is evidence only above what the lag monitor can resolve: its drift sampler ticks every period (10 ms by default, `eventLoopLagMs.samplePeriodMs`), reads a block up to one period short and may miss one shorter than a period; so the floor is one sampler period, not a fixed number. Not the run's p99 (when the loop blocks often the p99 is the block itself: 60 ms busy-waits 5 times a second gave p99 58-60 ms), nor its median on top (over a short run one block is the median); the loop's ordinary lateness is in every request, hence in the series' typical total, which the rule takes off. Every report counts its \"requests in flight during lag\" against the same floor, live and over recorded history.",
    kind: "signature",
    precedence: 10,
    hop: "client",
    minimums:
      "1 stall whose loop lag is above the floor (one sampler period) and ≥ 50 % of its total, or, with one sampler period, covers all of the stall's excess over its series' typical total (a block adds at most its own length; one that falls while the request waits on the network adds nothing, so a hiccup never claims a stall just over its threshold).",
  },
  {
    id: "timeout",
    title: "Requests hit their deadline",
    description:
      "Requests that never completed within their deadline (failure classes dns-timeout, connect-timeout, tls-timeout, headers-timeout, body-timeout), grouped by class and phase.",
    kind: "signature",
    precedence: 20,
    hop: "path",
    minimums: "1 timed-out request.",
  },
  {
    id: "dns-resolver-timeout",
    title: "DNS resolver timeout and retry",
    description:
      "DNS-phase stalls clustered near multiples of the resolver timeout (5 s by default: glibc `options timeout:5`): a lost UDP query retried after the timeout, or a conntrack race between parallel A/AAAA queries.",
    kind: "signature",
    precedence: 30,
    hop: "dns",
    minimums:
      "1 DNS-dominated stall within max(300 ms, 15 %) of k × the resolver timeout (k = 1..4); high confidence from 3 such stalls making up ≥ 70 % of the DNS stalls.",
  },
  {
    id: "tcp-syn-retransmit",
    title: "Lost SYNs (TCP retransmission)",
    description:
      "Connect-phase stalls on the prober's own hop at the cumulative retransmission times of its own kernel after k lost SYNs, read from /proc/sys/net/ipv4 (tcp_syn_linear_timeouts: that many retransmissions 1 s apart first, then doubling — 1, 2, 3, 4, 5, 7, 11 s with the default 4; without it, doubling from 1 s: 1, 3, 7, 15 s). The mix of levels must be one random loss can make (k+1 lost SYNs never clearly more often than k): a fixed delay that happens to sit on one level is not a lost SYN. Often one address: an AZ with no healthy target while cross-zone load balancing is off.",
    kind: "signature",
    precedence: 31,
    hop: "client",
    minimums:
      "1 connect-dominated stall within max(300 ms, 15 %) of a retransmission level of the prober's kernel, with a level mix consistent with random loss; high confidence from 3 such stalls making up ≥ 70 % of the connect stalls.",
  },
  {
    id: "ipv6-fallback",
    title: "Broken IPv6 path (Happy Eyeballs fallback)",
    description:
      "Connect-phase stalls of connections that tried the name's IPv6 address first (it has AAAA records), got no answer to their SYNs and connected over IPv4 only after the client's own fallback timer: the excess over the connect time of the series' connections that did not change family (0 when all did) sits on the prober host's Happy Eyeballs attempt timeout × the attempts abandoned (Node ≥ 20: autoSelectFamily on, 250 ms by default, read from the running Node; RFC 8305 recommends 250 ms, curl uses 200 ms), or without autoSelectFamily on the kernel's whole SYN budget for the first address. Timers fire late, never early. Connections with one address family (an IPv4-only name, lost SYNs on IPv4) never match. The same fallback from IPv4 to IPv6 is reported under this id too.",
    kind: "signature",
    precedence: 29,
    hop: "path",
    minimums:
      "1 stall in connect (or one only because of the connect's excess: the rest stays under the stall threshold) whose recorded attempts changed address family (first address IPv6, connected over IPv4) and whose connect excess is within the timer window of k × the fallback timer (k attempts abandoned); high confidence from 3 such stalls making up ≥ 70 % of the connect stalls.",
  },
  {
    id: "tls-handshake-stall",
    title: "TLS handshake stall",
    description:
      "Stalls spent in the TLS handshake while DNS and TCP connect were quick: a lost handshake packet (retransmitted after ~1 s), a slow or overloaded TLS terminator, OCSP or certificate chain problems.",
    kind: "signature",
    precedence: 32,
    hop: "client",
    minimums: "1 TLS-dominated stall; high confidence from 3.",
  },
  {
    id: "deploy-drain",
    title: "Deploy: targets draining or registering",
    description:
      "Stalls and server-side failures clustered while NLB targets were draining (deregistering: no new flows, the existing ones kept for the deregistration delay, 300 s by default, while the app shuts down; reset at its end with connection termination on) or initial (registering, initial health checks in progress). From the target-health timeline (DescribeTargetHealth); a stall X-Ray places on a target that was not deploying is not this cause. Fisher's exact test (one-sided) of requests clearly inside the spans (draining, then either state, then initial, with the fallback procedure: 60 %, 25 % and 15 % of the level, a rejected hypothesis passing its level on) against requests clearly outside.",
    kind: "statistical",
    precedence: 34,
    hop: "target",
    minimums:
      "A draining or initial span observed, ≥ 5 requests inside and outside the spans, ≥ 3 stalls or failures inside; p < 0.01 family-wise after correction; rate inside ≥ 3 × outside.",
  },
  {
    id: "target-unhealthy",
    title: "NLB target unhealthy",
    description:
      "Stalls coincide with NLB targets that DescribeTargetHealth reported initial, unhealthy, draining or unavailable, or with an AZ that had no healthy target while cross-zone load balancing was off (its NLB node keeps taking flows with nowhere healthy to send them).",
    kind: "signature",
    precedence: 35,
    hop: "nlb",
    minimums:
      "1 stall overlapping a degraded target or dark AZ span; withheld when ≥ 5 requests on each side show no higher stall rate during the spans; high confidence from 3 stalls through a dark AZ's node, or p < 0.01 (Fisher) with ≥ 3 stalls.",
  },
  {
    id: "prober-specific",
    title: "One prober stalls, the others do not",
    description:
      "Over a fleet's history (several probers writing to one store), one prober's requests stall while the other probers', to the same API over the same period, do not: the fault is on that prober's path (its AZ or region, its NAT or resolver, its host). Fisher's exact test (one-sided) of its stall rate against the others', restricted to the time all were probing; Bonferroni over the probers.",
    kind: "statistical",
    precedence: 44,
    hop: "client",
    minimums:
      "Records from ≥ 2 probers; ≥ 20 requests each in the common period, ≥ 3 stalls from the prober; p < 0.01 family-wise after correction; stall rate ≥ 3 × the others'.",
  },
  {
    id: "address-skew",
    title: "Stalls concentrated on one address",
    description:
      "Stalls concentrated on one remote address (one NLB node, one AZ, one edge) beyond what chance explains. Tested per API and route: Fisher's exact test (one-sided) of the address's stall rate against the other addresses', Bonferroni-corrected over the addresses tested.",
    kind: "statistical",
    precedence: 46,
    hop: "path",
    minimums:
      "≥ 2 addresses with ≥ 5 requests each, ≥ 20 requests in all, ≥ 3 stalls on the address; p < 0.01 family-wise after correction; stall rate ≥ 3 × the other addresses'.",
  },
  {
    id: "periodic-stall",
    title: "Every Nth request stalls",
    description:
      "Stalls recur every Nth request in send order (one bad target or AZ in a rotation). For N = 2..10 the stalls at the most loaded residue class mod N are tested against their expected share with a one-sided binomial test, Bonferroni-corrected over all (N, residue) pairs; per series and across series by global send order.",
    kind: "statistical",
    precedence: 47,
    hop: "target",
    minimums:
      "≥ 30 requests and ≥ 5 stalls in the sequence, ≥ 4 stalls in the class; p < 0.01 family-wise after correction; the class's stall rate ≥ 3 × the rest's.",
  },
  {
    id: "throttling",
    title: "Throttled (429)",
    description:
      "Requests refused with 429 Too Many Requests: from API Gateway (x-amzn-ErrorType TooManyRequestsException) a stage, method, usage-plan or account limit ran out of tokens; otherwise the backend's own limiter. Fast failures, not stalls, unless a client retries them.",
    kind: "signature",
    precedence: 38,
    hop: "gateway",
    minimums: "1 request answered 429 (or a TooManyRequests/Throttling error type); high confidence from 3.",
  },
  {
    id: "keepalive-mismatch",
    title: "Backend keep-alive shorter than the proxy's reuse",
    description:
      "Fast 5xx generated by the proxy in front of the backend (API Gateway's 500 with x-amzn-ErrorType, a 502) concentrated in one band of the path's idle time, starting near one value while shorter gaps pass: the backend closes idle keep-alive connections sooner than the proxy (VPC link pool, nginx upstream keepalive, a load balancer) stops reusing them, so the proxy writes onto a connection the backend has closed and gets its RST (gunicorn's 2 s default behind nginx or an ALB). The gap is the path's idle time from the prober's own send times per route, whatever its own connection did. Fisher's exact test (one-sided) of the failure rate inside the band against outside, Bonferroni over the bands tried. The NLB says which side reset: TCP_Target_Reset_Count up with TCP_ELB_Reset_Count flat is the backend; ELB resets are the NLB's own idle timeout (stale-connection), and so is a band starting within the NLB's 60–6000 s idle-timeout range without target resets (low confidence).",
    kind: "statistical",
    precedence: 39,
    hop: "target",
    minimums:
      "≥ 20 requests with a known gap on the route, ≥ 3 proxy-generated 5xx in the band, ≥ 5 requests with shorter gaps; p < 0.01 family-wise after correction; failure rate in the band ≥ 20 % and ≥ 3 × outside. Ruled out when the NLB reset the flows itself (ELB resets without target resets), or, without the NLB's counters, when every failure was on a reused prober connection idle as long.",
  },
  {
    id: "stale-connection",
    title: "Stale keep-alive connection",
    description:
      "Resets, or stalls, on reused connections after the socket sat idle: a keep-alive race where the server or NLB (350 s idle timeout) closed or forgot a connection the client still reused.",
    kind: "statistical",
    precedence: 40,
    hop: "path",
    minimums:
      "Resets: ≥ 1 reset on a reused socket (high confidence from 3, with Fisher's test against the other requests when ≥ 20). Stalls: the idle split test (as cold-start) over reused sockets' idle time.",
  },
  {
    id: "cold-start-after-idle",
    title: "Cold start after idle",
    description:
      "Stall probability rises with the idle gap since the previous request to the same series: the gap threshold is found by splitting at fixed gap boundaries (1 s … 4 h) and testing the stall rate above against below with Fisher's exact test, Bonferroni-corrected over the splits tried.",
    kind: "statistical",
    precedence: 42,
    hop: "app",
    minimums:
      "≥ 20 requests with a known gap, ≥ 5 on each side of the split, ≥ 3 stalls above it; p < 0.01 family-wise after correction; stall rate above ≥ 3 × below and ≥ 20 %.",
  },
  {
    id: "route-specific",
    title: "One route stalls, another does not",
    description:
      "One route of an API stalls while another route of the same API, over the same period, does not (e.g. the custom domain through CloudFront against execute-api). Fisher's exact test (one-sided) of the route's stall rate against the other routes', restricted to the time both were probed.",
    kind: "statistical",
    precedence: 45,
    hop: "edge",
    minimums:
      "≥ 2 routes with ≥ 20 requests each in the common period, ≥ 3 stalls on the route; p < 0.01 family-wise after correction; stall rate ≥ 3 × the others'.",
  },
  {
    id: "slow-target",
    title: "One target is slow",
    description:
      "The stalls were served by one NLB target (named by the backend's X-Ray segment: annotations.target, aws.ec2.instance_id or aws.ecs.container) far more often than its share of the targets explains. Binomial test of the stalls on that target against 1 / (registered targets). Untraced stalls of the same series with the same time signature (excess within 25 % of the traced ones') are attributed with them. The target's health history is shown beside it: a target that is slow while reported healthy is slow, not unhealthy.",
    kind: "statistical",
    precedence: 36,
    hop: "target",
    minimums:
      "≥ 3 traced stalls with a target, ≥ 80 % of them on one target; binomial p < 0.01 family-wise against its share (1 / registered targets; when the target count is unknown, at most medium confidence).",
  },
  {
    id: "listen-backlog",
    title: "Accept queue full under load",
    description:
      "Time-to-first-byte stalls on a SYN retransmission level (as hidden-hop-syn-retransmit) whose rate grows with the requests in flight when each was sent: the target accepts slower than connections arrive, its accept queue (min(listen backlog, net.core.somaxconn) + 1) fills and the kernel drops further SYNs (tcp_abort_on_overflow = 0), which the hop in front retransmits. The requests of the stalled series are split by how many others were in flight at send (≥ 1, 2, 4 … 256) and the on-level stall rate above is tested against below with Fisher's exact test (one-sided), Bonferroni over the splits. A request let in after its retransmitted SYN still waits its turn, so a stall sits on level L when its TTFB is between L + the series' p10 TTFB − 50 ms and L + the slowest TTFB that did not stall + the timer's lateness.",
    kind: "statistical",
    precedence: 48,
    hop: "target",
    minimums:
      "≥ 20 requests with a known load in the stalled series, ≥ 5 on each side of the split, ≥ 3 on-level stalls above it; p < 0.01 family-wise after correction; stall rate above ≥ 3 × below. A fixed concurrency has no split: the stalls stay with hidden-hop-syn-retransmit.",
  },
  {
    id: "hidden-hop-dns-timeout",
    title: "DNS timeout behind the first hop",
    description:
      "Time-to-first-byte stalls whose excess over the series' typical TTFB sits on a multiple of 5 s (the glibc resolver's default timeout) while the prober's own DNS, connect and TLS were quick: a proxy or the application behind the gateway (nginx resolving its upstream, the app resolving a database) lost a DNS query and retried.",
    kind: "signature",
    precedence: 50,
    hop: "app",
    minimums:
      "1 TTFB stall with a quick set-up whose excess is within max(300 ms, 15 %) of k × 5 s (k = 1..4) and not explained by X-Ray as backend time; high confidence from 3 making up ≥ 70 % of such stalls.",
  },
  {
    id: "hidden-hop-syn-retransmit",
    title: "Lost SYNs behind the first hop",
    description:
      "Time-to-first-byte stalls whose excess over the series' typical TTFB sits on a SYN retransmission level while the prober's own set-up was quick: a connection the prober cannot see (API Gateway → VPC link → NLB → target, a proxy to its upstream) lost k SYNs. The remote side's schedule is unknown, so the levels of every schedule it may use count: this host's, doubling from 1 s (1, 3, 7, 15 s), linear-first (1, 2, 3, 4, 5, 7 s) and doubling from 3 s (3, 9, 21 s). The level mix must be one random loss can make, and X-Ray must not place the time in the backend's own segment.",
    kind: "signature",
    precedence: 51,
    hop: "nlb",
    minimums:
      "1 TTFB stall with a quick set-up whose excess is within max(300 ms, 15 %) of a level, with a consistent level mix; high confidence from 3 making up ≥ 70 % of such stalls.",
  },
  {
    id: "transfer-stall",
    title: "Response body stalled",
    description:
      "Stalls spent after the first byte, while the body arrived: the server sent its headers and then paused (a handler streaming slowly, a proxy buffering, a lost segment retransmitted at the RTO, a full receive window).",
    kind: "signature",
    precedence: 55,
    hop: "path",
    minimums: "1 transfer-dominated stall; high confidence from 3.",
  },
  {
    id: "slow-backend",
    title: "Slow response after the request was sent",
    description:
      "Stalls in time-to-first-byte while DNS, connect and TLS were quick: the time went to API Gateway, the VPC link and NLB, or the backend. TTFB near 10/20/30 s points to CloudFront origin attempts, near 29 s with a 504 to the API Gateway integration timeout.",
    kind: "fallback",
    precedence: 70,
    hop: "app",
    minimums: "1 TTFB-dominated stall; high confidence from 3.",
  },
  // X-Ray breakdowns: evidence, never a cause of their own (see FindingRole; src/diagnose/detectors/xray.ts).
  {
    id: "backend-latency",
    title: "Backend slow (X-Ray)",
    description:
      "The stall's X-Ray trace shows the time in the backend's own segment: the application was slow, not the path to it.",
    kind: "signature",
    precedence: 100,
    role: "evidence",
    hop: "app",
    minimums:
      "1 stall with a trace whose backend segment is its dominant part and ≥ 50 % of its total; high confidence from 3.",
  },
  {
    id: "integration-latency",
    title: "VPC link / NLB path slow (X-Ray)",
    description:
      "The stall's X-Ray trace shows the time between API Gateway's integration call and the backend's segment (VPC link, NLB, connection set-up to the target), or in the integration as a whole when the backend is not instrumented.",
    kind: "signature",
    precedence: 100,
    role: "evidence",
    hop: "nlb",
    minimums:
      "1 stall with a trace whose integration-minus-backend part is dominant and ≥ 50 % of its total; high confidence from 3 with an instrumented backend, at most medium without.",
  },
  {
    id: "gateway-latency",
    title: "Time inside API Gateway (X-Ray)",
    description:
      "The stall's X-Ray trace shows the time inside API Gateway's segment outside its integration call (authorizer, request/response mapping, throttling).",
    kind: "signature",
    precedence: 100,
    role: "evidence",
    hop: "gateway",
    minimums:
      "1 stall with a trace whose in-gateway part is dominant and ≥ 50 % of its total; high confidence from 3.",
  },
  {
    id: "outside-gateway",
    title: "Time outside API Gateway (X-Ray)",
    description:
      "The stall's X-Ray trace shows API Gateway's segment short: the time went before or after it (DNS, TCP/TLS to the edge, CloudFront, the network).",
    kind: "signature",
    precedence: 100,
    role: "evidence",
    hop: "edge",
    minimums:
      "1 stall with a trace whose client-total-minus-gateway part is dominant and ≥ 50 % of its total; high confidence from 3.",
  },
] as const satisfies readonly FindingSpec[];

export type FindingId = (typeof FINDINGS)[number]["id"];

export const FINDING_IDS: readonly FindingId[] = FINDINGS.map((f) => f.id);

const BY_ID = new Map<string, FindingSpec>(FINDINGS.map((f) => [f.id, f]));

/** The registry entry of a finding id, or undefined for an unknown id. */
export function findingSpec(id: string): FindingSpec | undefined {
  return BY_ID.get(id);
}

/** A finding's role: `cause` unless its spec says `evidence`. */
export function roleOf(id: string): FindingRole {
  return findingSpec(id)?.role ?? "cause";
}
