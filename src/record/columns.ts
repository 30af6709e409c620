/**
 * A compact columnar store of request records: what a run keeps per request
 * instead of one `RequestRecord` object each (~600 bytes of heap with its
 * nested objects and strings, measured ~600 MB for a million requests).
 *
 * Layout, per row (at most {@link BYTES_PER_ROW}; a column no row of a chunk
 * uses is not allocated, see `Chunk`):
 * - Float64: atMs, the six phases (NaN = the phase did not happen), the raw
 *   start timestamp (monotonic ms, `performance.now()` base; NaN = none
 *   recorded), bytes, socketIdleMs, idleGapMs, loopLagMs.
 * - Float32: the other nine raw timestamps as offsets from `start` (ms; NaN =
 *   the event did not happen). float32 keeps ~7 digits: 1 µs at 10 s.
 * - Uint32: seq, seriesSeq, and indexes into intern tables (0 = absent):
 *   target (api, route, endpoint, method, url), remote end (address, port,
 *   family, local address), TLS info, assertions, hop headers, request id,
 *   trace id, error, writer, dial (resolved addresses + connect attempts);
 *   the in-flight count at send (+1; 0 = absent).
 * - Uint16: status (0 = none), local port (0 = none).
 * - Uint8: flags (ok, reused, aborted, tag, connection mode), failure class
 *   (0 = none, else 1 + index in FAILURE_CLASS_NAMES).
 *
 * Strings and small objects that repeat (series, addresses, TLS, assertions,
 * failure messages) cost their table entry once. Values unique per request
 * (request and trace ids, hop headers holding them) cost one table entry
 * each: the store is compact for what repeats, exact for everything.
 *
 * Rows live in chunks of 16,384 (never copied when the store grows), in the
 * order they were added (a run's completion order); {@link RecordStore.bySeq}
 * gives them in send order. Past `afterRows` rows (131,072 by default) each
 * full chunk is written to an unlinked scratch file and its columns are read
 * back one at a time when a reader asks, through a small cache (16 MiB by
 * default): a million-request report then holds about one chunk of rows, not
 * a million (src/record/spill.ts). Readers use the column accessors; `record(i)`
 * materializes one row as a `RequestRecord` (equal to the one added) for the
 * few rows a reader needs whole, e.g. stalls and failures. Objects it returns
 * share the intern tables' nested objects (assertions, hop headers, TLS,
 * error): read them, never mutate them.
 */
import {
  CONNECTION_MODES,
  type ConnectionMode,
  FAILURE_CLASS_NAMES,
  type FailureClass,
  PHASES,
  type Phase,
  type ProbeFailure,
  type ProbeTimestamps,
  RECORD_TAGS,
  type RecordTag,
  type RequestRecord,
  requestIdOf,
  type TlsInfo,
  traceIdOf,
} from "../model.js";
import { type ArenaSpill, HopHeaderStore, StringArena } from "./per-request-strings.js";
import { SPILL_DEFAULTS, SpillFile, type SpillOptions } from "./spill.js";

const SHIFT = 14;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

/** The raw timestamps kept as float32 offsets from `start`, in this order. */
export const OFFSET_EVENTS = [
  "dnsStart",
  "dnsEnd",
  "connectStart",
  "connectEnd",
  "tlsEnd",
  "sent",
  "firstByte",
  "headers",
  "end",
] as const satisfies readonly (keyof ProbeTimestamps)[];

const F64 = ["atMs", ...PHASES, "tStart", "bytes", "socketIdleMs", "idleGapMs", "loopLagMs"] as const;
const U32 = [
  "seq",
  "seriesSeq",
  "target",
  "remote",
  "tls",
  "assertions",
  "hop",
  "requestId",
  "traceId",
  "error",
  "writer",
  "dial",
  "inFlight",
  "hopFirst",
] as const;

/** Bytes per row in the typed arrays when every column is in use (intern tables come on top, per distinct value). */
export const BYTES_PER_ROW = F64.length * 8 + OFFSET_EVENTS.length * 4 + U32.length * 4 + 2 * 2 + 2;

const PHASE_COL: Record<Phase, number> = Object.fromEntries(PHASES.map((p, i) => [p, 1 + i])) as Record<
  Phase,
  number
>;
const C_AT = 0;
const C_TSTART = 1 + PHASES.length;
const C_BYTES = C_TSTART + 1;
const C_SOCKET_IDLE = C_BYTES + 1;
const C_IDLE_GAP = C_SOCKET_IDLE + 1;
const C_LOOP_LAG = C_IDLE_GAP + 1;

