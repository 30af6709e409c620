/**
 * The RoundRunner the scheduler calls for `stallwatch run` and `stallwatch
 * daemon`: each round is one pass of the pipeline (src/app/pipeline.ts). A
 * probe round probes every target `schedule.samplesPerRound` times (per
 * connection mode) and is diagnosed with the evidence the sources bring; a
 * keep-warm round sends one request to each keep-warm target and is not
 * diagnosed, but the sources look at its stalls (a stalled ping's X-Ray trace
 * says where its time went). The runner returns the records, the stalls
 * (detected once) and the diagnosis with its evidence (a keep-warm round: the
 * evidence alone, see {@link storedKeepWarm}); the scheduler
 * (src/schedule/round.ts) stores them together and logs the round.
 *
 * Keep-warm requests go out on a fresh connection (DNS, TCP, TLS, request),
 * whatever `probe.connection` says: every round has its own prober, so a
 * "reused" connection could not outlive the round anyway, and a fresh request
 * is what a user arriving after the idle gap sends. What it keeps warm is
 * the path behind API Gateway (VPC link, NLB flows to the targets, scaled-to-
 * zero or Lambda backends), not our own socket.
 */
import { setMaxListeners } from "node:events";
import type { LoadedConfig } from "../config/load.js";
import { joinUrl } from "../config/targets.js";
import type { Diagnosis } from "../diagnose/index.js";
import type { Stall } from "../diagnose/stalls.js";
import type { ProbeTarget } from "../probe/types.js";
import type { RoundDiagnosis, RoundKind } from "../record/store.js";
import { NOT_DIAGNOSED } from "../report/build.js";
import type { RoundRequest, RoundRun, RoundRunner } from "../schedule/round.js";
import { type Evidence, type EvidenceSource, evidenceWithin } from "./evidence/source.js";
import type { ProbeRunOptions } from "./live.js";
import { type PipelineResult, runPipeline } from "./pipeline.js";
import type { MetricsSink } from "./sinks/cloudwatch.js";

/** What one round found, for logs. */
export interface RoundOutcome {
  id: number;
  kind: RoundKind;
  /** The sources' and the metrics sink's lines. */
  notes: string[];
  /** Probe rounds. */
  diagnosis?: Diagnosis;
  result: PipelineResult;
}

export interface RoundRunnerOptions {
  /** Evidence sources asked after every round (their before() is the caller's, once at start). */
  sources?: readonly EvidenceSource[];
  /** Where each round's metrics are published. */
  metrics?: MetricsSink;
  /** Told of each round's notes and diagnosis (logging). */
  onOutcome?: (o: RoundOutcome) => void;
  /** Told when the diagnosis or the metrics sink throws; the round's records are stored regardless. */
  onHookError?: (err: unknown, round: RoundRequest) => void;
  /** Passed through to the prober (tests). */
  probe?: Pick<ProbeRunOptions, "clock" | "warmUp" | "onRecord">;
}

/** Targets a keep-warm round pings: those matching keepWarm.routes and keepWarm.endpoints (names or paths). */
export function keepWarmTargets(loaded: LoadedConfig): ProbeTarget[] {
  const kw = loaded.config.keepWarm;
  const baseUrlOf = (api: string, route: string): string | undefined =>
    loaded.config.apis.find((a) => a.name === api)?.routes.find((r) => r.name === route)?.baseUrl;
  return loaded.targets.filter((t) => {
    if (kw.routes && !kw.routes.includes(t.route)) return false;
    if (!kw.endpoints) return true;
    return kw.endpoints.some((ref) => {
      if (ref === t.endpoint) return true;
      if (!ref.startsWith("/")) return false;
      const base = baseUrlOf(t.api, t.route);
      try {
        return base !== undefined && joinUrl(base, ref) === t.url;
      } catch {
        return false;
      }
    });
  });
}

/** The config with a fresh connection per request (for keep-warm rounds). */
function freshOnly(loaded: LoadedConfig): LoadedConfig {
  return { ...loaded, config: { ...loaded.config, probe: { ...loaded.config.probe, connection: "fresh" } } };
}

