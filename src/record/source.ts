/**
 * Where history is read from: one local store directory, one S3 prefix, or
 * several of either (`report --from A --from B`). A source yields units: one
 * records stream (header / records / footer lines) with its optional `.hlog`
 * stream (and its hourly rollups), and the writer that wrote them. The local store has one unit per
 * writer per day; the S3 store one per round.
 */
import { fileLines, type LineSource } from "./line-reader.js";
import {
  DAY_MS,
  dayStartMs,
  histFile,
  listDays,
  listWriters,
  recordsFile,
  rollupFile,
} from "./store-layout.js";

export interface SourceUnit {
  writer: string;
  records: LineSource;
  hlog?: LineSource;
  /** The hourly rollups of the `.hlog`'s rounds (a local store's; see HlogRollup). */
  rollup?: LineSource;
}

export interface HistorySource {
  /** What to call it in the report (`source.dir`) and in warnings. */
  label: string;
  /** Units that may hold rounds started in [sinceMs, untilMs]; rounds outside are filtered by the reader. */
  units(sinceMs: number, untilMs: number): AsyncIterable<SourceUnit>;
}

/** A local store directory. */
export function dirSource(dir: string): HistorySource {
  return {
    label: dir,
    async *units(sinceMs, untilMs) {
      for (const day of await listDays(dir)) {
        const start = dayStartMs(day) ?? 0;
        if (start + DAY_MS <= sinceMs || start > untilMs) continue;
        for (const writer of await listWriters(dir, day)) {
          yield {
            writer,
            records: fileLines(recordsFile(dir, day, writer)),
            hlog: fileLines(histFile(dir, day, writer)),
            rollup: fileLines(rollupFile(dir, day, writer)),
          };
        }
      }
    },
  };
}

/** Several sources read as one (rounds found twice are counted once by the reader). */
export function concatSources(sources: readonly HistorySource[]): HistorySource {
  if (sources.length === 1) return sources[0]!;
  return {
    label: sources.map((s) => s.label).join(", "),
    async *units(sinceMs, untilMs) {
      for (const s of sources) yield* s.units(sinceMs, untilMs);
    },
  };
}

/**
 * Matches writer names against `--writer` values: an exact name, or a prefix
 * ending in `*` (`prober-us-west-2*`). A local store's writer is
 * `<store.writer>-<pid>-<random>`, so `NAME*` selects all its processes.
 */
export function writerMatcher(patterns: readonly string[]): (writer: string) => boolean {
  if (patterns.length === 0) return () => true;
  return (w) => patterns.some((p) => (p.endsWith("*") ? w.startsWith(p.slice(0, -1)) : w === p));
}

/** Only the units of matching writers. */
export function filterWriters(source: HistorySource, patterns: readonly string[]): HistorySource {
  if (patterns.length === 0) return source;
  const match = writerMatcher(patterns);
  return {
    label: `${source.label} (writer ${patterns.join(", ")})`,
    async *units(sinceMs, untilMs) {
      for await (const u of source.units(sinceMs, untilMs)) if (match(u.writer)) yield u;
    },
  };
}