const U_SEQ = 0;
const U_SERIES_SEQ = 1;
const U_TARGET = 2;
const U_REMOTE = 3;
const U_TLS = 4;
const U_ASSERT = 5;
const U_HOP = 6;
const U_REQ_ID = 7;
const U_TRACE_ID = 8;
const U_ERROR = 9;
const U_WRITER = 10;
/** The new connection's resolved addresses and connect attempts, interned as one pair. */
const U_DIAL = 11;
/** In-flight count at send + 1 (0 = absent). */
const U_IN_FLIGHT = 12;
/** The row's per-request hop-header strings: their group in the arena + 1 (0 = none). */
const U_HOP_FIRST = 13;

const F_OK = 1;
const F_REUSED = 2;
const F_ABORTED = 4;
const F_TAG_SHIFT = 3; // two bits
const F_CONN_SHIFT = 5; // one bit
/** requestId is the one its hop headers name (requestIdOf): not stored twice. */
const F_REQ_ID_FROM_HOP = 64;
/** traceId is the Root of its `x-amzn-trace-id` hop header (traceIdOf): not stored twice. */
const F_TRACE_ID_FROM_HOP = 128;

type Column = Float64Array | Float32Array | Uint32Array | Uint16Array | Uint8Array;
type ColumnType =
  | typeof Float64Array
  | typeof Float32Array
  | typeof Uint32Array
  | typeof Uint16Array
  | typeof Uint8Array;

/** A chunk's columns, one slot each: the Float64 columns, the offsets, the Uint32 columns, then four small ones. */
const S_F64 = 0;
const S_OFF = S_F64 + F64.length;
const S_U32 = S_OFF + OFFSET_EVENTS.length;
const S_STATUS = S_U32 + U32.length;
const S_LOCAL_PORT = S_STATUS + 1;
const S_FLAGS = S_LOCAL_PORT + 1;
const S_FAILURE = S_FLAGS + 1;
const SLOTS = S_FAILURE + 1;
const SLOT_TYPE: ColumnType[] = [
  ...F64.map(() => Float64Array),
  ...OFFSET_EVENTS.map(() => Float32Array),
  ...U32.map(() => Uint32Array),
  Uint16Array,
  Uint16Array,
  Uint8Array,
  Uint8Array,
];

/**
 * One chunk's columns. A column is allocated on the first row of the chunk
 * that holds something other than its default (NaN for floats, 0 for
 * integers); until then it is `undefined` and reads give the default. A
 * reused connection has no DNS, connect or TLS, most requests carry no TLS
 * info, error, writer or ids: those columns cost nothing in the chunks where
 * no row has them (measured: 198 → ~120 bytes per row on a reused-connection
 * run). Rows are written once, in order, so skipping a default write is exact.
 *
 * A sealed chunk of a long run may be written out to the store's scratch
 * file (src/record/spill.ts): then `spilled` holds where each allocated
 * column starts in the file (-1: never allocated), and `cols` holds only the
 * columns read back lately (see RecordStore.load).
 */
interface Chunk {
  cols: (Column | undefined)[];
  spilled: Float64Array | undefined;
}

function newChunk(): Chunk {
  const cols: (Column | undefined)[] = new Array(SLOTS).fill(undefined);
  cols[S_FLAGS] = new Uint8Array(CHUNK);
  return { cols, spilled: undefined };
}

/** Column `slot` of a chunk, allocated on first use: float columns start all NaN, integer columns all 0. */
function columnAt(cols: (Column | undefined)[], slot: number): Column {
  let a = cols[slot];
  if (!a) {
    a = new SLOT_TYPE[slot]!(CHUNK);
    if (slot >= S_F64 && slot < S_U32) a.fill(Number.NaN);
    cols[slot] = a;
  }
  return a;
}

/** Writes a float into a column of a chunk; NaN (the default) allocates nothing. */
function putFloat(cols: (Column | undefined)[], slot: number, o: number, v: number): void {
  if (!Number.isNaN(v)) columnAt(cols, slot)[o] = v;
}

const putF64 = (cols: (Column | undefined)[], col: number, o: number, v: number): void =>
  putFloat(cols, S_F64 + col, o, v);
const putF32 = (cols: (Column | undefined)[], e: number, o: number, v: number): void =>
  putFloat(cols, S_OFF + e, o, v);

/** Writes an integer into an integer column of a chunk; 0 (the default) allocates nothing. */
function putInt(cols: (Column | undefined)[], slot: number, o: number, v: number): void {
  if (v !== 0) columnAt(cols, slot)[o] = v;
}

const putU32 = (cols: (Column | undefined)[], col: number, o: number, v: number): void =>
  putInt(cols, S_U32 + col, o, v);

/** Distinct values by a string key; index 0 means "absent". */
class Intern<T> {
  private readonly ids = new Map<string, number>();
  readonly values: (T | undefined)[] = [undefined];

  id(key: string, value: T): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(key, id);
    }
    return id;
  }

  get(id: number): T | undefined {
    return this.values[id];
  }

  get size(): number {
    return this.values.length - 1;
  }
}

