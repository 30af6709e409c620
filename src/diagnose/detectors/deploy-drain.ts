/**
 * deploy-drain: stalls and failures clustered while NLB targets were `draining` (deregistering) or `initial`
 * (registering): a deploy or a scale-in/out.
 *
 * Mechanism (ELBv2): a deregistering target stays `draining` for the deregistration delay
 * (`deregistration_delay.timeout_seconds`, default 300 s). The NLB opens no new flows to it but keeps the ones
 * it has; an app that shuts down meanwhile answers them late, and with connection termination on
 * (`deregistration_delay.connection_termination.enabled`) the NLB resets whatever is still open when the delay
 * ends. A registering target is `initial` (`Elb.RegistrationInProgress`, `Elb.InitialHealthChecking`) until it
 * passes its health checks (healthy threshold × interval); only then does it get new flows.
 *
 * Evidence: the target-health timeline the ELBv2 tracker keeps (context.targetHealth). A stall is this
 * cause when it overlaps a draining/initial span (widened at its start to the observation before: the change
 * happened in between) and, when X-Ray names the target that served it, that target is the one in the span.
 * The test: requests clearly inside the spans (as observed) against requests clearly outside (not even in the
 * observation gap before a span), stalls and server-side failures as events: Fisher's exact test, one-sided,
 * for draining spans, either state and initial spans (the fallback procedure over the three), at the statistical findings'
 * level, with a rate inside ≥ 3 × outside. Without it the finding is withheld:
 * a deploy that happened to overlap stalls is not their cause.
 *
 * Not this cause: `unhealthy` / `unhealthy.draining` targets (target-unhealthy: they fail health checks; a deploy
 * does not), and stalls X-Ray places on a target that was not deploying.
 */
import type { DegradedWindow, RequestRecord, TargetGroupTopology, VerdictEvidence } from "../../model.js";
import { fisherExact, roundP } from "../stats.js";
import type { Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtDuration, statisticalConfidence } from "../util.js";

/** The target states a deploy puts a target in (DescribeTargetHealth). */
export const DEPLOY_STATES: ReadonlySet<string> = new Set(["draining", "initial"]);
/** How long past the last observation an open span is assumed to last (as target-unhealthy). */
const OPEN_TAIL_MS = 60_000;
const MIN_SIDE = 5;
const MIN_EVENTS_IN = 3;
const MIN_RATIO = 3;
/** The hypotheses in test order, each with its share of the detector's level (fallback procedure). */
const DEPLOY_HYPOTHESES = [
  { which: "draining", share: 0.6 },
  { which: "either", share: 0.25 },
  { which: "initial", share: 0.15 },
] as const;

interface Span {
  w: DegradedWindow;
  /** Possibly in the state: from the observation before the change. */
  fromMs: number;
  /** Observed in the state: from the first observation that showed it. */
  seenFromMs: number;
  toMs: number;
}

const overlaps = (r: RequestRecord, fromMs: number, toMs: number): boolean =>
  r.atMs <= toMs && r.atMs + (r.phasesMs.total ?? 0) >= fromMs;
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();
/** A failure the server side made: 5xx, a reset or another network error (not a 4xx such as a 429). */
const serverFailure = (r: RequestRecord): boolean => !r.ok && (r.status === undefined || r.status >= 500);

