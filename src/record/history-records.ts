/**
 * Reads one records file (`records-<writer>.jsonl`) into committed rounds.
 * A round counts only when its footer line is present; a header without a
 * footer is the round that was in flight at a crash. Torn and corrupt lines
 * are skipped and reported in `warnings`.
 */
import type { RequestRecord } from "../model.js";
import type { LineSource } from "./line-reader.js";
import type { RoundDiagnosis, RoundDiagnosisLine, RoundFooterLine, RoundHeaderLine } from "./store.js";

export interface CommittedRound {
  footer: RoundFooterLine;
  /** As returned by the `keep` callback (full or slimmed records). */
  records: RequestRecord[];
  /** The round's stored diagnosis (rounds written with one). */
  diagnosis?: RoundDiagnosis;
}

type Parsed = RoundHeaderLine | RoundFooterLine | RoundDiagnosisLine | RequestRecord;

function isHeader(o: Parsed): o is RoundHeaderLine {
  return (o as { type?: unknown }).type === "round-start";
}
function isFooter(o: Parsed): o is RoundFooterLine {
  return (o as { type?: unknown }).type === "round";
}
function isDiagnosis(o: Parsed): o is RoundDiagnosisLine {
  return (o as { type?: unknown }).type === "round-diagnosis";
}
function isRecord(o: Parsed): o is RequestRecord {
  const r = o as Partial<RequestRecord> & { type?: unknown };
  return r.type === undefined && typeof r.atMs === "number" && typeof r.api === "string";
}

/** Round lines (header, footer, diagnosis) begin so; record lines never do (a record has no `type`). */
const ROUND_LINE = Buffer.from('{"type":');

/** Whether `buf[start, end)` begins with `prefix`. */
function startsWithBytes(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/**
 * A record line is parsed only when its round turns out to be wanted: its lines are held as text until
 * the footer commits the round, so a reader that wants a few rounds of a long file (readRoundRecords)
 * parses no other record. Corrupt lines of a wanted round are reported when it commits.
 *
 * @param inRange which committed rounds to return (by footer; called once per committed round)
 * @param keep called once per record of a returned round; returns what to keep of it. `null`: the
 *   rounds only (their footers and diagnoses): record lines are counted, never decoded or parsed,
 *   and every round's `records` is empty (a reader that has the histograms from the `.hlog`).
 */
export async function readRecordsFile(
  source: LineSource,
  inRange: (footer: RoundFooterLine) => boolean,
  warnings: string[],
  keep: ((r: RequestRecord) => RequestRecord) | null,
): Promise<CommittedRound[]> {
  const path = source.label;
  const out: CommittedRound[] = [];
  let open:
    | {
        header: RoundHeaderLine;
        lineNo: number;
        /** Its record lines, unparsed, and their line numbers (none kept when `keep` is null). */
        lines: string[];
        lineNos: number[];
        /** How many record lines it has. */
        count: number;
        diagnosis?: RoundDiagnosis;
      }
    | undefined;
  let orphans = 0;
  const dropOpen = (why: string): void => {
    if (open) {
      warnings.push(
        `${path}:${open.lineNo}: round ${open.header.id} has no footer (${why}); its ${open.count} record(s) skipped`,
      );
    }
    open = undefined;
  };
  /** The line as JSON, or undefined with a warning. */
  const parse = (text: string, lineNo: number): Parsed | undefined => {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      warnings.push(`${path}:${lineNo}: corrupt line skipped (not JSON)`);
      return undefined;
    }
    if (o === null || typeof o !== "object") {
      warnings.push(`${path}:${lineNo}: corrupt line skipped (not an object)`);
      return undefined;
    }
    return o as Parsed;
  };

  const { tornBytes, unreadable } = await source.forEachRaw((buf, start, end, lineNo) => {
    if (start === end) return;
    if (open && !startsWithBytes(buf, start, end, ROUND_LINE)) {
      open.count++;
      if (keep !== null) {
        open.lines.push(buf.toString("utf8", start, end));
        open.lineNos.push(lineNo);
      }
      return;
    }
    const o = parse(buf.toString("utf8", start, end), lineNo);
    if (o === undefined) return;
    if (isHeader(o)) {
      dropOpen("a new round started after it");
      open = { header: o, lineNo, lines: [], lineNos: [], count: 0 };
    } else if (isFooter(o)) {
      if (!open || open.header.id !== o.id) {
        warnings.push(`${path}:${lineNo}: footer of round ${o.id} without its header; skipped`);
        open = undefined;
        return;
      }
      const wanted = inRange(o);
      const records: RequestRecord[] = [];
      let count = open.count;
      if (wanted && keep !== null) {
        count = 0;
        open.lines.forEach((line, i) => {
          const r = parse(line, open!.lineNos[i]!);
          if (r === undefined) return;
          if (isRecord(r)) {
            records.push(keep(r));
            count++;
          } else warnings.push(`${path}:${open!.lineNos[i]}: unknown line skipped`);
        });
      }
      if (count !== o.records) {
        warnings.push(
          `${path}:${lineNo}: round ${o.id} footer counts ${o.records} record(s), found ${count}`,
        );
      }
      if (wanted) out.push({ footer: o, records, ...(open.diagnosis ? { diagnosis: open.diagnosis } : {}) });
      open = undefined;
    } else if (isDiagnosis(o)) {
      if (open && open.header.id === o.id) {
        const { type: _t, id: _id, ...diagnosis } = o;
        open.diagnosis = diagnosis;
      } else warnings.push(`${path}:${lineNo}: diagnosis of round ${o.id} outside its round; skipped`);
    } else if (isRecord(o)) {
      orphans++;
    } else {
      warnings.push(`${path}:${lineNo}: unknown line skipped`);
    }
  });
  if (unreadable !== undefined) {
    warnings.push(`${path}: skipped, ${unreadable}`);
    return out;
  }
  if (orphans > 0) warnings.push(`${path}: ${orphans} record line(s) outside any round skipped`);
  if (tornBytes > 0) warnings.push(`${path}: torn last line (${tornBytes} bytes, no newline) skipped`);
  dropOpen(tornBytes > 0 ? "the write was cut short" : "the writer stopped mid-round");
  return out;
}
