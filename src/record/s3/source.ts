/**
 * Reads an S3 store prefix as a history source: lists the day prefixes in
 * the range (ListObjectsV2, paginated), keeps the records objects of rounds
 * that started in range, and streams each one (GetObject → gunzip → lines)
 * only when the reader asks for it, so records are never all held as bytes.
 * A round whose records object is absent (upload in flight, or lost at a
 * crash) does not exist for readers; its `.hlog.gz` alone is ignored.
 */
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { S3Client } from "@aws-sdk/client-s3";
import { forEachRawLineOf, type LineSource } from "../line-reader.js";
import type { HistorySource, SourceUnit } from "../source.js";
import { DAY_MS, dayOf } from "../store-layout.js";
import { dayPrefix, parseRoundKey, type S3Location, s3UrlOf } from "./layout.js";

/**
 * Days (UTC) that a range touches, oldest first. An open end is now (plus a
 * day for clocks ahead); an open start clamps to 400 days before the end.
 */
function daysOf(sinceMs: number, untilMs: number): string[] {
  const until = Number.isFinite(untilMs) ? untilMs : Date.now() + DAY_MS;
  const from = Math.max(Number.isFinite(sinceMs) ? sinceMs : 0, until - 400 * DAY_MS);
  const out: string[] = [];
  for (let t = Math.floor(from / DAY_MS) * DAY_MS; t <= until; t += DAY_MS) out.push(dayOf(t));
  return out;
}

export function s3Source(client: Pick<S3Client, "send">, loc: S3Location): HistorySource {
  const url = s3UrlOf(loc);
  const lines = (key: string): LineSource => ({
    label: `s3://${loc.bucket}/${key}`,
    async forEachRaw(onLine) {
      const { GetObjectCommand } = await import("@aws-sdk/client-s3");
      const res = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key }));
      const body = res.Body as Readable | undefined;
      if (!body) return { tornBytes: 0 };
      return forEachRawLineOf(body.pipe(createGunzip()), onLine);
    },
  });
  return {
    label: url,
    async *units(sinceMs, untilMs) {
      const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
      for (const day of daysOf(sinceMs, untilMs)) {
        const keys = new Set<string>();
        let token: string | undefined;
        do {
          const page = await client.send(
            new ListObjectsV2Command({
              Bucket: loc.bucket,
              Prefix: dayPrefix(loc, day),
              ...(token ? { ContinuationToken: token } : {}),
            }),
          );
          for (const o of page.Contents ?? []) if (o.Key) keys.add(o.Key);
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        const units: (SourceUnit & { at: number })[] = [];
        for (const key of keys) {
          const k = parseRoundKey(key);
          if (k?.kind !== "records" || k.startedAtMs < sinceMs || k.startedAtMs > untilMs) continue;
          units.push({
            at: k.startedAtMs,
            writer: k.writer,
            records: lines(key),
            ...(keys.has(k.hlogKey) ? { hlog: lines(k.hlogKey) } : {}),
          });
        }
        units.sort((a, b) => a.at - b.at || a.writer.localeCompare(b.writer));
        for (const { at: _at, ...u } of units) yield u;
      }
    },
  };
}
