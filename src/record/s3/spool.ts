/**
 * Disk spool for the S3 store's rounds, on the pattern of the CloudWatch
 * metric spool (src/aws/metrics/spool.ts): every round is written here
 * BEFORE it is uploaded and removed only after S3 accepted all of its
 * objects, so an outage or a crash never loses a committed round as long as
 * the spool's disk survives; a later round (or the next process start) uploads
 * what is spooled first, oldest first.
 *
 * - One entry per round: its object bodies (`<entry>.<n>.body`) written first,
 *   then the manifest `<entry>.json` naming the keys, each written to a temp
 *   name and renamed. An entry exists once its manifest does: a crash while
 *   spooling leaves body files with no manifest, which are ignored (and swept
 *   once older than an hour).
 * - Keys are fixed when the round is spooled, so an upload repeated after a
 *   lost answer writes the same bytes to the same key: at-least-once delivery
 *   that readers see exactly once.
 * - Bounded by `maxBytes`: a round that does not fit is refused (logged,
 *   counted); the store then uploads it directly and reports it lost if that
 *   fails. Unreadable manifests are renamed `*.bad`, never deleted.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type SpoolLog = (
  level: "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface SpooledObject {
  key: string;
  contentType: string;
  /** Body file inside the spool dir. */
  file: string;
}

export interface SpooledRound {
  id: string;
  createdAtMs: number;
  bucket: string;
  objects: SpooledObject[];
  /** Manifest file name. */
  manifest: string;
  bytes: number;
}

export interface ObjectToSpool {
  key: string;
  contentType: string;
  body: Uint8Array;
}

const MANIFEST_RE = /^\d{15}-\d{6}-[0-9a-f]{16}\.json$/;
const BODY_RE = /^(\d{15}-\d{6}-[0-9a-f]{16})\.\d+\.body$/;
const ORPHAN_AGE_MS = 3_600_000;

let seq = 0;

export class ObjectSpool {
  readonly stats = { refusedRounds: 0, badFiles: 0 };

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log: SpoolLog,
    private readonly wallMs: () => number = Date.now,
  ) {}

  /** Bytes held by complete entries and stray bodies. */
  async sizeBytes(): Promise<number> {
    let total = 0;
    for (const f of await this.names()) {
      if (!MANIFEST_RE.test(f) && !BODY_RE.test(f)) continue;
      total += await stat(join(this.dir, f)).then(
        (s) => s.size,
        () => 0,
      );
    }
    return total;
  }

  /** Writes one round's objects. Returns the entry, or undefined when the spool is full (logged and counted). */
  async put(bucket: string, objects: readonly ObjectToSpool[]): Promise<SpooledRound | undefined> {
    await mkdir(this.dir, { recursive: true });
    const bytes = objects.reduce((n, o) => n + o.body.byteLength, 0);
    const used = await this.sizeBytes();
    if (used + bytes > this.maxBytes) {
      this.stats.refusedRounds++;
      this.log(
        "error",
        "S3 store spool full: round not spooled (uploading it directly; lost if that fails)",
        {
          spoolDir: this.dir,
          usedBytes: used,
          roundBytes: bytes,
          maxBytes: this.maxBytes,
          refusedRounds: this.stats.refusedRounds,
        },
      );
      return undefined;
    }
    const id = randomBytes(8).toString("hex");
    const createdAtMs = this.wallMs();
    const stem = `${String(createdAtMs).padStart(15, "0")}-${String(seq++ % 1e6).padStart(6, "0")}-${id}`;
    const spooled: SpooledObject[] = [];
    for (const [i, o] of objects.entries()) {
      const file = `${stem}.${i}.body`;
      await this.atomicWrite(file, o.body);
      spooled.push({ key: o.key, contentType: o.contentType, file });
    }
    const manifest = `${stem}.json`;
    await this.atomicWrite(manifest, JSON.stringify({ id, createdAtMs, bucket, objects: spooled }));
    return { id, createdAtMs, bucket, objects: spooled, manifest, bytes };
  }

  /** Complete entries, oldest first. */
  async list(): Promise<SpooledRound[]> {
    const out: SpooledRound[] = [];
    const names = await this.names();
    const manifests = new Set(names.filter((n) => MANIFEST_RE.test(n)));
    for (const manifest of [...manifests].sort()) {
      const path = join(this.dir, manifest);
      try {
        const parsed = JSON.parse(await readFile(path, "utf8")) as Omit<SpooledRound, "manifest" | "bytes">;
        if (typeof parsed.bucket !== "string" || !Array.isArray(parsed.objects)) throw new Error("shape");
        out.push({ ...parsed, manifest, bytes: 0 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // drained by another process meanwhile
        this.stats.badFiles++;
        this.log("error", "unreadable S3 spool manifest set aside", { file: `${manifest}.bad` });
        await rename(path, `${path}.bad`).catch(() => undefined);
      }
    }
    await this.sweepOrphans(names, manifests);
    return out;
  }

  /** Reads one spooled body; undefined when the entry was removed meanwhile. */
  async body(o: SpooledObject): Promise<Buffer | undefined> {
    return readFile(join(this.dir, o.file)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    });
  }

  /** Removes an entry after every object was uploaded: manifest first, so a crash leaves only orphans. */
  async remove(r: SpooledRound): Promise<void> {
    await this.unlinkQuiet(r.manifest);
    for (const o of r.objects) await this.unlinkQuiet(o.file);
  }

  private async sweepOrphans(names: readonly string[], manifests: ReadonlySet<string>): Promise<void> {
    const now = this.wallMs();
    for (const n of names) {
      const m = BODY_RE.exec(n);
      if (!m || manifests.has(`${m[1]}.json`)) continue;
      const age = now - Number(n.slice(0, 15));
      if (age > ORPHAN_AGE_MS) await this.unlinkQuiet(n);
    }
  }

  private async atomicWrite(file: string, data: Uint8Array | string): Promise<void> {
    const tmp = join(this.dir, `.${file}.tmp`);
    await writeFile(tmp, data);
    await rename(tmp, join(this.dir, file));
  }

  private async unlinkQuiet(file: string): Promise<void> {
    await unlink(join(this.dir, file)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }
}