interface Target {
  api: string;
  route: string;
  endpoint: string;
  method: string;
  url: string;
  /** api \0 route \0 endpoint: the series id (model.seriesId). */
  seriesId: string;
}

interface Remote {
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
}

const TAG_INDEX = new Map<RecordTag, number>(RECORD_TAGS.map((t, i) => [t, i]));
const FAILURE_INDEX = new Map<FailureClass, number>(FAILURE_CLASS_NAMES.map((c, i) => [c, i + 1]));

const num = (v: number): number | undefined => (Number.isNaN(v) ? undefined : v);

/**
 * The read API every consumer of a run's records uses (stall rule, detectors,
 * report builder): column accessors by row index, send order, and one row
 * materialized on demand. Implemented by {@link RecordStore} (a run's
 * compact store) and by {@link arrayColumns} (records already held as
 * objects: history read back, test fixtures), so a reader is written once.
 */
export interface RecordColumns {
  readonly length: number;
  atMs(i: number): number;
  phase(i: number, p: Phase): number | undefined;
  total(i: number): number | undefined;
  bytes(i: number): number;
  socketIdleMs(i: number): number | undefined;
  idleGapMs(i: number): number | undefined;
  loopLagMs(i: number): number | undefined;
  seq(i: number): number;
  seriesSeq(i: number): number;
  api(i: number): string;
  route(i: number): string;
  endpoint(i: number): string;
  seriesId(i: number): string;
  url(i: number): string;
  remoteAddress(i: number): string | undefined;
  remoteFamily(i: number): string | undefined;
  status(i: number): number | undefined;
  ok(i: number): boolean;
  reused(i: number): boolean;
  aborted(i: number): boolean;
  tag(i: number): RecordTag;
  connection(i: number): ConnectionMode;
  failureCode(i: number): FailureClass | undefined;
  error(i: number): ProbeFailure | undefined;
  hopHeader(i: number, name: string): string | undefined;
  tls(i: number): TlsInfo | undefined;
  writer(i: number): string | undefined;
  resolvedAddresses(i: number): readonly string[] | undefined;
  connectAttempts(i: number): readonly string[] | undefined;
  inFlightAtSend(i: number): number | undefined;
  timestamps(i: number): ProbeTimestamps | undefined;
  /** Row indexes in send order (ascending seq; ties keep row order). Cached until the next add. */
  bySeq(): Uint32Array;
  /** Row `i` as a RequestRecord: for the few rows a reader needs whole (stalls, failures). */
  record(i: number): RequestRecord;
}

/** The columns over records held as objects, without copying them (`record(i)` is `records[i]`). */
export function arrayColumns(records: readonly RequestRecord[]): RecordColumns {
  let order: Uint32Array | undefined;
  const at = (i: number): RequestRecord => {
    const r = records[i];
    if (!r) throw new RangeError(`row ${i} out of range (0..${records.length - 1})`);
    return r;
  };
  return {
    length: records.length,
    atMs: (i) => at(i).atMs,
    phase: (i, p) => at(i).phasesMs[p],
    total: (i) => at(i).phasesMs.total,
    bytes: (i) => at(i).bytes,
    socketIdleMs: (i) => at(i).socketIdleMs,
    idleGapMs: (i) => at(i).idleGapMs,
    loopLagMs: (i) => at(i).loopLagMs,
    seq: (i) => at(i).seq,
    seriesSeq: (i) => at(i).seriesSeq,
    api: (i) => at(i).api,
    route: (i) => at(i).route,
    endpoint: (i) => at(i).endpoint,
    seriesId: (i) => {
      const r = at(i);
      return `${r.api}\u0000${r.route}\u0000${r.endpoint}`;
    },
    url: (i) => at(i).url,
    remoteAddress: (i) => at(i).remoteAddress,
    remoteFamily: (i) => at(i).remoteFamily,
    status: (i) => at(i).status,
    ok: (i) => at(i).ok,
    reused: (i) => at(i).reused,
    aborted: (i) => at(i).aborted === true,
    tag: (i) => at(i).tag,
    connection: (i) => at(i).connection,
    failureCode: (i) => at(i).error?.code,
    error: (i) => at(i).error,
    hopHeader: (i, name) => at(i).hopHeaders[name],
    tls: (i) => at(i).tls,
    writer: (i) => at(i).writer,
    resolvedAddresses: (i) => at(i).resolvedAddresses,
    connectAttempts: (i) => at(i).connectAttempts,
    inFlightAtSend: (i) => at(i).inFlightAtSend,
    timestamps: () => undefined,
    bySeq: () => {
      order ??= seqOrder(records.length, (i) => at(i).seq);
      return order;
    },
    record: at,
  };
}

