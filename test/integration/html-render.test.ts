/**
 * The HTML report as text: user data escaped everywhere (content and
 * attributes), the CSP hashes match the inline style and script, secrets
 * redacted even when escaping would hide them, deterministic output, caps,
 * and the intervals a live run's records are binned into.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { StallwatchError } from "../../src/errors.js";
import type { Report, StallReport } from "../../src/model.js";
import { Redactor } from "../../src/redact.js";
import { buildReport } from "../../src/report/build.js";
import { renderHtml, timelineFromRecords, writeHtmlReport } from "../../src/report/html.js";
import { timelineFromSeries } from "../../src/report/html-timeline-data.js";
import { fixtureInput, fixtureIntervals, fixtureRecords, rec, T0 } from "../unit/report-fixture.js";

const count = (s: string, sub: string): number => s.split(sub).length - 1;

function hostile(): Report {
  const records = fixtureRecords().map((r) =>
    r.endpoint === "/header" ? { ...r, endpoint: `/<script>alert(1)</script>"' onmouseover="alert(2)` } : r,
  );
  const input = fixtureInput({ records, stalls: detectStalls(records) });
  input.diagnosis!.findings[0]!.evidence = { "<b>key</b>": "<i>v</i>", list: ["a&b", 1.23456] };
  input.diagnosis!.findings[0]!.nextStep = "</p><script>alert(3)</script>";
  return buildReport(input);
}

describe("renderHtml", () => {
  it("escapes user data in text and attributes: no markup of its own gets through", () => {
    const html = renderHtml(hostile());
    expect(count(html, "<script")).toBe(1);
    expect(html).not.toContain("alert(1)</script>");
    expect(html).not.toContain('" onmouseover="');
    expect(html).not.toContain("<b>key</b>");
    expect(html).not.toContain("<i>v</i>");
    expect(html).toContain("/&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; onmouseover=&quot;alert(2)");
    expect(html).toContain("&lt;b&gt;key&lt;/b&gt;");
    expect(html).toContain("a&amp;b, 1.235");
    expect(html).toContain("&lt;/p&gt;&lt;script&gt;alert(3)&lt;/script&gt;");
  });

  it("allows exactly its own style and script by hash, and nothing from the network", () => {
    const html = renderHtml(buildReport(fixtureInput()));
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    const sha = (t: string): string => createHash("sha256").update(t).digest("base64");
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src 'sha256-${sha(style)}'`);
    expect(csp).toContain(`script-src 'sha256-${sha(script)}'`);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).not.toMatch(/url\(|@import/);
  });

  it("is deterministic and shows every section, findings first", () => {
    const report = buildReport(fixtureInput({ timeline: fixtureIntervals() }));
    const html = renderHtml(report);
    expect(renderHtml(report)).toBe(html);
    const order = ["findings", "timeline", "percentiles", "stalls", "failures", "quality"].map((id) =>
      html.indexOf(`<section id="${id}"`),
    );
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    expect(html).toContain("Keep-warm pings, beside the probes");
    expect(html).toContain("Event-loop lag of stallwatch itself");
    expect(html).toContain(report.coordinatedOmission.note.replaceAll("'", "&#39;"));
    expect(html).toContain("too few samples for the periodicity test");
    // The verdict card, then one card per cause.
    expect(count(html, '<article class="finding')).toBe(3);
    expect(html).toContain('id="verdict"');
  });

  it("renders a healthy run plainly", () => {
    const records = Array.from({ length: 40 }, (_, i) =>
      rec({
        seq: i,
        seriesSeq: i,
        atMs: T0 + i * 100,
        phasesMs: { ttfb: 1 + (i % 5) / 10, total: 1.5 + (i % 5) / 10 },
      }),
    );
    const html = renderHtml(
      buildReport({
        ...fixtureInput(),
        records,
        stalls: [],
        diagnosis: { findings: [], causeBySeq: new Map(), healthy: true, notes: [] },
      }),
    );
    expect(html).toContain("No findings: healthy.");
    expect(html).toContain("No stalls.");
    expect(html).toContain("No failures.");
    expect(html).toContain('<span class="status">healthy</span>');
  });

  it("caps the stall rows and merges long timelines into at most 480 columns per chart", () => {
    const base = buildReport(fixtureInput());
    const stall = base.stalls[0]!;
    const stalls: StallReport[] = Array.from({ length: 1000 }, (_, i) => ({ ...stall, seq: 10_000 + i }));
    const html = renderHtml({ ...base, stalls, timeline: fixtureIntervals(2000) });
    expect(count(html, '<tr><th scope="row"><span class="num" data-v="1')).toBeGreaterThanOrEqual(300);
    expect(html).toContain("700 more stalls not listed");
    expect(count(html, '<g class="iv">')).toBe(400); // 5 intervals per column

    expect(html.length).toBeLessThan(2_000_000);
  });

  it("falls back to each series' overall band when there is no timeline, and says so", () => {
    const report = buildReport(fixtureInput());
    const band = timelineFromSeries(report);
    expect(band).toHaveLength(report.series.length);
    expect(band[0]).toMatchObject({ startMs: T0, count: 25, p50Ms: report.series[0]!.latencyMs.total!.p50 });
    expect(renderHtml(report)).toContain("No per-interval data");
    const { span: _span, ...noSpan } = report;
    expect(renderHtml({ ...noSpan, series: [], stalls: [], failures: [] })).toContain("nothing to plot");
  });
});

describe("timelineFromRecords", () => {
  it("bins probe records into intervals shared by every series, with exact counts", () => {
    const records = fixtureRecords();
    const stalls = detectStalls(records);
    const tl = timelineFromRecords(records, stalls);
    const report = buildReport(fixtureInput());
    const starts = new Set(tl.map((i) => i.startMs));
    expect(tl.length).toBe(starts.size * report.series.length);
    for (const s of report.series) {
      const mine = tl.filter(
        (i) => i.route === s.route && i.endpoint === s.endpoint && i.connection === s.connection,
      );
      expect(mine.reduce((n, i) => n + i.count, 0)).toBe(s.latencyMs.total!.count);
      expect(mine.reduce((n, i) => n + i.stalls, 0)).toBe(s.stalls);
      expect(mine.reduce((n, i) => n + i.failures, 0)).toBe(s.failed);
      expect(Math.max(...mine.map((i) => i.maxMs))).toBeCloseTo(s.latencyMs.total!.max, 0);
    }
  });

  it("computes nearest-rank percentiles per interval and bounds the interval count", () => {
    const ten = Array.from({ length: 10 }, (_, i) =>
      rec({ seq: i, atMs: T0 + i, phasesMs: { total: i + 1 } }),
    );
    expect(timelineFromRecords(ten, [], { minPerInterval: 10 })).toEqual([
      expect.objectContaining({ count: 10, p50Ms: 5, p99Ms: 10, maxMs: 10, stalls: 0, failures: 0 }),
    ]);
    const many = Array.from({ length: 50_000 }, (_, i) =>
      rec({ seq: i, atMs: T0 + i * 50, phasesMs: { total: 10 + (i % 7) } }),
    );
    const tl = timelineFromRecords(many, [], { maxIntervals: 100 });
    expect(tl.length).toBeLessThanOrEqual(101);
    expect(tl.reduce((n, i) => n + i.count, 0)).toBe(50_000);
  });
});

describe("writeHtmlReport", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("redacts secrets, also those that escaping would disguise, and keeps its style and script intact", async () => {
    dir = await mkdtemp(join(tmpdir(), "sw-html-"));
    const secret = "tok&en<9f3a>";
    const records = fixtureRecords();
    const bad = records.find((r) => r.seq === 58)!;
    bad.error!.message = `upstream said ${secret} and xyz-key-123`;
    const report = buildReport(fixtureInput({ records, stalls: detectStalls(records) }));
    const file = join(dir, "r.html");
    await writeHtmlReport(file, report, new Redactor({ secretValues: [secret, "xyz-key-123", "font-size"] }));
    const html = await readFile(file, "utf8");
    expect(html).not.toContain("tok&amp;en&lt;9f3a&gt;");
    expect(html).not.toContain("xyz-key-123");
    expect(html).toContain("upstream said [REDACTED] and [REDACTED]");
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
    expect(style).toContain("font-size");
    expect(renderHtml(report)).toContain(style);
  });

  it("fails with a stable code when the file cannot be written", async () => {
    const err = await writeHtmlReport(
      "/nonexistent-dir/x/r.html",
      buildReport(fixtureInput()),
      Redactor.none(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StallwatchError);
    expect((err as StallwatchError).code).toBe("SW_REPORT_WRITE");
  });
});
