/**
 * Alarm names and the ownership marker. stallwatch only ever deletes alarms
 * whose name starts with `<namespace>-` AND whose description ends with the
 * marker line for that namespace: the prefix alone is not enough (namespace
 * "Stallwatch" must not delete "Stallwatch-prod-…" alarms of another config),
 * and DescribeAlarms does not return tags.
 */
import { createHash } from "node:crypto";
import type { SeriesKey } from "../../model.js";
import { seriesId } from "../../model.js";

/** The kinds of per-series alarm. */
export const SERIES_ALARM_KINDS = ["p99", "stalls", "success"] as const;
export type SeriesAlarmKind = (typeof SERIES_ALARM_KINDS)[number];

/** CloudWatch allows 255 characters; AlarmRule quoting forbids `"` and parentheses confuse readers. */
const MAX_NAME = 255;

/** Characters kept as they are in alarm names; anything else becomes `_`. */
function slug(s: string): string {
  return s.replace(/^\/+/, "").replace(/[^A-Za-z0-9._-]/g, "_") || "_";
}

/** The name prefix every alarm of this namespace carries. */
export function alarmPrefix(namespace: string): string {
  return `${namespace.replace(/["()\\]/g, "_")}-`;
}

/** The last line of every managed alarm's description. */
export function ownershipMarker(namespace: string): string {
  return `managed-by: stallwatch (namespace ${namespace})`;
}

/** True when the description says this namespace's stallwatch created the alarm. */
export function isOwned(description: string | undefined, namespace: string): boolean {
  return (description ?? "").trimEnd().endsWith(ownershipMarker(namespace));
}

function hash6(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 6);
}

/**
 * Names for every series × kind, unique even when slugs collide (`/a/b` and
 * `/a_b`) or names are too long: those get a short hash of the full key.
 */
export function seriesAlarmNames(
  namespace: string,
  series: readonly SeriesKey[],
): Map<string, Record<SeriesAlarmKind, string>> {
  const prefix = alarmPrefix(namespace);
  const bases = series.map((s) => `${prefix}${slug(s.api)}-${slug(s.route)}-${slug(s.endpoint)}`);
  const counts = new Map<string, number>();
  for (const b of bases) counts.set(b, (counts.get(b) ?? 0) + 1);
  const out = new Map<string, Record<SeriesAlarmKind, string>>();
  series.forEach((s, i) => {
    const key = seriesId(s);
    let base = bases[i] ?? prefix;
    const tooLong = base.length + "-success".length > MAX_NAME;
    if ((counts.get(base) ?? 0) > 1 || tooLong) {
      base = `${base.slice(0, MAX_NAME - "-success".length - 7)}-${hash6(key)}`;
    }
    out.set(key, { p99: `${base}-p99`, stalls: `${base}-stalls`, success: `${base}-success` });
  });
  return out;
}

/** The composite alarm's name. */
export function compositeAlarmName(namespace: string): string {
  return `${alarmPrefix(namespace)}any`;
}