/** Columns of `records`: the store itself, or the array adapter. */
export function columnsOf(records: readonly RequestRecord[] | RecordColumns): RecordColumns {
  return Array.isArray(records)
    ? arrayColumns(records as readonly RequestRecord[])
    : (records as RecordColumns);
}

function seqOrder(n: number, seqOf: (i: number) => number): Uint32Array {
  const order = new Uint32Array(n);
  let sorted = true;
  let maxSeq = 0;
  let integral = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    const seq = seqOf(i);
    if (sorted && i > 0 && seq < seqOf(i - 1)) sorted = false;
    if (seq > maxSeq) maxSeq = seq;
    if (!Number.isInteger(seq) || seq < 0) integral = false;
  }
  if (sorted) return order;
  if (integral && maxSeq < 4 * n + 1024) {
    // Stable counting sort by seq: a run's seqs are 0..n−1 in completion order. A comparator sort of a
    // typed array copies it to the JS heap first (~9 MB transient at 300,000 rows).
    const starts = new Uint32Array(maxSeq + 2);
    for (let i = 0; i < n; i++) starts[seqOf(i) + 1]!++;
    for (let v = 1; v < starts.length; v++) starts[v]! += starts[v - 1]!;
    for (let i = 0; i < n; i++) order[starts[seqOf(i)]!++] = i;
    return order;
  }
  const seqs = new Float64Array(n);
  for (let i = 0; i < n; i++) seqs[i] = seqOf(i);
  order.sort((a, b) => seqs[a]! - seqs[b]! || a - b);
  return order;
}

/**
 * The rows of `rows` that pass `keep`, in order, in an exact-size Uint32Array. TypedArray.prototype.filter
 * collects into a growing JS list first: ~8 MB transient for 300,000 rows at the report's peak.
 */
export function keepRows(rows: ArrayLike<number>, keep: (row: number) => boolean): Uint32Array {
  const out = new Uint32Array(rows.length);
  let n = 0;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    if (keep(i)) out[n++] = i;
  }
  return n === rows.length ? out : out.slice(0, n);
}

/** The columnar record store. Append with {@link RecordStore.add}; read with the accessors (row index `i`). */
export class RecordStore implements RecordColumns {
  private readonly chunks: Chunk[] = [];
  private n = 0;
  private readonly targets = new Intern<Target>();
  private readonly remotes = new Intern<Remote>();
  private readonly tlsInfos = new Intern<TlsInfo>();
  private readonly assertionLists = new Intern<RequestRecord["assertions"]>();
  /** Hop headers: the repeating shape interned, per-request values (ids) in an arena. */
  private readonly hops: HopHeaderStore;
  /** Request and trace ids not derivable from the hop headers: one per request, never interned. */
  private readonly ids: StringArena;
  private readonly errors = new Intern<ProbeFailure>();
  private readonly writers = new Intern<string>();
  private readonly dials = new Intern<Dial>();
  private seqOrder: Uint32Array | undefined;
  /** Rows materialized as objects by {@link record} so far (tests check a run materializes only a few). */
  materialized = 0;
  /** Where sealed chunks go once the store holds `afterRows` rows; undefined: everything stays in memory. */
  private readonly spill: SpillFile | undefined;
  private readonly spillAfterRows: number;
  private readonly cacheBytes: number;
  /** The next sealed chunk not yet written out. */
  private nextSpill = 0;
  /** Columns read back from the scratch file, oldest first (chunk, slot), and their bytes. */
  private readonly cache: [Chunk, number][] = [];
  private cached = 0;
  /** Arrays of evicted columns, by type, for the next read back to reuse. */
  private readonly free = new Map<ColumnType, Column[]>();

  /**
   * `spill: false` keeps every row in memory; otherwise, once the store holds `afterRows` rows, each sealed
   * chunk (16,384 rows) is written to a scratch file and read back column by column on demand (src/record/spill.ts).
   */
  constructor(opts: { spill?: SpillOptions | false } = {}) {
    const spill = opts.spill === false ? undefined : (opts.spill ?? {});
    this.spill = spill ? new SpillFile(spill.dir, spill.onError) : undefined;
    this.spillAfterRows = spill?.afterRows ?? SPILL_DEFAULTS.afterRows;
    this.cacheBytes = spill?.cacheBytes ?? SPILL_DEFAULTS.cacheBytes;
    // The per-request strings' 1 MiB chunks go out with the rows, to the same file.
    const arena: ArenaSpill | undefined = this.spill
      ? { file: this.spill, active: () => this.spillActive(), cacheChunks: 4 }
      : undefined;
    this.hops = new HopHeaderStore(arena);
    this.ids = new StringArena(arena);
  }

  /** A store holding `records` (in their order), e.g. history read back or a test's fixture. */
  static of(records: Iterable<RequestRecord>): RecordStore {
    const s = new RecordStore();
    for (const r of records) s.add(r);
    return s;
  }

