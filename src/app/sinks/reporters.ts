/**
 * The reporters: one `Reporter` interface for every way a Report leaves the
 * process — the terminal or JSON on stdout, HTML, JUnit XML and CSV files.
 * A command chooses them from its flags (`reportersFor`); the pipeline or
 * the history reader hands each the same finished output. Every reporter
 * writes through the one redactor.
 */
import { once } from "node:events";
import type { Stall } from "../../diagnose/stalls.js";
import { UsageError } from "../../errors.js";
import type { IntervalSummary, Report, RequestRecord } from "../../model.js";
import { columnsOf, type RecordColumns } from "../../record/columns.js";
import type { Redactor } from "../../redact.js";

/** What a reporter is handed. */
export interface ReportOutput {
  report: Report;
  redactor: Redactor;
  /**
   * A live run's records (its columnar store, or objects) and stalls (absent over recorded history). The
   * reporters read the columns: a store is never turned into an object per request.
   */
  run?: { records: readonly RequestRecord[] | RecordColumns; stalls: readonly Stall[] };
  /** History: keep-warm intervals, shown after the probe timeline. */
  keepWarmIntervals?: readonly IntervalSummary[];
}

export interface Reporter {
  readonly name: string;
  write(out: ReportOutput): Promise<void>;
}

export interface ReporterFlags {
  json?: boolean;
  html?: string;
  junit?: string;
  csv?: string;
}

/** stdout (terminal or `--json`), then `--html`, `--junit`, `--csv` in that order. */
export function reportersFor(flags: ReporterFlags): Reporter[] {
  const out: Reporter[] = [flags.json ? jsonReporter() : terminalReporter()];
  if (flags.html !== undefined) out.push(htmlReporter(flags.html));
  if (flags.junit !== undefined) out.push(junitReporter(flags.junit));
  if (flags.csv !== undefined) out.push(csvReporter(flags.csv));
  return out;
}

export async function writeReports(reporters: readonly Reporter[], out: ReportOutput): Promise<void> {
  for (const r of reporters) await r.write(out);
}

export function terminalReporter(): Reporter {
  return {
    name: "terminal",
    async write({ report, redactor, keepWarmIntervals }) {
      const { renderTerminal, shouldUseColor } = await import("../../report/terminal.js");
      const color = shouldUseColor(process.stdout, process.env);
      const width = process.stdout.columns ?? 100;
      let out = renderTerminal(report, { color, width });
      if (report.writers) {
        const { renderWriters } = await import("../../report/writers.js");
        out += renderWriters(report.writers, { color }).replace(/^/, "\n");
      }
      if (keepWarmIntervals && keepWarmIntervals.length > 0) {
        const { renderTimeline } = await import("../../report/timeline.js");
        out += `\nKeep-warm pings over time (UTC, kept out of the probe statistics)\n${renderTimeline(keepWarmIntervals, { color, width })}`;
      }
      process.stdout.write(redactor.redact(out));
    },
  };
}

export function jsonReporter(): Reporter {
  return {
    name: "json",
    async write({ report, redactor }) {
      const { renderJsonChunks } = await import("../../report/json.js");
      // In pieces of ~64 KB, each redacted on its own, waiting for stdout to drain: a long history report's JSON
      // is never one string.
      let pending = "";
      const flush = async (): Promise<void> => {
        if (pending === "") return;
        const ok = process.stdout.write(redactor.redact(pending));
        pending = "";
        if (!ok) await once(process.stdout, "drain");
      };
      for (const chunk of renderJsonChunks(report)) {
        pending += chunk;
        if (pending.length >= 65_536) await flush();
      }
      await flush();
    },
  };
}

export function htmlReporter(file: string): Reporter {
  return {
    name: "html",
    async write({ report, redactor, run }) {
      const { writeHtmlReport, timelineFromRecords } = await import("../../report/html.js");
      // A live run draws its timeline from the records; history carries its own (one interval per round × series).
      await writeHtmlReport(
        file,
        report,
        redactor,
        run ? { timeline: timelineFromRecords(run.records, run.stalls) } : {},
      );
      process.stderr.write(`stallwatch: HTML report written to ${file}\n`);
    },
  };
}

export function junitReporter(file: string): Reporter {
  return {
    name: "junit",
    async write({ report, redactor, run }) {
      const { renderJunit } = await import("../../report/junit.js");
      const connectionOf = run ? connectionBySeq(columnsOf(run.records)) : () => undefined;
      await writeOutput(file, redactor.redact(renderJunit(report, connectionOf)), "--junit");
      process.stderr.write(`stallwatch: JUnit report written to ${file}\n`);
    },
  };
}

/** One row per request of a live run; over history (no run) it writes nothing. */
export function csvReporter(file: string): Reporter {
  return {
    name: "csv",
    async write({ redactor, run }) {
      if (!run) return;
      const { renderCsv } = await import("../../report/csv.js");
      // By seq, not by stall index: a stall's index counts the rows the stall rule saw (aborted requests of a
      // stopped run left out), the CSV has a row for every request.
      const stallSeqs = new Set(run.stalls.map((x) => x.record.seq));
      const cols = columnsOf(run.records);
      await writeOutput(file, redactor.redact(renderCsv(cols, (i) => stallSeqs.has(cols.seq(i)))), "--csv");
      process.stderr.write(`stallwatch: CSV (${cols.length} requests) written to ${file}\n`);
    },
  };
}

/** The connection mode of the request with this seq (binary search over the rows in seq order; no map per request). */
function connectionBySeq(cols: RecordColumns): (seq: number) => RequestRecord["connection"] | undefined {
  const order = cols.bySeq();
  return (seq) => {
    let lo = 0;
    let hi = order.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = cols.seq(order[mid]!);
      if (s === seq) return cols.connection(order[mid]!);
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
}

async function writeOutput(file: string, text: string, flag: string): Promise<void> {
  const { writeFile } = await import("node:fs/promises");
  try {
    await writeFile(file, text);
  } catch (e) {
    throw new UsageError(
      `${flag} ${file}: cannot write the file (${(e as { code?: string }).code ?? String(e)})`,
    );
  }
}
