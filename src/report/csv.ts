/**
 * `--csv FILE`: one row per request (probe, keep-warm and idle-sweep alike,
 * told apart by `tag`), phases in milliseconds, empty where a phase did not
 * happen. RFC 4180 quoting; a header row first.
 */
import { PART_PHASES, type RequestRecord } from "../model.js";
import { columnsOf, type RecordColumns } from "../record/columns.js";

export const CSV_COLUMNS = [
  "at",
  "seq",
  "api",
  "route",
  "endpoint",
  "method",
  "url",
  "connection",
  "tag",
  "reused",
  "ok",
  "status",
  ...PART_PHASES.map((p) => `${p}_ms`),
  "total_ms",
  "bytes",
  "remote_address",
  "stall",
  "error",
  "request_id",
  "trace_id",
] as const;

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The CSV text for these records (objects, or a run's columnar store: one row materialized at a time, then
 * dropped); `isStall(i)` says whether row i was a stall.
 */
export function renderCsv(
  records: readonly RequestRecord[] | RecordColumns,
  isStall: (index: number) => boolean,
): string {
  const cols = columnsOf(records);
  const rows = [CSV_COLUMNS.join(",")];
  for (let i = 0; i < cols.length; i++) {
    const r = cols.record(i);
    rows.push(
      [
        new Date(r.atMs).toISOString(),
        r.seq,
        r.api,
        r.route,
        r.endpoint,
        r.method,
        r.url,
        r.connection,
        r.tag,
        r.reused,
        r.ok,
        r.status,
        ...PART_PHASES.map((p) => r.phasesMs[p]),
        r.phasesMs.total,
        r.bytes,
        r.remoteAddress,
        isStall(i),
        r.error?.code,
        r.requestId,
        r.traceId,
      ]
        .map(cell)
        .join(","),
    );
  }
  return `${rows.join("\r\n")}\r\n`;
}
