/**
 * ipv6-fallback: connect stalls of a client that tried a name's IPv6 address first, got no answer to its SYNs and
 * connected over IPv4 only after its own fallback timer.
 *
 * The record says what the client did (model.ts `connectAttempts`: every address tried, the connected one last;
 * `resolvedAddresses`: the lookup's answer). A stall is this cause when the first address tried was of the other
 * family than the one it connected over and the connect's excess over its series' typical connect sits on the
 * host's fallback timer × the attempts abandoned: Node's Happy Eyeballs attempt timeout (autoSelectFamily, 250 ms
 * by default) or, without it, the kernel's whole SYN budget for the first address (src/system/happy-eyeballs.ts).
 * The excess is over the connect time of the series' connections that did NOT fall back (when every new
 * connection falls back, the series' typical connect is the fault itself; with none, the baseline is 0: the
 * successful attempt's round trip, which the window's lateness allowance covers on loopback and nearby hosts).
 * The window is a timer's (as physics.ts `timerWindowMs`): late, never early. The stall must be in connect, or be
 * one only because of the connect's excess (what else it spent stays under the stall threshold). Connections with one family only (an
 * IPv4-only name, a lost SYN on IPv4) never match: they have no cross-family attempt.
 */
import { isIP } from "node:net";
import type { RequestRecord } from "../../model.js";
import type { RecordColumns } from "../../record/columns.js";
import { NODE_DEFAULT_FAMILY_FALLBACK } from "../../system/happy-eyeballs.js";
import { synGiveUpMs } from "../../system/tcp-syn.js";
import { median, type Stall } from "../stalls.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import {
  countBy,
  fmtDuration,
  seriesConnKey,
  seriesConnKeyOf,
  signatureConfidence,
  stallIn,
  topCount,
} from "../util.js";

const familyName = (address: string): string => (isIP(address) === 6 ? "IPv6" : "IPv4");

/** The cross-family fallback a record shows: the first family tried, the one connected over, attempts abandoned. */
export function familyFallbackOf(r: Pick<RequestRecord, "connectAttempts">): FamilyFallbackSeen | undefined {
  return fallbackOfAttempts(r.connectAttempts);
}

type FamilyFallbackSeen = { first: string; firstFamily: string; connectedFamily: string; abandoned: number };

