/**
 * Validation of curl-style `--resolve host:port:address[,address...]` entries
 * for the schema (the prober's own parser is src/probe/resolve.ts).
 */
import { isIP } from "node:net";

/** The shape the schema's regex accepts; finer checks follow in {@link resolveEntryProblem}. */
export const RESOLVE_SHAPE = /^[^:]+:\d{1,5}:.+$/;

/**
 * What is wrong with an entry that has the right shape (port range, each
 * address an IPv4 or IPv6 literal, IPv6 optionally bracketed), or undefined.
 */
export function resolveEntryProblem(entry: string): string | undefined {
  const m = /^([^:]+):(\d{1,5}):(.+)$/.exec(entry);
  if (!m) return undefined; // reported by the shape check
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `expected a port from 1 to 65535, received ${m[2]}`;
  const bad = m[3]!
    .split(",")
    .map((a) => a.trim())
    .filter((a) => isIP(a.replace(/^\[(.*)\]$/, "$1")) === 0);
  if (bad.length === 0) return undefined;
  return `expected IP addresses after host:port: (IPv4, or IPv6 in brackets or not), received ${bad
    .map((b) => JSON.stringify(b))
    .join(", ")}`;
}
