/**
 * The X-Ray trace header stallwatch sends (`X-Amzn-Trace-Id`), and a parser
 * for the ones it receives. Format (X-Ray developer guide):
 *
 *   Root=1-<8 hex: epoch seconds>-<24 hex random>;Parent=<16 hex>;Sampled=1
 *
 * API Gateway keeps a Root the client sent and passes it on, so stallwatch
 * knows each request's trace id without reading the response. Off by default
 * (`config.xray.enabled`): traces cost money.
 */
import { randomBytes } from "node:crypto";

const ROOT_RE = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const PARENT_RE = /^[0-9a-f]{16}$/;

/** The fields of an `X-Amzn-Trace-Id` header. Unknown keys are kept in `extra`. */
export interface TraceHeader {
  /** `1-<8 hex>-<24 hex>`. */
  root: string;
  /** 16 hex digits: the id of the segment that made the call. */
  parent?: string;
  /** `true` for `Sampled=1`, `false` for `Sampled=0`, absent for `Sampled=?` or none. */
  sampled?: boolean;
  /** `Self=` as added by load balancers (ALB). */
  self?: string;
  /** `Lineage=` as added by Lambda and other services. */
  lineage?: string;
  /** Any other `key=value` pairs, in order. */
  extra: Array<[string, string]>;
}

export type ParsedTraceHeader = { ok: true; header: TraceHeader } | { ok: false; reason: string };

/** True for a well-formed trace root `1-<8 hex>-<24 hex>`. */
export function isValidTraceRoot(root: string): boolean {
  return ROOT_RE.test(root);
}

/** True for a well-formed segment/parent id (16 hex digits). */
export function isValidSegmentId(id: string): boolean {
  return PARENT_RE.test(id);
}

/** Epoch seconds encoded in a trace root, or undefined when it is malformed. */
export function traceRootEpochS(root: string): number | undefined {
  if (!isValidTraceRoot(root)) return undefined;
  return Number.parseInt(root.slice(2, 10), 16);
}

/** Random bytes source, injectable so tests are deterministic. */
export type RandomHex = (bytes: number) => string;

const cryptoHex: RandomHex = (n) => randomBytes(n).toString("hex");

/** A new trace root for a request starting at `wallMs` (epoch ms). */
export function newTraceRoot(wallMs: number, random: RandomHex = cryptoHex): string {
  const epochS = Math.floor(wallMs / 1000) >>> 0;
  return `1-${epochS.toString(16).padStart(8, "0")}-${random(12)}`;
}

/** A new 16-hex segment id. */
export function newSegmentId(random: RandomHex = cryptoHex): string {
  return random(8);
}

/** Formats a header value. Keys in X-Ray's order: Root, Parent, Sampled, Self, Lineage, then the rest. */
export function formatTraceHeader(h: TraceHeader): string {
  const parts = [`Root=${h.root}`];
  if (h.parent !== undefined) parts.push(`Parent=${h.parent}`);
  if (h.sampled !== undefined) parts.push(`Sampled=${h.sampled ? "1" : "0"}`);
  if (h.self !== undefined) parts.push(`Self=${h.self}`);
  if (h.lineage !== undefined) parts.push(`Lineage=${h.lineage}`);
  for (const [k, v] of h.extra) parts.push(`${k}=${v}`);
  return parts.join(";");
}

/** What {@link newTraceHeader} returns: the header value and the root to keep with the record. */
export interface OutgoingTrace {
  /** The value of `X-Amzn-Trace-Id`. */
  value: string;
  /** The trace id (`1-…-…`), stored as `RequestRecord.traceId`. */
  traceId: string;
}

/** A fresh header for one probe request. `sampled` maps to `Sampled=1|0`. */
export function newTraceHeader(
  wallMs: number,
  sampled: boolean,
  random: RandomHex = cryptoHex,
): OutgoingTrace {
  const root = newTraceRoot(wallMs, random);
  return {
    traceId: root,
    value: formatTraceHeader({ root, parent: newSegmentId(random), sampled, extra: [] }),
  };
}

/**
 * Parses a header value (`Root=…;Parent=…;Sampled=1`). Keys are
 * case-insensitive, whitespace around parts is ignored. Fails on a missing or
 * malformed Root, a malformed Parent, or a Sampled other than 0, 1 or `?`.
 */
export function parseTraceHeader(value: string | readonly string[] | undefined): ParsedTraceHeader {
  const v = typeof value === "string" ? value : value?.[0];
  if (v === undefined || v.trim() === "") return { ok: false, reason: "empty header" };
  let root: string | undefined;
  const header: Omit<TraceHeader, "root"> = { extra: [] };
  for (const raw of v.split(";")) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return { ok: false, reason: `malformed part '${part}'` };
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    switch (key.toLowerCase()) {
      case "root":
        if (!isValidTraceRoot(val)) return { ok: false, reason: `malformed Root '${val}'` };
        root = val;
        break;
      case "parent":
        if (!isValidSegmentId(val)) return { ok: false, reason: `malformed Parent '${val}'` };
        header.parent = val;
        break;
      case "sampled":
        if (val === "1") header.sampled = true;
        else if (val === "0") header.sampled = false;
        else if (val !== "?") return { ok: false, reason: `malformed Sampled '${val}'` };
        break;
      case "self":
        header.self = val;
        break;
      case "lineage":
        header.lineage = val;
        break;
      default:
        header.extra.push([key, val]);
    }
  }
  if (root === undefined) return { ok: false, reason: "no Root" };
  return { ok: true, header: { root, ...header } };
}

/** The trace root of a header value, or undefined when it has none or is malformed. */
export function traceIdOf(value: string | readonly string[] | undefined): string | undefined {
  const p = parseTraceHeader(value);
  return p.ok ? p.header.root : undefined;
}

/** The X-Ray settings the prober needs (a subset of `config.xray`). */
export interface XrayProbeSettings {
  enabled: boolean;
  sampled: boolean;
}

/**
 * The header to add to one probe request, or undefined when X-Ray is off
 * (the default). The prober calls this per request and stores `traceId`.
 */
export function traceHeaderFor(
  settings: XrayProbeSettings,
  wallMs: number,
  random: RandomHex = cryptoHex,
): OutgoingTrace | undefined {
  return settings.enabled ? newTraceHeader(wallMs, settings.sampled, random) : undefined;
}
