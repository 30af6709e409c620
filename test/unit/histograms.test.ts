import { inflateSync } from "node:zlib";
import * as hdr from "hdr-histogram-js";
import { describe, expect, it } from "vitest";
import { createRng } from "../../src/lab/rng.js";
import {
  addEncodedBytesInto,
  addEncodedInto,
  base64Into,
  correctedForCoordinatedOmission,
  decodeHistogram,
  encodeHistogram,
  HistogramSet,
  msToUs,
  newHistogram,
  statsOf,
} from "../../src/record/histograms.js";
import { makeRecord } from "../helpers/records.js";

const rec = makeRecord;

describe("histograms", () => {
  it("records µs and reports ms percentiles; a 1-in-300 stall is visible at p99.9 but not p99", () => {
    const set = new HistogramSet();
    for (let i = 0; i < 300; i++) {
      set.recordRecord(
        rec({ seq: i, phasesMs: { ttfb: i === 150 ? 5000 : 20.5, total: i === 150 ? 5001 : 21.5 } }),
      );
    }
    const h = set.get({ api: "a", route: "r", endpoint: "/", connection: "fresh", tag: "probe" }, "total")!;
    const s = statsOf(h);
    expect(s.count).toBe(300);
    expect(s.p50).toBeCloseTo(21.5, 1);
    expect(s.p99).toBeLessThan(22);
    expect(s.p999).toBeGreaterThan(4990);
    expect(s.max).toBeGreaterThan(4990);
    expect(s.max).toBeLessThan(5010);
  });

  it("keeps absent phases absent", () => {
    const set = new HistogramSet();
    set.recordRecord(rec({ connection: "reuse", phasesMs: { ttfb: 3, transfer: 0.2, total: 3.3 } }));
    const key = { api: "a", route: "r", endpoint: "/", connection: "reuse" as const, tag: "probe" as const };
    expect(set.get(key, "dns")).toBeUndefined();
    expect(set.get(key, "connect")).toBeUndefined();
    expect(set.get(key, "ttfb")?.totalCount).toBe(1);
  });

  it("round-trips through compressed base64 and merges by addition", () => {
    const a = new HistogramSet();
    const b = new HistogramSet();
    for (let i = 1; i <= 100; i++) a.recordRecord(rec({ phasesMs: { total: i } }));
    for (let i = 101; i <= 200; i++) b.recordRecord(rec({ phasesMs: { total: i } }));
    const encoded = a.encode();
    expect(encoded[0]?.hist.startsWith("HISTFAAAA")).toBe(true);
    const merged = HistogramSet.decode(encoded);
    merged.add(HistogramSet.decode(b.encode()));
    const h = merged.get(
      { api: "a", route: "r", endpoint: "/", connection: "fresh", tag: "probe" },
      "total",
    )!;
    expect(h.totalCount).toBe(200);
    expect(statsOf(h).p50).toBeCloseTo(100, 0);
    expect(statsOf(h).max).toBeCloseTo(200, 0);
  });

  it("clamps values beyond 600 s instead of throwing, and counts them", () => {
    const set = new HistogramSet();
    set.recordRecord(rec({ phasesMs: { total: 1_000_000 } }));
    expect(set.clamped).toBe(1);
    expect(msToUs(0)).toBe(1);
  });

  it("decodes a histogram encoded with another range", () => {
    const h = newHistogram();
    h.recordValue(123_456);
    const d = decodeHistogram(encodeHistogram(h));
    expect(d.totalCount).toBe(1);
    expect(statsOf(d).p50).toBeCloseTo(123.456, 0);
  });

  it("decodes straight into a histogram with the same result as hdr-histogram-js's decode and add", () => {
    // The reference: what addEncoded did before (decode to the writer's range, re-home, add).
    const reference = (into: ReturnType<typeof newHistogram>, b64: string) => {
      const h = newHistogram();
      h.add(hdr.decodeFromCompressedBase64(b64));
      into.add(h);
    };
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const fast = newHistogram();
    const slow = newHistogram();
    fast.recordValue(5_000); // already holding values: min and max merge, not overwrite
    slow.recordValue(5_000);
    for (let round = 0; round < 30; round++) {
      const h = newHistogram();
      const n = round === 0 ? 0 : 1 + Math.floor(rand() * 500);
      for (let i = 0; i < n; i++) {
        // 1 µs .. 600 s, log-spread, with repeats (runs of zero counts and large counts both occur)
        h.recordValueWithCount(
          msToUs(10 ** (rand() * 8.7 - 3)),
          1 + Math.floor(rand() * (round % 5 === 0 ? 1e6 : 3)),
        );
      }
      const b64 = encodeHistogram(h);
      addEncodedInto(fast, b64);
      reference(slow, b64);
      expect(fast.totalCount).toBe(slow.totalCount);
      expect(fast.maxValue).toBe(slow.maxValue);
      expect(fast.minNonZeroValue).toBe(slow.minNonZeroValue);
    }
    expect(encodeHistogram(fast)).toBe(encodeHistogram(slow));
    expect(statsOf(fast)).toEqual(statsOf(slow));
    // A histogram of another shape takes hdr-histogram-js's path, with the same result.
    const other = hdr.build({ highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });
    other.recordValue(42_000);
    const a = newHistogram();
    addEncodedInto(a, hdr.encodeIntoCompressedBase64(other));
    const b = newHistogram();
    reference(b, hdr.encodeIntoCompressedBase64(other));
    expect(encodeHistogram(a)).toBe(encodeHistogram(b));
    expect(() => addEncodedInto(newHistogram(), "HISTFAAAAnot-a-histogram")).toThrow();
  });

  it("decodes a histogram whose payload outgrows the reused buffer, and never adds a corrupt one", () => {
    // ~20,000 distinct buckets with large counts: an inflated payload of well over 16 KB.
    const big = newHistogram();
    for (let i = 0; i < 20_000; i++) big.recordValueWithCount(1 + i * 1_511, 1 + ((i * 7_919) % 3_000_000));
    const b64 = encodeHistogram(big);
    const into = newHistogram();
    addEncodedInto(into, b64);
    const ref = newHistogram();
    ref.add(hdr.decodeFromCompressedBase64(b64));
    expect(encodeHistogram(into)).toBe(encodeHistogram(ref));
    // A small one after the big one: the reused buffers hold no leftovers.
    const small = newHistogram();
    small.recordValue(1_234);
    const after = newHistogram();
    addEncodedInto(after, encodeHistogram(small));
    expect(after.totalCount).toBe(1);
    expect(encodeHistogram(after)).toBe(encodeHistogram(small));

    // Corrupt payloads: every single-byte change in the deflate stream, and every cut, throws or
    // decodes to exactly what zlib itself accepts; none leaves a partial add behind.
    const one = newHistogram();
    for (const v of [2_100, 6_300, 28_015, 3_001_000]) one.recordValue(v);
    const raw = Buffer.from(encodeHistogram(one), "base64");
    let rejected = 0;
    for (let i = 8; i < raw.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = Buffer.from(raw);
        bad[i]! ^= flip;
        const target = newHistogram();
        target.recordValue(5);
        let zlibAccepts: boolean;
        try {
          inflateSync(bad.subarray(8, 8 + bad.readInt32BE(4)));
          zlibAccepts = true;
        } catch {
          zlibAccepts = false;
        }
        let threw = false;
        try {
          addEncodedInto(target, bad.toString("base64"));
        } catch {
          threw = true;
        }
        if (threw) {
          rejected++;
          expect(target.totalCount).toBe(1);
          expect(target.maxValue).toBe(5);
        }
        if (!zlibAccepts) expect(threw).toBe(true);
      }
    }
    expect(rejected).toBeGreaterThan(0);
    for (let cut = 8; cut < raw.length; cut++) {
      const target = newHistogram();
      expect(() => addEncodedInto(target, raw.subarray(0, cut).toString("base64"))).toThrow();
      expect(target.totalCount).toBe(0);
    }
  });

  it("decodes from a line's bytes as from its text: base64 as Node reads it, or handed to Node's decoder", () => {
    const rng = createRng(21);
    const pick = (chars: string) => chars[Math.floor(rng.next() * chars.length)]!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
    // Any text: plain base64, URL-safe digits, padding, and stray characters Node skips.
    for (let i = 0; i < 3_000; i++) {
      let text = "";
      const n = Math.floor(rng.next() * 40);
      for (let k = 0; k < n; k++) text += rng.next() < 0.05 ? pick(" =\r\t.!é") : pick(alphabet);
      if (rng.next() < 0.3) text += "=".repeat(1 + Math.floor(rng.next() * 2));
      const src = Buffer.from(text, "latin1");
      const out = Buffer.alloc(src.length);
      const n2 = base64Into(src, 0, src.length, out);
      if (n2 >= 0)
        expect(out.subarray(0, n2).toString("hex"), text).toBe(Buffer.from(text, "base64").toString("hex"));
      else expect(/[^A-Za-z0-9+/_-]/.test(text.replace(/={1,2}$/, "")), text).toBe(true);
    }
    // Histograms, whole and damaged, in the middle of a longer buffer: the same result or the same refusal.
    for (let round = 0; round < 300; round++) {
      const h = newHistogram();
      for (let k = 0; k < 1 + (round % 40); k++) h.recordValue(msToUs(10 ** (rng.next() * 6 - 2)));
      let text = encodeHistogram(h);
      if (round % 3 === 1) {
        const at = 9 + Math.floor(rng.next() * (text.length - 10));
        text = text.slice(0, at) + pick(alphabet + " ") + text.slice(at + 1);
      }
      if (round % 3 === 2) text = `${text}\r`;
      const line = Buffer.from(`Tag=x,0,1,2,${text}\n`, "latin1");
      const fromText = newHistogram();
      const fromBytes = newHistogram();
      let textThrew = false;
      let bytesThrew = false;
      try {
        addEncodedInto(fromText, text);
      } catch {
        textThrew = true;
      }
      try {
        addEncodedBytesInto(fromBytes, line, 12, line.length - 1);
      } catch {
        bytesThrew = true;
      }
      expect(bytesThrew, text).toBe(textThrew);
      expect(encodeHistogram(fromBytes), text).toBe(encodeHistogram(fromText));
    }
  });

  it("corrects for coordinated omission when a fixed rate was intended", () => {
    const h = newHistogram();
    for (let i = 0; i < 99; i++) h.recordValue(msToUs(10));
    h.recordValue(msToUs(1000)); // one stall held back ~9 sends at a 100 ms interval
    const c = correctedForCoordinatedOmission(h, 100);
    expect(c.totalCount).toBeGreaterThan(h.totalCount);
    expect(c.totalCount).toBe(109); // 9 back-filled samples: 900, 800, … 100 ms
    expect(c.getValueAtPercentile(95)).toBeGreaterThan(h.getValueAtPercentile(95) * 10);
  });
});