/** {@link familyFallbackOf} of a connect-attempt list (a record's, or a column's). */
function fallbackOfAttempts(attempts: readonly string[] | undefined): FamilyFallbackSeen | undefined {
  if (!attempts || attempts.length < 2) return undefined;
  const first = attempts[0] as string;
  const last = attempts[attempts.length - 1] as string;
  if (isIP(first) === 0 || isIP(last) === 0 || isIP(first) === isIP(last)) return undefined;
  return {
    first,
    firstFamily: familyName(first),
    connectedFamily: familyName(last),
    abandoned: attempts.length - 1,
  };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Median and half the IQR of the connect time of new connections that did not change address family, per series. */
function directConnects(
  cols: RecordColumns,
  rows: Uint32Array,
): Map<string, { median: number; spread: number }> {
  const lists = new Map<string, number[]>();
  for (const i of rows) {
    const c = cols.phase(i, "connect");
    if (c === undefined || !cols.ok(i) || fallbackOfAttempts(cols.connectAttempts(i)) !== undefined) continue;
    const key = seriesConnKeyOf(cols, i);
    const list = lists.get(key);
    if (list) list.push(c);
    else lists.set(key, [c]);
  }
  const out = new Map<string, { median: number; spread: number }>();
  for (const [key, list] of lists) {
    const v = [...list].sort((a, b) => a - b);
    const at = (q: number): number => v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? 0;
    out.set(key, { median: at(0.5), spread: (at(0.75) - at(0.25)) / 2 });
  }
  return out;
}

export const ipv6Fallback: Detector = {
  id: "ipv6-fallback",
  detect(input: DetectorInput): DetectorResult {
    // A stall is the fallback's when its time is in connect, or when it would not be a stall without the
    // connect's excess (a slow first byte on top that alone stays under the threshold).
    const direct0 = directConnects(input.columns, input.rows);
    const baseOf = (r: RequestRecord) => direct0.get(seriesConnKey(r)) ?? { median: 0, spread: 0 };
    const excessOf = (s: Stall) => Math.max(0, (s.record.phasesMs.connect ?? 0) - baseOf(s.record).median);
    const connectStalls = input.stalls.filter(
      (s) =>
        stallIn(s, "connect") ||
        (familyFallbackOf(s.record) !== undefined && s.totalMs - excessOf(s) <= s.thresholdMs),
    );
    if (connectStalls.length === 0) return {};
    const ff = input.context.familyFallback ?? NODE_DEFAULT_FAMILY_FALLBACK;
    const perAttemptMs = ff.autoSelectFamily ? ff.attemptTimeoutMs : synGiveUpMs(input.settings.synSchedule);
    const timerText = ff.autoSelectFamily
      ? `its ${fmtDuration(ff.attemptTimeoutMs)} Happy Eyeballs attempt timeout`
      : `the kernel's ${fmtDuration(perAttemptMs)} SYN budget (autoSelectFamily off)`;
    const fellBack = connectStalls.filter((s) => familyFallbackOf(s.record) !== undefined);
    if (fellBack.length === 0) return {};
    const matched: Stall[] = [];
    const off: string[] = [];
    const detailBySeq = new Map<number, string>();
    for (const s of fellBack) {
      const fb = familyFallbackOf(s.record)!;
      const level = { ms: fb.abandoned * perAttemptMs, fired: fb.abandoned };
      const excess = excessOf(s);
      const spread = baseOf(s.record).spread;
      const w = {
        below: Math.max(50, 4 * spread),
        above: Math.max(100, 4 * spread) + 40 * level.fired + 0.03 * level.ms,
      };
      if (excess < level.ms - w.below || excess > level.ms + w.above) {
        off.push(`#${s.record.seq} +${fmtDuration(excess)}`);
        continue;
      }
      matched.push(s);
      detailBySeq.set(
        s.record.seq,
        `connect ${fmtDuration(s.record.phasesMs.connect ?? 0)}: ${fb.firstFamily} ${fb.first} unanswered, ${fb.connectedFamily} after ${fmtDuration(level.ms)}`,
      );
    }
    if (matched.length === 0) {
      return {
        notes: [
          `${fellBack.length} connect stalls fell back from one address family to the other, none by ${timerText} (${off.slice(0, 5).join(", ")})`,
        ],
      };
    }
    const fallbacks = matched.map((s) => familyFallbackOf(s.record)!);
    const byFirst = countBy(fallbacks, (f) => f.first);
    const firstFamilies = countBy(fallbacks, (f) => f.firstFamily);
    const broken = topCount(firstFamilies)?.[0] ?? "IPv6";
    const other = broken === "IPv6" ? "IPv4" : "IPv6";
    const topAddress = topCount(byFirst);
    const hosts = countBy(matched, (s) => hostOf(s.record.url));
    const host = topCount(hosts)?.[0];
    // The DNS answer behind the stalls: how many addresses of each family it held.
    const answer = matched.find((s) => s.record.resolvedAddresses)?.record.resolvedAddresses ?? [];
    const aaaa = answer.filter((a) => isIP(a) === 6).length;
    const a = answer.length - aaaa;
    // New connections that made it over the family that failed here: none means the family is broken
    // for every address of the name, some means one address or an intermittent path.
    const cols = input.columns;
    const hostByUrl = new Map<string, string | undefined>();
    const hostAt = (i: number): string | undefined => {
      const url = cols.url(i);
      if (!hostByUrl.has(url)) hostByUrl.set(url, hostOf(url));
      return hostByUrl.get(url);
    };
    const newConns: number[] = [];
    for (const i of input.rows)
      if (cols.phase(i, "connect") !== undefined && (host === undefined || hostAt(i) === host))
        newConns.push(i);
    const direct = newConns.filter(
      (i) => cols.remoteFamily(i) === broken && cols.connectAttempts(i) === undefined,
    ).length;
    // Every new connection that fell back the same way, stall or not (a fallback under a slow first byte is
    // that first byte's stall).
    const allFallbacks = newConns.filter(
      (i) => fallbackOfAttempts(cols.connectAttempts(i))?.firstFamily === broken,
    ).length;
    const connectMs = matched.map((s) => s.record.phasesMs.connect ?? 0);
    const medianConnect = median(connectMs);
    const where =
      topAddress && topAddress[1] / matched.length >= 0.8
        ? `${host ?? "the name"} → ${topAddress[0]} (${broken})`
        : `${host ?? "the name"} over ${broken}`;
    const dnsText =
      answer.length > 0
        ? `${host ?? "the name"} answered ${aaaa} AAAA and ${a} A record${a === 1 ? "" : "s"} (${answer.join(", ")})`
        : undefined;
    const candidate: Candidate = {
      summary: `${matched.length} stalls in connect: new connections${host ? ` to ${host}` : ""} tried ${broken} first, got no answer and connected over ${other} after ${timerText} (connect median ${fmtDuration(medianConnect)}); ${allFallbacks} of ${newConns.length} new connections fell back this way`,
      stalls: matched.map((s) => s.record.seq),
      confidence: signatureConfidence(matched.length, matched.length / connectStalls.length),
      evidence: {
        newConnections: newConns.length,
        connectStalls: connectStalls.length,
        fellBack: fellBack.length,
        newConnectionsFellBack: allFallbacks,
        matched: matched.length,
        brokenFamily: broken,
        byFirstAddress: byFirst,
        [`connectedDirectlyOver${broken}`]: direct,
        connectMedianMs: Math.round(medianConnect * 10) / 10,
        fallbackTimerMs: perAttemptMs,
        autoSelectFamily: ff.autoSelectFamily,
        attemptTimeoutMs: ff.attemptTimeoutMs,
        settingsSource: ff.source,
        ...(answer.length > 0 ? { dnsAnswer: answer } : {}),
        ...(off.length > 0 ? { offTimer: off.length } : {}),
      },
      nextStep:
        (direct > 0
          ? `${broken} worked for ${direct} of ${newConns.length} new connections: the ${broken} path loses some SYNs rather than all (one of several ${broken} addresses, or intermittent loss). `
          : "") +
        (broken === "IPv6"
          ? `${host ?? "The name"} publishes AAAA records but SYNs to ${topAddress?.[0] ?? "its IPv6 address"} get no answer: fix the IPv6 path (a ::/0 route through the internet or egress-only gateway, security group and NACL rules for IPv6, the load balancer's dualstack subnets) or stop publishing the AAAA record (a CloudFront distribution or a dualstack ALB/NLB/API Gateway endpoint with IPv6 switched on and no IPv6 path behind it). Until then, pin clients to IPv4 (Node: \`family: 4\` or \`--dns-result-order=ipv4first\`; curl -4).`
          : `SYNs to ${host ?? "the name"}'s IPv4 address ${topAddress?.[0] ?? ""} get no answer while IPv6 works: fix the IPv4 path (routes, security groups, NACLs) or stop publishing the A record; meanwhile pin clients to IPv6 (Node: \`family: 6\`; curl -6).`),
      detailBySeq,
      hop: "path",
      where,
      mechanism: `${broken} SYNs to ${topAddress?.[0] ?? "the first address"} went unanswered; the client gave up on that attempt after ${timerText} and connected over ${other}`,
      corroboration: [
        {
          source: "host",
          text: ff.autoSelectFamily
            ? `this host's client falls back to the other address family after ${fmtDuration(ff.attemptTimeoutMs)} (autoSelectFamily on, ${ff.source})`
            : `autoSelectFamily is off here (${ff.source}): a fallback waits the kernel's whole SYN budget, ${fmtDuration(perAttemptMs)}`,
        },
        ...(dnsText ? [{ source: "pattern" as const, text: `DNS: ${dnsText}` }] : []),
        {
          source: "pattern",
          text: `${matched.length} of ${fellBack.length} connect stalls that changed address family sit on the fallback timer; ${direct} new connection${direct === 1 ? "" : "s"} reached the name over ${broken} directly`,
        },
      ],
    };
    return { candidate };
  },
};