function nextStepFor(states: Set<string>, topos: readonly TargetGroupTopology[], resets: number): string {
  const t = topos.find((x) => x.deregistrationDelayS !== undefined) ?? topos[0];
  const delay = t?.deregistrationDelayS;
  const hc = t?.healthCheck;
  const parts: string[] = [];
  if (states.has("draining")) {
    parts.push(
      `Draining: make the app keep serving until its target has drained — start the graceful shutdown after the deregistration delay${delay !== undefined ? ` (deregistration_delay.timeout_seconds = ${delay} s${delay === 300 ? ", the default" : ""})` : " (default 300 s)"}, not at its start; finish in-flight requests and close idle keep-alive connections rather than answering them late (and an NLB may still open new flows to a draining target for a while, aws-load-balancer-controller#2366).`,
    );
    if (resets > 0 || t?.connectionTermination === true)
      parts.push(
        `With connection termination on${t?.connectionTermination === true ? "" : " (as the resets suggest)"}, the NLB resets the flows still open when the delay ends: set the delay above the longest request, and let clients retry idempotent requests.`,
      );
  }
  if (states.has("initial")) {
    const need =
      hc?.healthyThreshold !== undefined && hc.intervalS !== undefined
        ? ` (healthy threshold ${hc.healthyThreshold} × ${hc.intervalS} s interval = ${hc.healthyThreshold * hc.intervalS} s at least)`
        : "";
    parts.push(
      `Registering: a target takes new flows once it passes its initial health checks${need}; health-check what the app needs to serve (an HTTP path${hc?.protocol === "TCP" ? ", not only the TCP port" : ""}) and warm it before it registers (NLB has no slow start).`,
    );
  }
  parts.push(
    "Deploy one target at a time with capacity to spare, and watch HealthyHostCount during deploys.",
  );
  return parts.join(" ");
}

