/**
 * Structured logs: one JSON object per line on stdout (fit for CloudWatch
 * Logs Insights: `fields level, msg, round, api, endpoint, totalMs`), or
 * short human lines when the stream is a TTY. Every line passes through the
 * optional redact function before it is written.
 */
import { type Clock, systemClock } from "../clock.js";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra fields of a log line. Keys become JSON keys; values should be JSON-serialisable. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** The part of a writable stream the logger needs. */
export interface LogStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  /** Default: process.stdout. */
  stream?: LogStream;
  /** `auto` (default): human on a TTY, JSON otherwise. */
  format?: "json" | "human" | "auto";
  /** Lowest level written (default `info`). */
  level?: LogLevel;
  /** Applied to every finished line, e.g. `(s) => redactor.redactText(s)`. */
  redact?: (s: string) => string;
  clock?: Clock;
}

function human(ts: string, level: LogLevel, msg: string, fields: LogFields): string {
  const parts = [`${ts.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}`];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = typeof v === "string" ? v : JSON.stringify(v);
    parts.push(`${k}=${/[\s"]/.test(s) ? JSON.stringify(s) : s}`);
  }
  return parts.join(" ");
}

function safeJson(o: LogFields): string {
  try {
    return JSON.stringify(o);
  } catch {
    return JSON.stringify({ ts: o.ts, level: o.level, msg: o.msg, note: "fields not serialisable" });
  }
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stdout;
  const format = opts.format ?? "auto";
  const asJson = format === "json" || (format === "auto" && stream.isTTY !== true);
  const min = LOG_LEVELS.indexOf(opts.level ?? "info");
  const clock = opts.clock ?? systemClock;
  const redact = opts.redact ?? ((s: string) => s);

  const log = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const ts = new Date(clock.wallMs()).toISOString();
    const line = asJson ? safeJson({ ts, level, msg, ...fields }) : human(ts, level, msg, fields);
    try {
      stream.write(`${redact(line)}\n`);
    } catch {
      /* a closed stdout must not crash the daemon */
    }
  };
  return {
    log,
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  log: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
