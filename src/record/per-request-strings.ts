/**
 * The strings a request carries that no other request shares: request ids,
 * trace ids, CloudFront ids. Interning them (a Map entry, a JS string and a
 * table slot each) cost more than the rest of the row: a 300,000-request
 * report against a server sending API Gateway's and CloudFront's headers
 * peaked at 512 MB, against 152 MB without those headers.
 *
 * {@link StringArena} keeps them as UTF-8 bytes in 1 MiB chunks, a row's
 * strings side by side behind their lengths; {@link HopHeaderStore} splits each
 * response's hop headers into a shape that repeats (names in order, and the
 * values that repeat, e.g. `via`, `x-cache`, `x-amz-cf-pop`) and the values
 * that do not, kept in the arena. A header counts as per-request once it has
 * shown more than {@link PER_REQUEST_AFTER} distinct values: decided from the
 * data, so any API's own id headers are kept compactly too.
 *
 * Ids are mostly hex or base64 text: each string is stored in the tightest of
 * a few exact forms ({@link packInto}), as bytes when its text is the canonical
 * writing of those bytes (lowercase hex, an RFC 4122 UUID, an X-Ray trace id
 * root, canonical base64 or base64url), else as UTF-8. A 300,000-request
 * report against API Gateway's headers held ~142 bytes of id text a request;
 * packed, ~90.
 */

import type { SpillFile } from "./spill.js";

const CHUNK_BYTES = 1 << 20;

/** Where an arena writes its full chunks (the record store's scratch file) and when. */
export interface ArenaSpill {
  file: SpillFile;
  /** Whether chunks are written out now (the store is past its `afterRows`). */
  active: () => boolean;
  /** Chunks read back kept at once. */
  cacheChunks: number;
}
/** Chunks a handle can address (a handle is chunk × CHUNK_BYTES + offset, kept in a Uint32 column as handle + 1). */
const MAX_CHUNKS = 4095;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How a string's bytes are written: the low 3 bits of its header varint (header = bytes × 8 + form). */
enum Form {
  Utf8 = 0,
  /** Lowercase hex of even length: two digits a byte. */
  Hex = 1,
  /** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase (RFC 4122's canonical text): 16 bytes. */
  Uuid = 2,
  /** `Root=1-<8 hex>-<24 hex>` (an X-Ray trace id's root, as the header carries it alone): 16 bytes. */
  XrayRoot = 3,
  /** Base64 with `+/` and `=` padding that re-encodes to the same text. */
  Base64 = 4,
  /** Base64url (`-_`), padded with `=` to a multiple of 4, that re-encodes to the same text. */
  Base64UrlPadded = 5,
}

const HEX_RE = /^(?:[0-9a-f]{2})+$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const XRAY_ROOT_RE = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_RE = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** The form `v` packs in, and its bytes (undefined: UTF-8). Only text that is the canonical writing of its bytes. */
function packed(v: string): { form: Form; bytes: Buffer } | undefined {
  if (v.length < 8) return undefined; // nothing to gain below a few bytes
  if (UUID_RE.test(v)) return { form: Form.Uuid, bytes: Buffer.from(v.replaceAll("-", ""), "hex") };
  if (XRAY_ROOT_RE.test(v))
    return { form: Form.XrayRoot, bytes: Buffer.from(v.slice(7).replace("-", ""), "hex") };
  if (HEX_RE.test(v)) return { form: Form.Hex, bytes: Buffer.from(v, "hex") };
  if (BASE64_RE.test(v)) {
    const bytes = Buffer.from(v, "base64");
    if (bytes.toString("base64") === v) return { form: Form.Base64, bytes };
  }
  if (BASE64URL_RE.test(v)) {
    const bytes = Buffer.from(v, "base64url");
    if (padded(bytes.toString("base64url")) === v) return { form: Form.Base64UrlPadded, bytes };
  }
  return undefined;
}

const padded = (b64: string): string => b64.padEnd(Math.ceil(b64.length / 4) * 4, "=");