  get length(): number {
    return this.n;
  }

  /** Adds one record (and its raw timestamps, when the prober kept them). Returns its row index. */
  add(r: RequestRecord, t?: ProbeTimestamps): number {
    const i = this.n;
    const k = i >>> SHIFT;
    const o = i & MASK;
    let c = this.chunks[k];
    if (!c) {
      if (k > 0) this.sealed(k - 1);
      c = newChunk();
      this.chunks.push(c);
    }
    const f = c.cols;
    putF64(f, C_AT, o, r.atMs);
    for (const p of PHASES) {
      const v = r.phasesMs[p];
      if (v !== undefined) putF64(f, PHASE_COL[p], o, v);
    }
    putF64(f, C_BYTES, o, r.bytes);
    if (r.socketIdleMs !== undefined) putF64(f, C_SOCKET_IDLE, o, r.socketIdleMs);
    if (r.idleGapMs !== undefined) putF64(f, C_IDLE_GAP, o, r.idleGapMs);
    if (r.loopLagMs !== undefined) putF64(f, C_LOOP_LAG, o, r.loopLagMs);
    if (t) {
      putF64(f, C_TSTART, o, t.start);
      for (let e = 0; e < OFFSET_EVENTS.length; e++) {
        const v = t[OFFSET_EVENTS[e]!];
        if (v !== undefined) putF32(f, e, o, v - t.start);
      }
    }
    putU32(f, U_SEQ, o, r.seq);
    putU32(f, U_SERIES_SEQ, o, r.seriesSeq);
    const tk = `${r.api}\u0000${r.route}\u0000${r.endpoint}\u0000${r.method}\u0000${r.url}`;
    putU32(
      f,
      U_TARGET,
      o,
      this.targets.id(tk, {
        api: r.api,
        route: r.route,
        endpoint: r.endpoint,
        method: r.method,
        url: r.url,
        seriesId: `${r.api}\u0000${r.route}\u0000${r.endpoint}`,
      }),
    );
    if (
      r.remoteAddress !== undefined ||
      r.remotePort !== undefined ||
      r.remoteFamily !== undefined ||
      r.localAddress !== undefined
    ) {
      const key = JSON.stringify([r.remoteAddress, r.remotePort, r.remoteFamily, r.localAddress]);
      putU32(f, U_REMOTE, o, this.remotes.id(key, remoteOf(r)));
    }
    if (r.tls) putU32(f, U_TLS, o, this.tlsInfos.id(JSON.stringify(r.tls), r.tls));
    // No assertions and no hop headers are the common case: id 0, which reads back as [] and {}.
    if (r.assertions.length > 0)
      putU32(f, U_ASSERT, o, this.assertionLists.id(JSON.stringify(r.assertions), r.assertions));
    if (!emptyObject(r.hopHeaders)) {
      const { shape, first } = this.hops.add(r.hopHeaders);
      putU32(f, U_HOP, o, shape);
      putU32(f, U_HOP_FIRST, o, first);
    }
    let idFlags = 0;
    if (r.requestId !== undefined) {
      if (r.requestId === requestIdOf(r.hopHeaders)) idFlags |= F_REQ_ID_FROM_HOP;
      else putU32(f, U_REQ_ID, o, this.ids.add([r.requestId]) + 1);
    }
    if (r.traceId !== undefined) {
      if (r.traceId === traceIdOf(r.hopHeaders["x-amzn-trace-id"])) idFlags |= F_TRACE_ID_FROM_HOP;
      else putU32(f, U_TRACE_ID, o, this.ids.add([r.traceId]) + 1);
    }
    if (r.error) putU32(f, U_ERROR, o, this.errors.id(JSON.stringify(r.error), r.error));
    if (r.writer !== undefined) putU32(f, U_WRITER, o, this.writers.id(r.writer, r.writer));
    // Both address lists in one entry: a run's lookups and fallbacks repeat the same few pairs.
    if (r.resolvedAddresses !== undefined || r.connectAttempts !== undefined) {
      const key = JSON.stringify([r.resolvedAddresses, r.connectAttempts]);
      putU32(f, U_DIAL, o, this.dials.id(key, dialOf(r)));
    }
    if (r.inFlightAtSend !== undefined) putU32(f, U_IN_FLIGHT, o, r.inFlightAtSend + 1);
    if (r.status !== undefined) putInt(f, S_STATUS, o, r.status);
    if (r.localPort !== undefined) putInt(f, S_LOCAL_PORT, o, r.localPort);
    f[S_FLAGS]![o] =
      (r.ok ? F_OK : 0) |
      (r.reused ? F_REUSED : 0) |
      (r.aborted ? F_ABORTED : 0) |
      ((TAG_INDEX.get(r.tag) ?? 0) << F_TAG_SHIFT) |
      ((r.connection === "reuse" ? 1 : 0) << F_CONN_SHIFT) |
      idFlags;
    if (r.error) putInt(f, S_FAILURE, o, FAILURE_INDEX.get(r.error.code) ?? 0);
    this.n++;
    this.seqOrder = undefined;
    return i;
  }