export const deployDrain: Detector = {
  id: "deploy-drain",
  detect(input: DetectorInput): DetectorResult {
    const ev = input.context.targetHealth;
    const h = ev?.history;
    if (!ev || !h || h.observedFromMs === undefined || h.observedToMs === undefined) return {};
    const observedTo = h.observedToMs;
    const spans: Span[] = h.degraded
      .filter((w) => DEPLOY_STATES.has(w.state))
      .map((w) => ({
        w,
        fromMs: w.sinceMs ?? w.fromMs,
        seenFromMs: w.fromMs,
        toMs: w.toMs ?? observedTo + OPEN_TAIL_MS,
      }));
    if (spans.length === 0) return {};

    const xray = input.context.xray;
    const servedBy = new Map<number, string>();
    for (const b of xray?.breakdowns ?? []) if (b.backend?.host) servedBy.set(b.seq, b.backend.host);
    const inObserved = (r: RequestRecord) =>
      r.atMs + (r.phasesMs.total ?? 0) >= h.observedFromMs! && r.atMs <= observedTo + OPEN_TAIL_MS;
    const spansOf = (r: RequestRecord) => spans.filter((s) => overlaps(r, s.fromMs, s.toMs));

    // Stalls and failures in a span; a stall X-Ray places on a target that was not deploying is not this cause.
    const stallMatch = new Map<number, Span>();
    let otherTarget = 0;
    let tracedOnSpanTarget = 0;
    for (const s of input.stalls) {
      if (!inObserved(s.record)) continue;
      const mine = spansOf(s.record);
      if (mine.length === 0) continue;
      const host = servedBy.get(s.record.seq);
      const m = host === undefined ? mine[0] : mine.find((x) => x.w.targetId === host);
      if (!m) {
        otherTarget++;
        continue;
      }
      if (host !== undefined) tracedOnSpanTarget++;
      stallMatch.set(s.record.seq, m);
    }
    const failMatch = new Map<number, Span>();
    for (const r of input.records) {
      if (!serverFailure(r) || !inObserved(r)) continue;
      const m = spansOf(r)[0];
      if (m) failMatch.set(r.seq, m);
    }
    if (stallMatch.size === 0 && failMatch.size === 0) {
      return input.stalls.length > 0
        ? {
            notes: [
              `deploy-drain: targets were draining/initial, but no stall or failure overlapped them${otherTarget ? ` on the deploying target (${otherTarget} X-Ray placed on other targets)` : ""}`,
            ],
          }
        : {};
    }

    // The contrast: requests clearly inside the spans (as observed) against requests clearly outside every span,
    // for three hypotheses (requests in spans of the other state count on neither side). They are tested with
    // the fallback procedure (Wiens 2003), which keeps the family-wise level: each has a share of the level, in
    // the order physics makes likely — draining first (a drain hurts the flows the target keeps and resets them
    // at the delay's end), then either state, then initial (an NLB sends no flows to a registering target unless
    // it fails open) — and a hypothesis that is rejected passes its level on to the next.
    const tables = DEPLOY_HYPOTHESES.map(({ which, share }) => {
      const t = { a: 0, b: 0, c: 0, d: 0 };
      const inSpan = (s: Span) => which === "either" || s.w.state === which;
      for (const r of input.records) {
        if (!inObserved(r)) continue;
        const event = input.stallSeqs.has(r.seq) || serverFailure(r);
        if (spans.some((s) => inSpan(s) && overlaps(r, s.seenFromMs, s.toMs))) event ? t.a++ : t.b++;
        else if (spansOf(r).length === 0) event ? t.c++ : t.d++;
      }
      const nIn = t.a + t.b;
      const nOut = t.c + t.d;
      const testable = nIn >= MIN_SIDE && nOut >= MIN_SIDE && t.a >= MIN_EVENTS_IN;
      const p = testable ? fisherExact(t).greater : 1;
      return { which, share, t, nIn, nOut, testable, p, level: 0, rejected: false };
    });
    let carried = 0;
    for (const h of tables) {
      h.level = h.share * input.settings.alpha + carried;
      const rateIn = h.nIn ? h.t.a / h.nIn : 0;
      const rateOut = h.nOut ? h.t.c / h.nOut : 0;
      h.rejected = h.testable && h.p < h.level && rateIn >= MIN_RATIO * rateOut;
      carried = h.rejected ? h.level : 0;
    }
    const rejected = tables.filter((h) => h.rejected);
    const best = rejected.length > 0 ? rejected.reduce((x, y) => (y.p < x.p ? y : x)) : tables[0]!;
    const { t, nIn, nOut, p } = best;
    const spanWord = best.which === "either" ? "draining/initial" : best.which;
    const contrast = `${t.a} of ${nIn} requests stalled or failed during ${spanWord} spans against ${t.c} of ${nOut} outside any`;
    if (!tables.some((x) => x.testable)) {
      return {
        notes: [
          `deploy-drain not tested: ${contrast} (need ≥ ${MIN_SIDE} requests on each side and ≥ ${MIN_EVENTS_IN} events inside)`,
        ],
      };
    }
    if (rejected.length === 0) {
      return {
        ruledOut: `${tables
          .filter((h) => h.testable)
          .map(
            (h) =>
              `${h.which}: ${h.t.a} of ${h.nIn} inside against ${h.t.c} of ${h.nOut} outside, Fisher p=${roundP(h.p)} (needs p < ${roundP(h.level)} and a rate ≥ ${MIN_RATIO} × outside)`,
          )
          .join("; ")}: the stalls are not shown to cluster in the deploy's spans`,
      };
    }

    const stalls = [...stallMatch.keys()].sort((a, b) => a - b);
    const failures = [...failMatch.keys()].sort((a, b) => a - b);
    const used = new Map<DegradedWindow, { stalls: number; failures: number }>();
    for (const m of stallMatch.values()) {
      const u = used.get(m.w) ?? { stalls: 0, failures: 0 };
      u.stalls++;
      used.set(m.w, u);
    }
    for (const m of failMatch.values()) {
      const u = used.get(m.w) ?? { stalls: 0, failures: 0 };
      u.failures++;
      used.set(m.w, u);
    }
    const byTarget = new Map<
      string,
      { az?: string; states: Set<string>; stalls: number; failures: number }
    >();
    for (const [w, u] of used) {
      const e = byTarget.get(w.targetId) ?? { states: new Set<string>(), stalls: 0, failures: 0 };
      e.states.add(w.state);
      e.stalls += u.stalls;
      e.failures += u.failures;
      if (w.az) e.az = w.az;
      byTarget.set(w.targetId, e);
    }
    const states = new Set([...used.keys()].map((w) => w.state));
    const inDraining = [...stallMatch.values()].filter((m) => m.w.state === "draining").length;
    const inInitial = stallMatch.size - inDraining;
    const failDraining = [...failMatch.values()].filter((m) => m.w.state === "draining").length;
    const targets = [...byTarget.keys()];
    const where =
      targets.length === 1
        ? `${targets[0]}${byTarget.get(targets[0]!)?.az ? ` in ${byTarget.get(targets[0]!)?.az}` : ""} (${[...(byTarget.get(targets[0]!)?.states ?? [])].join("/")})`
        : `${targets.length} targets in turn: ${targets.slice(0, 4).join(", ")}${targets.length > 4 ? ", …" : ""} (${[...states].join("/")})`;
    const mechanisms: string[] = [];
    if (inDraining > 0)
      mechanisms.push(
        "a deregistering (draining) target kept its flows while its app shut down and answered them late",
      );
    if (failDraining > 0)
      mechanisms.push("the flows still open were reset when the deregistration delay ended");
    if (inInitial > 0) mechanisms.push("a registering (initial) target served before it was ready");
    if (mechanisms.length === 0)
      mechanisms.push("requests failed while targets were draining or registering");
    const topos = ev.topologies ?? [];
    const topo = topos.find((x) => x.deregistrationDelayS !== undefined);
    const corroboration: VerdictEvidence[] = [
      {
        source: "target-health",
        text: `DescribeTargetHealth: ${[...byTarget]
          .slice(0, 4)
          .map(
            ([id, e]) => `${id} ${[...e.states].join(" then ")} (${e.stalls} stalls, ${e.failures} failures)`,
          )
          .join(
            "; ",
          )}; ${contrast}, Fisher p=${roundP(p)} < ${roundP(best.level)} (fallback procedure over draining, either, initial)`,
      },
    ];
    if (tracedOnSpanTarget > 0)
      corroboration.push({
        source: "x-ray",
        text: `${tracedOnSpanTarget} of ${stallMatch.size} stalls were traced to the very target that was draining or registering at the time`,
      });
    if (topo)
      corroboration.push({
        source: "target-health",
        text: `target group: deregistration_delay.timeout_seconds = ${topo.deregistrationDelayS}${topo.connectionTermination !== undefined ? `, connection termination on deregistration ${topo.connectionTermination ? "on" : "off"}` : ""}`,
      });
    const detailBySeq = new Map<number, string>();
    for (const [seq, m] of stallMatch)
      detailBySeq.set(seq, `target ${m.w.targetId} ${m.w.state}${m.w.reason ? ` (${m.w.reason})` : ""}`);
    const spanMs = [...used.keys()].map((w) => (w.toMs ?? observedTo) - w.fromMs);

    return {
      candidate: {
        summary: `${stalls.length} stall${stalls.length === 1 ? "" : "s"}${failures.length ? ` and ${failures.length} failure${failures.length === 1 ? "" : "s"}` : ""} while NLB targets were ${[...states].join("/")} (a deploy: ${targets.slice(0, 3).join(", ")}${targets.length > 3 ? ", …" : ""}): ${contrast}`,
        stalls,
        failures,
        confidence: statisticalConfidence(p, t.a),
        evidence: {
          contrast: {
            duringDeploySpans: { requests: nIn, stallsOrFailures: t.a },
            otherwise: { requests: nOut, stallsOrFailures: t.c },
            spans: best.which,
            pValue: roundP(p),
            test: "Fisher exact, one-sided; fallback procedure over draining (60 % of the level), either (25 %), initial (15 %)",
            level: roundP(best.level),
          },
          stallsInDraining: inDraining,
          stallsInInitial: inInitial,
          failuresInDraining: failDraining,
          stallsOnOtherTargets: otherTarget,
          tracedToDeployingTarget: tracedOnSpanTarget,
          longestSpanObserved: fmtDuration(Math.max(0, ...spanMs)),
          ...(topo
            ? {
                deregistrationDelayS: topo.deregistrationDelayS,
                connectionTermination: topo.connectionTermination,
              }
            : {}),
          spans: [...used].slice(0, 10).map(([w, u]) => ({
            targetId: w.targetId,
            az: w.az,
            state: w.state,
            reason: w.reason,
            from: iso(w.fromMs),
            lastSeenBefore: iso(w.sinceMs),
            to: iso(w.toMs),
            ...u,
          })),
        },
        nextStep: nextStepFor(states, topos, failDraining),
        hop: "target",
        where,
        mechanism: mechanisms.join("; "),
        corroboration,
        detailBySeq,
      },
    };
  },
};