/** The text of `bytes` written in `form` (the inverse of {@link packed}). */
function unpacked(form: Form, bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (form) {
    case Form.Utf8:
      return decoder.decode(bytes);
    case Form.Hex:
      return b.toString("hex");
    case Form.Uuid: {
      const h = b.toString("hex");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case Form.XrayRoot: {
      const h = b.toString("hex");
      return `Root=1-${h.slice(0, 8)}-${h.slice(8)}`;
    }
    case Form.Base64:
      return b.toString("base64");
    case Form.Base64UrlPadded:
      return padded(b.toString("base64url"));
  }
  throw new RangeError(`per-request strings: unknown form ${form}`);
}

/**
 * Append-only groups of strings (a row's ids), each string behind a varint
 * of its byte length and form, a group's strings side by side in one chunk. A
 * group is addressed by the handle `add` returns: its position, so there is
 * no index per string (an offset and a length per string were 48 of the ~190
 * bytes a row of API Gateway ids cost).
 */
export class StringArena {
  /** The chunks in memory; undefined: written out to the scratch file and not read back now. */
  private readonly chunks: (Uint8Array | undefined)[] = [];
  /** Per sealed chunk: its bytes in use, and where it starts in the scratch file (undefined: not written out). */
  private readonly sealedBytes: number[] = [];
  private readonly spilledAt: (number | undefined)[] = [];
  private nextSpill = 0;
  /** Written-out chunks read back, oldest first. */
  private readonly cache: number[] = [];
  private used = 0;
  private groups = 0;

  /**
   * With `spill`, each full chunk is written out to the record store's scratch file once `spill.active()` says
   * the store writes its own (a long run), and read back on demand, at most `spill.cacheChunks` at once.
   */
  constructor(private readonly spill?: ArenaSpill) {}

  /** Groups added. */
  get length(): number {
    return this.groups;
  }

  /** Bytes of chunks held in memory (the open one, those not written out, and those read back). */
  memoryBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c?.byteLength ?? 0;
    return n;
  }

  add(values: readonly string[]): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; a length varint at most 5.
    let most = 0;
    for (const v of values) most += v.length * 3 + 5;
    if (this.chunks.length === 0 || this.used + most > CHUNK_BYTES) {
      if (this.chunks.length >= MAX_CHUNKS) throw new RangeError("per-request strings: more than 4 GiB");
      if (this.chunks.length > 0) this.sealed(this.chunks.length - 1);
      this.chunks.push(new Uint8Array(Math.max(CHUNK_BYTES, most)));
      this.used = 0;
    }
    const chunkIndex = this.chunks.length - 1;
    const chunk = this.chunks[chunkIndex]!;
    const handle = chunkIndex * CHUNK_BYTES + this.used;
    let at = this.used;
    for (const v of values) {
      const p = packed(v);
      if (p) {
        const header = p.bytes.length * 8 + p.form;
        writeVarint(chunk, at, header);
        at += varintWidth(header);
        chunk.set(p.bytes, at);
        at += p.bytes.length;
        continue;
      }
      // Encode after a one-byte header; move the bytes right in the rare case the header needs more.
      const { written } = encoder.encodeInto(v, chunk.subarray(at + 1));
      const header = written * 8 + Form.Utf8;
      const width = varintWidth(header);
      if (width > 1) chunk.copyWithin(at + width, at + 1, at + 1 + written);
      writeVarint(chunk, at, header);
      at += width + written;
    }
    this.used = at;
    this.groups++;
    return handle;
  }

  /** Chunk `k` is full: once the store writes out, write it and every full chunk before it out too. */
  private sealed(k: number): void {
    this.sealedBytes[k] = this.used;
    const spill = this.spill;
    if (!spill?.file.usable || !spill.active()) return;
    for (; this.nextSpill <= k; this.nextSpill++) {
      const j = this.nextSpill;
      const chunk = this.chunks[j]!;
      spill.file.write([chunk.subarray(0, this.sealedBytes[j])], (at) => {
        if (at === undefined) return; // stays in memory
        this.spilledAt[j] = at;
        this.chunks[j] = undefined;
      });
    }
  }

  private chunkAt(k: number): Uint8Array | undefined {
    const chunk = this.chunks[k];
    const at = this.spilledAt[k];
    if (chunk || at === undefined || !this.spill) return chunk;
    const back = new Uint8Array(this.sealedBytes[k]!);
    this.spill.file.read(at, back);
    this.chunks[k] = back;
    this.cache.push(k);
    if (this.cache.length > this.spill.cacheChunks) this.chunks[this.cache.shift()!] = undefined;
    return back;
  }

  /** The `k`-th string of the group at `handle`. */
  get(handle: number, k: number): string {
    const chunk = this.chunkAt(Math.floor(handle / CHUNK_BYTES));
    if (!chunk) throw new RangeError(`no string group at ${handle}`);
    let at = handle % CHUNK_BYTES;
    for (let j = 0; ; j++) {
      let header = 0;
      let shift = 0;
      for (;;) {
        const b = chunk[at++]!;
        header += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      const len = Math.floor(header / 8);
      if (j === k) return unpacked(header % 8, chunk.subarray(at, at + len));
      at += len;
    }
  }
}

