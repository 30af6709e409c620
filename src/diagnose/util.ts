/** Small shared helpers for the detectors: formatting, grouping, signature matching, confidence. */
import type { Confidence, Phase, RequestRecord } from "../model.js";
import type { RecordColumns } from "../record/columns.js";
import type { Stall } from "./stalls.js";

/** Durations read the same in every output: the one formatter, from the base layer. */
export { fmtDuration, fmtGap } from "../duration.js";

export function pct(num: number, den: number): string {
  return den === 0 ? "0%" : `${Math.round((100 * num) / den)}%`;
}

/** How many of `items` pass `test`. */
export function countWhere<T>(items: Iterable<T>, test: (t: T) => boolean): number {
  let n = 0;
  for (const item of items) if (test(item)) n++;
  return n;
}

export function countBy<T>(items: readonly T[], key: (t: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** True when `phase` holds the stall's time: it is the dominant phase, or ≥ half of the total. */
export function stallIn(stall: Stall, phase: Phase): boolean {
  const v = stall.record.phasesMs[phase];
  if (v === undefined) return false;
  return stall.phase === phase || v >= 0.5 * stall.totalMs;
}

/** Tolerance around a signature level: max(300 ms, 15 % of the level). */
export function levelToleranceMs(levelMs: number): number {
  return Math.max(300, 0.15 * levelMs);
}

/** The signature level (ms) `valueMs` sits near, or undefined. */
export function nearestLevel(valueMs: number, levelsMs: readonly number[]): number | undefined {
  let best: number | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const level of levelsMs) {
    const dist = Math.abs(valueMs - level);
    if (dist <= levelToleranceMs(level) && dist < bestDist) {
      best = level;
      bestDist = dist;
    }
  }
  return best;
}

/** Confidence of a signature finding from how many stalls match and what share of the candidates they are. */
export function signatureConfidence(matched: number, share: number): Confidence {
  if (matched >= 3 && share >= 0.7) return "high";
  if (matched >= 2 && share >= 0.5) return "medium";
  return "low";
}

/** Confidence of a statistical finding from its corrected p-value and the stalls behind it. */
export function statisticalConfidence(pAdjusted: number, stalls: number): Confidence {
  if (pAdjusted < 1e-4 && stalls >= 6) return "high";
  if (pAdjusted < 1e-3 && stalls >= 4) return "medium";
  return "low";
}

/** Most common value and its count. */
export function topCount(counts: Record<string, number>): [string, number] | undefined {
  let best: [string, number] | undefined;
  for (const [k, v] of Object.entries(counts)) if (!best || v > best[1]) best = [k, v];
  return best;
}

/** True for RFC 1918 / loopback / ULA addresses: an NLB node or VPC-internal target rather than an edge. */
export function isPrivateAddress(addr: string): boolean {
  return (
    /^10\./.test(addr) ||
    /^192\.168\./.test(addr) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(addr) ||
    /^127\./.test(addr) ||
    /^(::1|f[cd][0-9a-f]{2}:)/i.test(addr)
  );
}

/** Series plus connection mode: the unit inside which send order and rates are compared. */
export function seriesConnKey(r: RequestRecord): string {
  return `${r.api} ${r.route} ${r.endpoint} (${r.connection})`;
}

/** {@link seriesConnKey} of row `i` of the columns. */
export function seriesConnKeyOf(c: RecordColumns, i: number): string {
  return `${c.api(i)} ${c.route(i)} ${c.endpoint(i)} (${c.connection(i)})`;
}

/**
 * Rows grouped by {@link seriesConnKeyOf}, in the order of `rows`. The key string is built once per series ×
 * connection mode, not once per row (the store's series id is interned, so nothing is allocated per row).
 */
export function rowsBySeriesConn(c: RecordColumns, rows: ArrayLike<number>): Map<string, Uint32Array> {
  // One key string per series × connection mode, none per row.
  const keys = new Map<string, { fresh?: string; reuse?: string }>();
  return groupRows(rows, (i) => {
    const id = c.seriesId(i);
    const conn = c.connection(i);
    let byConn = keys.get(id);
    if (!byConn) {
      byConn = {};
      keys.set(id, byConn);
    }
    let key = byConn[conn];
    if (key === undefined) {
      key = seriesConnKeyOf(c, i);
      byConn[conn] = key;
    }
    return key;
  });
}

/**
 * Row indexes grouped by `key` (rows without one are left out), each group a Uint32Array in the order of
 * `rows`, groups in order of first appearance. One key call per row and exact-size arrays: grouping the
 * 300,000 rows of a long report with growing number[] lists was tens of MB of garbage at its peak.
 */
export function groupRows(
  rows: ArrayLike<number>,
  key: (row: number) => string | undefined,
): Map<string, Uint32Array> {
  const { names, groupOf, counts } = indexGroups(rows, key);
  const groups = counts.map((n) => new Uint32Array(n));
  const filled = new Array<number>(counts.length).fill(0);
  for (let k = 0; k < rows.length; k++) {
    const g = groupOf[k]!;
    if (g < 0) continue;
    groups[g]![filled[g]!++] = rows[k]!;
  }
  const out = new Map<string, Uint32Array>();
  for (let g = 0; g < names.length; g++) out.set(names[g]!, groups[g]!);
  return out;
}

/**
 * The group of each of `rows` by `key`, as an index into `names` (−1: no key), with each group's size; groups
 * in order of first appearance. One key call per row.
 */
export function indexGroups(
  rows: ArrayLike<number>,
  key: (row: number) => string | undefined,
): { names: string[]; groupOf: Int32Array; counts: number[] } {
  const ids = new Map<string, number>();
  const names: string[] = [];
  const counts: number[] = [];
  const groupOf = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const name = key(rows[k]!);
    if (name === undefined) {
      groupOf[k] = -1;
      continue;
    }
    let g = ids.get(name);
    if (g === undefined) {
      g = names.length;
      ids.set(name, g);
      names.push(name);
      counts.push(0);
    }
    groupOf[k] = g;
    counts[g]!++;
  }
  return { names, groupOf, counts };
}

/** Smallest value (no spread: safe for arrays of any length); Infinity when empty. */
export function minOf(values: Iterable<number>): number {
  let m = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < m) m = v;
  return m;
}

/** Largest value; −Infinity when empty. */
export function maxOf(values: Iterable<number>): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > m) m = v;
  return m;
}