  private chunk(i: number): Chunk {
    const c = this.chunks[i >>> SHIFT];
    if (!c || i >= this.n || i < 0) throw new RangeError(`row ${i} out of range (0..${this.n - 1})`);
    return c;
  }

  /** Whether sealed chunks (rows and per-request strings) are written out now: the store holds `afterRows` rows. */
  private spillActive(): boolean {
    return this.n >= this.spillAfterRows;
  }

  /** Chunk `k` is full (the store holds its rows): write it, and any sealed chunk before it, out once active. */
  private sealed(k: number): void {
    const file = this.spill;
    if (!file?.usable || !this.spillActive()) return;
    for (; this.nextSpill <= k; this.nextSpill++) this.writeOut(file, this.chunks[this.nextSpill]!);
  }

  private writeOut(file: SpillFile, c: Chunk): void {
    const at = new Float64Array(SLOTS).fill(-1);
    const parts: Uint8Array[] = [];
    let pos = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      const a = c.cols[slot];
      if (!a) continue;
      at[slot] = pos;
      pos += a.byteLength;
      parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
    // Until the write is done the chunk is read from memory, as before.
    file.write(parts, (base) => {
      if (base === undefined) return; // the columns stay in memory
      for (let slot = 0; slot < SLOTS; slot++) if (at[slot]! >= 0) at[slot]! += base;
      c.spilled = at;
      c.cols.fill(undefined);
    });
  }

  /** Reads column `slot` of a written-out chunk back into memory (undefined: the chunk never had it). */
  private load(c: Chunk, slot: number): Column | undefined {
    const at = c.spilled![slot]!;
    if (at < 0) return undefined;
    const T = SLOT_TYPE[slot]!;
    const a = this.free.get(T)?.pop() ?? new T(CHUNK);
    this.spill!.read(at, a);
    c.cols[slot] = a;
    this.cache.push([c, slot]);
    this.cached += a.byteLength;
    // Oldest out first: a reader scans rows in order, so the column read longest ago is the one least likely next.
    while (this.cached > this.cacheBytes && this.cache.length > 1) {
      const [oc, os] = this.cache.shift()!;
      const old = oc.cols[os]!;
      oc.cols[os] = undefined;
      this.cached -= old.byteLength;
      const pool = this.free.get(old.constructor as ColumnType) ?? [];
      if (pool.length < 4) pool.push(old);
      this.free.set(old.constructor as ColumnType, pool);
    }
    return a;
  }

  /** Resolves once every chunk being written out is on disk (or kept in memory after a failed write). */
  spillSettled(): Promise<void> {
    return this.spill?.settled() ?? Promise.resolve();
  }

  /** Bytes of columns written to the scratch file; why spilling stopped, if it did. */
  spillStats(): { bytes: number; error?: string } {
    const error = this.spill?.error;
    return { bytes: this.spill?.written ?? 0, ...(error !== undefined ? { error } : {}) };
  }

  /**
   * Frees the scratch file. Rows written out can no longer be read: call it when done with the store (a store
   * collected without it has its file closed by the garbage collector; a process's exit closes it too).
   */
  close(): void {
    this.spill?.close();
  }

  /** Column `slot` of chunk `c`: in memory, read back from the scratch file, or undefined (never allocated). */
  private col(c: Chunk, slot: number): Column | undefined {
    const a = c.cols[slot];
    return a !== undefined || c.spilled === undefined ? a : this.load(c, slot);
  }

  private float(i: number, slot: number): number {
    const a = this.col(this.chunk(i), slot);
    return a ? a[i & MASK]! : Number.NaN;
  }

  private int(i: number, slot: number): number {
    const a = this.col(this.chunk(i), slot);
    return a ? a[i & MASK]! : 0;
  }

  private f64(i: number, col: number): number {
    return this.float(i, S_F64 + col);
  }

  private u32(i: number, col: number): number {
    return this.int(i, S_U32 + col);
  }

  private flags(i: number): number {
    return this.int(i, S_FLAGS);
  }

  private target(i: number): Target {
    return this.targets.get(this.u32(i, U_TARGET))!;
  }

