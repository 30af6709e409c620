/**
 * Turning raw facts into record fields: phases from timestamps, hop headers,
 * request and trace ids. Pure functions.
 */
import { HOP_HEADERS, type Phase, type ProbeTimestamps, REMAPPED_HEADER_PREFIX } from "../model.js";

/**
 * Phase durations (ms) from raw timestamps. A phase is present only when both
 * of its ends happened; `transfer` only when the body completed (`bodyDone`).
 * `total` is always present: start → end (completion or failure).
 */
export function derivePhases(t: ProbeTimestamps, bodyDone: boolean): Partial<Record<Phase, number>> {
  const p: Partial<Record<Phase, number>> = {};
  const dns = span(t.dnsStart, t.dnsEnd);
  if (dns !== undefined) p.dns = dns;
  const connect = span(t.connectStart, t.connectEnd);
  if (connect !== undefined) p.connect = connect;
  const tls = span(t.connectEnd, t.tlsEnd);
  if (tls !== undefined) p.tls = tls;
  const ttfb = span(t.sent, t.firstByte);
  if (ttfb !== undefined) p.ttfb = ttfb;
  if (bodyDone) {
    const transfer = span(t.firstByte, t.end);
    if (transfer !== undefined) p.transfer = transfer;
  }
  const total = span(t.start, t.end);
  if (total !== undefined) p.total = total;
  return p;
}

function span(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined ? Math.max(0, b - a) : undefined;
}

export type HeaderBag = Record<string, string | string[] | undefined>;

/** One string per header (repeated headers joined with ", "), lower-case names. */
export function flattenHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/**
 * Shared by every record whose response carried no hop header (most, off
 * AWS): a report keeps every record, one empty object each added up. Frozen,
 * so a stray write fails loudly instead of changing every record at once.
 */
const NO_HOP_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The hop-identifying headers (HOP_HEADERS and every `x-amzn-remapped-*`). */
export function pickHopHeaders(headers: Record<string, string>): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const name of HOP_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    out ??= {};
    out[name] = v;
  }
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || !k.startsWith(REMAPPED_HEADER_PREFIX)) continue;
    out ??= {};
    out[k] = v;
  }
  return out ?? NO_HOP_HEADERS;
}
