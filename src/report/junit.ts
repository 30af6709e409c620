/**
 * JUnit XML for CI (Jenkins, GitLab, GitHub test reporters): one testcase per
 * series (api × route × endpoint × connection mode), failed when the series
 * had stalls or failed requests, with the stalls and failures listed in the
 * failure's text; one testcase per command-line gate. Built with
 * junit-report-builder (escaping, counts and attributes are its job).
 */
import type { Builder } from "junit-report-builder";
import junitModule from "junit-report-builder";
import type { ConnectionMode, Report, SeriesReport } from "../model.js";
import { seriesLabel } from "./gates.js";
import { fmtMs, plural } from "./style.js";

/** At run time the default import is the builder itself; its CommonJS typings say otherwise. */
const junit = junitModule as unknown as Builder;

function sameSeries(
  a: SeriesReport,
  b: { api: string; route: string; endpoint: string; connection?: string },
): boolean {
  return (
    a.api === b.api &&
    a.route === b.route &&
    a.endpoint === b.endpoint &&
    (b.connection ?? a.connection) === a.connection
  );
}

/**
 * The JUnit XML document for a report. Failure entries carry no connection
 * mode; `connectionOf(seq)` (from the run's records, when there are any) puts
 * each under its own series, else it is listed under every mode of its endpoint.
 */
export function renderJunit(
  report: Report,
  connectionOf?: (seq: number) => ConnectionMode | undefined,
): string {
  const builder = junit.newBuilder();
  const suite = builder
    .testSuite()
    .name(`stallwatch ${report.source.kind}${report.source.scenario ? ` ${report.source.scenario}` : ""}`)
    .timestamp(new Date(report.span?.startedAt ?? report.generatedAt));
  if (report.span) suite.time(report.span.durationMs / 1000);
  for (const s of report.series) {
    const tc = suite
      .testCase()
      .className(`${s.api}.${s.route}`)
      .name(`${s.endpoint} ${s.connection}`)
      .time(((s.latencyMs.total?.mean ?? 0) * (s.latencyMs.total?.count ?? 0)) / 1000);
    if (s.stalls === 0 && s.failed === 0) continue;
    const stalls = report.stalls.filter((x) => !x.tag && sameSeries(s, x));
    const failures = report.failures.filter(
      (f) => !f.tag && sameSeries(s, { ...f, connection: connectionOf?.(f.seq) ?? s.connection }),
    );
    const detail = [
      ...stalls.map(
        (x) =>
          `stall #${x.seq} at ${x.at}: ${fmtMs(x.totalMs)} ms > ${fmtMs(x.thresholdMs)} ms, mostly ${x.phase}` +
          `${x.remoteAddress ? `, ${x.remoteAddress}` : ""}${x.requestId ? `, request id ${x.requestId}` : ""}, cause ${x.cause}`,
      ),
      ...failures.map((f) => `failure #${f.seq} at ${f.at}: ${f.code} in ${f.phase}: ${f.message}`),
    ];
    tc.failure(
      `${plural(s.stalls, "stall")}, ${plural(s.failed, "failed request")} in ${seriesLabel(s)}`,
      "stallwatch",
    ).stacktrace(detail.join("\n"));
  }
  for (const g of report.gates ?? []) {
    const tc = suite
      .testCase()
      .className("stallwatch.gates")
      .name(g.series ? `${g.gate} · ${g.series}` : g.gate);
    if (!g.passed)
      tc.failure(
        `${g.gate}: measured ${g.series ? `${fmtMs(g.actual)} ms` : g.actual}${g.series ? ` in ${g.series}` : ""}`,
        "gate",
      );
  }
  return builder.build();
}
