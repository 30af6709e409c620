import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { csvReporter } from "../../src/app/sinks/reporters.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { Report, RequestRecord } from "../../src/model.js";
import { RecordStore } from "../../src/record/columns.js";
import { Redactor } from "../../src/redact.js";
import { makeRecord } from "../helpers/records.js";

const rec = (seq: number, totalMs: number, over: Partial<RequestRecord> = {}): RequestRecord =>
  makeRecord({
    atMs: 1_700_000_000_000 + seq,
    seq,
    seriesSeq: seq,
    connection: "reuse",
    reused: true,
    phasesMs: { total: totalMs, ttfb: totalMs },
    ...over,
  });

const dir = mkdtempSync(join(tmpdir(), "sw-csv-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CSV stall column with aborted requests", () => {
  it("marks the stalled requests themselves, though the stall rule saw the rows without the aborted ones", async () => {
    // A clean stop aborted seq 2; seq 5 and seq 9 stalled (3 s against ~10 ms).
    const all: RequestRecord[] = [];
    for (let seq = 0; seq < 12; seq++) {
      if (seq === 2)
        all.push(
          rec(seq, 1, {
            ok: false,
            aborted: true,
            error: { code: "other", phase: "ttfb", message: "stopped" },
          }),
        );
      else all.push(rec(seq, seq === 5 || seq === 9 ? 3000 : 10));
    }
    const store = RecordStore.of(all);
    // As the pipeline does: stalls over the measured (not aborted) rows only, so their indexes skip seq 2.
    const stalls = detectStalls(all.filter((r) => !r.aborted));
    expect(stalls.map((s) => s.record.seq)).toEqual([5, 9]);
    expect(stalls.map((s) => s.index)).toEqual([4, 8]);

    const file = join(dir, "run.csv");
    await csvReporter(file).write({
      report: {} as Report,
      redactor: new Redactor(),
      run: { records: store, stalls },
    });
    const [header, ...lines] = readFileSync(file, "utf8").trim().split("\n");
    const cells = header!.split(",");
    const seqAt = cells.indexOf("seq");
    const stallAt = cells.indexOf("stall");
    expect(seqAt).toBeGreaterThanOrEqual(0);
    expect(stallAt).toBeGreaterThanOrEqual(0);
    const stalledSeqs = lines
      .map((l) => l.split(","))
      .filter((c) => c[stallAt] === "true")
      .map((c) => Number(c[seqAt]));
    expect(stalledSeqs).toEqual([5, 9]);
  });
});
