/**
 * Keeps secret header values out of every output and log. Built by the config
 * loader from the resolved targets; every reporter and logger passes its text
 * and header maps through one shared Redactor.
 */

/** What replaces a secret. */
export const REDACTED = "[REDACTED]";

/** Header names whose values are always secret, whatever their source (lower-case). */
export const ALWAYS_SECRET_HEADERS = ["authorization", "x-api-key", "cookie", "proxy-authorization"] as const;

/**
 * Values shorter than this are not replaced inside free text (a 2-character
 * "secret" would turn every matching number into [REDACTED]); they are still
 * redacted by header name in {@link Redactor.redactHeaders}.
 */
export const MIN_REDACTED_TEXT_LENGTH = 4;

export interface RedactorOptions {
  /** Values to hide wherever they appear in text. */
  secretValues?: Iterable<string>;
  /** Extra header names (any case) whose values are always hidden. */
  secretHeaderNames?: Iterable<string>;
}

/** True when `url` parses and carries `user[:password]@` before its host. */
export function hasUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== "" || u.password !== "";
  } catch {
    return false;
  }
}

/**
 * `url` without its `user:password@` part (credentials in a URL are never sent
 * by the prober, and never stored or printed). Text that is not a URL is
 * returned unchanged.
 */
export function withoutUserinfo(url: string): string {
  if (!url.includes("@")) return url;
  try {
    const u = new URL(url);
    if (u.username === "" && u.password === "") return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The forms a secret may take in text: as is, its token after an auth scheme, URL-encoded. */
function variants(value: string): string[] {
  const out = new Set<string>([value]);
  const scheme = /^(?:Bearer|Basic|Token|Digest|AWS4-HMAC-SHA256|ApiKey)\s+(.+)$/i.exec(value);
  if (scheme?.[1]) out.add(scheme[1]);
  for (const v of [...out]) {
    const enc = encodeURIComponent(v);
    if (enc !== v) out.add(enc);
  }
  return [...out].filter((v) => v.length >= MIN_REDACTED_TEXT_LENGTH);
}

export class Redactor {
  private readonly names: Set<string>;
  private readonly values: string[];
  private readonly pattern: RegExp | undefined;

  constructor(opts: RedactorOptions = {}) {
    this.names = new Set<string>(ALWAYS_SECRET_HEADERS);
    for (const n of opts.secretHeaderNames ?? []) this.names.add(n.toLowerCase());
    const vals = new Set<string>();
    for (const v of opts.secretValues ?? []) for (const x of variants(v)) vals.add(x);
    // Longest first, so a secret that contains another is replaced whole.
    this.values = [...vals].sort((a, b) => b.length - a.length || a.localeCompare(b));
    this.pattern = this.values.length ? new RegExp(this.values.map(escapeRegExp).join("|"), "g") : undefined;
  }

  /** A redactor that knows no secret values (secret header names are still redacted). */
  static none(): Redactor {
    return new Redactor();
  }

  /**
   * The redactor of one probe target: the values of its secret headers (and of
   * the always-secret ones), wherever they appear.
   */
  static forHeaders(
    headers: Readonly<Record<string, string>>,
    secretHeaderNames: Iterable<string>,
  ): Redactor {
    const names = new Set<string>(ALWAYS_SECRET_HEADERS);
    for (const n of secretHeaderNames) names.add(n.toLowerCase());
    const values: string[] = [];
    for (const [k, v] of Object.entries(headers)) if (v && names.has(k.toLowerCase())) values.push(v);
    return new Redactor({ secretValues: values, secretHeaderNames: names });
  }

  /** True when this redactor knows secret values (text redaction can change something). */
  get hasSecrets(): boolean {
    return this.pattern !== undefined;
  }

  /** A new redactor that also hides these values and header names. */
  with(opts: RedactorOptions): Redactor {
    return new Redactor({
      secretValues: [...this.values, ...(opts.secretValues ?? [])],
      secretHeaderNames: [...this.names, ...(opts.secretHeaderNames ?? [])],
    });
  }

  /** True when header `name` (any case) is secret. */
  isSecretHeader(name: string): boolean {
    return this.names.has(name.toLowerCase());
  }

  /** Lower-case names of the secret headers. */
  get secretHeaderNames(): string[] {
    return [...this.names].sort();
  }

  /** Replaces every known secret value in `text` with [REDACTED]. */
  redact(text: string): string {
    if (!this.pattern || text === "") return text;
    return text.replace(this.pattern, REDACTED);
  }

  /**
   * A copy of `headers` with secret headers' values replaced and secret values
   * removed from the others. Array values (repeated headers) are joined with ", ".
   */
  redactHeaders(
    headers: Readonly<Record<string, string | string[] | number | undefined>>,
  ): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, raw] of Object.entries(headers)) {
      if (raw === undefined) continue;
      const value = Array.isArray(raw) ? raw.join(", ") : String(raw);
      out[name] = this.isSecretHeader(name) ? REDACTED : this.redact(value);
    }
    return out;
  }

  /**
   * Deeply redacts strings in a JSON-like value (for structured logs and JSON
   * output). Without secret values it returns `value` itself, uncopied.
   */
  redactValue<T>(value: T): T {
    if (!this.pattern) return value;
    return this.redactDeep(value);
  }

  private redactDeep<T>(value: T): T {
    if (typeof value === "string") return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }
}

/**
 * A request record as it may be stored or printed: every known secret value
 * replaced wherever the server reflected it (assertion actuals, failure
 * messages, hop headers), and the URL without `user:password@`. Returns the
 * record itself when there is nothing to change (the common case, no copy).
 */
export function redactRecord<R extends { url: string }>(record: R, redactor: Redactor): R {
  const url = withoutUserinfo(record.url);
  const clean = redactor.redactValue(record);
  if (url === record.url) return clean;
  return { ...clean, url };
}

/** The parts of a request record that hold what the server sent back. */
interface ResponseParts {
  url: string;
  assertions: { actual: unknown; expected: unknown }[];
  error?: { message: string };
  hopHeaders: Record<string, string>;
  requestId?: string;
  traceId?: string;
}

/**
 * {@link redactRecord} for the prober's hot path: only the fields a response
 * can fill (assertion values, the failure message, hop headers, request and
 * trace ids) and the URL's userinfo, a few strings instead of every field of
 * every record (~8 µs per record for the deep pass). The rest of a record
 * comes from the config and the socket; the store, the logs and the reports
 * still pass whole records through {@link Redactor.redactValue}.
 */
export function redactResponseParts<R extends ResponseParts>(record: R, redactor: Redactor): R {
  const url = withoutUserinfo(record.url);
  if (!redactor.hasSecrets) return url === record.url ? record : { ...record, url };
  const out: R = { ...record, url: redactor.redact(url) };
  if (record.assertions.length > 0) {
    out.assertions = record.assertions.map((a) => ({
      ...a,
      actual: redactor.redactValue(a.actual),
      expected: redactor.redactValue(a.expected),
    }));
  }
  if (record.error) out.error = { ...record.error, message: redactor.redact(record.error.message) };
  if (Object.keys(record.hopHeaders).length > 0) out.hopHeaders = redactor.redactValue(record.hopHeaders);
  if (record.requestId !== undefined) out.requestId = redactor.redact(record.requestId);
  if (record.traceId !== undefined) out.traceId = redactor.redact(record.traceId);
  return out;
}