  atMs(i: number): number {
    return this.f64(i, C_AT);
  }
  /** Duration of `phase` in ms, or undefined when it did not happen. */
  phase(i: number, p: Phase): number | undefined {
    return num(this.f64(i, PHASE_COL[p]));
  }
  total(i: number): number | undefined {
    return num(this.f64(i, PHASE_COL.total));
  }
  bytes(i: number): number {
    return this.f64(i, C_BYTES);
  }
  socketIdleMs(i: number): number | undefined {
    return num(this.f64(i, C_SOCKET_IDLE));
  }
  idleGapMs(i: number): number | undefined {
    return num(this.f64(i, C_IDLE_GAP));
  }
  loopLagMs(i: number): number | undefined {
    return num(this.f64(i, C_LOOP_LAG));
  }
  seq(i: number): number {
    return this.u32(i, U_SEQ);
  }
  seriesSeq(i: number): number {
    return this.u32(i, U_SERIES_SEQ);
  }
  api(i: number): string {
    return this.target(i).api;
  }
  route(i: number): string {
    return this.target(i).route;
  }
  endpoint(i: number): string {
    return this.target(i).endpoint;
  }
  /** The series id (api \0 route \0 endpoint), as model.seriesId. */
  seriesId(i: number): string {
    return this.target(i).seriesId;
  }
  /** A small integer per distinct (api, route, endpoint, method, url): group rows by it without strings. */
  targetIndex(i: number): number {
    return this.u32(i, U_TARGET);
  }
  url(i: number): string {
    return this.target(i).url;
  }
  remoteAddress(i: number): string | undefined {
    return this.remotes.get(this.u32(i, U_REMOTE))?.remoteAddress;
  }
  remoteFamily(i: number): string | undefined {
    return this.remotes.get(this.u32(i, U_REMOTE))?.remoteFamily;
  }
  status(i: number): number | undefined {
    const s = this.int(i, S_STATUS);
    return s === 0 ? undefined : s;
  }
  ok(i: number): boolean {
    return (this.flags(i) & F_OK) !== 0;
  }
  reused(i: number): boolean {
    return (this.flags(i) & F_REUSED) !== 0;
  }
  aborted(i: number): boolean {
    return (this.flags(i) & F_ABORTED) !== 0;
  }
  tag(i: number): RecordTag {
    return RECORD_TAGS[(this.flags(i) >> F_TAG_SHIFT) & 3]!;
  }
  connection(i: number): ConnectionMode {
    return CONNECTION_MODES[((this.flags(i) >> F_CONN_SHIFT) & 1) === 1 ? 1 : 0]!;
  }
  /** The failure class, or undefined for a request that did not fail. */
  failureCode(i: number): FailureClass | undefined {
    const f = this.int(i, S_FAILURE);
    return f === 0 ? undefined : FAILURE_CLASS_NAMES[f - 1];
  }
  error(i: number): ProbeFailure | undefined {
    return this.errors.get(this.u32(i, U_ERROR));
  }
  /** One hop header (lower-case name), e.g. `x-amzn-errortype`. */
  hopHeader(i: number, name: string): string | undefined {
    return this.hops.get(this.u32(i, U_HOP), this.u32(i, U_HOP_FIRST), name);
  }
  tls(i: number): TlsInfo | undefined {
    return this.tlsInfos.get(this.u32(i, U_TLS));
  }
  writer(i: number): string | undefined {
    return this.writers.get(this.u32(i, U_WRITER));
  }
  resolvedAddresses(i: number): readonly string[] | undefined {
    return this.dials.get(this.u32(i, U_DIAL))?.resolvedAddresses;
  }
  connectAttempts(i: number): readonly string[] | undefined {
    return this.dials.get(this.u32(i, U_DIAL))?.connectAttempts;
  }
  inFlightAtSend(i: number): number | undefined {
    const v = this.u32(i, U_IN_FLIGHT);
    return v === 0 ? undefined : v - 1;
  }
  /** The raw monotonic timestamps of the request, or undefined when none were kept (history, a crashed probe). */
  timestamps(i: number): ProbeTimestamps | undefined {
    const start = this.f64(i, C_TSTART);
    if (Number.isNaN(start)) return undefined;
    const t: ProbeTimestamps = { start };
    for (let e = 0; e < OFFSET_EVENTS.length; e++) {
      const v = this.float(i, S_OFF + e);
      if (!Number.isNaN(v)) t[OFFSET_EVENTS[e]!] = start + v;
    }
    return t;
  }

  /** Row indexes in send order (ascending seq); rows with equal seq keep their order. */
  bySeq(): Uint32Array {
    this.seqOrder ??= seqOrder(this.n, (i) => this.seq(i));
    return this.seqOrder;
  }