/**
 * The sources' part of a stored round: only the sources that answered (an absent key: not asked, or nothing
 * came back), and their notes; empty when there is neither.
 */
function storedSources(
  evidence: Evidence,
  notes: readonly string[],
): Pick<RoundDiagnosis, "sources" | "sourceNotes"> {
  const sources = Object.fromEntries(Object.entries(evidence).filter(([, v]) => v !== undefined)) as Evidence;
  return {
    ...(Object.keys(sources).length > 0 ? { sources } : {}),
    ...(notes.length > 0 ? { sourceNotes: [...notes] } : {}),
  };
}

/** A diagnosis as the store keeps it, with the evidence of the round's own span. */
export function storedDiagnosis(d: Diagnosis, evidence: Evidence, notes: readonly string[]): RoundDiagnosis {
  return {
    findings: d.findings,
    evidence: d.evidence,
    ...(d.verdict ? { verdict: d.verdict } : {}),
    causes: [...d.causeBySeq],
    healthy: d.healthy,
    notes: d.notes,
    ...storedSources(evidence, notes),
  };
}

/**
 * What the store keeps of a keep-warm round: no finding, verdict or cause (keep-warm pings are not
 * diagnosed: each stall is `not-diagnosed`), the evidence the sources brought for the round's span (X-Ray
 * traces of its stalled pings, target health) and their notes. Undefined when there is nothing to keep.
 */
export function storedKeepWarm(
  stalls: readonly Stall[],
  evidence: Evidence,
  notes: readonly string[],
): RoundDiagnosis | undefined {
  const fromSources = storedSources(evidence, notes);
  if (stalls.length === 0 && Object.keys(fromSources).length === 0) return undefined;
  return {
    findings: [],
    evidence: [],
    causes: stalls.map((s) => [s.record.seq, NOT_DIAGNOSED]),
    healthy: stalls.length === 0,
    notes: ["keep-warm pings are not diagnosed: the evidence of the round's span is kept"],
    ...fromSources,
  };
}

export function createRoundRunner(loaded: LoadedConfig, opts: RoundRunnerOptions = {}): RoundRunner {
  const warmTargets = keepWarmTargets(loaded);
  const warmLoaded = freshOnly(loaded);
  return async (round: RoundRequest): Promise<RoundRun> => {
    const keepWarm = round.kind === "keep-warm";
    // Each request in flight listens on the round's signal: allow the configured concurrency without a warning.
    setMaxListeners(loaded.config.probe.concurrency + 16, round.signal);
    const result = await runPipeline({
      loaded: keepWarm ? warmLoaded : loaded,
      probe: {
        ...opts.probe,
        ...(keepWarm
          ? { tag: "keep-warm", count: 1, targets: warmTargets }
          : { tag: "probe", count: loaded.config.schedule.samplesPerRound }),
        signal: round.signal,
      },
      ...(opts.probe?.onRecord ? { onRecord: opts.probe.onRecord } : {}),
      ...(opts.sources ? { sources: opts.sources } : {}),
      before: false,
      diagnose: !keepWarm,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      timestampMs: round.scheduledAtMs,
      onError: (_stage, err) => opts.onHookError?.(err, round),
    });
    opts.onOutcome?.({
      id: round.id,
      kind: round.kind,
      notes: result.notes,
      ...(result.diagnosis ? { diagnosis: result.diagnosis } : {}),
      result,
    });
    const endMs = result.run.startedAtMs + result.run.durationMs;
    const spanEvidence = evidenceWithin(result.evidence, result.run.startedAtMs, endMs);
    const stored = result.diagnosis
      ? storedDiagnosis(result.diagnosis, spanEvidence, result.notes)
      : keepWarm
        ? storedKeepWarm(result.stalls, spanEvidence, result.notes)
        : undefined;
    return { records: result.records, stalls: result.stalls, ...(stored ? { diagnosis: stored } : {}) };
  };
}