function varintWidth(n: number): number {
  let w = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    w++;
  }
  return w;
}

function writeVarint(buf: Uint8Array, at: number, n: number): void {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at] = n;
}

/** Distinct values a header may show before its values are kept per request. */
export const PER_REQUEST_AFTER = 32;

/** One shape of hop headers: the names in order, each with its value or, when per-request, a slot. */
interface Shape {
  names: string[];
  /** The value of each name; undefined: the value is the row's next string in the arena. */
  values: (string | undefined)[];
  slots: number;
}

/**
 * Hop-header objects as (shape id, the row's string group in the arena + 1).
 * `add` returns both (0 = none); `get` and `object` read them back exactly.
 */
export class HopHeaderStore {
  readonly arena: StringArena;
  private readonly shapeIds = new Map<string, number>();
  private readonly shapes: Shape[] = [];
  /** Per header name: the distinct values seen, until there are too many (then `true`: per-request). */
  private readonly seen = new Map<string, Set<string> | true>();

  constructor(spill?: ArenaSpill) {
    this.arena = new StringArena(spill);
  }

  /** Shapes held (the repeating part). */
  get shapeCount(): number {
    return this.shapes.length;
  }

  add(headers: Record<string, string>): { shape: number; first: number } {
    const names = Object.keys(headers);
    if (names.length === 0) return { shape: 0, first: 0 };
    const values: (string | undefined)[] = [];
    const perRequest: string[] = [];
    let key = "";
    for (const name of names) {
      const value = headers[name]!;
      if (this.isPerRequest(name, value)) {
        values.push(undefined);
        perRequest.push(value);
        key += `${name}\u0000\u0001`;
      } else {
        values.push(value);
        key += `${name}\u0000\u0002${value}\u0000`;
      }
    }
    let shape = this.shapeIds.get(key);
    if (shape === undefined) {
      this.shapes.push({ names, values, slots: perRequest.length });
      shape = this.shapes.length;
      this.shapeIds.set(key, shape);
    }
    const first = perRequest.length === 0 ? 0 : this.arena.add(perRequest) + 1;
    return { shape, first };
  }

  get(shape: number, first: number, name: string): string | undefined {
    const s = this.shapes[shape - 1];
    if (!s) return undefined;
    let slot = 0;
    for (let k = 0; k < s.names.length; k++) {
      const literal = s.values[k];
      if (s.names[k] === name) return literal ?? this.arena.get(first - 1, slot);
      if (literal === undefined) slot++;
    }
    return undefined;
  }

  object(shape: number, first: number): Record<string, string> {
    const out: Record<string, string> = {};
    const s = this.shapes[shape - 1];
    if (!s) return out;
    let slot = 0;
    for (let k = 0; k < s.names.length; k++) {
      const literal = s.values[k];
      out[s.names[k]!] = literal ?? this.arena.get(first - 1, slot++);
    }
    return out;
  }

  private isPerRequest(name: string, value: string): boolean {
    const seen = this.seen.get(name);
    if (seen === true) return true;
    if (!seen) {
      this.seen.set(name, new Set([value]));
      return false;
    }
    seen.add(value);
    if (seen.size > PER_REQUEST_AFTER) {
      this.seen.set(name, true);
      return true;
    }
    return false;
  }
}