  /** Row `i` as a RequestRecord, equal to the one added. For the few rows a reader needs whole. */
  record(i: number): RequestRecord {
    this.materialized++;
    const t = this.target(i);
    const phasesMs: Partial<Record<Phase, number>> = {};
    for (const p of PHASES) {
      const v = this.f64(i, PHASE_COL[p]);
      if (!Number.isNaN(v)) phasesMs[p] = v;
    }
    const r: RequestRecord = {
      atMs: this.f64(i, C_AT),
      seq: this.u32(i, U_SEQ),
      seriesSeq: this.u32(i, U_SERIES_SEQ),
      api: t.api,
      route: t.route,
      endpoint: t.endpoint,
      method: t.method,
      url: t.url,
      tag: this.tag(i),
      connection: this.connection(i),
      phasesMs,
      bytes: this.f64(i, C_BYTES),
      reused: this.reused(i),
      assertions: this.assertionLists.get(this.u32(i, U_ASSERT)) ?? [],
      hopHeaders: this.hops.object(this.u32(i, U_HOP), this.u32(i, U_HOP_FIRST)),
      ok: this.ok(i),
    };
    const status = this.status(i);
    if (status !== undefined) r.status = status;
    const remote = this.remotes.get(this.u32(i, U_REMOTE));
    if (remote) Object.assign(r, remote);
    const localPort = this.int(i, S_LOCAL_PORT);
    if (localPort !== 0) r.localPort = localPort;
    const socketIdleMs = this.socketIdleMs(i);
    if (socketIdleMs !== undefined) r.socketIdleMs = socketIdleMs;
    const idleGapMs = this.idleGapMs(i);
    if (idleGapMs !== undefined) r.idleGapMs = idleGapMs;
    const tls = this.tls(i);
    if (tls) r.tls = tls;
    const requestId = this.requestId(i, r.hopHeaders);
    if (requestId !== undefined) r.requestId = requestId;
    const traceId = this.traceId(i, r.hopHeaders);
    if (traceId !== undefined) r.traceId = traceId;
    const writer = this.writer(i);
    if (writer !== undefined) r.writer = writer;
    const loopLagMs = this.loopLagMs(i);
    if (loopLagMs !== undefined) r.loopLagMs = loopLagMs;
    const error = this.error(i);
    if (error) r.error = error;
    if (this.aborted(i)) r.aborted = true;
    const dial = this.dials.get(this.u32(i, U_DIAL));
    if (dial) Object.assign(r, dial);
    const inFlight = this.u32(i, U_IN_FLIGHT);
    if (inFlight !== 0) r.inFlightAtSend = inFlight - 1;
    return r;
  }

  private requestId(i: number, hopHeaders: Record<string, string>): string | undefined {
    if ((this.flags(i) & F_REQ_ID_FROM_HOP) !== 0) return requestIdOf(hopHeaders);
    const id = this.u32(i, U_REQ_ID);
    return id === 0 ? undefined : this.ids.get(id - 1, 0);
  }

  private traceId(i: number, hopHeaders: Record<string, string>): string | undefined {
    if ((this.flags(i) & F_TRACE_ID_FROM_HOP) !== 0) return traceIdOf(hopHeaders["x-amzn-trace-id"]);
    const id = this.u32(i, U_TRACE_ID);
    return id === 0 ? undefined : this.ids.get(id - 1, 0);
  }

  /**
   * Bytes the chunks' typed arrays hold in memory (columns no row of a chunk uses are not allocated; columns
   * written out count only while read back).
   */
  columnBytes(): number {
    let n = 0;
    for (const c of this.chunks) for (const a of c.cols) n += a?.byteLength ?? 0;
    return n;
  }

  /** Bytes of per-request strings (ids, per-request hop headers) held in memory. */
  stringBytes(): number {
    return this.hops.arena.memoryBytes() + this.ids.memoryBytes();
  }

  /** Distinct values held in the intern tables, per table (what the store costs beyond its rows). */
  internSizes(): Record<string, number> {
    return {
      targets: this.targets.size,
      remotes: this.remotes.size,
      tls: this.tlsInfos.size,
      assertions: this.assertionLists.size,
      hopHeaders: this.hops.shapeCount,
      // Request and trace ids kept as strings of their own (not derivable from the hop headers).
      ids: this.ids.length,
      errors: this.errors.size,
      writers: this.writers.size,
      dials: this.dials.size,
    };
  }
}

function emptyObject(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

type Dial = Pick<RequestRecord, "resolvedAddresses" | "connectAttempts">;

function dialOf(r: RequestRecord): Dial {
  const out: Dial = {};
  if (r.resolvedAddresses !== undefined) out.resolvedAddresses = r.resolvedAddresses;
  if (r.connectAttempts !== undefined) out.connectAttempts = r.connectAttempts;
  return out;
}

function remoteOf(r: RequestRecord): Remote {
  const out: Remote = {};
  if (r.remoteAddress !== undefined) out.remoteAddress = r.remoteAddress;
  if (r.remotePort !== undefined) out.remotePort = r.remotePort;
  if (r.remoteFamily !== undefined) out.remoteFamily = r.remoteFamily;
  if (r.localAddress !== undefined) out.localAddress = r.localAddress;
  return out;
}
