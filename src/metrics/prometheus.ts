/**
 * Prometheus / OpenMetrics metrics of the daemon's rounds, with prom-client
 * (the maintained Node client: exposition formats, escaping, histogram
 * buckets and OpenMetrics' `_created`/`# EOF` rules are its job).
 *
 * Names follow blackbox_exporter's, prefixed `stallwatch_`, so its users find
 * their way: `stallwatch_probe_http_duration_seconds{phase=…}` is
 * `probe_http_duration_seconds{phase=…}` as a histogram per series (our
 * phases dns, connect, tls, ttfb, transfer, total are blackbox's resolve,
 * connect, tls, processing, transfer, and probe_duration_seconds).
 * Labels: api, route, endpoint, connection (fresh | reuse), phase.
 *
 *   stallwatch_probe_http_duration_seconds   histogram  per phase, probe requests that completed the phase
 *   stallwatch_probe_requests_total          counter    probe requests
 *   stallwatch_probe_stalls_total            counter    stalls, `phase` = the phase that took the time
 *   stallwatch_probe_failures_total          counter    failed requests, `cause` = failure class
 *   stallwatch_probe_success                 gauge      1 when the series' last round had no failure
 *   stallwatch_last_round_timestamp_seconds  gauge      when the last round (by kind) ended, Unix time
 *   stallwatch_last_round_duration_seconds   gauge      how long it took
 *
 * Keep-warm pings count only in the round gauges, never in the probe series.
 */
import { Counter, Gauge, Histogram, type OpenMetricsContentType, Registry } from "prom-client";
import { detectStalls, type StallRule } from "../diagnose/stalls.js";
import { PHASES } from "../model.js";
import type { RoundResult } from "../schedule/round.js";

/** Seconds: 1 ms … 60 s, dense around where stalls live (0.25-10 s). */
export const DURATION_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const SERIES = ["api", "route", "endpoint", "connection"] as const;

export interface ProbeMetrics {
  /** Adds a finished round's records. */
  observeRound(r: RoundResult): void;
  /** The exposition for an Accept header: OpenMetrics when asked for, else Prometheus text 0.0.4. */
  render(accept: string | undefined): Promise<{ contentType: string; body: string }>;
}

export function createProbeMetrics(opts: { stallRule: StallRule }): ProbeMetrics {
  const text = new Registry();
  const open = new Registry<OpenMetricsContentType>();
  open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const registers = [text, open];
  const duration = new Histogram({
    name: "stallwatch_probe_http_duration_seconds",
    help: "Duration of each phase of a probe request (dns, connect, tls, ttfb, transfer, total), seconds",
    labelNames: [...SERIES, "phase"],
    buckets: DURATION_BUCKETS_S,
    registers,
  });
  const requests = new Counter({
    name: "stallwatch_probe_requests_total",
    help: "Probe requests sent",
    labelNames: SERIES,
    registers,
  });
  const stalls = new Counter({
    name: "stallwatch_probe_stalls_total",
    help: "Probe requests the stall rule flagged, by the phase that took the time",
    labelNames: [...SERIES, "phase"],
    registers,
  });
  const failures = new Counter({
    name: "stallwatch_probe_failures_total",
    help: "Failed probe requests by cause (failure class: dns, refused, reset, http-5xx, assertion, ...)",
    labelNames: [...SERIES, "cause"],
    registers,
  });
  const success = new Gauge({
    name: "stallwatch_probe_success",
    help: "1 when the series' requests in the last round all succeeded, else 0",
    labelNames: SERIES,
    registers,
  });
  const lastRound = new Gauge({
    name: "stallwatch_last_round_timestamp_seconds",
    help: "When the last round of this kind ended, Unix time in seconds",
    labelNames: ["kind"],
    registers,
  });
  const lastDuration = new Gauge({
    name: "stallwatch_last_round_duration_seconds",
    help: "How long the last round of this kind took, seconds",
    labelNames: ["kind"],
    registers,
  });

  return {
    observeRound(r) {
      lastRound.set({ kind: r.meta.kind }, r.meta.endedAtMs / 1000);
      lastDuration.set({ kind: r.meta.kind }, (r.meta.endedAtMs - r.meta.startedAtMs) / 1000);
      const probes = r.records.filter((x) => x.tag === "probe");
      if (probes.length === 0) return;
      const roundOk = new Map<string, boolean>();
      for (const rec of probes) {
        const series = { api: rec.api, route: rec.route, endpoint: rec.endpoint, connection: rec.connection };
        requests.inc(series);
        for (const phase of PHASES) {
          const ms = rec.phasesMs[phase];
          if (ms !== undefined) duration.observe({ ...series, phase }, ms / 1000);
        }
        if (rec.error) failures.inc({ ...series, cause: rec.error.code });
        const key = JSON.stringify(series);
        roundOk.set(key, (roundOk.get(key) ?? true) && rec.ok);
      }
      for (const [key, ok] of roundOk) success.set(JSON.parse(key), ok ? 1 : 0);
      for (const s of detectStalls(probes, opts.stallRule)) {
        const rec = s.record;
        stalls.inc({
          api: rec.api,
          route: rec.route,
          endpoint: rec.endpoint,
          connection: rec.connection,
          phase: s.phase,
        });
      }
    },
    async render(accept) {
      const reg = accept?.includes("application/openmetrics-text") ? open : text;
      return { contentType: reg.contentType, body: await reg.metrics() };
    },
  };
}
