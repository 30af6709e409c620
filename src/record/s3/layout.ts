/**
 * Where the S3 store puts things. Every round is two objects of its own,
 * under the writer's own key space, so any number of probers share one
 * prefix without coordination and no object is ever written twice by two
 * writers:
 *
 *   <prefix>/<YYYY-MM-DD>/<writer>/<startedAtMs:13>-<roundId>-<nonce>.hlog.gz
 *   <prefix>/<YYYY-MM-DD>/<writer>/<startedAtMs:13>-<roundId>-<nonce>.jsonl.gz
 *
 * The `.hlog.gz` (HdrHistogram interval log of the round, a complete file of
 * its own) is uploaded first, the `.jsonl.gz` (records, in the local store's
 * header / records / footer format) last: the round exists for readers once
 * its records object does. An S3 PUT is atomic, so a reader never sees half
 * an object. The nonce keeps two `run`s of the same writer name in the same
 * millisecond apart.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { StallwatchError } from "../../errors.js";
import { dayOf, newWriterId } from "../store-layout.js";

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing '/', possibly empty. */
  prefix: string;
}

const URL_RE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

export function isS3Url(s: string): boolean {
  return s.startsWith("s3://");
}

/** Parses `s3://bucket[/prefix]`; throws a StallwatchError (exit 2) naming `what` otherwise. */
export function parseS3Url(url: string, what = "store.url"): S3Location {
  const m = URL_RE.exec(url);
  if (!m?.[1]) {
    throw new StallwatchError(
      "SW_S3_URL",
      `${what}: expected s3://BUCKET or s3://BUCKET/PREFIX (bucket: 3-63 lower-case letters, digits, '.', '-'), got '${url}'`,
      2,
    );
  }
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: m[1], prefix };
}

export function s3UrlOf(loc: S3Location): string {
  return `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ""}`;
}

const join = (...parts: string[]): string => parts.filter((p) => p !== "").join("/");

/** Key prefix of one day (trailing '/'). */
export function dayPrefix(loc: S3Location, day: string): string {
  return `${join(loc.prefix, day)}/`;
}

export interface RoundKeys {
  hlog: string;
  records: string;
}

/** The two keys of one round. */
export function roundKeys(
  loc: S3Location,
  writer: string,
  startedAtMs: number,
  roundId: number,
  nonce = randomBytes(4).toString("hex"),
): RoundKeys {
  const base = join(
    loc.prefix,
    dayOf(startedAtMs),
    writer,
    `${String(startedAtMs).padStart(13, "0")}-${roundId}-${nonce}`,
  );
  return { hlog: `${base}.hlog.gz`, records: `${base}.jsonl.gz` };
}

export interface ParsedRoundKey {
  day: string;
  writer: string;
  startedAtMs: number;
  roundId: number;
  kind: "hlog" | "records";
  /** The records key of the same round. */
  recordsKey: string;
  hlogKey: string;
}

const KEY_RE =
  /(?:^|\/)(\d{4}-\d{2}-\d{2})\/([A-Za-z0-9._-]+)\/(\d{13})-(\d+)-([0-9a-f]+)\.(hlog|jsonl)\.gz$/;

/** Reads a key written by {@link roundKeys}; undefined for anything else under the prefix. */
export function parseRoundKey(key: string): ParsedRoundKey | undefined {
  const m = KEY_RE.exec(key);
  if (!m) return undefined;
  const stem = key.slice(0, key.length - (m[6] === "hlog" ? ".hlog.gz" : ".jsonl.gz").length);
  return {
    day: m[1]!,
    writer: m[2]!,
    startedAtMs: Number(m[3]),
    roundId: Number(m[4]),
    kind: m[6] === "hlog" ? "hlog" : "records",
    recordsKey: `${stem}.jsonl.gz`,
    hlogKey: `${stem}.hlog.gz`,
  };
}

/** ECS task id from the task metadata endpoint URL in the environment (no request made), if any. */
export function ecsTaskId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4 ?? env.ECS_CONTAINER_METADATA_URI;
  if (!uri) return undefined;
  // Fargate: http://169.254.170.2/v4/<32-hex task id>-<container runtime id>; EC2: …/v4/<container id>
  const last = uri.replace(/\/+$/, "").split("/").pop() ?? "";
  const task = /^([0-9a-f]{32})(?:-|$)/.exec(last)?.[1] ?? /^([0-9a-f]{12,64})/.exec(last)?.[1];
  return task;
}

/** A writer name safe in keys: allowed characters only, at most 128. */
export function sanitizeWriter(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 128) || "writer";
}

/**
 * The writer name when the config gives none: `$STALLWATCH_WRITER`, else
 * `ecs-<task id>` from the ECS task metadata variable (a task is one prober),
 * else `<host>-<pid>-<random>` as the local store does.
 */
export function defaultWriter(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STALLWATCH_WRITER) return sanitizeWriter(env.STALLWATCH_WRITER);
  const task = ecsTaskId(env);
  if (task) return `ecs-${task}`;
  return sanitizeWriter(newWriterId() || hostname());
}
